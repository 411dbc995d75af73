//! Validation of mission requests: every bad field is reported at once,
//! each under its own name.

mod common;

use std::sync::Arc;

use common::{request, rso};
use roster_core::language::Level;
use roster_core::membership::Membership;
use roster_core::model::LanguageSkill;
use roster_core::store::MissionStore;
use roster_core::taxonomy::Taxonomy;
use roster_core::{
    Actor, ExpertId, MemoryStore, MissionRequest, Roster, RosterError, ValidationError,
};

fn skill(tag: &str) -> LanguageSkill {
    LanguageSkill {
        tag: tag.into(),
        level: Level::B2,
    }
}

fn validate(mut request: MissionRequest) -> (MissionRequest, Vec<ValidationError>) {
    let errors = request.validate(Taxonomy::current(), &Membership::bundled());
    (request, errors)
}

fn fields(errors: &[ValidationError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

/// The one error of `errors`, which must name `field`.
fn only_error(errors: &[ValidationError], field: &str) -> String {
    assert_eq!(fields(errors), [field], "{errors:?}");
    errors[0].message.clone()
}

#[test]
fn a_valid_request_is_normalised() {
    let mut r = request("THA-2026-001", &["B.2"]);
    r.place = " tha ".into();
    r.required_languages = vec![skill("EN")];
    r.desired_languages = vec![skill("zh_hant")];
    let (r, errors) = validate(r);
    assert_eq!(errors, []);
    assert_eq!(r.place, "THA");
    assert_eq!(r.required_languages[0].tag, "en");
    assert_eq!(r.desired_languages[0].tag, "zh-Hant");
}

#[test]
fn a_request_id_must_be_plain_text() {
    for (id, want) in [
        ("", "is empty".to_owned()),
        ("   ", "is empty".to_owned()),
        (
            "A\u{0}B",
            "contains the control character U+0000, which is not allowed".to_owned(),
        ),
        (
            "THA-\u{202E}1",
            "contains the control character U+202E, which is not allowed".to_owned(),
        ),
        (
            &"R".repeat(101),
            "is 101 characters long; at most 100 are allowed".to_owned(),
        ),
        (
            " THA-1 ",
            "is not in its plain form: ids are compared exactly, so give it without \
             surrounding spaces and in Unicode NFC, as `THA-1`"
                .to_owned(),
        ),
        (
            // "Đà Nẵng" decomposed: the same text as its NFC form, so two
            // spellings of one id would name two requests.
            "\u{110}a\u{300} N\u{103}\u{303}ng",
            "is not in its plain form: ids are compared exactly, so give it without \
             surrounding spaces and in Unicode NFC, as `\u{110}\u{e0} N\u{1eb5}ng`"
                .to_owned(),
        ),
    ] {
        let (r, errors) = validate(request(id, &["B.2"]));
        assert_eq!(only_error(&errors, "id"), want, "id {id:?}");
        // Refused, not rewritten: the id stays as given.
        assert_eq!(r.id, id);
    }
    // Characters that do not show: the same-looking id would be another.
    for (id, code) in [
        ("A\u{200B}B", "200B"),
        ("\u{FEFF}THA-1", "FEFF"),
        ("THA\u{AD}1", "00AD"),
        ("THA-1\u{2028}2", "2028"),
        ("THA-\u{E000}", "E000"),
        ("THA-\u{E0041}", "E0041"),
    ] {
        let (_, errors) = validate(request(id, &["B.2"]));
        assert_eq!(
            only_error(&errors, "id"),
            format!(
                "contains U+{code}, which does not show; two ids that read the same must be \
                 the same id"
            ),
            "id {id:?}"
        );
    }
    for id in [
        "R".repeat(100),
        "Đà Nẵng/2026 #1".into(),
        "ไทย-๒๕๖๙".into(),
        // Persian spells words with the zero-width non-joiner.
        "درخواست\u{200C}ها-۱".into(),
    ] {
        let (_, errors) = validate(request(&id, &["B.2"]));
        assert_eq!(errors, [], "id {id:?}");
    }
}

#[test]
fn exclusions_are_a_set_of_expert_ids() {
    let mut r = request("R-1", &["B.2"]);
    r.excluded = [9, 3, 9, 1].map(ExpertId).to_vec();
    let (r, errors) = validate(r);
    assert_eq!(errors, []);
    assert_eq!(r.excluded, [1, 3, 9].map(ExpertId));

    let mut r = request("R-1", &["B.2"]);
    r.excluded = [4, 0, -5].map(ExpertId).to_vec();
    let (r, errors) = validate(r);
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("excluded[1]", "is 0; expert ids start at 1"),
            ("excluded[2]", "is -5; expert ids start at 1"),
        ]
    );
    // Left as given, so the positions stay true.
    assert_eq!(r.excluded, [4, 0, -5].map(ExpertId));
}

