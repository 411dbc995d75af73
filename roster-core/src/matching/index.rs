//! An in-memory matching index: the roster laid out as flat arrays and
//! bitmaps, so that ranking a request touches only the experts who can still
//! reach the shortlist.
//!
//! The index gives the same ranked ids and totals as the reference
//! [`rank`](super::rank) (a property test holds the two together), but
//! renders the explanation sentences only for the experts it returns,
//! through [`IndexRanking::explain`], and counts what each filter removed
//! only when asked ([`MatchIndex::filter_counts`]) or when nobody passes.
//!
//! # How a ranking is found
//!
//! Beside the per-expert columns, the index keeps one bitmap (a bit per
//! expert) for every thematic node and every subtree of the taxonomy, for
//! every competency, experience country and region, for each language at
//! each level, for steps of experience in any field, for "included" and
//! "available", and for each span of 32 days, holding the included experts
//! whose term overlaps it (a term that covers a mission overlaps the spans
//! of its first and its last day, so two bitmaps rule out most experts
//! whose term does not). A request turns into
//! *features*: for each thematic need, meeting its node exactly, at or below
//! it, or anywhere in its line; any related node at all; each requested
//! competency; each desired language at its level; experience in the
//! requesting state, or in its region; and each experience step. Each
//! feature is the union of a few bitmaps.
//!
//! The best total an expert lacking one feature could reach (every other
//! part at its best) is the feature's *ceiling*; pairs of features have
//! ceilings too. For a threshold θ, an expert lacking a feature, or both of
//! a pair, whose ceiling is below θ cannot total θ. The ranking walks
//! thresholds from near the best total downwards; at each it scores,
//! exactly, the experts not ruled out and not scored before. Once the
//! shortlist is full no threshold is below its weakest total, and when
//! that total rises well above the current threshold during a pass, the
//! pass starts over at the weakest total, so that the rest of the roster is
//! ruled out against it. A pass that ends with the weakest total at or
//! above its threshold ends the walk: everyone not scored totals less. The
//! last threshold, zero, rules out nobody, so in the worst case every
//! expert who passes the bitmap filters is scored, as a plain scan would.
//!
//! Pairs are weighed once per request, and only when enough experts are
//! left that ruling some out is worth it. A pair is skipped when a
//! required feature already implies one of its own (an exact node implies
//! its subtree, the requesting state its region, more years fewer), or
//! when a pair of weaker features rules out everyone it would. Skipping a
//! rule only ever means scoring more experts, never fewer.
//!
//! Candidates are taken a few dozen at a time, and their terms read in a
//! loop without branches first, so that the cache misses on their records
//! overlap rather than follow one another. Each expert whose term covers
//! the window then gets an upper bound from a few columns (the parts it
//! has exactly, years in any field, a bloom bit for the requesting state;
//! the desired languages, dearest to check, last, and only when the rest
//! leaves the expert a chance); only those whose bound beats the weakest
//! kept are checked against the remaining filters and scored exactly.
//!
//! A request's terms, the features' bitmaps and the walk's other buffers
//! are kept per thread and reused, so that a ranking allocates little
//! beyond its result.
//!
//! Per expert, one 64-byte record holds what the bound and the cheap
//! filters read: the id, a term (two day numbers), a flag byte, the union
//! of its thematic positions (89 nodes in two `u64`s), a competency bitset,
//! a 64-bit filter of the countries worked in, a region mask, the first four
//! languages, the years part for experience in any field and a
//! government-employer state. Offsets lead into flat side tables
//! (experience periods, languages past four, countries, unavailable days
//! and blocking engagements).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use foldhash::HashMap as FastMap;

use chrono::{Datelike, NaiveDate};

use super::{
    Context, EmptyBecause, Filter, Flag, LoadCap, MatchPolicy, Ranked, Shortlist, Weights,
    YEARS_CAP, score,
};
use crate::language::{Level, ParsedTag};
use crate::lifecycle::Status;
use crate::membership::Membership;
use crate::model::{Engagement, Expert, ExpertId, MissionRequest, Sector, write_request_key};
use crate::taxonomy::Taxonomy;

/// How many experts a ranking keeps unless told otherwise.
pub const DEFAULT_TOP: usize = 20;

const INCLUDED: u8 = 1;
const AVAILABLE: u8 = 2;
/// More languages than fit inline, or a tag id past `u8`: read the side table.
const MANY_LANGUAGES: u8 = 4;
/// Inline language slots per expert.
const INLINE: usize = 4;
const NO_TAG: u8 = u8::MAX;
const NONE16: u16 = u16::MAX;

/// Why the index cannot rank a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// Custom parts score an [`Expert`] record, which the index does not
    /// keep; rank with the reference [`rank`](super::rank) instead.
    #[error(
        "the policy has {0} custom score part(s); the index scores only the built-in parts, so rank with matching::rank"
    )]
    CustomParts(usize),
}

/// Thematic positions as a 128-bit set (the taxonomy has 89 nodes).
type Themes = [u64; 2];

fn theme_bit(set: &mut Themes, position: u16) {
    if let Some(word) = set.get_mut(usize::from(position / 64)) {
        *word |= 1 << (position % 64);
    }
}

/// The positions in a set, lowest first.
fn positions(set: &Themes) -> impl Iterator<Item = u16> + '_ {
    set.iter().zip([0u16, 64]).flat_map(|(word, base)| {
        let mut w = *word;
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let bit = w.trailing_zeros() as u16;
                w &= w - 1;
                base + bit
            })
        })
    })
}

fn meets(a: &Themes, b: &Themes) -> bool {
    (a[0] & b[0]) | (a[1] & b[1]) != 0
}

fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn level_rank(level: Level) -> u8 {
    Level::ALL
        .iter()
        .position(|l| *l == level)
        .map_or(0, |i| i as u8 + 1)
}

/// What ranking reads of an expert before its side tables: the bound's
/// columns and the cheap filters, in one cache line, so that looking at an
/// expert costs one miss rather than one per column.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Hot {
    /// The union of the thematic positions of every period.
    themes: Themes,
    /// The countries worked in, bit `id % 64` (exact list in a side table).
    countries: u64,
    id: ExpertId,
    /// The term's first and last day; empty when not included.
    term: [i32; 2],
    /// The competencies used, a bit per position.
    competencies: u32,
    /// The regions worked in, a bit per region id.
    regions: u32,
    /// The first languages, as (tag id, level rank).
    languages: [(u8, u8); INLINE],
    /// The years part's fraction (thousandths) for experience in any
    /// field, merged, up to today: a bound of the years in the requested
    /// fields.
    years: u16,
    /// The state whose government employs the expert, or `NONE16`.
    government: u16,
    flags: u8,
}

/// A period of experience: its thematic set and days (`last` is `None`
/// while open).
#[derive(Debug, Clone, Copy)]
struct Period {
    themes: Themes,
    first: i32,
    last: Option<i32>,
}

/// A blocking engagement: days and the interned request key.
#[derive(Debug, Clone, Copy)]
struct Booking {
    first: i32,
    last: i32,
    request: u32,
}

/// Tags past this many get no bitmaps; features that would need one count
/// every expert as having it, which is safe (they are then scored exactly).
const TAG_MAPS: usize = 64;
/// Levels a language is known at, from A1 to native.
const LEVELS: usize = Level::ALL.len();
const MAP_INCLUDED: u32 = 0;
const MAP_AVAILABLE: u32 = 1;
/// Included experts whose term runs over [`LONG_TERM`] spans or more:
/// they are in no span's bitmap.
const MAP_LONG_TERM: u32 = 2;
const MAP_THEMES: u32 = 3;
/// Terms are cut into spans of this many days; a span's bitmap holds the
/// included experts whose term overlaps it.
const SPAN_DAYS: i32 = 32;
/// Spans a term may cover and still be set in each (about three and a
/// half years; the roster's terms last one).
const LONG_TERM: i32 = 40;

/// The span of day `day`.
fn span_of(day: i32) -> i32 {
    day.div_euclid(SPAN_DAYS)
}
/// Experience, all fields together, is sorted into this many steps of the
/// years cap, each with a bitmap ("at least k steps").
const YEAR_STEPS: u32 = 4;

/// The fewest days of experience for step `k` (0-based) of the years cap.
fn step_days(k: u32) -> i64 {
    YEARS_CAP * 365 * i64::from(k + 1) / i64::from(YEAR_STEPS)
}

/// One bit per expert for each of a set of properties, 64 experts a word.
#[derive(Debug, Clone, Default)]
struct Bitmaps {
    maps: Vec<Vec<u64>>,
    words: usize,
}

impl Bitmaps {
    /// A new all-zero map; its id.
    fn add(&mut self) -> u32 {
        self.maps.push(vec![0; self.words]);
        (self.maps.len() - 1) as u32
    }

    /// Room for expert `i` in every map.
    fn reserve(&mut self, i: usize) {
        let words = i / 64 + 1;
        if words > self.words {
            self.words = words;
            for map in &mut self.maps {
                map.resize(words, 0);
            }
        }
    }

    fn set(&mut self, map: u32, i: usize) {
        if let Some(word) = self
            .maps
            .get_mut(map as usize)
            .and_then(|m| m.get_mut(i / 64))
        {
            *word |= 1 << (i % 64);
        }
    }

    /// The union of `maps` (every expert when `everyone`).
    #[cfg(test)]
    fn union(&self, maps: &[u32], everyone: bool) -> Vec<u64> {
        let mut out = vec![0; self.words];
        self.union_into(maps, everyone, &mut out);
        out
    }

