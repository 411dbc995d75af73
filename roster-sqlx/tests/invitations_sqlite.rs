//! BL-16 on a SQLite file: the invitation token redeems once, with the
//! invited address in any case, and no stored byte holds the token.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use roster_core::clock::FixedClock;
use roster_core::lifecycle::ChainReport;
use roster_core::model::{
    Availability, DateRange, ExperiencePeriod, LanguageSkill, NameOrder, Organisation, PersonName,
    Referee, Sector,
};
use roster_core::store::InvitationStore;
use roster_core::{Actor, Call, Nomination, Profile, Roster, RosterError};
use roster_sqlx::sqlite::SqliteStore;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn referee(n: u8) -> Referee {
    Referee {
        name: PersonName {
            full: Some(format!("Referee {n}")),
            ..PersonName::default()
        },
        position: "Director".into(),
        organisation: Organisation {
            name: "Ministry of Justice".into(),
            sector: Sector::Government,
            state: Some("AUS".into()),
        },
        email: format!("referee{n}@example.org"),
    }
}

fn eligible(email: &str) -> Profile {
    Profile {
        name: PersonName {
            full: Some("Nguyễn Thị Hoa".into()),
            order: NameOrder::FamilyFirst,
            ..PersonName::default()
        },
        email: email.into(),
        phone: None,
        date_of_birth: None,
        nationality: Some("IDN".into()),
        organisation: Organisation {
            name: "Migration Research Centre".into(),
            sector: Sector::CivilSociety,
            state: None,
        },
        experience: vec![ExperiencePeriod {
            from: "2012-01-01".parse().unwrap(),
            to: None,
            role: "Adviser".into(),
            themes: vec!["B.2.3".into()],
            competencies: vec!["training".into()],
            countries: vec!["IDN".into()],
        }],
        referees: vec![referee(1), referee(2)],
        languages: vec![LanguageSkill {
            tag: "en".into(),
            level: "C1".parse().unwrap(),
        }],
        availability: Availability {
            available: true,
            authorised: true,
            unavailable: vec![],
        },
    }
}

#[tokio::test]
async fn the_token_redeems_once_and_is_stored_only_as_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.db");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let clock = Arc::new(FixedClock::new(at("2025-03-01T03:00:00Z")));
    let roster = Roster::new(store.clone()).with_clock(clock.clone());
    let rso = Actor::Rso("officer-1".into());
    let window = DateRange {
        first: "2025-01-01".parse().unwrap(),
        last: "2025-12-31".parse().unwrap(),
    };
    roster
        .open_call(
            &rso,
            Call {
                year: 2025,
                window,
                version: 1,
            },
        )
        .await
        .unwrap();
    let id = roster
        .nominate(
            &Actor::Participant("VNM".into()),
            Nomination {
                call_year: 2025,
                nominator: "VNM".into(),
                expert: eligible("hoa.nguyen@example.org"),
            },
        )
        .await
        .unwrap()
        .expert();
    clock.set(at("2025-05-01T00:00:00Z"));
    let invited = roster.invite(&rso, id).await.unwrap();
    let token = invited.token.expose().to_owned();

    // The stored row holds the hash; no file of the database holds the
    // token, in the main file or the write-ahead log.
    let stored = store.invitations(id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash, invited.token.hash());
    assert_ne!(stored[0].token_hash, token);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(holds(invited.token.hash().as_bytes()), "the hash is stored");
    assert!(!holds(token.as_bytes()), "the token is not stored");
    assert!(!holds(&token.as_bytes()[..32]), "nor half of it");

    clock.set(at("2025-05-02T00:00:00Z"));
    assert_eq!(
        roster
            .redeem_invitation(&token, "Hoa.Nguyen@Example.org")
            .await
            .unwrap(),
        id
    );
    let again = roster
        .redeem_invitation(&token, "hoa.nguyen@example.org")
        .await
        .unwrap_err();
    assert!(matches!(again, RosterError::InvitationInvalid));
    assert_eq!(
        roster.verify_audit_trail(&rso).await.unwrap(),
        ChainReport::Ok { entries: 2 }
    );
}
