//! Batch assignment: several requests at once, each wanting some experts,
//! maximising the total score.
//!
//! [`assign`] solves the model in which each expert takes at most one
//! mission of the batch, exactly. [`assign_non_overlapping`] lets an expert
//! take several missions whose days do not overlap; that problem is NP-hard
//! in general, so it is solved by local search, started both from a greedy
//! pass and from the exact answer of the stricter model, and the result
//! says whether an upper bound proves it optimal.
//!
//! The exact solver is our own successive-shortest-path assignment on the
//! sparse candidate graph. The crates we looked at (for example the
//! Kuhn–Munkres of `pathfinding`) take a dense matrix, which at 3,000 slots
//! by 100,000 experts is 300 million cells, while the candidate lists hold
//! only 100,000 edges.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use super::Shortlist;
use crate::model::{DateRange, ExpertId};

/// One request of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// The request's key (requester and id).
    pub key: String,
    /// Mission days.
    pub window: DateRange,
    /// How many experts it wants.
    pub wanted: u16,
    /// Every expert who may fill it, with the expert's score for it.
    pub candidates: Vec<(ExpertId, u32)>,
}

impl BatchRequest {
    /// The request with every ranked expert of `shortlist` as a candidate.
    pub fn from_shortlist(key: String, window: DateRange, shortlist: &Shortlist) -> BatchRequest {
        BatchRequest {
            key,
            window,
            wanted: shortlist.wanted,
            candidates: shortlist
                .ranked
                .iter()
                .map(|r| (r.expert, r.total))
                .collect(),
        }
    }
}

/// An expert placed on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The request's key.
    pub request: String,
    /// The expert.
    pub expert: ExpertId,
    /// The expert's score for the request.
    pub score: u32,
}

/// Why slots of a request stay empty. [`Assignment::unfilled`] lists the
/// reasons of one request in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnfilledReason {
    /// No expert passed the request's filters: every slot stays empty.
    NoCandidates,
    /// Fewer experts passed the filters than the request wants: the slots
    /// beyond the number of candidates (wanted less candidates) stay empty.
    TooFewCandidates,
    /// The request had candidates for these slots, but each candidate it
    /// did not get serves another request of the batch, where it adds more
    /// to the total (or, for [`assign_non_overlapping`], which it holds on
    /// overlapping days).
    CandidatesPlacedElsewhere,
}

/// Empty slots of one request for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfilled {
    /// The request's key.
    pub request: String,
    /// How many slots stay empty for this reason.
    pub slots: u16,
    /// Why.
    pub reason: UnfilledReason,
}

/// The outcome of a batch assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Every placement, by request in batch order, then by expert id.
    pub placements: Vec<Placement>,
    /// Sum of the placements' scores.
    pub total: u64,
    /// Whether the total is proven to be the best possible.
    pub optimal: bool,
    /// Requests with empty slots, in batch order. A request short for
    /// several reasons (too few candidates, and others placed elsewhere) has
    /// one entry for each, in the order of [`UnfilledReason`]; the entries
    /// of a request add up to its empty slots.
    pub unfilled: Vec<Unfilled>,
}

/// Assigns experts to requests, each expert to at most one request of the
/// batch, maximising the total score. Exact: the result is always optimal.
///
/// A candidate listed twice for one request counts once, at its higher
/// score.
pub fn assign(requests: &[BatchRequest]) -> Assignment {
    let placements = exact(requests)
        .into_iter()
        .zip(requests)
        .map(|(list, req)| list.into_iter().map(|(e, s)| (req, e, s)).collect())
        .collect();
    finish(requests, placements, true)
}