    /// Writes the union of `maps` (every expert when `everyone`) to `out`.
    fn union_into(&self, maps: &[u32], everyone: bool, out: &mut [u64]) {
        if everyone {
            out.fill(u64::MAX);
            return;
        }
        let (first, rest) = match maps.split_first() {
            Some((first, rest)) => (&self.maps[*first as usize], rest),
            None => {
                out.fill(0);
                return;
            }
        };
        out.copy_from_slice(first);
        for map in rest {
            for (o, w) in out.iter_mut().zip(&self.maps[*map as usize]) {
                *o |= w;
            }
        }
    }

    /// Keeps in `out` only the experts in the union of `maps` (all of
    /// them when `everyone`).
    fn intersect(&self, maps: &[u32], everyone: bool, out: &mut [u64]) {
        if everyone {
            return;
        }
        match maps {
            [] => out.fill(0),
            [one] => {
                for (o, w) in out.iter_mut().zip(&self.maps[*one as usize]) {
                    *o &= w;
                }
            }
            [a, b] => {
                let (a, b) = (&self.maps[*a as usize], &self.maps[*b as usize]);
                for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
                    *o &= x | y;
                }
            }
            _ => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o &= maps.iter().fold(0, |u, m| u | self.maps[*m as usize][k]);
                }
            }
        }
    }
}

/// The roster as flat arrays. Build it once with [`MatchIndex::build`] or
/// push experts one at a time with [`MatchIndex::push`].
#[derive(Debug, Clone)]
pub struct MatchIndex {
    taxonomy: &'static Taxonomy,
    today: i32,
    ids: Vec<ExpertId>,
    /// What ranking reads of every expert it looks at, a cache line each.
    hot: Vec<Hot>,
    // Offsets into the side tables: expert i owns [offset[i], offset[i + 1]).
    period_at: Vec<u32>,
    periods: Vec<Period>,
    language_at: Vec<u32>,
    languages: Vec<(u16, u8)>,
    country_at: Vec<u32>,
    countries: Vec<u16>,
    absence_at: Vec<u32>,
    absences: Vec<[i32; 2]>,
    booking_at: Vec<u32>,
    bookings: Vec<Booking>,
    country_ids: FastMap<String, u16>,
    region_ids: FastMap<String, u8>,
    country_region: Vec<Option<u8>>,
    tags: Vec<ParsedTag>,
    tag_ids: FastMap<String, u16>,
    /// Per thematic position: the node, the nodes below it and those
    /// above it.
    nodes: Vec<ThemeNeed>,
    /// Per thematic position: the node and every node above it.
    up: Vec<Themes>,
    /// The first of the bitmaps "has a node at or below position p".
    subtree_maps: u32,
    request_ids: FastMap<String, u32>,
    /// Per span of days, the bitmap of included experts whose term
    /// overlaps it.
    term_maps: FastMap<i32, u32>,
    bits: Bitmaps,
    competency_maps: u32,
    year_maps: u32,
    country_maps: Vec<u32>,
    region_maps: Vec<u32>,
    tag_maps: Vec<Option<u32>>,
}

impl MatchIndex {
    /// An empty index; `today` ends open periods of experience.
    pub fn new(taxonomy: &'static Taxonomy, today: NaiveDate) -> MatchIndex {
        let mut bits = Bitmaps::default();
        for _ in 0..MAP_THEMES as usize + taxonomy.themes().len() {
            bits.add();
        }
        let competency_maps = bits.add();
        for _ in 1..taxonomy.competencies().len() {
            bits.add();
        }
        let year_maps = bits.add();
        for _ in 1..YEAR_STEPS {
            bits.add();
        }
        let subtree_maps = bits.add();
        for _ in 1..taxonomy.themes().len() {
            bits.add();
        }
        let positions = 0..taxonomy.themes().len() as u16;
        let set = |nodes: &mut dyn Iterator<Item = u16>| {
            let mut set = [0; 2];
            for p in nodes {
                theme_bit(&mut set, p);
            }
            set
        };
        let nodes = positions
            .clone()
            .map(|r| ThemeNeed {
                exact: set(&mut std::iter::once(r)),
                deeper: set(&mut taxonomy.subtree(r).skip(1)),
                broader: set(&mut positions
                    .clone()
                    .filter(|&a| a != r && taxonomy.position_within(r, a))),
            })
            .collect();
        let up = positions
            .clone()
            .map(|r| {
                set(&mut positions
                    .clone()
                    .filter(|&a| taxonomy.position_within(r, a)))
            })
            .collect();
        MatchIndex {
            taxonomy,
            today: day(today),
            ids: Vec::new(),
            hot: Vec::new(),
            period_at: vec![0],
            periods: Vec::new(),
            language_at: vec![0],
            languages: Vec::new(),
            country_at: vec![0],
            countries: Vec::new(),
            absence_at: vec![0],
            absences: Vec::new(),
            booking_at: vec![0],
            bookings: Vec::new(),
            country_ids: FastMap::default(),
            region_ids: FastMap::default(),
            country_region: Vec::new(),
            tags: Vec::new(),
            tag_ids: FastMap::default(),
            nodes,
            up,
            subtree_maps,
            request_ids: FastMap::default(),
            term_maps: FastMap::default(),
            bits,
            competency_maps,
            year_maps,
            country_maps: Vec::new(),
            region_maps: Vec::new(),
            tag_maps: Vec::new(),
        }
    }

    /// The index of `experts` with their `engagements`, as of `today`.
    pub fn build(
        experts: &[Expert],
        engagements: &[Engagement],
        taxonomy: &'static Taxonomy,
        membership: &Membership,
        today: NaiveDate,
    ) -> MatchIndex {
        let mut index = MatchIndex::new(taxonomy, today);
        let mut by_expert: HashMap<ExpertId, Vec<&Engagement>> = HashMap::new();
        for e in engagements.iter().filter(|e| e.blocks()) {
            by_expert.entry(e.expert).or_default().push(e);
        }
        for expert in experts {
            let own = by_expert.get(&expert.id).map_or(&[][..], Vec::as_slice);
            index.push(expert, own.iter().copied(), membership);
        }
        index
    }

