//! The Rust side of `compare.py`: writes the benchmark roster as flat
//! integer tables for other tools, with the index's own top 20 for every
//! request as the results they must reproduce (and, up to 100,000 experts,
//! its full ranking in `ranking.csv`), and times the index on the very same
//! data.
//!
//! ```text
//! compare_export export <experts> <dir>   write the tables and requests.json
//! compare_export time <experts>           build the index, then per stdin line
//!                                         holding R, rank every request R times
//!                                         and print the median of each as JSON
//! ```
//!
//! Build with `cargo bench -p roster-core --bench compare_export --no-run`;
//! `compare.py` runs the binary itself. The roster comes from the generator
//! of the `matching` benchmark with the same seeds.
//!
//! Every value is an integer. Days count from 1 January of year 1
//! (`num_days_from_ce`), an empty field is NULL, and thematic sets are two
//! bitmasks over taxonomy positions: positions 0 to 62 in `themes_lo`, 63 to
//! 88 in `themes_hi`, so that no mask needs the sign bit of an `i64`.

#[path = "../roster_gen/mod.rs"]
mod roster_gen;

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use roster_core::language::satisfies;
use roster_core::lifecycle::Status;
use roster_core::matching::index::{DEFAULT_TOP, Hit, MatchIndex};
use roster_core::matching::{self, Context, MatchPolicy, YEARS_CAP};
use roster_core::membership::Membership;
use roster_core::model::{Engagement, LanguageSkill, MissionRequest, Sector};
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId};
use roster_gen::{Generator, today};
use serde_json::{Value, json};

/// The seed of the `matching` benchmark; its requests use the next one.
const SEED: u64 = 20_260_601;
const REQUESTS: usize = 16;
/// Up to this many experts, the export also checks the index against the
/// reference `matching::rank`, which is quadratic in engagements.
const REFERENCE_UP_TO: usize = 10_000;
/// Up to this many experts, the export also writes every expert's rank for
/// every request (`ranking.csv`), so that other tools can be checked on
/// everyone who passes the filters, not only on the top 20.
const FULL_UP_TO: usize = 100_000;

fn main() -> ExitCode {
    // `cargo bench` appends `--bench`; no argument of ours starts with `--`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["export", n, dir] => experts(n).and_then(|n| export(n, Path::new(dir))),
        ["time", n] => experts(n).and_then(time),
        _ => Err("usage: compare_export export <experts> <dir> | time <experts>".to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("compare_export: {message}");
            ExitCode::FAILURE
        }
    }
}

fn experts(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "experts must be a positive whole number, not `{text}`"
        )),
    }
}

fn requests() -> Vec<MissionRequest> {
    let mut g = Generator::new(SEED + 1);
    (0..REQUESTS).map(|i| g.request(i)).collect()
}

fn rank(
    index: &MatchIndex,
    request: &MissionRequest,
    membership: &Membership,
    top: usize,
) -> Vec<Hit> {
    // The index fails only for custom score parts, and the default policy
    // has none.
    index
        .rank(request, &MatchPolicy::default(), membership, top)
        .map(|r| r.hits)
        .unwrap_or_default()
}

/// Builds the index of `n` generated experts, as the `matching` benchmark
/// does, handing every expert and its engagements to `each` on the way.
fn build(n: usize, mut each: impl FnMut(&Expert, &[Engagement])) -> MatchIndex {
    let membership = Membership::bundled();
    let mut generator = Generator::new(SEED);
    let mut index = MatchIndex::new(Taxonomy::current(), today());
    for id in 1..=n as i64 {
        let expert = generator.expert(id);
        let engagements = generator.engagements(id);
        index.push(&expert, &engagements, &membership);
        each(&expert, &engagements);
    }
    index
}