/// Issuing a request again with its exclusions in another order, or one
/// named twice, is the same request: answered from the stored one, not
/// refused as different content.
#[tokio::test]
async fn reordered_exclusions_issue_the_same_request() {
    let roster = Roster::new(Arc::new(MemoryStore::new()));
    let mut first = request("THA-2026-001", &["B.2"]);
    first.excluded = [7, 2].map(ExpertId).to_vec();
    let mut again = first.clone();
    again.excluded = [2, 7, 2].map(ExpertId).to_vec();
    let a = roster.match_request(&rso(), first.clone()).await.unwrap();
    let b = roster.match_request(&rso(), again).await.unwrap();
    assert_eq!(a, b);
    let mut other = request("THA-2026-001", &["B.2"]);
    other.excluded = vec![ExpertId(2)];
    let err = roster.match_request(&rso(), other).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "id: request `THA-2026-001` was already issued with different content; issue the change under a new id"
    );
    // A request stored with its exclusions as given, as earlier versions
    // kept them, is the same request too.
    let store = Arc::new(MemoryStore::new());
    let mut old = first;
    old.id = "THA-2026-002".into();
    assert!(store.save_request(&old).await.unwrap());
    let roster = Roster::new(store);
    roster.match_request(&rso(), old).await.unwrap();
}

#[test]
fn unknown_competencies_name_their_position() {
    let mut r = request("R-1", &["B.2"]);
    r.competencies = vec!["training".into(), "juggling".into()];
    let (_, errors) = validate(r);
    let message = only_error(&errors, "competencies[1]");
    assert!(message.contains("`juggling`"), "{message}");
}

#[test]
fn bad_language_tags_name_the_list_and_position() {
    let mut r = request("R-1", &["B.2"]);
    r.required_languages = vec![skill("en"), skill("not a tag")];
    let (_, errors) = validate(r);
    assert_eq!(
        only_error(&errors, "required_languages[1].tag"),
        "`not a tag` is not a well-formed BCP 47 language tag"
    );

    let mut r = request("R-1", &["B.2"]);
    r.desired_languages = vec![skill("xx")];
    let (_, errors) = validate(r);
    assert_eq!(
        only_error(&errors, "desired_languages[0].tag"),
        "`xx` names a language that is not in the CLDR data"
    );
}

#[test]
fn the_place_is_a_state_or_territory_of_the_bali_process() {
    for (place, stored) in [("KHM", "KHM"), ("hkg", "HKG"), ("CAN", "CAN")] {
        let mut r = request("R-1", &["B.2"]);
        r.place = place.into();
        let (r, errors) = validate(r);
        assert_eq!(errors, [], "{place}");
        assert_eq!(r.place, stored);
    }
    let refused = [
        (
            "TH",
            "`TH` is not an ISO 3166-1 alpha-3 country code such as THA",
        ),
        (
            "ZZZ",
            "`ZZZ` is not a state or territory of the Bali Process; give the ISO 3166-1 alpha-3 \
             code of a member or observer state or territory, such as THA",
        ),
        (
            "iom",
            "`IOM` is an organisation; give the ISO 3166-1 alpha-3 code of the state or \
             territory where the mission takes place, such as THA",
        ),
    ];
    for (place, expected) in refused {
        let mut r = request("R-1", &["B.2"]);
        r.place = place.into();
        let (_, errors) = validate(r);
        assert_eq!(only_error(&errors, "place"), expected);
    }
}

#[tokio::test]
async fn an_unknown_requester_is_reported_with_every_other_bad_field() {
    let roster = Roster::new(Arc::new(MemoryStore::new()));
    let mut r = request("R-1", &["B.2"]);
    r.requester = "XYZ".into();
    r.place = "ZZZ".into();
    r.competencies = vec!["juggling".into()];
    r.required_languages = vec![skill("not a tag")];
    r.desired_languages = vec![skill("en"), skill("xx")];
    let err = roster.preview(&rso(), r.clone()).await.unwrap_err();
    let RosterError::Invalid(errors) = &err else {
        panic!("expected every error, got {err:?}");
    };
    assert_eq!(
        fields(errors),
        [
            "requester",
            "place",
            "competencies[0]",
            "required_languages[0].tag",
            "desired_languages[1].tag",
        ]
    );
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(lines.join("\n"));
    // Issuing is refused alike, and so stores nothing to engage on.
    let issued = roster.match_request(&rso(), r).await.unwrap_err();
    assert_eq!(issued.to_string(), err.to_string());
}

#[tokio::test]
async fn an_observer_may_not_request_and_is_told_so_alone() {
    let roster = Roster::new(Arc::new(MemoryStore::new()));
    let mut r = request("R-1", &["B.2"]);
    r.requester = "CAN".into();
    let err = roster
        .preview(&Actor::Participant("CAN".into()), r)
        .await
        .unwrap_err();
    let RosterError::Validation(e) = &err else {
        panic!("expected one validation error, got {err:?}");
    };
    assert_eq!(
        e.to_string(),
        "requester: `CAN` is an observer; only members may request experts"
    );
}