/// Assigns experts to requests, letting an expert take several missions of
/// the batch when their days do not overlap, maximising the total score by
/// local search.
///
/// Two plans are improved: one from a greedy pass by score, and one from
/// the exact answer of [`assign`], which is also feasible here; the better
/// is kept, so the total is never below that of [`assign`]. `optimal` is
/// set when the total reaches the bound of every request taking its best
/// candidates, or when no expert is a candidate of two requests whose days
/// do not overlap: then nobody can take two missions anyway, the two
/// models have the same plans, and the exact answer of [`assign`] is the
/// optimum here too. Otherwise the exact answer of the stricter model
/// proves nothing about this one.
pub fn assign_non_overlapping(requests: &[BatchRequest]) -> Assignment {
    let mut edges: Vec<(u32, usize, ExpertId)> = requests
        .iter()
        .enumerate()
        .flat_map(|(r, req)| {
            dedup(&req.candidates)
                .into_iter()
                .map(move |(e, s)| (s, r, e))
        })
        .collect();
    // Best score first; ties by request then expert, so the result is the
    // same on every run.
    edges.sort_by_key(|&(s, r, e)| (Reverse(s), r, e));
    let bound: u64 = requests
        .iter()
        .map(|req| {
            let mut scores: Vec<u32> = dedup(&req.candidates).into_iter().map(|(_, s)| s).collect();
            scores.sort_by_key(|s| Reverse(*s));
            scores
                .into_iter()
                .take(usize::from(req.wanted))
                .map(u64::from)
                .sum::<u64>()
        })
        .sum();

    let mut plan = Plan::new(requests);
    plan.search(&edges);
    let one_mission_each = no_expert_spans_apart(requests);
    // Greedy misses chains (an expert moves to a lesser mission so that a
    // third takes its place), which the exact one-mission answer finds; it
    // cannot beat a plan already at the bound.
    if plan.total() < bound {
        let mut seeded = Plan::new(requests);
        for (r, list) in exact(requests).into_iter().enumerate() {
            for (e, s) in list {
                seeded.place(r, e, s);
            }
        }
        seeded.search(&edges);
        if seeded.total() > plan.total() {
            plan = seeded;
        }
    }

    let total = plan.total();
    let placements: Vec<Vec<(&BatchRequest, ExpertId, u32)>> = plan
        .by_request
        .into_iter()
        .zip(requests)
        .map(|(list, req)| list.into_iter().map(|(e, s)| (req, e, s)).collect())
        .collect();
    // When nobody can take two missions, the seeded plan started from the
    // optimum of the same set of plans, and search never lowers a total.
    finish(requests, placements, total == bound || one_mission_each)
}

/// Whether every expert's requests in the batch share a day, so that no
/// expert can take two of them. Intervals that overlap pairwise share a
/// common day, so it is enough that the latest first day comes no later
/// than the earliest last day.
fn no_expert_spans_apart(requests: &[BatchRequest]) -> bool {
    let mut common: HashMap<ExpertId, DateRange> = HashMap::new();
    for req in requests {
        for &(expert, _) in &req.candidates {
            let days = common.entry(expert).or_insert(req.window);
            days.first = days.first.max(req.window.first);
            days.last = days.last.min(req.window.last);
            if days.first > days.last {
                return false;
            }
        }
    }
    true
}

/// The exact answer where each expert takes at most one mission of the
/// batch: per request, its experts with their scores.
fn exact(requests: &[BatchRequest]) -> Vec<Vec<(ExpertId, u32)>> {
    let graph = Graph::new(requests);
    let matched = graph.solve();
    let mut chosen: Vec<Vec<(ExpertId, u32)>> = vec![Vec::new(); requests.len()];
    for (row, col) in matched.into_iter().enumerate() {
        let Some(col) = col else { continue };
        let r = graph.row_request[row];
        if let Some(&(_, score)) = graph.edges[r].iter().find(|(c, _)| *c == col) {
            chosen[r].push((graph.experts[col], score));
        }
    }
    chosen
}