fn time(n: usize) -> Result<(), String> {
    let membership = Membership::bundled();
    let index = build(n, |_, _| {});
    let requests = requests();
    let top: Vec<Value> = requests
        .iter()
        .map(|r| hits_json(&rank(&index, r, &membership, DEFAULT_TOP)))
        .collect();
    let mut out = io::stdout().lock();
    let fail = |e: io::Error| format!("cannot write to standard output: {e}");
    writeln!(out, "{}", json!({ "experts": n, "top": top })).map_err(fail)?;
    out.flush().map_err(fail)?;

    let policy = MatchPolicy::default();
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
        let repeat = match line.trim().parse::<usize>() {
            Ok(r) if r > 0 => r,
            _ => {
                return Err(format!(
                    "each input line must hold a positive repeat count, not `{line}`"
                ));
            }
        };
        let medians: Vec<f64> = requests
            .iter()
            .map(|request| {
                let mut seconds: Vec<f64> = (0..repeat)
                    .map(|_| {
                        let start = Instant::now();
                        let ranking =
                            index.rank(black_box(request), &policy, &membership, DEFAULT_TOP);
                        let elapsed = start.elapsed().as_secs_f64();
                        black_box(ranking).ok();
                        elapsed
                    })
                    .collect();
                median(&mut seconds)
            })
            .collect();
        writeln!(out, "{}", json!({ "median_s": medians })).map_err(fail)?;
        out.flush().map_err(fail)?;
    }
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn hits_json(hits: &[Hit]) -> Value {
    hits.iter()
        .map(|h| json!({ "expert": h.expert.0, "total": h.total, "recent": h.recent_missions }))
        .collect()
}

