//! A seeded generator of realistic rosters and requests, shared by every
//! benchmark, so that each figure is measured on the same data.
//!
//! The shape follows the bundled sample and the sheet: most experts are
//! included, a few areas are far more common than others, English is
//! nearly universal and one or two regional languages follow, about a
//! third work for a government, and some are already engaged.

use chrono::{Days, NaiveDate, TimeZone, Utc};
use fastrand::Rng;
use roster_core::language::Level;
use roster_core::membership::{Membership, ParticipantKind};
use roster_core::model::{
    Availability, DateRange, Engagement, EngagementState, ExperiencePeriod, LanguageSkill,
    NameOrder, NominationRecord, Organisation, PersonName, Sector,
};
use roster_core::taxonomy::Taxonomy;
use roster_core::{Expert, ExpertId, MissionRequest, Profile, Status, Term};

const TAGS: [&str; 10] = [
    "en", "th", "id", "ms", "vi", "km", "my", "fil", "zh-Hans", "fr",
];

/// The generator: one seed gives one roster.
pub struct Generator {
    rng: Rng,
    themes: Vec<&'static str>,
    competencies: Vec<&'static str>,
    members: Vec<String>,
}

/// The day every benchmark runs "today".
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Generator {
        let t = Taxonomy::current();
        let members = Membership::bundled()
            .iter()
            .filter(|p| matches!(p.kind, ParticipantKind::MemberState))
            .map(|p| p.code.clone())
            .collect();
        Generator {
            rng: Rng::with_seed(seed),
            themes: t.themes().iter().map(|n| n.code).collect(),
            competencies: t.competencies().iter().map(|c| c.code).collect(),
            members,
        }
    }

    /// A thematic code, skewed so that low positions are more common.
    fn theme(&mut self) -> String {
        let n = self.themes.len();
        let a = self.rng.usize(..n);
        let b = self.rng.usize(..n);
        self.themes[a.min(b)].to_owned()
    }

    fn member(&mut self) -> String {
        let i = self.rng.usize(..self.members.len());
        self.members[i].clone()
    }

    fn day(&mut self, from: NaiveDate, span: u64) -> NaiveDate {
        from + Days::new(self.rng.u64(..span.max(1)))
    }

    /// Expert number `id`.
    pub fn expert(&mut self, id: i64) -> Expert {
        let r = &mut self.rng;
        let status = if r.u8(..100) < 90 {
            Status::Included
        } else {
            Status::Expired
        };
        let start = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default();
        let first_day = start + Days::new(r.u64(..330));
        let term = Term::starting(first_day);
        let periods = 1 + r.usize(..4);
        let mut experience = Vec::with_capacity(periods);
        let mut from = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        for p in 0..periods {
            from = self.day(from, 1500);
            let open = p + 1 == periods;
            let to = (!open).then(|| from + Days::new(200 + self.rng.u64(..1500)));
            let themes = (0..1 + self.rng.usize(..3)).map(|_| self.theme()).collect();
            let competencies = (0..1 + self.rng.usize(..3))
                .map(|_| {
                    let i = self.rng.usize(..self.competencies.len());
                    self.competencies[i].to_owned()
                })
                .collect();
            let countries = (0..1 + self.rng.usize(..2))
                .map(|_| self.member())
                .collect();
            experience.push(ExperiencePeriod {
                from,
                to,
                role: "Adviser".into(),
                themes,
                competencies,
                countries,
            });
            if let Some(to) = to {
                from = to;
            }
        }
        let mut languages = vec![LanguageSkill {
            tag: "en".into(),
            level: if self.rng.u8(..10) < 8 {
                Level::C1
            } else {
                Level::B1
            },
        }];
        for _ in 0..self.rng.usize(..3) {
            let tag = TAGS[1 + self.rng.usize(..TAGS.len() - 1)];
            let level = Level::ALL[self.rng.usize(..Level::ALL.len())];
            languages.push(LanguageSkill {
                tag: tag.into(),
                level,
            });
        }
        let government = self.rng.u8(..3) == 0;
        let state = self.member();
        let mut unavailable = Vec::new();
        if self.rng.u8(..5) == 0 {
            let first = self.day(today(), 300);
            unavailable.push(DateRange {
                first,
                last: first + Days::new(self.rng.u64(..20)),
            });
        }
        let nominator = self.member();
        Expert {
            id: ExpertId(id),
            version: 1,
            status,
            profile: Profile {
                name: PersonName {
                    full: Some(format!("Expert {id}")),
                    order: NameOrder::NoFamilyName,
                    ..PersonName::default()
                },
                email: format!("expert{id}@example.org"),
                phone: None,
                date_of_birth: None,
                nationality: Some(state.clone()),
                organisation: Organisation {
                    name: "Organisation".into(),
                    sector: if government {
                        Sector::Government
                    } else {
                        Sector::CivilSociety
                    },
                    state: government.then_some(state),
                },
                experience,
                referees: vec![],
                languages,
                availability: Availability {
                    available: self.rng.u8(..100) < 90,
                    authorised: true,
                    unavailable,
                },
            },
            nominations: vec![NominationRecord {
                call_year: 2025,
                nominator,
                received_at: Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap(),
            }],
            cv_document: None,
            term: Some(term),
        }
    }

    /// Engagements of expert `id`: about one expert in five has one.
    pub fn engagements(&mut self, id: i64) -> Vec<Engagement> {
        if self.rng.u8(..5) != 0 {
            return Vec::new();
        }
        let first = self.day(today() - Days::new(300), 500);
        vec![Engagement {
            request_id: format!("{}/PAST-{id}", self.member()),
            expert: ExpertId(id),
            window: DateRange {
                first,
                last: first + Days::new(self.rng.u64(..15)),
            },
            state: if self.rng.bool() {
                EngagementState::Accepted
            } else {
                EngagementState::Completed
            },
            version: 1,
            feedback: None,
        }]
    }

    /// Request number `n`: one to three themes, a competency, English at
    /// working level required, a regional language desired, ten days some
    /// time in the next year.
    pub fn request(&mut self, n: usize) -> MissionRequest {
        let requester = self.member();
        let first = self.day(today() + Days::new(30), 300);
        let themes = (0..1 + self.rng.usize(..3)).map(|_| self.theme()).collect();
        let i = self.rng.usize(..self.competencies.len());
        MissionRequest {
            id: format!("BENCH-{n}"),
            requester: requester.clone(),
            title: "Benchmark mission".into(),
            themes,
            competencies: vec![self.competencies[i].to_owned()],
            required_languages: vec![LanguageSkill {
                tag: "en".into(),
                level: Level::B2,
            }],
            desired_languages: vec![LanguageSkill {
                tag: TAGS[1 + self.rng.usize(..TAGS.len() - 1)].into(),
                level: Level::B1,
            }],
            window: DateRange {
                first,
                last: first + Days::new(9),
            },
            place: requester,
            experts_wanted: 1 + self.rng.u16(..3),
            excluded: vec![],
        }
    }
}
