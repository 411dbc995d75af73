//! Real-world cases of nominations: names, phones, e-mail identity, language
//! tags and batch imports.

mod common;

use common::{Fixture, d, profile, request, rso};
use roster_core::model::{LanguageSkill, NameOrder, PersonName};
use roster_core::{
    Actor, DuplicateSignal, Nomination, NominationOutcome, PossibleDuplicate, RosterError,
};

fn named(
    full: Option<&str>,
    given: Option<&str>,
    family: Option<&str>,
    order: NameOrder,
) -> PersonName {
    PersonName {
        full: full.map(Into::into),
        given: given.map(Into::into),
        family: family.map(Into::into),
        order,
        latin: None,
    }
}

#[tokio::test]
async fn real_world_names_come_back_unchanged() {
    let f = Fixture::new().await;
    let long_arabic = ["محمد", "بن", "عبد", "الله", "بن", "يوسف"]
        .join(" ")
        .repeat(10);
    let long_arabic: String = long_arabic.chars().take(220).collect();
    let mut chinese = named(None, Some("小明"), Some("王"), NameOrder::FamilyFirst);
    chinese.latin = Some("WANG Xiaoming".into());
    let names = [
        named(Some("Sukarni"), None, None, NameOrder::NoFamilyName),
        named(Some("Aung Kyaw Moe"), None, None, NameOrder::NoFamilyName),
        named(Some("สมศรี มีสุข"), None, None, NameOrder::GivenFirst),
        named(Some("សុខ ចាន់"), None, None, NameOrder::FamilyFirst),
        chinese,
        named(Some(&long_arabic), None, None, NameOrder::NoFamilyName),
        named(Some("Kaʻimi Nohea"), None, None, NameOrder::GivenFirst),
    ];
    for (i, name) in names.iter().enumerate() {
        let mut p = profile("x", &format!("person{i}@example.org"), &["A"], "2015-01-01");
        p.name = name.clone();
        let id = f.nominate("IDN", p).await.unwrap().expert();
        let stored = f.roster.expert(&rso(), id).await.unwrap();
        assert_eq!(&stored.profile.name, name);
    }
    let experts = f.roster.experts(&rso()).await.unwrap();
    let shown: Vec<String> = experts.iter().map(|e| e.profile.name.display()).collect();
    assert_eq!(shown[0], "Sukarni");
    assert_eq!(shown[4], "王小明");
    assert_eq!(shown[5].chars().count(), 220);
    assert_eq!(experts[4].profile.name.sort_key(), "wang xiaoming");
    assert_eq!(experts[1].profile.name.sort_key(), "aung kyaw moe");

    let mut p = profile("x", "bidi@example.org", &["A"], "2015-01-01");
    p.name = named(Some("Ab\u{202E}cd"), None, None, NameOrder::NoFamilyName);
    let err = f.nominate("IDN", p).await.unwrap_err();
    let RosterError::Validation(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.field.as_str(), "expert.name.full");
}