fn finish(
    requests: &[BatchRequest],
    placements: Vec<Vec<(&BatchRequest, ExpertId, u32)>>,
    optimal: bool,
) -> Assignment {
    let mut out = Vec::new();
    let mut unfilled = Vec::new();
    for (req, mut list) in requests.iter().zip(placements) {
        list.sort_by_key(|p| p.1);
        let filled = list.len();
        let empty = usize::from(req.wanted).saturating_sub(filled);
        // Slots beyond the number of candidates could never be filled; any
        // other empty slot had a candidate, who went elsewhere. Each cause
        // gets its own entry, so a mixed shortfall is not reported as one.
        let candidates = dedup(&req.candidates).len();
        let (none, short) = if candidates == 0 {
            (empty, 0)
        } else {
            (0, usize::from(req.wanted).saturating_sub(candidates))
        };
        let elsewhere = empty.saturating_sub(none + short);
        for (reason, slots) in [
            (UnfilledReason::NoCandidates, none),
            (UnfilledReason::TooFewCandidates, short),
            (UnfilledReason::CandidatesPlacedElsewhere, elsewhere),
        ] {
            if slots > 0 {
                unfilled.push(Unfilled {
                    request: req.key.clone(),
                    // OK because slots ≤ empty ≤ `req.wanted`, a u16.
                    slots: slots as u16,
                    reason,
                });
            }
        }
        out.extend(list.into_iter().map(|(req, expert, score)| Placement {
            request: req.key.clone(),
            expert,
            score,
        }));
    }
    Assignment {
        total: out.iter().map(|p| u64::from(p.score)).sum(),
        placements: out,
        optimal,
        unfilled,
    }
}

/// Candidates with each expert once, at the higher score.
fn dedup(candidates: &[(ExpertId, u32)]) -> Vec<(ExpertId, u32)> {
    let mut list = candidates.to_vec();
    list.sort_by_key(|&(e, s)| (e, Reverse(s)));
    list.dedup_by_key(|(e, _)| *e);
    list
}

/// A plan of [`assign_non_overlapping`]: never an expert on two
/// overlapping missions, nor a request over what it wants.
struct Plan<'a> {
    requests: &'a [BatchRequest],
    by_request: Vec<Vec<(ExpertId, u32)>>,
    by_expert: HashMap<ExpertId, Vec<(usize, u32)>>,
}