fn export(n: usize, dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let membership = Membership::bundled();
    let taxonomy = Taxonomy::current();
    let mut names = Names::new(&membership);
    let mut tables = Tables::create(dir)?;
    let mut kept: Vec<(Expert, Vec<Engagement>)> = Vec::new();
    let mut failure = None;
    let index = build(n, |expert, engagements| {
        if failure.is_none() {
            failure = tables
                .expert(expert, engagements, taxonomy, &mut names)
                .err();
        }
        if n <= REFERENCE_UP_TO {
            kept.push((expert.clone(), engagements.to_vec()));
        }
    });
    if let Some(message) = failure {
        return Err(message);
    }
    tables.finish()?;
    names.write_places(dir)?;

    let requests = requests();
    let expected: Vec<Vec<Hit>> = requests
        .iter()
        .map(|r| rank(&index, r, &membership, DEFAULT_TOP))
        .collect();
    if n <= REFERENCE_UP_TO {
        check_reference(&requests, &expected, &kept, &membership)?;
    }
    if n <= FULL_UP_TO {
        let mut t = Table::create(dir, "ranking", "request,expert,total,recent")?;
        for (i, request) in requests.iter().enumerate() {
            for h in rank(&index, request, &membership, n) {
                t.row(format_args!(
                    "{i},{},{},{}",
                    h.expert.0, h.total, h.recent_missions
                ))?;
            }
        }
        t.finish()?;
    } else {
        // A ranking left from an earlier export of this size would not match.
        let stale = dir.join("ranking.csv");
        if stale.exists() {
            fs::remove_file(&stale)
                .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
        }
    }
    let document = json!({
        "experts": n,
        "today": day(today()),
        "years_cap_days": YEARS_CAP * 365,
        "weights": MatchPolicy::default().weights,
        "requests": requests
            .iter()
            .zip(&expected)
            .map(|(r, hits)| request_json(r, hits, taxonomy, &membership, &names))
            .collect::<Vec<_>>(),
    });
    let path = dir.join("requests.json");
    fs::write(&path, document.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The index's ranking must be the reference one, or the expected results
/// would check the other tools against the wrong formula.
fn check_reference(
    requests: &[MissionRequest],
    expected: &[Vec<Hit>],
    kept: &[(Expert, Vec<Engagement>)],
    membership: &Membership,
) -> Result<(), String> {
    let experts: Vec<Expert> = kept.iter().map(|(e, _)| e.clone()).collect();
    let engagements: Vec<Engagement> = kept.iter().flat_map(|(_, g)| g.clone()).collect();
    let policy = MatchPolicy::default();
    let ctx = Context {
        taxonomy: Taxonomy::current(),
        membership,
        policy: &policy,
        engagements: &engagements,
        today: today(),
    };
    for (request, hits) in requests.iter().zip(expected) {
        let reference: Vec<(ExpertId, u32)> = matching::rank(request, &experts, &ctx)
            .ranked
            .iter()
            .take(DEFAULT_TOP)
            .map(|r| (r.expert, r.total))
            .collect();
        let index: Vec<(ExpertId, u32)> = hits.iter().map(|h| (h.expert, h.total)).collect();
        if reference != index {
            return Err(format!(
                "request {}: the index ranks {index:?} but matching::rank ranks {reference:?}",
                request.id
            ));
        }
    }
    Ok(())
}

fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

/// Thematic positions as `[themes_lo, themes_hi]`.
fn mask(positions: impl IntoIterator<Item = u16>) -> [i64; 2] {
    let mut set = [0i64; 2];
    for p in positions {
        match p {
            0..63 => set[0] |= 1 << p,
            63..126 => set[1] |= 1 << (p - 63),
            _ => {}
        }
    }
    set
}

fn request_json(
    request: &MissionRequest,
    expected: &[Hit],
    taxonomy: &Taxonomy,
    membership: &Membership,
    names: &Names,
) -> Value {
    let themes: Vec<Value> = request
        .themes
        .iter()
        .filter_map(|c| taxonomy.theme_position(c).ok())
        .map(|r| {
            let count = taxonomy.themes().len() as u16;
            json!({
                "exact": mask([r]),
                "deeper": mask(taxonomy.subtree(r).skip(1)),
                "broader": mask((0..count).filter(|&a| a != r && taxonomy.position_within(r, a))),
            })
        })
        .collect();
    let competencies: Vec<i64> = request
        .competencies
        .iter()
        .map(|c| taxonomy.competency_position(c).map_or(0, |p| 1i64 << p))
        .collect();
    let languages = |needs: &[LanguageSkill]| -> Vec<Value> {
        needs
            .iter()
            .map(|need| {
                let tags: Vec<usize> = names
                    .tags
                    .iter()
                    .enumerate()
                    .filter(|(_, have)| satisfies(have, &need.tag))
                    .map(|(id, _)| id)
                    .collect();
                json!({ "tags": tags, "level": need.level.ordinal() })
            })
            .collect()
    };
    let region = membership
        .region(&request.requester)
        .and_then(|r| names.regions.get(r));
    json!({
        "id": request.id,
        "key": names.requests.get(&request.key()),
        "requester": names.countries.get(&request.requester),
        "region": region,
        "first": day(request.window.first),
        "last": day(request.window.last),
        "themes": themes,
        "competencies": competencies,
        "required": languages(&request.required_languages),
        "desired": languages(&request.desired_languages),
        "excluded": request.excluded.iter().map(|e| e.0).collect::<Vec<_>>(),
        "expected": hits_json(expected),
    })
}

/// Interned names: every text value becomes a small integer id.
struct Names {
    countries: HashMap<String, usize>,
    country_region: Vec<Option<usize>>,
    regions: HashMap<String, usize>,
    tags: Vec<String>,
    tag_ids: HashMap<String, usize>,
    requests: HashMap<String, usize>,
}

impl Names {
    fn new(membership: &Membership) -> Names {
        let mut names = Names {
            countries: HashMap::new(),
            country_region: Vec::new(),
            regions: HashMap::new(),
            tags: Vec::new(),
            tag_ids: HashMap::new(),
            requests: HashMap::new(),
        };
        for p in membership.iter() {
            let region = p.region.as_ref().map(|r| {
                let next = names.regions.len();
                *names.regions.entry(r.clone()).or_insert(next)
            });
            names
                .countries
                .insert(p.code.clone(), names.country_region.len());
            names.country_region.push(region);
        }
        names
    }

    /// A participant code; codes outside the membership file get an id too,
    /// with no region.
    fn country(&mut self, code: &str) -> usize {
        if let Some(&id) = self.countries.get(code) {
            return id;
        }
        let id = self.country_region.len();
        self.countries.insert(code.to_owned(), id);
        self.country_region.push(None);
        id
    }

    fn tag(&mut self, tag: &str) -> usize {
        if let Some(&id) = self.tag_ids.get(tag) {
            return id;
        }
        self.tags.push(tag.to_owned());
        self.tag_ids.insert(tag.to_owned(), self.tags.len() - 1);
        self.tags.len() - 1
    }

    fn request(&mut self, key: &str) -> usize {
        let next = self.requests.len();
        *self.requests.entry(key.to_owned()).or_insert(next)
    }

    /// `places.csv`: each country id with its region id.
    fn write_places(&self, dir: &Path) -> Result<(), String> {
        let mut t = Table::create(dir, "places", "country,region")?;
        for (id, region) in self.country_region.iter().enumerate() {
            t.row(format_args!("{id},{}", Null(*region)))?;
        }
        t.finish()
    }
}

/// A nullable integer: empty when `None`.
struct Null<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Null<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => Ok(()),
        }
    }
}

