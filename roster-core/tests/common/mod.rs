//! Helpers shared by the facade tests: a fixed clock, an open 2026 call and
//! realistic profiles.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use roster_core::clock::FixedClock;
use roster_core::model::{
    Availability, DateRange, ExperiencePeriod, LanguageSkill, NameOrder, Organisation, PersonName,
    Referee, Sector,
};
use roster_core::{
    Actor, Call, ExpertId, MemoryStore, MissionRequest, Nomination, NominationOutcome, Profile,
    Registration, Roster, RosterError,
};

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn rso() -> Actor {
    Actor::Rso("officer-1".into())
}

pub fn referee(n: u8) -> Referee {
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

pub fn profile(name: &str, email: &str, themes: &[&str], from: &str) -> Profile {
    Profile {
        name: PersonName {
            full: Some(name.into()),
            order: NameOrder::NoFamilyName,
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
            from: d(from),
            to: None,
            role: "Adviser".into(),
            themes: themes.iter().map(|s| s.to_string()).collect(),
            competencies: vec!["training".into(), "advice".into()],
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

pub struct Fixture {
    pub roster: Roster,
    pub clock: Arc<FixedClock>,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 2, 10, 3, 0, 0).unwrap(),
        ));
        let roster = Roster::new(Arc::new(MemoryStore::new())).with_clock(clock.clone());
        roster
            .open_call(
                &rso(),
                Call {
                    year: 2026,
                    window: DateRange {
                        first: d("2026-02-01"),
                        last: d("2026-03-31"),
                    },
                    version: 1,
                },
            )
            .await
            .unwrap();
        Fixture { roster, clock }
    }

    pub fn set_day(&self, day: &str) {
        // 03:00 UTC is 10:00 in Bangkok: the same calendar day.
        let day = d(day);
        self.clock
            .set(Utc.from_utc_datetime(&day.and_hms_opt(3, 0, 0).unwrap()));
    }

    pub async fn nominate(
        &self,
        by: &str,
        profile: Profile,
    ) -> Result<NominationOutcome, RosterError> {
        self.roster
            .nominate(
                &Actor::Participant(by.into()),
                Nomination {
                    call_year: 2026,
                    nominator: by.into(),
                    expert: profile,
                },
            )
            .await
    }

    /// Takes a nominated expert all the way to inclusion.
    pub async fn include(&self, id: ExpertId) {
        let report = self.roster.screen(&rso(), id).await.unwrap();
        assert!(report.eligible(), "{report:?}");
        let invited = self.roster.invite(&rso(), id).await.unwrap();
        let profile = self.roster.expert(&rso(), id).await.unwrap().profile;
        let redeemed = self
            .roster
            .redeem_invitation(invited.token.expose(), &profile.email)
            .await
            .unwrap();
        assert_eq!(redeemed, id);
        let cv_document = upload_cv(&self.roster, id).await;
        self.roster
            .register(
                &Actor::Expert(id),
                id,
                Registration {
                    profile,
                    cv_document,
                },
            )
            .await
            .unwrap();
        self.roster.include(&rso(), id).await.unwrap();
    }
}

pub fn request(id: &str, themes: &[&str]) -> MissionRequest {
    MissionRequest {
        id: id.into(),
        requester: "THA".into(),
        title: "Counter-trafficking prosecution workshop".into(),
        themes: themes.iter().map(|s| s.to_string()).collect(),
        competencies: vec!["training".into()],
        required_languages: vec![LanguageSkill {
            tag: "en".into(),
            level: "B2".parse().unwrap(),
        }],
        desired_languages: vec![],
        window: DateRange {
            first: d("2026-07-01"),
            last: d("2026-07-10"),
        },
        place: "THA".into(),
        experts_wanted: 2,
        excluded: vec![],
    }
}

/// A minimal PDF, enough for the content check.
pub const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// Uploads a minimal PDF as the expert's CV and returns its id.
pub async fn upload_cv(roster: &Roster, id: ExpertId) -> String {
    roster
        .upload_cv(&rso(), id, "cv.pdf", PDF)
        .await
        .unwrap()
        .id
        .to_string()
}