impl<'a> Plan<'a> {
    fn new(requests: &'a [BatchRequest]) -> Plan<'a> {
        Plan {
            requests,
            by_request: vec![Vec::new(); requests.len()],
            by_expert: HashMap::new(),
        }
    }

    fn total(&self) -> u64 {
        self.by_request
            .iter()
            .flatten()
            .map(|&(_, s)| u64::from(s))
            .sum()
    }

    /// Fills, improves, and fills again what the improvement freed. No step
    /// lowers the total.
    fn search(&mut self, edges: &[(u32, usize, ExpertId)]) {
        self.fill(edges);
        self.improve(edges);
        // After this pass every candidate missing from a request with
        // room is on an overlapping mission, which is what
        // `CandidatesPlacedElsewhere` says.
        self.fill(edges);
    }

    /// Places each candidate, best score first, where the request has room
    /// and the expert is free on its days.
    fn fill(&mut self, edges: &[(u32, usize, ExpertId)]) {
        for &(s, r, e) in edges {
            if self.has_room(r) && self.free(e, r) && !self.holds(r, e) {
                self.place(r, e, s);
            }
        }
    }

    /// Local improvement: places a candidate when the missions it would
    /// displace (its overlapping ones, and the request's weakest when
    /// full) are worth less than it.
    fn improve(&mut self, edges: &[(u32, usize, ExpertId)]) {
        for _round in 0..8 {
            let mut improved = false;
            for &(s, r, e) in edges {
                if self.holds(r, e) {
                    continue;
                }
                // `e` is not on `r`, so `r` is never among its clashes.
                let clashes: Vec<(usize, u32)> = self.clashes(e, r);
                let weakest = (!self.has_room(r)).then(|| self.weakest(r)).flatten();
                if !self.has_room(r) && weakest.is_none() {
                    // A request that wants nobody.
                    continue;
                }
                let lost: u64 = clashes.iter().map(|&(_, s)| u64::from(s)).sum::<u64>()
                    + weakest.map_or(0, |(_, s)| u64::from(s));
                if u64::from(s) > lost {
                    for (cr, _) in clashes {
                        self.remove(cr, e);
                    }
                    if !self.has_room(r)
                        && let Some((w, _)) = self.weakest(r)
                    {
                        self.remove(r, w);
                    }
                    self.place(r, e, s);
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
    }

    fn has_room(&self, r: usize) -> bool {
        self.by_request[r].len() < usize::from(self.requests[r].wanted)
    }

    fn holds(&self, r: usize, e: ExpertId) -> bool {
        self.by_request[r].iter().any(|(x, _)| *x == e)
    }

    fn clashes(&self, e: ExpertId, r: usize) -> Vec<(usize, u32)> {
        let window = self.requests[r].window;
        self.by_expert.get(&e).map_or_else(Vec::new, |list| {
            list.iter()
                .filter(|(o, _)| self.requests[*o].window.overlaps(&window))
                .copied()
                .collect()
        })
    }

    fn free(&self, e: ExpertId, r: usize) -> bool {
        self.clashes(e, r).is_empty()
    }

    fn weakest(&self, r: usize) -> Option<(ExpertId, u32)> {
        self.by_request[r]
            .iter()
            .copied()
            .min_by_key(|&(e, s)| (s, Reverse(e)))
    }

    fn place(&mut self, r: usize, e: ExpertId, s: u32) {
        self.by_request[r].push((e, s));
        self.by_expert.entry(e).or_default().push((r, s));
    }

    fn remove(&mut self, r: usize, e: ExpertId) {
        self.by_request[r].retain(|(x, _)| *x != e);
        if let Some(list) = self.by_expert.get_mut(&e) {
            list.retain(|(o, _)| *o != r);
        }
    }
}

/// The assignment graph: one row per wanted slot, one column per expert.
struct Graph {
    experts: Vec<ExpertId>,
    /// Per request, its candidate columns with scores.
    edges: Vec<Vec<(usize, u32)>>,
    row_request: Vec<usize>,
}

const INF: i64 = i64::MAX / 4;

impl Graph {
    fn new(requests: &[BatchRequest]) -> Graph {
        let mut ids: HashMap<ExpertId, usize> = HashMap::new();
        let mut experts = Vec::new();
        let mut edges = Vec::with_capacity(requests.len());
        let mut row_request = Vec::new();
        for (r, req) in requests.iter().enumerate() {
            let list: Vec<(usize, u32)> = dedup(&req.candidates)
                .into_iter()
                .map(|(e, s)| {
                    let col = *ids.entry(e).or_insert_with(|| {
                        experts.push(e);
                        experts.len() - 1
                    });
                    (col, s)
                })
                .collect();
            // A slot beyond the number of candidates can never be filled.
            let slots = usize::from(req.wanted).min(list.len());
            edges.push(list);
            row_request.extend(std::iter::repeat_n(r, slots));
        }
        Graph {
            experts,
            edges,
            row_request,
        }
    }

    /// The column of each row, or `None` for a slot left empty.
    ///
    /// Successive shortest paths with potentials. Each row may also take a
    /// private "empty" column at cost 0, so every row is always assigned
    /// and the result is a maximum-score assignment, not a maximum-size
    /// one. Costs are negated scores; Dijkstra runs on reduced costs and
    /// stops at the first free column it settles.
    fn solve(&self) -> Vec<Option<usize>> {
        let rows = self.row_request.len();
        let cols = self.experts.len();
        // Nodes: rows 0..rows, expert columns, then one empty column per row.
        let empty = |row: usize| cols + row;
        let n_cols = cols + rows;
        let mut col_row: Vec<Option<usize>> = vec![None; n_cols];
        let mut row_col: Vec<Option<usize>> = vec![None; rows];
        let mut pot_row: Vec<i64> = vec![0; rows];
        let mut pot_col: Vec<i64> = vec![0; n_cols];
        // Reduced cost c + π(row) - π(col) starts non-negative: π(row) is
        // minus the cheapest edge cost, π(col) is 0.
        for (row, p) in pot_row.iter_mut().enumerate() {
            let best = self.edges[self.row_request[row]]
                .iter()
                .map(|&(_, s)| i64::from(s))
                .max()
                .unwrap_or(0)
                .max(0);
            *p = best;
        }
        let mut dist_col: Vec<i64> = vec![INF; n_cols];
        let mut dist_row: Vec<i64> = vec![INF; rows];
        let mut via: Vec<usize> = vec![usize::MAX; n_cols];
        let mut done_col: Vec<bool> = vec![false; n_cols];
        let mut touched_cols: Vec<usize> = Vec::new();
        let mut touched_rows: Vec<usize> = Vec::new();
        let mut heap: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();

        for start in 0..rows {
            heap.clear();
            dist_row[start] = 0;
            touched_rows.push(start);
            let mut row = start;
            let mut at = 0i64;
            let target = loop {
                // Relax the edges out of `row` (its matched column is
                // reached backwards, not forwards).
                let r = self.row_request[row];
                let out = self.edges[r]
                    .iter()
                    .map(|&(c, s)| (c, -i64::from(s)))
                    .chain([(empty(row), 0)]);
                for (c, cost) in out {
                    if done_col[c] || row_col[row] == Some(c) {
                        continue;
                    }
                    let d = at + cost + pot_row[row] - pot_col[c];
                    if d < dist_col[c] {
                        if dist_col[c] == INF {
                            touched_cols.push(c);
                        }
                        dist_col[c] = d;
                        via[c] = row;
                        heap.push(Reverse((d, c)));
                    }
                }
                // Settle the nearest column.
                let (d, c) = loop {
                    match heap.pop() {
                        Some(Reverse((d, c))) if !done_col[c] && d == dist_col[c] => break (d, c),
                        Some(_) => continue,
                        // Unreachable: the row's own empty column is free.
                        None => break (INF, usize::MAX),
                    }
                };
                if c == usize::MAX {
                    break None;
                }
                done_col[c] = true;
                match col_row[c] {
                    None => break Some((c, d)),
                    Some(next) => {
                        // The matched edge is tight, so the row is as far.
                        row = next;
                        at = d;
                        dist_row[next] = d;
                        touched_rows.push(next);
                    }
                }
            };
            let Some((target, reach)) = target else {
                break;
            };
            // Potentials: π += min(dist, reach), shifted by -reach.
            for &c in &touched_cols {
                if done_col[c] && dist_col[c] < reach {
                    pot_col[c] += dist_col[c] - reach;
                }
            }
            for &rw in &touched_rows {
                if dist_row[rw] < reach {
                    pot_row[rw] += dist_row[rw] - reach;
                }
            }
            // Augment along the path back to `start`.
            let mut c = target;
            loop {
                let rw = via[c];
                let previous = row_col[rw];
                row_col[rw] = Some(c);
                col_row[c] = Some(rw);
                match previous {
                    Some(p) if rw != start => c = p,
                    _ => break,
                }
            }
            for &c in &touched_cols {
                dist_col[c] = INF;
                done_col[c] = false;
                via[c] = usize::MAX;
            }
            for &rw in &touched_rows {
                dist_row[rw] = INF;
            }
            touched_cols.clear();
            touched_rows.clear();
        }
        row_col
            .into_iter()
            .map(|c| c.filter(|&c| c < cols))
            .collect()
    }
}