#[tokio::test]
async fn shared_phone_and_name_are_a_hint_never_a_merge() {
    let f = Fixture::new().await;
    let mut e1 = profile("Suharti", "suharti.a@example.org", &["A"], "2015-01-01");
    e1.date_of_birth = Some(d("1979-01-05"));
    e1.phone = Some("0812-3456-7890".into());
    let mut e2 = profile("Suharti", "s.harti@example.net", &["A"], "2015-01-01");
    e2.date_of_birth = Some(d("1986-11-20"));
    e2.phone = Some("+6281234567890".into());
    let id1 = f.nominate("IDN", e1.clone()).await.unwrap().expert();
    let id2 = f.nominate("IDN", e2).await.unwrap().expert();
    assert_ne!(id1, id2);
    let stored = f.roster.expert(&rso(), id1).await.unwrap();
    assert_eq!(stored.profile.phone.as_deref(), Some("+6281234567890"));

    // The same person again, from another nominator: recognised by e-mail.
    let outcome = f.nominate("THA", e1).await.unwrap();
    assert_eq!(outcome, NominationOutcome::AddedNominator(id1));

    let dups = f.roster.possible_duplicates(&rso()).await.unwrap();
    assert_eq!(
        dups,
        [PossibleDuplicate {
            experts: (id1, id2),
            signals: vec![DuplicateSignal::SameName, DuplicateSignal::SamePhone],
        }]
    );
    assert_eq!(f.roster.experts(&rso()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn thai_numbers_in_every_form_become_one() {
    let f = Fixture::new().await;
    for (i, phone) in [
        "+66 81 234 5678",
        "0066 81-234-5678",
        "081 234 5678",
        "+66 (0)81 234 5678",
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = profile(
            "Somchai",
            &format!("somchai{i}@example.org"),
            &["A"],
            "2015-01-01",
        );
        p.phone = Some(phone.into());
        p.nationality = Some("THA".into());
        let id = f.nominate("THA", p).await.unwrap().expert();
        let stored = f.roster.expert(&rso(), id).await.unwrap();
        assert_eq!(
            stored.profile.phone.as_deref(),
            Some("+66812345678"),
            "{phone}"
        );
    }
}

#[tokio::test]
async fn email_identity_ignores_case_and_idna_but_not_aliases() {
    let f = Fixture::new().await;
    let a = f
        .nominate("VNM", profile("Hoa", "hoa@例子.测试", &["A"], "2015-01-01"))
        .await
        .unwrap();
    let b = f
        .nominate(
            "THA",
            profile("Hoa", "HOA@xn--fsqu00a.xn--0zwm56d", &["A"], "2015-01-01"),
        )
        .await
        .unwrap();
    assert_eq!(b, NominationOutcome::AddedNominator(a.expert()));

    let c = f
        .nominate(
            "VNM",
            profile("Nguyen Hoa", "hoa+roster@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap();
    let d2 = f
        .nominate(
            "VNM",
            profile("Hoa N.", "hoa@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap();
    assert!(matches!(c, NominationOutcome::Created(_)));
    assert!(matches!(d2, NominationOutcome::Created(_)));
    let dups = f.roster.possible_duplicates(&rso()).await.unwrap();
    assert!(dups.contains(&PossibleDuplicate {
        experts: (c.expert(), d2.expert()),
        signals: vec![DuplicateSignal::EmailAlias],
    }));
    let thai = f
        .nominate(
            "THA",
            profile("Somchai", "สมชาย@example.org", &["A"], "2015-01-01"),
        )
        .await;
    assert!(thai.is_ok(), "{thai:?}");
    assert!(roster_core::contact::needs_smtputf8("สมชาย@example.org"));
}

#[tokio::test]
async fn language_tags_are_canonical_and_compared_by_script() {
    let f = Fixture::new().await;
    let skill = |tag: &str, level: &str| LanguageSkill {
        tag: tag.into(),
        level: level.parse().unwrap(),
    };
    let specs = [
        vec![skill("in", "C1"), skill("en", "B2")],
        vec![skill("id", "Native"), skill("en", "B1")],
        vec![skill("zh-TW", "C2"), skill("en", "C1")],
        vec![skill("zh-Hans-TW", "C1"), skill("en", "Fluent")],
        vec![skill("ZH-hant", "B2"), skill("en", "B2")],
    ];
    let mut ids = Vec::new();
    for (i, langs) in specs.into_iter().enumerate() {
        let mut p = profile(
            "Lin",
            &format!("lin{i}@example.org"),
            &["B.2"],
            "2010-01-01",
        );
        p.languages = langs;
        ids.push(f.nominate("IDN", p).await.unwrap().expert());
    }
    let stored = f.roster.expert(&rso(), ids[0]).await.unwrap();
    assert_eq!(stored.profile.languages[0].tag, "id");
    let stored = f.roster.expert(&rso(), ids[4]).await.unwrap();
    assert_eq!(stored.profile.languages[0].tag, "zh-Hant");

    let mut p = profile("Lin", "lin-x@example.org", &["B.2"], "2010-01-01");
    p.languages = vec![skill("xx-Foo", "B2")];
    let err = f.nominate("IDN", p).await.unwrap_err();
    let RosterError::Validation(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.field.as_str(), "expert.languages[0].tag");

    f.set_day("2026-04-15");
    // Include everyone who meets the criteria (E2's English is B1).
    for &id in &ids {
        if f.roster.screen(&rso(), id).await.unwrap().eligible() {
            f.include(id).await;
        }
    }
    let qualifies = |need: &str| {
        let mut r = request(&format!("R-{need}"), &["B.2"]);
        r.required_languages = vec![skill(need, "B2")];
        r
    };
    let indonesian = f
        .roster
        .match_request(&rso(), qualifies("id"))
        .await
        .unwrap();
    let ranked: Vec<_> = indonesian.ranked.iter().map(|r| r.expert).collect();
    assert_eq!(
        ranked,
        [ids[0]],
        "E2 speaks Indonesian but was ineligible (English B1)"
    );
    let hant = f
        .roster
        .match_request(&rso(), qualifies("zh-Hant"))
        .await
        .unwrap();
    let mut ranked: Vec<_> = hant.ranked.iter().map(|r| r.expert).collect();
    ranked.sort();
    assert_eq!(ranked, [ids[2], ids[4]]);
}

#[tokio::test]
async fn batch_imports_keep_good_rows_and_report_every_bad_one() {
    let f = Fixture::new().await;
    let good = |name: &str, email: &str| Nomination {
        call_year: 2026,
        nominator: "PHL".into(),
        expert: profile(name, email, &["C.1"], "2015-01-01"),
    };
    let mut bad_email = good("Maria", "maria-at-example.org");
    bad_email.expert.email = "maria-at-example.org".into();
    let mut rows: Vec<serde_json::Value> = vec![
        serde_json::to_value(good("Jose", "jose@example.org")).unwrap(),
        serde_json::to_value(bad_email).unwrap(),
        serde_json::to_value(good("Ana", "ana@example.org")).unwrap(),
    ];
    rows[2]["expert"]["nickname"] = "Annie".into();
    rows.push(serde_json::to_value(good("Luz", "luz@example.org")).unwrap());
    let json = serde_json::to_string(&rows).unwrap();
    let report = f
        .roster
        .import_nominations_json(&Actor::Participant("PHL".into()), &json)
        .await
        .unwrap();
    let stored: Vec<usize> = report.stored.iter().map(|(i, _)| *i).collect();
    assert_eq!(stored, [0, 3]);
    let rejected: Vec<(usize, String)> = report
        .rejected
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .collect();
    assert_eq!(rejected[0].0, 1);
    assert!(
        rejected[0]
            .1
            .starts_with("expert.email: is not a valid e-mail address"),
        "{}",
        rejected[0].1
    );
    assert_eq!(rejected[1].0, 2);
    assert!(
        rejected[1].1.contains("unknown field `nickname`"),
        "{}",
        rejected[1].1
    );
    assert!(
        rejected[1]
            .1
            .starts_with("nominations[2].expert.nickname: "),
        "{}",
        rejected[1].1
    );
    assert_eq!(f.roster.experts(&rso()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn experience_in_the_future_is_an_input_error() {
    let f = Fixture::new().await;
    let p = profile("Sukarni", "s@example.org", &["A"], "2027-01-01");
    let err = f.nominate("IDN", p).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert.experience[0].from: starts on 2027-01-01, after today (2026-02-10)"
    );
}

#[tokio::test]
async fn a_government_employer_always_names_its_state() {
    use roster_core::model::{Organisation, Sector};
    let f = Fixture::new().await;
    let government = |state: Option<&str>| {
        let mut p = profile("Somchai", "somchai@example.net", &["B.2.3"], "2010-01-01");
        p.organisation = Organisation {
            name: "Immigration Bureau".into(),
            sector: Sector::Government,
            state: state.map(Into::into),
        };
        p
    };
    let err = f.nominate("THA", government(None)).await.unwrap_err();
    let RosterError::Validation(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.field.as_str(), "expert.organisation.state");
    let err = f.nominate("THA", government(Some("TH"))).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "expert.organisation.state: `TH` is not an ISO 3166-1 alpha-3 country code such as THA"
    );
    // Lower case is made canonical, so the conflict filter still sees THA.
    let id = f
        .nominate("THA", government(Some("tha")))
        .await
        .unwrap()
        .expert();
    f.set_day("2026-04-15");
    f.include(id).await;
    let list = f
        .roster
        .match_request(&rso(), request("THA-COI", &["B.2"]))
        .await
        .unwrap();
    assert!(list.ranked.is_empty());
    assert_eq!(
        list.excluded[0].filter,
        roster_core::matching::Filter::Conflict
    );
}

#[tokio::test]
async fn extreme_dates_and_periods_are_errors_not_panics() {
    use roster_core::matching::LoadCap;
    let f = Fixture::new().await;
    let id = f
        .nominate(
            "IDN",
            profile("Sukarni", "sukarni@example.org", &["A"], "2015-01-01"),
        )
        .await
        .unwrap()
        .expert();
    f.set_day("2026-04-15");
    f.include(id).await;
    let roster = f
        .roster
        .clone()
        .with_load_cap(LoadCap {
            max: 1,
            period_days: u32::MAX,
        })
        .unwrap();
    let list = roster
        .match_request(&rso(), request("CAP-1", &["A"]))
        .await
        .unwrap();
    assert_eq!(list.ranked.len(), 1);
    let mut ancient = request("OLD-1", &["A"]);
    ancient.window.first = chrono::NaiveDate::MIN;
    let err = roster.match_request(&rso(), ancient).await.unwrap_err();
    let RosterError::Validation(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.field.as_str(), "window.first");
}