    /// How many experts the index holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no expert.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds one expert with its engagements (those that do not hold days
    /// are ignored).
    pub fn push<'e>(
        &mut self,
        expert: &Expert,
        engagements: impl IntoIterator<Item = &'e Engagement>,
        membership: &Membership,
    ) {
        let t = self.taxonomy;
        let i = self.ids.len();
        self.bits.reserve(i);
        self.ids.push(expert.id);
        let (included, term) = match (expert.status, expert.term) {
            (Status::Included, Some(term)) => (true, [day(term.first_day), day(term.last_day)]),
            (Status::Included, None) => (true, [i32::MAX, i32::MIN]),
            _ => (false, [i32::MAX, i32::MIN]),
        };
        if included && term[0] <= term[1] {
            let (first, last) = (span_of(term[0]), span_of(term[1]));
            if last - first < LONG_TERM {
                for span in first..=last {
                    let map = match self.term_maps.get(&span) {
                        Some(&map) => map,
                        None => {
                            let map = self.bits.add();
                            self.term_maps.insert(span, map);
                            map
                        }
                    };
                    self.bits.set(map, i);
                }
            } else {
                self.bits.set(MAP_LONG_TERM, i);
            }
        }
        let a = &expert.profile.availability;
        let mut flags = 0;
        if included {
            flags |= INCLUDED;
            self.bits.set(MAP_INCLUDED, i);
        }
        if a.available && a.authorised {
            flags |= AVAILABLE;
            self.bits.set(MAP_AVAILABLE, i);
        }

        let mut all = [0u64; 2];
        let mut competencies = 0u32;
        let mut periods = Vec::new();
        for p in &expert.profile.experience {
            let mut set = [0u64; 2];
            for pos in p.themes.iter().filter_map(|c| t.theme_position(c).ok()) {
                theme_bit(&mut set, pos);
            }
            all[0] |= set[0];
            all[1] |= set[1];
            for pos in p
                .competencies
                .iter()
                .filter_map(|c| t.competency_position(c).ok())
            {
                competencies |= 1u32.checked_shl(u32::from(pos)).unwrap_or(0);
            }
            periods.push(Period {
                themes: set,
                first: day(p.from),
                last: p.to.map(day),
            });
        }
        periods.sort_by_key(|p| p.first);
        self.periods.extend(periods);
        self.period_at.push(self.periods.len() as u32);
        let days = self.merged_days(i, |_| true);
        let years = years_fraction(days) as u16;
        for k in (0..YEAR_STEPS).filter(|&k| days >= step_days(k)) {
            self.bits.set(self.year_maps + k, i);
        }
        let mut above = [0u64; 2];
        for pos in positions(&all) {
            self.bits.set(MAP_THEMES + u32::from(pos), i);
            if let Some(up) = self.up.get(usize::from(pos)) {
                above[0] |= up[0];
                above[1] |= up[1];
            }
        }
        for pos in positions(&above) {
            self.bits.set(self.subtree_maps + u32::from(pos), i);
        }
        for pos in 0..32u32 {
            if competencies & (1 << pos) != 0 {
                self.bits.set(self.competency_maps + pos, i);
            }
        }

        let org = &expert.profile.organisation;
        let government = match (&org.sector, &org.state) {
            (Sector::Government, Some(state)) => self.country(state, membership),
            _ => NONE16,
        };

        let mut regions = 0u32;
        let mut bloom = 0u64;
        let mut countries: Vec<u16> = Vec::new();
        for c in expert.profile.experience.iter().flat_map(|p| &p.countries) {
            let id = self.country(c, membership);
            bloom |= 1 << (id % 64);
            if let Some(r) = self.country_region[usize::from(id)] {
                regions |= 1 << r;
                self.bits.set(self.region_maps[usize::from(r)], i);
            }
            if !countries.contains(&id) {
                countries.push(id);
                self.bits.set(self.country_maps[usize::from(id)], i);
            }
        }
        self.countries.extend(countries);
        self.country_at.push(self.countries.len() as u32);

        let mut inline = [(NO_TAG, 0); INLINE];
        for (n, skill) in expert.profile.languages.iter().enumerate() {
            let tag = self.tag(&skill.tag);
            let level = level_rank(skill.level);
            if let Some(Some(first)) = self.tag_maps.get(usize::from(tag)) {
                for at in 0..u32::from(level) {
                    self.bits.set(first + at, i);
                }
            }
            self.languages.push((tag, level));
            match (inline.get_mut(n), u8::try_from(tag)) {
                (Some(slot), Ok(small)) if small != NO_TAG => *slot = (small, level),
                _ => flags |= MANY_LANGUAGES,
            }
        }
        self.language_at.push(self.languages.len() as u32);
        self.hot.push(Hot {
            themes: all,
            countries: bloom,
            id: expert.id,
            term,
            competencies,
            regions,
            languages: inline,
            years,
            government,
            flags,
        });

        for r in &a.unavailable {
            self.absences.push([day(r.first), day(r.last)]);
        }
        self.absence_at.push(self.absences.len() as u32);

        for e in engagements.into_iter().filter(|e| e.blocks()) {
            let next = self.request_ids.len() as u32;
            let request = *self.request_ids.entry(e.request_id.clone()).or_insert(next);
            self.bookings.push(Booking {
                first: day(e.window.first),
                last: day(e.window.last),
                request,
            });
        }
        self.booking_at.push(self.bookings.len() as u32);
    }

    fn country(&mut self, code: &str, membership: &Membership) -> u16 {
        if let Some(&id) = self.country_ids.get(code) {
            return id;
        }
        // Past u16::MAX - 1 distinct codes, later ones share the last id;
        // ISO 3166 has fewer than 300.
        let id = (self.country_ids.len() as u16).min(NONE16 - 1);
        self.country_ids.insert(code.to_owned(), id);
        // Regions past the 32nd share a bit; the membership table has a handful.
        let region = membership.region(code).map(|r| {
            let next = self.region_ids.len().min(31) as u8;
            *self.region_ids.entry(r.to_owned()).or_insert(next)
        });
        if let Some(r) = region
            && usize::from(r) == self.region_maps.len()
        {
            let map = self.bits.add();
            self.region_maps.push(map);
        }
        if usize::from(id) == self.country_region.len() {
            self.country_region.push(region);
            let map = self.bits.add();
            self.country_maps.push(map);
        }
        id
    }

    fn tag(&mut self, tag: &str) -> u16 {
        if let Some(&id) = self.tag_ids.get(tag) {
            return id;
        }
        let id = (self.tags.len() as u16).min(NONE16 - 1);
        if usize::from(id) == self.tags.len() {
            self.tags.push(ParsedTag::new(tag));
            let maps = (self.tags.len() <= TAG_MAPS).then(|| {
                let first = self.bits.add();
                for _ in 1..LEVELS {
                    self.bits.add();
                }
                first
            });
            self.tag_maps.push(maps);
        }
        self.tag_ids.insert(tag.to_owned(), id);
        id
    }

    /// Ranks every expert for `request` (which must be valid) and keeps the
    /// best `top`. Fails only when the policy has custom parts.
    pub fn rank(
        &self,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
        top: usize,
    ) -> Result<IndexRanking, IndexError> {
        if !policy.custom.is_empty() {
            return Err(IndexError::CustomParts(policy.custom.len()));
        }
        let (hits, empty_because) = with_query(self, request, policy, membership, |q| {
            let mut shortlist = TopK::new(top);
            if top > 0 {
                self.walk(q, &mut shortlist);
            }
            let hits = shortlist.into_hits();
            // Nobody kept: say why, which needs every expert's first failure.
            let empty_because = if hits.is_empty() {
                let counts = self.count(q);
                (counts.passed == 0).then(|| EmptyBecause::from_counts(counts.removed_by))
            } else {
                None
            };
            (hits, empty_because)
        });
        Ok(IndexRanking {
            request_id: request.id.clone(),
            wanted: request.experts_wanted,
            hits,
            empty_because,
        })
    }

    /// Why `expert` is not on the shortlist for `request`, or where it
    /// ranks, in the words of [`Shortlist::why_not`]: the first filter
    /// that removes it (ask [`filters`](super::filters) with its record for
    /// the reason in full), or its place among every expert who passes.
    /// One pass over every expert, as a full ranking would be needed to
    /// place an expert below the shortlist.
    pub fn why_not(
        &self,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
        expert: ExpertId,
    ) -> Result<String, IndexError> {
        if !policy.custom.is_empty() {
            return Err(IndexError::CustomParts(policy.custom.len()));
        }
        let Some(at) = self.ids.iter().position(|id| *id == expert) else {
            return Ok(format!("{expert} was not considered: not on the roster"));
        };
        with_query(self, request, policy, membership, |q| {
            self.place_of(at, expert, request, q)
        })
    }

    /// [`why_not`](Self::why_not) for the expert at `at`.
    fn place_of(
        &self,
        at: usize,
        expert: ExpertId,
        request: &MissionRequest,
        q: &Query,
    ) -> Result<String, IndexError> {
        let failure = self.first_failure(at, q);
        if let Some(filter) = FILTERS.get(failure) {
            return Ok(format!("{expert} was removed by the filter \"{filter}\""));
        }
        let key = self.key(at, q);
        let (mut rank, mut passed) = (1usize, 0usize);
        for i in 0..self.ids.len() {
            if self.first_failure(i, q) == FILTERS.len() {
                passed += 1;
                if self.key(i, q) > key {
                    rank += 1;
                }
            }
        }
        Ok(if rank <= usize::from(request.experts_wanted) {
            format!("{expert} is proposed, ranked {rank} of {passed}")
        } else {
            format!(
                "{expert} passed every filter but ranked {rank} of {passed}, below the {} wanted",
                request.experts_wanted
            )
        })
    }

    /// Expert `i`'s exact key for a query; it must pass the filters.
    fn key(&self, i: usize, q: &Query) -> Key {
        let (_, exact) = self.bound(i, q);
        let (total, recent) = self.total(i, q, exact);
        Key {
            total,
            recent: Reverse(recent),
            id: Reverse(self.ids[i]),
        }
    }

    /// How many experts pass every filter for `request`, and how many each
    /// filter removes (each expert under the first it fails). One pass over
    /// every expert; [`rank`](Self::rank) does not need it.
    pub fn filter_counts(
        &self,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
    ) -> FilterCounts {
        with_query(self, request, policy, membership, |q| self.count(q))
    }

    fn count(&self, q: &Query) -> FilterCounts {
        let mut removed = [0usize; FILTERS.len() + 1];
        for i in 0..self.ids.len() {
            removed[self.first_failure(i, q)] += 1;
        }
        FilterCounts {
            passed: removed[FILTERS.len()],
            removed_by: FILTERS
                .iter()
                .zip(removed)
                .filter(|(_, n)| *n > 0)
                .map(|(f, n)| (*f, n))
                .collect(),
        }
    }

    /// Scores the experts who can still reach the shortlist, threshold by
    /// threshold (see the module documentation).
    fn walk(&self, q: &Query, shortlist: &mut TopK) {
        SCRATCH.with_borrow_mut(|scratch| self.walk_in(q, shortlist, scratch));
    }

    fn walk_in(&self, q: &Query, shortlist: &mut TopK, scratch: &mut Scratch) {
        let words = self.bits.words;
        // One buffer: feature f owns words [f * words, (f + 1) * words),
        // filled on first use (many features are never needed).
        let n = q.features.len();
        scratch
            .features
            .resize(scratch.features.len().max(n * words), 0);
        scratch.done.clear();
        scratch.done.resize(words, 0);
        scratch.candidates.resize(words, 0);
        let Scratch {
            features,
            done,
            candidates,
            ceilings,
            rule,
        } = scratch;
        let mut batch = [0u32; BATCH + 64];
        let mut built = 0u64;
        let mut build = |set: u64, features: &mut [u64]| {
            let mut missing = set & !built;
            built |= set;
            while missing != 0 {
                let f = missing.trailing_zeros() as usize;
                missing &= missing - 1;
                let feature = &q.features[f];
                self.bits.union_into(
                    &q.maps[feature.maps.clone()],
                    feature.everyone,
                    &mut features[f * words..(f + 1) * words],
                );
            }
        };
        ceilings.reset(q);
        let best = ceilings.best;
        // Thresholds from near the best total down to zero. Once the
        // shortlist is full none is below its weakest total, and a pass
        // starts over at a higher threshold as soon as the weakest total
        // has risen well above the pass's: the rest of the roster is then
        // ruled out against the higher one.
        let mut steps = THRESHOLD_STEPS.into_iter();
        let mut theta = match steps.next() {
            Some(step) => best - best / step,
            None => return,
        };
        loop {
            rule.set(ceilings, theta);
            candidates.copy_from_slice(&q.base);
            build(rule.required, features);
            rule.survivors(candidates, features, words);
            // Pairs cost a look at many ceilings and a pass each; when few
            // experts are left to score, scoring them is cheaper.
            let left: u32 = candidates
                .iter()
                .zip(done.iter())
                .map(|(c, d)| (c & !d).count_ones())
                .sum();
            // Weighing pairs costs about as much per pair of open features
            // as scoring an expert does.
            let open = ceilings
                .single
                .iter()
                .filter(|c| (theta..best).contains(*c))
                .count() as u32;
            if left > PAIRS_WORTH.max(open * open / 2) {
                ceilings.weigh_pairs(q, theta);
                rule.pair(ceilings, theta);
                build(rule.paired(), features);
                rule.survivors_of_pairs(candidates, features, words);
            }
            let raise_at = theta.saturating_add((best - theta) / RAISE_SHARE);
            let mut raised = false;
            let mut w = 0;
            while w < words && !raised {
                // A batch of candidates, whole words of them, then their
                // terms in a loop without branches: the records' misses
                // overlap there rather than one by one in `consider`.
                let mut n = 0;
                while w < words && n < BATCH {
                    let mut c = candidates[w] & !done[w];
                    done[w] |= c;
                    while c != 0 {
                        batch[n] = (w * 64) as u32 + c.trailing_zeros();
                        n += 1;
                        c &= c - 1;
                    }
                    w += 1;
                }
                let mut kept = 0;
                for k in 0..n {
                    let i = batch[k];
                    let [first, last] = self.hot[i as usize].term;
                    batch[kept] = i;
                    kept += usize::from(first <= q.first && q.last <= last);
                }
                for &i in &batch[..kept] {
                    self.consider(i as usize, q, shortlist);
                }
                raised = shortlist.is_full() && shortlist.worst.total > raise_at;
            }
            let floor = if shortlist.is_full() {
                shortlist.worst.total
            } else {
                0
            };
            if raised {
                theta = floor;
                continue;
            }
            // Everyone who could total `theta` has been scored.
            if shortlist.is_full() && floor >= theta {
                return;
            }
            theta = match steps.next() {
                Some(step) => (best - best / step).max(floor),
                None => return,
            };
        }
    }

    /// Scores expert `i`, whose term covers the window, exactly and
    /// offers it to the shortlist.
    fn consider(&self, i: usize, q: &Query, shortlist: &mut TopK) {
        // Skip the other filters and the expensive parts when even the
        // best total cannot beat the weakest kept: the key with the bound
        // is at least the true key, and a key equal to the weakest kept is
        // not kept.
        let Some((_, exact)) = self.bound_above(i, q, shortlist.worst) else {
            return;
        };
        if self.first_failure(i, q) < FILTERS.len() {
            return;
        }
        let (total, recent) = self.total(i, q, exact);
        shortlist.offer(Key {
            total,
            recent: Reverse(recent),
            id: Reverse(self.hot[i].id),
        });
    }

    /// The position in [`FILTERS`] of the first filter the expert fails;
    /// `FILTERS.len()` when it passes them all. Cheap checks come first and
    /// return early, as most experts fail one.
    fn first_failure(&self, i: usize, q: &Query) -> usize {
        let flags = self.hot[i].flags;
        if flags & INCLUDED == 0 {
            return 0;
        }
        let [first, last] = self.hot[i].term;
        if !(first <= q.first && q.last <= last) {
            return 1;
        }
        if flags & AVAILABLE == 0
            || self.absences[span(&self.absence_at, i)]
                .iter()
                .any(|[f, l]| *f <= q.last && q.first <= *l)
        {
            return 2;
        }
        let bookings = &self.bookings[span(&self.booking_at, i)];
        let other = |b: &&Booking| b.request != q.request;
        if bookings
            .iter()
            .filter(other)
            .any(|b| b.first <= q.last && q.first <= b.last)
        {
            return 3;
        }
        if let Some((cap, from)) = q.cap {
            let max = u64::from(cap.max);
            let load = bookings
                .iter()
                .filter(other)
                .filter(|b| b.first <= q.last && from <= b.last)
                .count();
            // As the reference: a later mission's own period may reach
            // this one.
            let period = i32::try_from(cap.period_days).unwrap_or(i32::MAX);
            let later = bookings.iter().filter(other).any(|x| {
                let back = x.first.saturating_sub(period);
                q.first <= x.last
                    && back <= q.last
                    && bookings
                        .iter()
                        .filter(other)
                        .filter(|b| b.first <= x.last && back <= b.last)
                        .count() as u64
                        >= max
            });
            if load as u64 >= max || later {
                return 4;
            }
        }
        if q.required.iter().any(|need| !self.knows(i, need)) {
            return 5;
        }
        if !q.excluded.is_empty() && q.excluded.binary_search(&self.ids[i]).is_ok() {
            return 6;
        }
        if q.requester != NONE16 && self.hot[i].government == q.requester {
            return 7;
        }
        FILTERS.len()
    }

    /// Gives `map` the bitmaps of experts who know a language meeting a
    /// need at `level` or better; `true` when some meeting tag has no
    /// bitmaps (so that everyone must count as knowing it).
    fn language_maps(&self, meets: &[bool], level: u8, map: &mut dyn FnMut(u32)) -> bool {
        let mut everyone = false;
        for (tag, _) in meets.iter().enumerate().filter(|(_, m)| **m) {
            match self.tag_maps.get(tag).copied().flatten() {
                Some(first) => map(first + u32::from(level.max(1)) - 1),
                None => everyone = true,
            }
        }
        everyone
    }

    /// Whether the expert knows a language meeting `need` at its level.
    fn knows(&self, i: usize, need: &LanguageNeed) -> bool {
        if self.hot[i].flags & MANY_LANGUAGES != 0 {
            return best_level(&self.languages[span(&self.language_at, i)], &need.meets)
                >= need.level;
        }
        self.hot[i]
            .languages
            .iter()
            .fold(false, |known, (tag, level)| {
                known | (*level >= need.floor[usize::from(*tag)])
            })
    }

    /// The thematic sum over the needs: 1000 for an exact match, 700
    /// through a node below, 300 through one above, per need.
    fn thematic_sum(&self, i: usize, q: &Query) -> usize {
        let themes = &self.hot[i].themes;
        let mut sum = 0;
        for need in &q.themes {
            sum += if meets(themes, &need.exact) {
                10
            } else if meets(themes, &need.deeper) {
                7
            } else if meets(themes, &need.broader) {
                3
            } else {
                0
            };
        }
        sum
    }

    /// How many of the requested competencies the expert has used.
    fn competencies_met(&self, i: usize, q: &Query) -> usize {
        let have = self.hot[i].competencies;
        q.competencies
            .iter()
            .filter(|bit| have & **bit != 0)
            .count()
    }

    /// 2 for experience in the [experience state](super::experience_state),
    /// 1 for its region, 0 otherwise; `exact` checks the state's list,
    /// otherwise a bloom bit stands for it (an upper bound).
    fn place(&self, i: usize, q: &Query, exact: bool) -> usize {
        if q.state != NONE16
            && self.hot[i].countries & (1 << (q.state % 64)) != 0
            && (!exact || self.countries[span(&self.country_at, i)].contains(&q.state))
        {
            2
        } else if self.hot[i].regions & q.region != 0 {
            1
        } else {
            0
        }
    }

    /// An upper bound of the total, and the points of the parts it has
    /// exactly (thematic, competencies and desired languages), for
    /// [`total`](Self::total). Only the years (from any field, not just
    /// the requested ones), the place (a bloom bit for the state) and
    /// rotation (at its best) are bounded.
    fn bound(&self, i: usize, q: &Query) -> (u32, u64) {
        self.bound_above(i, q, TopK::FLOOR).unwrap_or((0, 0))
    }

    /// [`bound`](Self::bound), or `None` as soon as the expert's key with
    /// it cannot beat `worst`: the desired languages, which cost most to
    /// check, are counted last, at their best until then.
    fn bound_above(&self, i: usize, q: &Query, worst: Key) -> Option<(u32, u64)> {
        let p = &q.points;
        let hot = &self.hot[i];
        let known =
            p.thematic[self.thematic_sum(i, q)] + p.competencies[self.competencies_met(i, q)];
        // Years in the requested fields are at most years in any field.
        let years = if meets(&hot.themes, &q.related) {
            points(u32::from(hot.years), q.weights.years)
        } else {
            0
        };
        let rest = known + years + q.best_rest + p.place[self.place(i, q, false)];
        let key = |sum: u64| Key {
            total: sum.min(u64::from(u32::MAX)) as u32,
            recent: Reverse(0),
            id: Reverse(hot.id),
        };
        let most = p.languages[q.desired.len()];
        if key(rest + most) <= worst {
            return None;
        }
        let languages = q.desired.iter().filter(|need| self.knows(i, need)).count();
        let exact = known + p.languages[languages];
        let sum = rest - known + exact;
        (key(sum) > worst).then(|| (key(sum).total, exact))
    }

    /// The exact total and the number of recent missions; `exact` is the
    /// thematic, competency and language points from
    /// [`bound`](Self::bound).
    fn total(&self, i: usize, q: &Query, exact: u64) -> (u32, u32) {
        let p = &q.points;
        let years = if meets(&self.hot[i].themes, &q.related) {
            points(years_fraction(self.relevant_days(i, q)), q.weights.years)
        } else {
            0
        };
        let recent = self.bookings[span(&self.booking_at, i)]
            .iter()
            .filter(|b| b.request != q.request && b.last >= q.since && b.first < q.first)
            .count();
        let rotation = p.rotation.get(recent).copied().unwrap_or(0);
        let sum = exact + years + p.place[self.place(i, q, true)] + rotation;
        (sum.min(u64::from(u32::MAX)) as u32, recent as u32)
    }

    /// Days of experience in periods related to the request, merged.
    fn relevant_days(&self, i: usize, q: &Query) -> i64 {
        self.merged_days(i, |p| meets(&p.themes, &q.related))
    }

    /// Days of experience in the periods `keep` chooses, merged, up to
    /// today.
    fn merged_days(&self, i: usize, keep: impl Fn(&Period) -> bool) -> i64 {
        let mut total = 0i64;
        let mut current: Option<(i32, i32)> = None;
        // Periods are sorted by first day at build time.
        for p in &self.periods[span(&self.period_at, i)] {
            if !keep(p) {
                continue;
            }
            let last = p.last.unwrap_or(self.today).min(self.today);
            if p.first > last {
                continue;
            }
            match current.as_mut() {
                Some(c) if p.first <= c.1.saturating_add(1) => c.1 = c.1.max(last),
                _ => {
                    if let Some((f, l)) = current.replace((p.first, last)) {
                        total += i64::from(l - f) + 1;
                    }
                }
            }
        }
        total + current.map_or(0, |(f, l)| i64::from(l - f) + 1)
    }
}