struct Table {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Table {
    fn create(dir: &Path, name: &str, header: &str) -> Result<Table, String> {
        let path = dir.join(format!("{name}.csv"));
        let file =
            File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut table = Table {
            path,
            out: BufWriter::new(file),
        };
        table.row(format_args!("{header}"))?;
        Ok(table)
    }

    fn row(&mut self, line: fmt::Arguments<'_>) -> Result<(), String> {
        writeln!(self.out, "{line}")
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    fn finish(mut self) -> Result<(), String> {
        self.out
            .flush()
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// The roster's tables, one CSV file each.
struct Tables {
    experts: Table,
    periods: Table,
    languages: Table,
    countries: Table,
    absences: Table,
    bookings: Table,
}

impl Tables {
    fn create(dir: &Path) -> Result<Tables, String> {
        Ok(Tables {
            // The three sets are the unions over the expert's periods, kept
            // beside the periods as the index keeps them.
            experts: Table::create(
                dir,
                "experts",
                "id,included,term_first,term_last,available,authorised,government,themes_lo,themes_hi,competencies",
            )?,
            periods: Table::create(
                dir,
                "periods",
                "expert,first,last,themes_lo,themes_hi,competencies",
            )?,
            languages: Table::create(dir, "languages", "expert,tag,level")?,
            // Distinct countries of experience over all the expert's periods.
            countries: Table::create(dir, "countries", "expert,country")?,
            absences: Table::create(dir, "absences", "expert,first,last")?,
            // Only engagements that hold days (accepted or completed).
            bookings: Table::create(dir, "bookings", "expert,first,last,request")?,
        })
    }

    fn expert(
        &mut self,
        expert: &Expert,
        engagements: &[Engagement],
        taxonomy: &Taxonomy,
        names: &mut Names,
    ) -> Result<(), String> {
        let id = expert.id.0;
        let profile = &expert.profile;
        let mut all = [0i64; 2];
        let mut all_competencies = 0i64;
        for p in &profile.experience {
            let set = mask(
                p.themes
                    .iter()
                    .filter_map(|c| taxonomy.theme_position(c).ok()),
            );
            let competencies = p
                .competencies
                .iter()
                .filter_map(|c| taxonomy.competency_position(c).ok())
                .fold(0i64, |m, p| m | 1 << p);
            all = [all[0] | set[0], all[1] | set[1]];
            all_competencies |= competencies;
            self.periods.row(format_args!(
                "{id},{},{},{},{},{competencies}",
                day(p.from),
                Null(p.to.map(day)),
                set[0],
                set[1]
            ))?;
        }
        let org = &profile.organisation;
        let government = match (&org.sector, &org.state) {
            (Sector::Government, Some(state)) => Some(names.country(state)),
            _ => None,
        };
        let a = &profile.availability;
        self.experts.row(format_args!(
            "{id},{},{},{},{},{},{},{},{},{all_competencies}",
            u8::from(expert.status == Status::Included),
            Null(expert.term.map(|t| day(t.first_day))),
            Null(expert.term.map(|t| day(t.last_day))),
            u8::from(a.available),
            u8::from(a.authorised),
            Null(government),
            all[0],
            all[1]
        ))?;
        for skill in &profile.languages {
            let tag = names.tag(&skill.tag);
            self.languages
                .row(format_args!("{id},{tag},{}", skill.level.ordinal()))?;
        }
        let mut seen = Vec::new();
        for code in profile.experience.iter().flat_map(|p| &p.countries) {
            let country = names.country(code);
            if !seen.contains(&country) {
                seen.push(country);
                self.countries.row(format_args!("{id},{country}"))?;
            }
        }
        for r in &a.unavailable {
            self.absences
                .row(format_args!("{id},{},{}", day(r.first), day(r.last)))?;
        }
        for e in engagements.iter().filter(|e| e.blocks()) {
            let request = names.request(&e.request_id);
            self.bookings.row(format_args!(
                "{id},{},{},{request}",
                day(e.window.first),
                day(e.window.last)
            ))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), String> {
        for t in [
            self.experts,
            self.periods,
            self.languages,
            self.countries,
            self.absences,
            self.bookings,
        ] {
            t.finish()?;
        }
        Ok(())
    }
}
