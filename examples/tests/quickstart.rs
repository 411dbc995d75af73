//! The quickstart path on the in-memory store and on a SQLite file: the real
//! shortlists, the experts left out and why, and the same report (with
//! nothing duplicated) when it runs again on the same database.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use roster_core::eligibility::Criterion;
use roster_core::matching::{Filter, Flag, Shortlist};
use roster_core::{Actor, ExpertId, MemoryStore, Status, Store};
use roster_examples::{
    Answer, OFFICER, QuickstartReport, SampleData, SampleRoster, Timeline, render, render_answer,
    run,
};
use roster_sqlx::sqlite::SqliteStore;

async fn run_on(store: Arc<dyn Store>) -> (SampleRoster, QuickstartReport) {
    let data = SampleData::bundled();
    let roster = SampleRoster::new(store, Timeline::after(&data.call));
    let report = run(&roster, &data).await.expect("the sample runs");
    (roster, report)
}

async fn run_on_file(path: &Path) -> (SampleRoster, QuickstartReport) {
    let store = SqliteStore::open(path).await.expect("the database opens");
    run_on(Arc::new(store)).await
}

fn answer<'a>(report: &'a QuickstartReport, request: &str) -> &'a Answer {
    report
        .answers
        .iter()
        .find(|a| a.request.id == request)
        .expect("the sample has this request")
}

/// The displayed names of the experts proposed.
fn proposed(answer: &Answer) -> Vec<String> {
    answer
        .shortlist
        .proposed()
        .iter()
        .map(|r| name(answer, r.expert))
        .collect()
}

fn name(answer: &Answer, id: ExpertId) -> String {
    answer.person(id).expect("a known expert").full_name()
}

/// The filter that removed the expert with this name, if any.
fn filter_of(answer: &Answer, full_name: &str) -> Option<Filter> {
    let id = id_of(answer, full_name);
    answer
        .shortlist
        .excluded
        .iter()
        .find(|e| e.expert == id)
        .map(|e| e.filter)
}

fn id_of(answer: &Answer, full_name: &str) -> ExpertId {
    answer
        .people
        .values()
        .find(|p| p.full_name() == full_name)
        .unwrap_or_else(|| panic!("no expert named {full_name}"))
        .id
}

fn flags(shortlist: &Shortlist, id: ExpertId) -> Vec<Flag> {
    shortlist
        .ranked
        .iter()
        .find(|r| r.expert == id)
        .map(|r| r.flags.clone())
        .unwrap_or_default()
}

async fn audit_len(roster: &SampleRoster) -> usize {
    roster
        .roster()
        .audit_trail(&Actor::Rso(OFFICER.into()), None)
        .await
        .expect("the officer reads the audit trail")
        .len()
}