const FILTERS: [Filter; 9] = [
    Filter::NotIncluded,
    Filter::TermEnds,
    Filter::Unavailable,
    Filter::Engaged,
    Filter::LoadCap,
    Filter::Language,
    Filter::Excluded,
    Filter::Conflict,
    Filter::InvalidScore,
];

/// A part's points, `fraction × weight` saturated as [`score`] saturates
/// it; six of them add up without overflow in a `u64`.
fn points(fraction: u32, weight: u32) -> u64 {
    u64::from(fraction.saturating_mul(weight))
}

/// The years part's fraction for `days` of experience.
fn years_fraction(days: i64) -> u32 {
    let cap = YEARS_CAP * 365;
    (days.clamp(0, cap) * 1000 / cap) as u32
}

/// Each part's points by what the expert has, for one query, so that a
/// total is six lookups.
#[derive(Default)]
struct Points {
    /// By the thematic sum in hundreds (10, 7 or 3 per need).
    thematic: Vec<u64>,
    /// By the number of requested competencies met.
    competencies: Vec<u64>,
    /// By the number of desired languages met.
    languages: Vec<u64>,
    /// No experience there, in the region, in the requesting state.
    place: [u64; 3],
    /// By the number of recent missions (more than two earn nothing).
    rotation: [u64; 3],
}

impl Points {
    /// Fills the tables for `needs` thematic needs, `competencies`
    /// requested competencies and `desired` desired languages.
    fn fill(&mut self, w: &Weights, needs: usize, competencies: usize, desired: usize) {
        let share = |table: &mut Vec<u64>, of: usize, weight: u32| {
            table.clear();
            table.extend((0..=of).map(|have| {
                let fraction = (have * 1000).checked_div(of).unwrap_or(0);
                points(fraction as u32, weight)
            }));
        };
        self.thematic.clear();
        self.thematic.extend(
            (0..=10 * needs).map(|sum| points((sum * 100 / needs.max(1)) as u32, w.thematic)),
        );
        share(&mut self.competencies, competencies, w.competencies);
        share(&mut self.languages, desired, w.languages);
        self.place = [0, points(500, w.region), points(1000, w.region)];
        self.rotation = [points(1000, w.rotation), points(500, w.rotation), 0];
    }
}

fn span(offsets: &[u32], i: usize) -> std::ops::Range<usize> {
    offsets[i] as usize..offsets[i + 1] as usize
}

/// The best level among `skills` whose tag meets the need (`meets` is
/// indexed by tag id); 0 when none does.
fn best_level(skills: &[(u16, u8)], meets: &[bool]) -> u8 {
    skills
        .iter()
        .filter(|(tag, _)| meets.get(usize::from(*tag)).copied().unwrap_or(false))
        .map(|(_, level)| *level)
        .max()
        .unwrap_or(0)
}

/// The walk's thresholds: the best total less this share of it (a
/// sixth, then a third); the last, zero. Chosen on the benchmark roster
/// (`benches/roster_gen`): finer steps cost a pass each, coarser ones
/// score many experts far below the shortlist before it fills.
const THRESHOLD_STEPS: [u32; 3] = [6, 3, 1];

/// A pass starts over once the weakest kept total has risen above its
/// threshold by this share of the distance to the best total.
const RAISE_SHARE: u32 = 8;

/// Candidates are gathered this many at a time (whole words, so up to 63
/// more) before their terms are read.
const BATCH: usize = 32;

/// Buffers a ranking reuses, one set per thread, so that ranking a
/// request allocates no bitmaps.
#[derive(Default)]
struct Scratch {
    features: Vec<u64>,
    done: Vec<u64>,
    candidates: Vec<u64>,
    ceilings: Ceilings,
    rule: Rule,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Above this many experts left to score at a threshold, pairs of
/// features are worth weighing.
const PAIRS_WORTH: u32 = 64;

/// Which experts can still total a threshold: those who have every
/// feature an expert cannot lack (its ceiling is below the threshold) and
/// at least one of every pair of features an expert cannot lack together.
/// Larger sets are not checked, so a few more experts are scored than
/// strictly need to be; none who could reach the threshold is skipped.
#[derive(Default)]
struct Rule {
    /// The features every survivor has, as a set.
    required: u64,
    /// Pairs of features of which every survivor has at least one.
    pairs: Vec<(u8, u8)>,
}

impl Rule {
    /// The features required at threshold `theta`; no pairs yet.
    fn set(&mut self, ceilings: &Ceilings, theta: u32) {
        let single = &ceilings.single;
        self.required = (0..single.len())
            .filter(|&f| single[f] < theta)
            .fold(0, |m, f| m | 1 << f);
        self.pairs.clear();
    }

    /// Adds the pairs for threshold `theta`: those weighed by
    /// [`Ceilings::weigh_pairs`] whose ceiling is below it.
    ///
    /// A pair is left out when every survivor has one of its features
    /// already (a required feature lies within it), or when another pair
    /// of features within its own rules out everyone it would.
    fn pair(&mut self, ceilings: &Ceilings, theta: u32) {
        let required = self.required;
        let within = &ceilings.within;
        let useful =
            |f: u8, g: u8| required & (within[usize::from(f)] | within[usize::from(g)]) == 0;
        self.pairs.extend(
            ceilings
                .pairs
                .iter()
                .filter(|(c, f, g)| *c < theta && useful(*f, *g))
                .map(|(_, f, g)| (*f, *g)),
        );
        // partners[f]: the features paired with f.
        let mut partners = [0u64; 64];
        for &(f, g) in &self.pairs {
            partners[usize::from(f)] |= 1 << g;
            partners[usize::from(g)] |= 1 << f;
        }
        let dominated = |f: u8, g: u8| {
            let (f, g) = (usize::from(f), usize::from(g));
            let mut inner = within[f];
            while inner != 0 {
                let c = inner.trailing_zeros() as usize;
                inner &= inner - 1;
                let mut others = partners[c] & within[g];
                if c == f {
                    others &= !(1 << g);
                }
                if others != 0 {
                    return true;
                }
            }
            false
        };
        self.pairs.retain(|&(f, g)| !dominated(f, g));
    }

    /// The features of every pair, as a set.
    fn paired(&self) -> u64 {
        self.pairs.iter().fold(0, |m, (f, g)| m | 1 << f | 1 << g)
    }

    /// Keeps in `experts` only those who have every required feature;
    /// `features` holds `words` words per feature.
    fn survivors(&self, experts: &mut [u64], features: &[u64], words: usize) {
        let mut required = self.required;
        while required != 0 {
            let f = required.trailing_zeros() as usize;
            required &= required - 1;
            for (m, x) in experts
                .iter_mut()
                .zip(&features[f * words..(f + 1) * words])
            {
                *m &= x;
            }
        }
    }

    /// Keeps in `experts` only those who have one of each pair.
    fn survivors_of_pairs(&self, experts: &mut [u64], features: &[u64], words: usize) {
        let feature = |f: u8| &features[usize::from(f) * words..(usize::from(f) + 1) * words];
        for &(f, g) in &self.pairs {
            for (m, (x, y)) in experts.iter_mut().zip(feature(f).iter().zip(feature(g))) {
                *m &= x | y;
            }
        }
    }
}

/// The best total, the ceiling of every feature and of the pairs worth
/// weighing, for a query.
#[derive(Default)]
struct Ceilings {
    best: u32,
    single: Vec<u32>,
    /// Whether the pairs are weighed yet.
    weighed: bool,
    /// Pairs (ceiling, feature, feature) whose ceiling is below what
    /// either feature alone allows, weighed once, at the first threshold
    /// that needs pairs (see [`weigh_pairs`](Self::weigh_pairs)).
    pairs: Vec<(u32, u8, u8)>,
    /// Per feature, the features whose experts all have it (itself
    /// included): having one of them means having it. Filled with the
    /// pairs, by [`Query::within`].
    within: Vec<u64>,
    /// The features a pair may be weighed for, by ceiling; a buffer.
    open: Vec<(u32, u8)>,
}

impl Ceilings {
    /// The ceilings of `q`'s features; no pairs yet.
    fn reset(&mut self, q: &Query) {
        self.best = q.ceiling(0);
        self.single.clear();
        self.single
            .extend((0..q.features.len()).map(|f| q.ceiling(1 << f)));
        self.weighed = false;
        self.pairs.clear();
        self.within.clear();
    }

    /// Weighs the pairs that may be below `theta` or any lower threshold,
    /// unless done already: the walk's thresholds only descend.
    fn weigh_pairs(&mut self, q: &Query, theta: u32) {
        if self.weighed {
            return;
        }
        self.weighed = true;
        // Losses nearly add up across features, so a pair whose members'
        // losses together stay below `best - theta` is not worth the exact
        // ceiling; leaving a pair out only means scoring more experts.
        // Features go by ceiling, lowest first, so that the pairs worth a
        // look for each come first.
        let best = self.best;
        let open = &mut self.open;
        open.clear();
        open.extend(
            self.single
                .iter()
                .enumerate()
                .filter(|(_, c)| **c < best)
                .map(|(f, c)| (*c, f as u8)),
        );
        open.sort_unstable();
        let limit = u64::from(theta) + u64::from(best);
        for (a, &(cf, f)) in open.iter().enumerate() {
            for &(cg, g) in &open[a + 1..] {
                if u64::from(cf) + u64::from(cg) >= limit {
                    break;
                }
                let c = q.ceiling(1 << f | 1 << g);
                if c < theta {
                    self.pairs.push((c, f, g));
                }
            }
        }
        q.within(&mut self.within);
    }
}

/// Order of the top-k heap: higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    total: u32,
    recent: Reverse<u32>,
    id: Reverse<ExpertId>,
}