#[test]
fn the_sample_is_varied_and_uses_reserved_addresses() {
    let data = SampleData::bundled();
    let nominators: BTreeSet<&str> = data
        .nominations
        .iter()
        .map(|n| n.nominator.as_str())
        .collect();
    assert!(nominators.len() >= 10, "{nominators:?}");
    assert!(nominators.contains("CAN"), "an observer nominates too");
    let people: BTreeSet<String> = data
        .nominations
        .iter()
        .map(|n| n.expert.email.to_lowercase())
        .collect();
    assert!(people.len() >= 40);
    assert_eq!(data.requests.len(), 3);

    let reserved = ["@example.org", "@example.net", "@example.com"];
    let mut addresses: Vec<&str> = Vec::new();
    for n in &data.nominations {
        addresses.push(&n.expert.email);
        addresses.extend(n.expert.referees.iter().map(|r| r.email.as_str()));
    }
    for address in addresses {
        let lower = address.to_lowercase();
        assert!(
            reserved.iter().any(|d| lower.ends_with(d)),
            "{address} is not at a reserved domain"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_call_is_summarised_from_the_store() {
    let (_, report) = run_on(Arc::new(MemoryStore::new())).await;
    let call = &report.call;
    assert_eq!(call.nominations, 45);
    assert_eq!(call.experts, 44, "one person was nominated twice");
    assert_eq!(call.nominators.len(), 24);
    let statuses: Vec<(Status, usize)> = call.statuses.iter().map(|(s, n)| (*s, *n)).collect();
    assert_eq!(
        statuses,
        [
            (Status::Invited, 1),
            (Status::Included, 37),
            (Status::Ineligible, 6)
        ]
    );

    let twice = &call.nominated_more_than_once;
    assert_eq!(twice.len(), 1);
    assert_eq!(twice[0].name, "Mele Tupou Havili");
    assert_eq!(twice[0].nominators, ["FJI", "NZL"]);

    let ineligible: Vec<(&str, Vec<Criterion>)> = call
        .ineligible
        .iter()
        .map(|i| {
            let name = i.person.latin.as_deref().unwrap_or(&i.person.name);
            (name, i.unmet.iter().map(|f| f.criterion).collect())
        })
        .collect();
    assert_eq!(
        ineligible,
        [
            ("Kamonchanok Boonma", vec![Criterion::Experience]),
            ("Mao Vannary", vec![Criterion::English]),
            ("Bambang Setiawan", vec![Criterion::References]),
            ("Ma. Lourdes Bautista", vec![Criterion::References]),
            ("Nang Seng Hom", vec![Criterion::Availability]),
            (
                "Tevita Fonua",
                vec![Criterion::Experience, Criterion::References]
            ),
        ]
    );
    let lourdes = &call.ineligible[3].unmet[0].reason;
    assert!(lourdes.contains("referee 2 is the expert"), "{lourdes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn thailand_gets_prosecutors_without_conflicts() {
    let (_, report) = run_on(Arc::new(MemoryStore::new())).await;
    let tha = answer(&report, "THA-2026-014");
    assert_eq!(
        proposed(tha),
        [
            "ปริญญา แก้วมณี (Parinya Kaewmanee)",
            "Maria Cristina Dela Cruz-Santos",
            "Nguyễn Thị Thu Hà",
        ]
    );
    let ids: Vec<ExpertId> = tha.shortlist.proposed().iter().map(|r| r.expert).collect();
    assert_eq!(ids, [ExpertId(12), ExpertId(4), ExpertId(5)]);

    // Thailand nominated the expert at the top: the requester is told.
    let parinya = id_of(tha, "ปริญญา แก้วมณี (Parinya Kaewmanee)");
    assert_eq!(flags(&tha.shortlist, parinya), [Flag::NominatedByRequester]);
    let maria = id_of(tha, "Maria Cristina Dela Cruz-Santos");
    assert!(flags(&tha.shortlist, maria).is_empty());

    // Thai government officials never reach a Thai shortlist.
    for official in [
        "วิไลวรรณ ศรีสุวรรณ (Wilaiwan Srisuwan)",
        "ณัฐพงษ์ ทองดี (Nattapong Thongdee)",
    ] {
        assert_eq!(
            filter_of(tha, official),
            Some(Filter::Conflict),
            "{official}"
        );
    }
    // Declared unavailable at registration for the mission's days.
    assert_eq!(filter_of(tha, "Arjun Shrestha"), Some(Filter::Unavailable));
    // Invited but never registered; ineligible.
    assert_eq!(filter_of(tha, "Rebecca Nguyen"), Some(Filter::NotIncluded));
    assert_eq!(
        filter_of(tha, "กมลชนก บุญมา (Kamonchanok Boonma)"),
        Some(Filter::NotIncluded)
    );
    assert_eq!(tha.shortlist.excluded.len(), 10);
    assert_eq!(tha.shortlist.ranked.len(), 34);
}

#[tokio::test(flavor = "multi_thread")]
async fn indonesia_needs_advanced_english_and_no_own_officials() {
    let (_, report) = run_on(Arc::new(MemoryStore::new())).await;
    let idn = answer(&report, "IDN-2026-007");
    assert_eq!(
        proposed(idn),
        ["Azlina binti Mohd Noor", "Catherine O'Brien-Walsh"]
    );
    assert_eq!(filter_of(idn, "Sukarni"), Some(Filter::Conflict));
    assert_eq!(
        filter_of(idn, "陈静怡 (CHEN Jingyi)"),
        Some(Filter::Language)
    );
    let chen = id_of(idn, "陈静怡 (CHEN Jingyi)");
    let why = idn.shortlist.why_not(chen);
    assert!(why.contains("en at B2, below the required C1"), "{why}");
    // Nominated by Indonesia, third: a runner-up that carries the flag.
    let dewi = id_of(idn, "Dewi Kartika Sari");
    let third = &idn.shortlist.ranked[2];
    assert_eq!((third.rank, third.expert), (3, dewi));
    assert_eq!(third.flags, [Flag::NominatedByRequester]);
}

#[tokio::test(flavor = "multi_thread")]
async fn fiji_sees_the_expert_it_nominated_with_new_zealand() {
    let (_, report) = run_on(Arc::new(MemoryStore::new())).await;
    let fji = answer(&report, "FJI-2026-003");
    assert_eq!(proposed(fji), ["Mele Tupou Havili", "Kumudini Wijeratne"]);
    let mele = &fji.shortlist.ranked[0];
    assert_eq!(mele.flags, [Flag::NominatedByRequester]);
    assert_eq!(mele.total, 100_000, "every part in full");
    assert_eq!(filter_of(fji, "Litia Naivalu"), Some(Filter::Conflict));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_on_the_same_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("roster.db");

    let (first_roster, first) = run_on_file(&path).await;
    let first_text = render(&first);
    let first_audit = audit_len(&first_roster).await;
    drop(first_roster);

    let (second_roster, second) = run_on_file(&path).await;
    assert_eq!(render(&second), first_text);
    assert_eq!(second, first);
    assert_eq!(audit_len(&second_roster).await, first_audit);
    let experts = second_roster
        .roster()
        .experts(&Actor::Rso(OFFICER.into()))
        .await
        .expect("the officer lists experts");
    assert_eq!(experts.len(), 44);
    let twice = experts
        .iter()
        .find(|e| e.profile.name.display() == "Mele Tupou Havili")
        .expect("she is on the roster");
    assert_eq!(twice.nominations.len(), 2, "no nomination recorded twice");

    // The in-memory store gives the same report as SQLite.
    let (_, memory) = run_on(Arc::new(MemoryStore::new())).await;
    assert_eq!(render(&memory), first_text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_thai_shortlist_reads_as_before() {
    let (_, report) = run_on(Arc::new(MemoryStore::new())).await;
    insta::assert_snapshot!(render_answer(answer(&report, "THA-2026-014")));
}