/// The best keys seen so far, at most `top` of them.
struct TopK {
    top: usize,
    heap: BinaryHeap<Reverse<Key>>,
    /// The weakest kept key once full; below every real key until then (no
    /// expert has `u32::MAX` recent missions), so that everyone is kept.
    worst: Key,
}

impl TopK {
    const FLOOR: Key = Key {
        total: 0,
        recent: Reverse(u32::MAX),
        id: Reverse(ExpertId(i64::MAX)),
    };

    fn new(top: usize) -> TopK {
        TopK {
            top,
            heap: BinaryHeap::with_capacity(top.saturating_add(1).min(4096)),
            worst: TopK::FLOOR,
        }
    }

    fn is_full(&self) -> bool {
        self.heap.len() >= self.top
    }

    fn offer(&mut self, key: Key) {
        if key <= self.worst {
            return;
        }
        if self.is_full() {
            // Replace the weakest in one sift.
            match self.heap.peek_mut() {
                Some(mut weakest) => *weakest = Reverse(key),
                None => return,
            }
        } else {
            self.heap.push(Reverse(key));
        }
        if self.is_full() {
            self.worst = self.heap.peek().map_or(TopK::FLOOR, |w| w.0);
        }
    }

    /// The kept experts, best first.
    fn into_hits(self) -> Vec<Hit> {
        // Ascending in `Reverse`: the best key first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(k)| Hit {
                expert: k.id.0,
                total: k.total,
                recent_missions: k.recent.0,
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct ThemeNeed {
    exact: Themes,
    deeper: Themes,
    broader: Themes,
}

/// A required or desired language, in the index's tag ids.
struct LanguageNeed {
    /// Indexed by tag id: whether the tag meets the need.
    meets: Vec<bool>,
    /// The level rank needed.
    level: u8,
    /// Indexed by the inline tag ids of [`Hot::languages`]: the lowest
    /// level rank that meets the need, or `u8::MAX` (above every rank) for
    /// tags that do not and for [`NO_TAG`].
    floor: [u8; 256],
}

impl Default for LanguageNeed {
    fn default() -> LanguageNeed {
        LanguageNeed {
            meets: Vec::new(),
            level: 0,
            floor: [u8::MAX; 256],
        }
    }
}

/// Fills `out` with `list` in the index's tag ids, reusing its buffers.
fn fill_languages(
    out: &mut Vec<LanguageNeed>,
    list: &[crate::model::LanguageSkill],
    index: &MatchIndex,
) {
    out.truncate(list.len());
    out.resize_with(list.len(), LanguageNeed::default);
    for (slot, need) in out.iter_mut().zip(list) {
        // A tag the roster uses is parsed already (while ids are not
        // shared: past `NONE16 - 1` tags they are).
        let parsed;
        let want = match index.tag_ids.get(need.tag.as_str()) {
            Some(&id) if index.tags.len() < usize::from(NONE16 - 1) => &index.tags[usize::from(id)],
            _ => {
                parsed = ParsedTag::new(&need.tag);
                &parsed
            }
        };
        slot.meets.clear();
        slot.meets
            .extend(index.tags.iter().map(|have| have.satisfies(want)));
        slot.level = level_rank(need.level);
        slot.floor = [u8::MAX; 256];
        for (tag, _) in slot.meets.iter().enumerate().filter(|(_, m)| **m) {
            if tag < usize::from(NO_TAG) {
                slot.floor[tag] = slot.level;
            }
        }
    }
}

thread_local! {
    /// Queries to reuse, so that ranking allocates little.
    static QUERIES: std::cell::RefCell<Vec<Query>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with `request` turned into a query, in buffers this thread
/// reuses.
fn with_query<R>(
    index: &MatchIndex,
    request: &MissionRequest,
    policy: &MatchPolicy,
    membership: &Membership,
    f: impl FnOnce(&Query) -> R,
) -> R {
    let mut query = QUERIES
        .with_borrow_mut(|spare| spare.pop())
        .unwrap_or_default();
    query.fill(index, request, policy, membership);
    let out = f(&query);
    QUERIES.with_borrow_mut(|spare| spare.push(query));
    out
}

/// A request turned into the index's terms once, before the pass.
#[derive(Default)]
struct Query {
    first: i32,
    last: i32,
    since: i32,
    request: u32,
    cap: Option<(LoadCap, i32)>,
    required: Vec<LanguageNeed>,
    desired: Vec<LanguageNeed>,
    excluded: Vec<ExpertId>,
    requester: u16,
    /// The [experience state](super::experience_state) and its region.
    state: u16,
    region: u32,
    themes: Vec<ThemeNeed>,
    /// The position of each need's node, as `themes`.
    needs: Vec<u16>,
    related: Themes,
    competencies: Vec<u32>,
    weights: Weights,
    points: Points,
    /// The rotation part at its best.
    best_rest: u64,
    /// Experts who may pass the filters the bitmaps can tell: included,
    /// available, and every required language at its level.
    base: Vec<u64>,
    /// At most 64, so that a set of them fits a `u64`.
    features: Vec<Feature>,
    /// The features' bitmaps, end to end.
    maps: Vec<u32>,
    plan: Plan,
    /// The request's key, as [`MissionRequest::key`].
    key: String,
    /// Bitmap ids, a buffer.
    spare: Vec<u32>,
}

/// What an expert may have that raises its total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Any node related to any need (needed for years in the fields).
    Related,
    /// The need's node, a node below it or one above it.
    Line(usize),
    /// The need's node or a node below it.
    AtOrBelow(usize),
    /// The need's node itself.
    Exact(usize),
    Competency(usize),
    Desired(usize),
    /// Experience in the requesting state or its region.
    Region,
    /// Experience in the requesting state.
    Country,
    /// At least this many steps of the years cap of experience in any
    /// field (an upper bound of the years in the requested fields).
    Years(u32),
}

/// A feature: the union of some bitmaps, or every expert when the index
/// cannot tell.
struct Feature {
    kind: Kind,
    /// Where its bitmaps lie in [`Query::maps`].
    maps: std::ops::Range<usize>,
    everyone: bool,
}

impl Query {
    #[cfg(test)]
    fn new(
        index: &MatchIndex,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
    ) -> Query {
        let mut query = Query::default();
        query.fill(index, request, policy, membership);
        query
    }

    /// Turns `request` into the index's terms, reusing this query's
    /// buffers (see [`with_query`]).
    fn fill(
        &mut self,
        index: &MatchIndex,
        request: &MissionRequest,
        policy: &MatchPolicy,
        membership: &Membership,
    ) {
        let t = index.taxonomy;
        self.needs.clear();
        self.needs.extend(
            request
                .themes
                .iter()
                .filter_map(|c| t.theme_position(c).ok())
                .filter(|r| usize::from(*r) < index.nodes.len()),
        );
        self.related = [0; 2];
        self.themes.clear();
        for at in &self.needs {
            let need = &index.nodes[usize::from(*at)];
            for (k, word) in self.related.iter_mut().enumerate() {
                *word |= need.exact[k] | need.deeper[k] | need.broader[k];
            }
            self.themes.push(need.clone());
        }
        fill_languages(&mut self.required, &request.required_languages, index);
        fill_languages(&mut self.desired, &request.desired_languages, index);
        self.excluded.clear();
        self.excluded.extend_from_slice(&request.excluded);
        self.excluded.sort_unstable();
        let state = super::experience_state(request, membership);
        self.region = membership
            .region(state)
            .and_then(|r| index.region_ids.get(r))
            .map_or(0, |&r| 1u32 << r);
        self.first = day(request.window.first);
        self.last = day(request.window.last);
        self.since = self.first - 365;
        self.key.clear();
        write_request_key(&mut self.key, &request.requester, &request.id);
        self.request = index
            .request_ids
            .get(self.key.as_str())
            .copied()
            .unwrap_or(u32::MAX);
        self.cap = policy
            .load_cap
            .map(|cap| (cap, day(super::load_period_start(request, cap))));
        self.requester = index
            .country_ids
            .get(&request.requester)
            .copied()
            .unwrap_or(NONE16);
        self.state = index.country_ids.get(state).copied().unwrap_or(NONE16);
        self.competencies.clear();
        self.competencies
            .extend(request.competencies.iter().map(|c| {
                t.competency_position(c)
                    .map_or(0, |p| 1u32.checked_shl(u32::from(p)).unwrap_or(0))
            }));
        self.weights = policy.weights;
        let (mut features, mut maps) = (
            std::mem::take(&mut self.features),
            std::mem::take(&mut self.maps),
        );
        self.features_into(index, &mut features, &mut maps);
        // Features past the 64th are dropped: fewer features only means
        // fewer experts are skipped.
        features.truncate(64);
        (self.features, self.maps) = (features, maps);
        let mut plan = std::mem::take(&mut self.plan);
        self.plan_into(&mut plan);
        self.plan = plan;
        self.points.fill(
            &self.weights,
            self.themes.len(),
            self.competencies.len(),
            self.desired.len(),
        );
        self.best_rest = self.points.rotation[0];
        let base = &mut self.base;
        base.clear();
        base.resize(index.bits.words, 0);
        index.bits.union_into(&[MAP_INCLUDED], false, base);
        index.bits.intersect(&[MAP_AVAILABLE], false, base);
        // A term that covers the window overlaps the spans of its first and
        // its last day.
        for day in [self.first, self.last] {
            let span = index.term_maps.get(&span_of(day)).copied();
            let maps = [MAP_LONG_TERM, span.unwrap_or(MAP_LONG_TERM)];
            index.bits.intersect(&maps, false, base);
        }
        let maps = &mut self.spare;
        for need in &self.required {
            maps.clear();
            let everyone = index.language_maps(&need.meets, need.level, &mut |map| maps.push(map));
            index.bits.intersect(maps, everyone, base);
        }
    }

    /// The query's features, their bitmaps laid end to end in `maps`.
    fn features_into(&self, index: &MatchIndex, out: &mut Vec<Feature>, maps: &mut Vec<u32>) {
        let node = |pos: u16| MAP_THEMES + u32::from(pos);
        let subtree = |pos: u16| index.subtree_maps + u32::from(pos);
        out.clear();
        maps.clear();
        // Adds a feature whose bitmaps `add` pushes onto `maps`.
        let mut feature = |kind, everyone, add: &mut dyn FnMut(&mut Vec<u32>)| {
            let start = maps.len();
            add(maps);
            out.push(Feature {
                kind,
                maps: start..maps.len(),
                everyone,
            });
        };
        let needs = self.needs.as_slice();
        // Related: every need's line, through the subtree maps of the
        // needs and the node maps of what lies above them.
        let mut roots = [0u64; 2];
        let mut above = [0u64; 2];
        for (need, &at) in self.themes.iter().zip(needs) {
            theme_bit(&mut roots, at);
            above[0] |= need.broader[0];
            above[1] |= need.broader[1];
        }
        feature(Kind::Related, false, &mut |m| {
            m.extend(positions(&roots).map(subtree));
            m.extend(positions(&above).map(node));
        });
        for (j, (need, &at)) in self.themes.iter().zip(needs).enumerate() {
            feature(Kind::Line(j), false, &mut |m| {
                m.extend(positions(&need.broader).map(node));
                m.push(subtree(at));
            });
            feature(Kind::AtOrBelow(j), false, &mut |m| m.push(subtree(at)));
            feature(Kind::Exact(j), false, &mut |m| m.push(node(at)));
        }
        for (k, bit) in self.competencies.iter().enumerate() {
            feature(Kind::Competency(k), false, &mut |m| {
                m.extend(
                    (0..32)
                        .filter(|p| bit & (1 << p) != 0)
                        .map(|p| index.competency_maps + p),
                );
            });
        }
        for (d, need) in self.desired.iter().enumerate() {
            let start = maps.len();
            let everyone = index.language_maps(&need.meets, need.level, &mut |map| maps.push(map));
            out.push(Feature {
                kind: Kind::Desired(d),
                maps: start..maps.len(),
                everyone,
            });
        }
        let country = index.country_maps.get(usize::from(self.state)).copied();
        let region = (0..32)
            .find(|r| self.region & (1 << r) != 0)
            .and_then(|r| index.region_maps.get(r).copied());
        let mut feature = |kind, add: &[Option<u32>]| {
            let start = maps.len();
            maps.extend(add.iter().flatten());
            out.push(Feature {
                kind,
                maps: start..maps.len(),
                everyone: false,
            });
        };
        feature(Kind::Region, &[country, region]);
        feature(Kind::Country, &[country]);
        if self.weights.years > 0 && !self.themes.is_empty() {
            for k in 0..YEAR_STEPS {
                feature(Kind::Years(k), &[Some(index.year_maps + k)]);
            }
        }
    }

    /// Which features lie within which, from their kinds: a need's node
    /// within its subtree within its line within the related nodes; the
    /// requesting state within its region; more years within fewer. A
    /// feature that counts everyone contains every feature.
    fn within(&self, out: &mut Vec<u64>) {
        let all = self
            .features
            .iter()
            .enumerate()
            .fold(0u64, |m, (f, _)| m | 1 << f);
        // What each kind of feature holds, by kind, in one pass. A need
        // has three features, so at most 64 / 3 needs are left.
        let (mut needs, mut country) = (0u64, 0u64);
        let (mut below, mut exact, mut years) = ([0u64; 22], [0u64; 22], [0u64; 64]);
        for (f, feature) in self.features.iter().enumerate() {
            match feature.kind {
                Kind::Line(_) => needs |= 1 << f,
                Kind::AtOrBelow(j) => {
                    needs |= 1 << f;
                    below[j % 22] |= 1 << f;
                }
                Kind::Exact(j) => {
                    needs |= 1 << f;
                    exact[j % 22] |= 1 << f;
                }
                Kind::Country => country |= 1 << f,
                Kind::Years(k) => {
                    // Step k holds every step from k up.
                    for held in &mut years[..=(k as usize).min(63)] {
                        *held |= 1 << f;
                    }
                }
                _ => {}
            }
        }
        out.clear();
        out.extend(self.features.iter().enumerate().map(|(f, outer)| {
            let inner = match outer.kind {
                _ if outer.everyone => all,
                Kind::Related => needs,
                Kind::Line(j) => below[j % 22] | exact[j % 22],
                Kind::AtOrBelow(j) => exact[j % 22],
                Kind::Region => country,
                Kind::Years(j) => years[(j as usize).min(63)],
                _ => 0,
            };
            inner | 1 << f
        }));
    }

    /// The masks [`ceiling`](Self::ceiling) reads, from the features.
    fn plan_into(&self, plan: &mut Plan) {
        let bit = |kind: Kind| {
            self.features
                .iter()
                .position(|f| f.kind == kind)
                .map_or(0, |f| 1u64 << f)
        };
        let mask = |is: fn(&Kind) -> bool| {
            self.features
                .iter()
                .enumerate()
                .filter(|(_, f)| is(&f.kind))
                .fold(0u64, |m, (f, _)| m | 1 << f)
        };
        let related = bit(Kind::Related);
        plan.needs.clear();
        plan.needs.extend((0..self.themes.len()).map(|j| {
            let need = &self.themes[j];
            // Lacking a weaker feature means lacking the stronger ones;
            // a need with nothing below it (or above it) has two
            // features that are one.
            let leaf = need.deeper == [0, 0];
            let root = need.broader == [0, 0];
            let exact = bit(Kind::Exact(j));
            let below = bit(Kind::AtOrBelow(j)) | if leaf { exact } else { 0 };
            let line = related | bit(Kind::Line(j)) | if root { below } else { 0 };
            [line, below | line, exact | below | line]
        }));
        let region = bit(Kind::Region);
        plan.competencies = mask(|k| matches!(k, Kind::Competency(_)));
        plan.desired = mask(|k| matches!(k, Kind::Desired(_)));
        plan.region = region;
        plan.country = bit(Kind::Country) | region;
        plan.years.clear();
        plan.years.extend(
            (0..YEAR_STEPS)
                .map(|k| {
                    let cap = YEARS_CAP * 365;
                    (
                        bit(Kind::Years(k)),
                        ((step_days(k) - 1) * 1000 / cap) as u32,
                    )
                })
                .filter(|(b, _)| *b != 0),
        );
    }

    /// The best total of an expert lacking the features whose bits are set
    /// in `lacking` (and every feature they imply), every other part at its
    /// best.
    fn ceiling(&self, lacking: u64) -> u32 {
        let plan = &self.plan;
        let p = &self.points;
        // Tenths per need, as [`Points::thematic`] counts them.
        let mut tenths = 0usize;
        let mut related = false;
        for [line, below, exact] in &plan.needs {
            tenths += if lacking & line != 0 {
                0
            } else if lacking & below != 0 {
                3
            } else if lacking & exact != 0 {
                7
            } else {
                10
            };
            related |= lacking & line == 0;
        }
        let years = if related {
            plan.years
                .iter()
                .filter(|(bit, _)| lacking & bit != 0)
                .fold(1000, |y, (_, v)| y.min(*v))
        } else {
            0
        };
        let met = |of: usize, mask: u64| of.saturating_sub((lacking & mask).count_ones() as usize);
        let place = if lacking & plan.region != 0 {
            0
        } else if lacking & plan.country != 0 {
            1
        } else {
            2
        };
        let sum = p.thematic.get(tenths).copied().unwrap_or(0)
            + points(years, self.weights.years)
            + p.competencies
                .get(met(self.competencies.len(), plan.competencies))
                .copied()
                .unwrap_or(0)
            + p.languages
                .get(met(self.desired.len(), plan.desired))
                .copied()
                .unwrap_or(0)
            + p.place[place]
            + p.rotation[0];
        sum.min(u64::from(u32::MAX)) as u32
    }
}

/// Bit masks over a query's features (bit `f` is feature `f`), so that a
/// ceiling is a few integer operations.
#[derive(Default)]
struct Plan {
    /// Per need: the features whose lack loses its line, its node and
    /// below, and the node itself.
    needs: Vec<[u64; 3]>,
    competencies: u64,
    desired: u64,
    region: u64,
    country: u64,
    /// Years steps: the feature, and the most years in thousandths an
    /// expert without it can have.
    years: Vec<(u64, u32)>,
}

/// One expert the index kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The expert.
    pub expert: ExpertId,
    /// The total score, as [`Ranked::total`].
    pub total: u32,
    /// The rotation key, as [`Ranked::recent_missions`].
    pub recent_missions: u32,
}

/// The outcome of ranking a request over the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRanking {
    /// The request's id.
    pub request_id: String,
    /// How many experts the request wants.
    pub wanted: u16,
    /// The best experts, best first; at most the `top` asked for.
    pub hits: Vec<Hit>,
    /// Why nobody passed; `None` when someone did.
    pub empty_because: Option<EmptyBecause>,
}

/// What the filters did to a request, from [`MatchIndex::filter_counts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterCounts {
    /// How many experts passed every filter.
    pub passed: usize,
    /// How many each filter removed (each expert under its first), in
    /// filter order; filters that removed nobody are left out.
    pub removed_by: Vec<(Filter, usize)>,
}

impl IndexRanking {
    /// A [`Shortlist`] of the hits with every part explained, rendered from
    /// the expert records (`experts` in any order; hits missing from it are
    /// skipped). The excluded list is left empty and only the hits are
    /// ranked, so the shortlist's own [`Shortlist::why_not`] knows nothing
    /// of anyone else: ask [`MatchIndex::why_not`] about them.
    pub fn explain(
        &self,
        request: &MissionRequest,
        experts: &[Expert],
        ctx: &Context<'_>,
    ) -> Shortlist {
        let by_id: HashMap<ExpertId, &Expert> = experts.iter().map(|e| (e.id, e)).collect();
        let ranked = self
            .hits
            .iter()
            .filter_map(|hit| by_id.get(&hit.expert).map(|e| (hit, *e)))
            .enumerate()
            .map(|(i, (hit, expert))| {
                let mut flags = Vec::new();
                if expert.nominators().contains(request.requester.as_str()) {
                    flags.push(Flag::NominatedByRequester);
                }
                Ranked {
                    rank: i as u32 + 1,
                    expert: hit.expert,
                    total: hit.total,
                    parts: score(request, expert, ctx),
                    recent_missions: hit.recent_missions,
                    flags,
                }
            })
            .collect();
        Shortlist {
            request_id: self.request_id.clone(),
            wanted: self.wanted,
            ranked,
            excluded: Vec::new(),
            empty_because: self.empty_because.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{
        Availability, DateRange, ExperiencePeriod, LanguageSkill, NameOrder, NominationRecord,
        Organisation, PersonName, Profile,
    };
    use crate::{Status, Term};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn expert(id: i64, theme: &str, variant: usize) -> Expert {
        let competencies = match variant % 3 {
            0 => vec!["training".to_owned(), "advice".to_owned()],
            1 => vec!["training".to_owned()],
            _ => vec!["advice".to_owned(), "research".to_owned()],
        };
        let country = ["THA", "IDN", "FJI", "AUS"][(variant / 6) % 4];
        let mut languages = vec![LanguageSkill {
            tag: "en".into(),
            level: Level::C2,
        }];
        if (variant / 3).is_multiple_of(2) {
            languages.push(LanguageSkill {
                tag: "th".into(),
                level: Level::B2,
            });
        }
        Expert {
            id: ExpertId(id),
            version: 1,
            status: Status::Included,
            profile: Profile {
                name: PersonName {
                    full: Some(format!("Expert {id}")),
                    order: NameOrder::NoFamilyName,
                    ..PersonName::default()
                },
                email: format!("e{id}@example.org"),
                phone: None,
                date_of_birth: None,
                nationality: None,
                organisation: Organisation {
                    name: "Somewhere".into(),
                    sector: Sector::Ngo,
                    state: None,
                },
                experience: vec![ExperiencePeriod {
                    // From none to well past the years cap.
                    from: date(2024, 6, 1) - chrono::Days::new(1400 * (id as u64 % 5)),
                    to: None,
                    role: "Adviser".into(),
                    themes: vec![theme.to_owned()],
                    competencies,
                    countries: vec![country.to_owned()],
                }],
                referees: vec![],
                languages,
                availability: Availability {
                    available: true,
                    authorised: true,
                    unavailable: vec![],
                },
            },
            nominations: vec![NominationRecord {
                call_year: 2024,
                nominator: "AUS".into(),
                received_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            }],
            cv_document: None,
            term: Some(Term {
                first_day: date(2024, 1, 1),
                last_day: date(2024, 12, 31),
            }),
        }
    }

    fn request(themes: &[&str]) -> MissionRequest {
        MissionRequest {
            id: "R-1".into(),
            requester: "THA".into(),
            title: "Mission".into(),
            themes: themes.iter().map(|t| (*t).to_owned()).collect(),
            competencies: vec!["training".into(), "advice".into()],
            required_languages: vec![LanguageSkill {
                tag: "en".into(),
                level: Level::B2,
            }],
            desired_languages: vec![LanguageSkill {
                tag: "th".into(),
                level: Level::B1,
            }],
            window: DateRange {
                first: date(2024, 6, 1),
                last: date(2024, 6, 10),
            },
            place: "THA".into(),
            experts_wanted: 1,
            excluded: vec![],
        }
    }

    /// No expert lacking a feature totals more than the feature's ceiling,
    /// and the ceilings are tight: with every part at its best but one, an
    /// expert reaches it. This is what lets the ranking skip experts.
    /// Terms are found through the bitmaps of the spans they overlap, and
    /// terms too long for those through one bitmap of their own; either
    /// way a term must still cover every day of the window.
    #[test]
    fn terms_of_any_length_and_on_either_side_of_a_span_are_found() {
        let t = Taxonomy::current();
        let membership = Membership::bundled();
        let request = request(&["B.2"]);
        let (first, last) = (request.window.first, request.window.last);
        let day = |d: NaiveDate, by: i64| d + chrono::Duration::days(by);
        let terms = [
            // Covers the window exactly, and by a day either side.
            (first, last, true),
            (day(first, -1), day(last, 1), true),
            // One day short at either end.
            (day(first, 1), day(last, 30), false),
            (day(first, -30), day(last, -1), false),
            // Ten years, past any span count; and ten years ending early.
            (date(2020, 1, 1), date(2029, 12, 31), true),
            (date(2015, 1, 1), day(last, -1), false),
            // Reversed: covers nothing.
            (last, first, false),
        ];
        let experts: Vec<Expert> = terms
            .iter()
            .enumerate()
            .map(|(i, (from, to, _))| {
                let mut e = expert(i as i64 + 1, "B.2", 0);
                e.term = Some(Term {
                    first_day: *from,
                    last_day: *to,
                });
                e
            })
            .collect();
        let index = MatchIndex::build(&experts, &[], t, &membership, date(2024, 6, 1));
        let got = index
            .rank(&request, &MatchPolicy::default(), &membership, 100)
            .unwrap();
        let mut ids: Vec<i64> = got.hits.iter().map(|h| h.expert.0).collect();
        ids.sort();
        let want: Vec<i64> = (1..=terms.len() as i64)
            .filter(|i| terms[*i as usize - 1].2)
            .collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn every_total_is_within_the_ceilings_of_what_the_expert_lacks() {
        let t = Taxonomy::current();
        let membership = Membership::bundled();
        let experts: Vec<Expert> = t
            .themes()
            .iter()
            .flat_map(|n| (0..24).map(move |v| (n.code, v)))
            .enumerate()
            .map(|(i, (code, v))| expert(i as i64 + 1, code, v))
            .collect();
        let index = MatchIndex::build(&experts, &[], t, &membership, date(2024, 6, 1));
        let mut weights = Weights::default();
        let tight = Weights {
            years: 0,
            rotation: 0,
            ..weights
        };
        weights.rotation = 7;
        for needs in [
            &["B.2"][..],
            &["B.2.3", "D"],
            &["A"],
            &["B", "B.2.3", "J.1"],
        ] {
            for weights in [weights, tight] {
                let policy = MatchPolicy {
                    weights,
                    ..MatchPolicy::default()
                };
                let request = request(needs);
                let q = Query::new(&index, &request, &policy, &membership);
                let features: Vec<Vec<u64>> = q
                    .features
                    .iter()
                    .map(|f| index.bits.union(&q.maps[f.maps.clone()], f.everyone))
                    .collect();
                let mut reached = vec![false; q.features.len()];
                for i in 0..index.len() {
                    assert_eq!(index.first_failure(i, &q), FILTERS.len());
                    let (bound, exact) = index.bound(i, &q);
                    let (total, _) = index.total(i, &q, exact);
                    assert!(
                        total <= bound,
                        "{:?}: total {total} above bound {bound}",
                        index.ids[i]
                    );
                    assert!(total <= q.ceiling(0));
                    let has = |f: usize| features[f][i / 64] & (1 << (i % 64)) != 0;
                    let lacks = (0..features.len())
                        .filter(|&f| !has(f))
                        .fold(0u64, |m, f| m | 1 << f);
                    let all = q.ceiling(lacks);
                    assert!(
                        total <= all,
                        "{:?} lacks {lacks:b}: {total} above {all}",
                        index.ids[i]
                    );
                    for (f, g) in (0..features.len()).flat_map(|f| (0..f).map(move |g| (f, g))) {
                        if !has(f) && !has(g) {
                            let kinds = [q.features[f].kind, q.features[g].kind];
                            assert!(total <= q.ceiling(1 << f | 1 << g), "{kinds:?}");
                        }
                    }
                    for (f, reached) in reached.iter_mut().enumerate() {
                        if !has(f) {
                            let ceiling = q.ceiling(1 << f);
                            assert!(
                                total <= ceiling,
                                "{:?} lacks {:?}: total {total} above {ceiling}",
                                index.ids[i],
                                q.features[f].kind
                            );
                            *reached |= total == ceiling;
                        }
                    }
                }
                // Each expert here has one node, so tightness shows only for
                // requests with one need.
                if weights == tight && needs.len() == 1 {
                    for (f, feature) in q.features.iter().enumerate() {
                        assert!(reached[f], "{needs:?}: {:?} never reached", feature.kind);
                    }
                }
            }
        }
    }
}
