//! The roster's records: experts and what they are made of, calls for
//! nominations, nominations, mission requests and engagements.
//!
//! Input documents (a [`Nomination`], a [`Registration`], a
//! [`MissionRequest`]) reject unknown fields, and their `validate` methods
//! return every problem found, each naming its field.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::contact::{email_key, phone_e164, validate_email};
use crate::error::{Field, ValidationError};
use crate::language::{Level, canonical_tag};
use crate::lifecycle::{Status, Term};
use crate::membership::{Membership, ParticipantKind};
use crate::taxonomy::Taxonomy;

/// The id of an expert, assigned by the store.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ExpertId(pub i64);

impl fmt::Display for ExpertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E-{:04}", self.0)
    }
}

/// Which way round a name is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameOrder {
    /// Given name, then family name.
    #[default]
    GivenFirst,
    /// Family name, then given name (Chinese, Korean, Vietnamese, Khmer ...).
    FamilyFirst,
    /// No family name: a mononym, or a Myanmar or Javanese name.
    NoFamilyName,
}

/// A person's name as they write it.
///
/// Only one part is required: `full`, or `given`, or `family`. Text is kept as
/// typed, in Unicode normalisation form C.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonName {
    /// The whole name as the person writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// Given name or names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Which way round the parts go.
    #[serde(default)]
    pub order: NameOrder,
    /// The name in Latin script, when the name is written in another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latin: Option<String>,
}

impl PersonName {
    /// The name for display: `full` when given, else the parts in their order.
    /// Scripts written without spaces (Han, Kana, Hangul runs) are joined
    /// without one.
    pub fn display(&self) -> String {
        if let Some(full) = non_empty(&self.full) {
            return full.to_owned();
        }
        let given = non_empty(&self.given);
        let family = non_empty(&self.family);
        let (first, second) = match self.order {
            NameOrder::FamilyFirst => (family, given),
            _ => (given, family),
        };
        match (first, second) {
            (Some(a), Some(b)) if is_unspaced(a) && is_unspaced(b) => format!("{a}{b}"),
            (Some(a), Some(b)) => format!("{a} {b}"),
            (Some(a), None) | (None, Some(a)) => a.to_owned(),
            (None, None) => String::new(),
        }
    }

    /// A key for sorting lists of names: the Latin form when there is one,
    /// family name first when there is a family name, else the whole name;
    /// compared without letter case.
    pub fn sort_key(&self) -> String {
        let base = match (non_empty(&self.latin), non_empty(&self.family)) {
            (Some(latin), _) => latin.to_owned(),
            (None, Some(family)) if self.order != NameOrder::NoFamilyName => {
                format!("{family} {}", non_empty(&self.given).unwrap_or(""))
            }
            _ => self.display(),
        };
        base.trim().to_lowercase()
    }

    /// A key under which spellings of one name meet: compatibility
    /// normalisation (NFKC), case folding, one apostrophe for its variants
    /// (’ ʼ ʻ ` ´) and single spaces. Equal keys are a hint, never proof, that
    /// two records name one person.
    pub fn match_key(&self) -> String {
        let text: String = self
            .display()
            .nfkc()
            .map(|c| match c {
                '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{02BB}' | '`' | '\u{00B4}'
                | '\u{2032}' => '\'',
                c => c,
            })
            .collect::<String>()
            .to_lowercase();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn validate(&mut self, field: &Field, errors: &mut Vec<ValidationError>) {
        for (name, part) in [
            ("full", &mut self.full),
            ("given", &mut self.given),
            ("family", &mut self.family),
            ("latin", &mut self.latin),
        ] {
            if let Some(text) = part {
                if let Err(message) = clean_text(text, 1000) {
                    errors.push(ValidationError::new(field.key(name), message));
                } else if text.is_empty() {
                    *part = None;
                }
            }
        }
        if self.full.is_none() && self.given.is_none() && self.family.is_none() {
            errors.push(ValidationError::new(
                field.clone(),
                "needs at least one of `full`, `given` or `family`",
            ));
        }
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn is_unspaced(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c as u32,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7A3 | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
    })
}

/// Trims, puts into NFC, and refuses control and bidirectional formatting
/// characters. The length limit counts characters, not bytes.
pub fn clean_text(text: &mut String, max_chars: usize) -> Result<(), String> {
    let normalised: String = text.trim().nfc().collect();
    if let Some(c) = normalised
        .chars()
        .find(|&c| is_bidi_control(c) || c.is_control())
    {
        return Err(format!(
            "contains the control character U+{:04X}, which is not allowed",
            c as u32
        ));
    }
    let count = normalised.chars().count();
    if count > max_chars {
        return Err(format!(
            "is {count} characters long; at most {max_chars} are allowed"
        ));
    }
    *text = normalised;
    Ok(())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The sector an organisation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// A government ministry or agency.
    Government,
    /// An international organisation.
    InternationalOrganisation,
    /// A non-governmental organisation.
    Ngo,
    /// Other civil society: universities, research institutes, associations.
    CivilSociety,
    /// A private company or self-employed.
    Private,
}

/// An organisation an expert or referee works for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The organisation's name.
    pub name: String,
    /// Its sector.
    pub sector: Sector,
    /// For a government body, the state it belongs to (ISO 3166-1 alpha-3).
    /// Matching uses it for conflicts of interest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// What validating an input document needs besides the document.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    /// The taxonomy codes are checked against.
    pub taxonomy: &'a Taxonomy,
    /// Today in the roster's time zone: experience cannot start later.
    pub today: NaiveDate,
    /// ISO 3166-1 alpha-2 region for phone numbers written in national
    /// form, normally the nominating state's.
    pub phone_region: Option<&'a str>,
}

/// A dated period of professional experience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperiencePeriod {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period; open when absent (still in this role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    /// Job title or short description.
    pub role: String,
    /// Thematic codes the work covered.
    #[schemars(schema_with = "crate::schema::theme_codes")]
    pub themes: Vec<String>,
    /// Competency codes the work used.
    #[schemars(schema_with = "crate::schema::competency_codes")]
    pub competencies: Vec<String>,
    /// States where the work took place (ISO 3166-1 alpha-3).
    #[serde(default)]
    pub countries: Vec<String>,
}

/// A referee who can vouch for the expert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Referee {
    /// The referee's name.
    pub name: PersonName,
    /// Position held.
    pub position: String,
    /// Where the referee works.
    pub organisation: Organisation,
    /// Contact address.
    pub email: String,
}

/// A language and how well the expert commands it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageSkill {
    /// A BCP 47 tag, such as `en`, `th` or `zh-Hant`.
    pub tag: String,
    /// The level, CEFR or labelled.
    pub level: Level,
}

/// What the expert declares about taking missions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// Available for short-term missions.
    pub available: bool,
    /// Authorised (by an employer where one is needed) to take them.
    pub authorised: bool,
    /// Days on which the expert cannot travel, both ends inclusive.
    #[serde(default)]
    pub unavailable: Vec<DateRange>,
}

/// A range of whole days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// First day.
    pub first: NaiveDate,
    /// Last day.
    pub last: NaiveDate,
}

impl DateRange {
    /// Whether the two ranges share at least one day.
    pub fn overlaps(&self, other: &DateRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    /// Number of days, counting both ends.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }
}

/// What a nominator says about an expert, and what the expert completes at
/// registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The expert's name.
    pub name: PersonName,
    /// The expert's e-mail address, as first entered.
    pub email: String,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Date of birth, used only to tell apart people with one name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    /// Nationality (ISO 3166-1 alpha-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// Current employer.
    pub organisation: Organisation,
    /// Professional experience.
    pub experience: Vec<ExperiencePeriod>,
    /// Referees.
    pub referees: Vec<Referee>,
    /// Languages.
    pub languages: Vec<LanguageSkill>,
    /// Availability and authorisation for missions.
    pub availability: Availability,
}

impl Profile {
    /// Normalises text, tags and the phone number in place and returns every
    /// problem found, each naming its field.
    pub fn validate(&mut self, field: &Field, checks: &Checks<'_>) -> Vec<ValidationError> {
        let taxonomy = checks.taxonomy;
        let mut errors = Vec::new();
        self.name.validate(&field.key("name"), &mut errors);
        self.email = self.email.trim().to_owned();
        if let Err(message) = validate_email(&self.email) {
            errors.push(ValidationError::new(field.key("email"), message));
        }
        if let Some(phone) = &self.phone {
            match phone_e164(phone, checks.phone_region) {
                Ok(e164) => self.phone = Some(e164),
                Err(message) => errors.push(ValidationError::new(field.key("phone"), message)),
            }
        }
        self.organisation
            .validate(&field.key("organisation"), &mut errors);
        // The conflict-of-interest filter rests on this link, so a
        // government employer must say which state it belongs to.
        if self.organisation.sector == Sector::Government && self.organisation.state.is_none() {
            errors.push(ValidationError::new(
                field.key("organisation.state"),
                "is required for a government body: the ISO 3166-1 alpha-3 code of its state",
            ));
        }
        for (i, period) in self.experience.iter_mut().enumerate() {
            let f = field.key("experience").index(i);
            if period.from > checks.today {
                errors.push(ValidationError::new(
                    f.key("from"),
                    format!("starts on {}, after today ({})", period.from, checks.today),
                ));
            }
            if let Some(to) = period.to
                && to < period.from
            {
                errors.push(ValidationError::new(
                    f.key("to"),
                    format!("ends on {to}, before it starts on {}", period.from),
                ));
            }
            if period.themes.is_empty() {
                errors.push(ValidationError::new(
                    f.key("themes"),
                    "needs at least one thematic code",
                ));
            }
            for (j, code) in period.themes.iter().enumerate() {
                if let Err(e) = taxonomy.theme(code) {
                    errors.push(ValidationError::unknown_code(f.key("themes").index(j), &e));
                }
            }
            for (j, code) in period.competencies.iter().enumerate() {
                if let Err(e) = taxonomy.competency(code) {
                    errors.push(ValidationError::unknown_code(
                        f.key("competencies").index(j),
                        &e,
                    ));
                }
            }
        }
        for (i, referee) in self.referees.iter_mut().enumerate() {
            let f = field.key("referees").index(i);
            referee.name.validate(&f.key("name"), &mut errors);
            referee
                .organisation
                .validate(&f.key("organisation"), &mut errors);
            if let Err(message) = validate_email(&referee.email) {
                errors.push(ValidationError::new(f.key("email"), message));
            }
        }
        for (i, skill) in self.languages.iter_mut().enumerate() {
            match canonical_tag(&skill.tag) {
                Ok(tag) => skill.tag = tag,
                Err(message) => errors.push(ValidationError::new(
                    field.key("languages").index(i).key("tag"),
                    message,
                )),
            }
        }
        for (i, range) in self.availability.unavailable.iter().enumerate() {
            if range.last < range.first {
                errors.push(ValidationError::new(
                    field.key("availability.unavailable").index(i),
                    format!(
                        "ends on {}, before it starts on {}",
                        range.last, range.first
                    ),
                ));
            }
        }
        errors
    }

    /// The key that identifies one person across nominations: the e-mail
    /// address with its domain in lower case (the local part is kept as
    /// entered except for letter case, which mail systems ignore in
    /// practice).
    pub fn identity_key(&self) -> String {
        email_key(&self.email)
    }

    /// The best level at which the expert commands a language that
    /// [satisfies](crate::language::satisfies) the canonical tag `tag`.
    pub fn level_in(&self, tag: &str) -> Option<Level> {
        self.languages
            .iter()
            .filter(|s| crate::language::satisfies(&s.tag, tag))
            .map(|s| s.level)
            .max()
    }
}

impl Organisation {
    fn validate(&mut self, field: &Field, errors: &mut Vec<ValidationError>) {
        if let Err(message) = clean_text(&mut self.name, 300) {
            errors.push(ValidationError::new(field.key("name"), message));
        } else if self.name.is_empty() {
            errors.push(ValidationError::new(field.key("name"), "is empty"));
        }
        if let Some(state) = &mut self.state {
            match country_code(state) {
                Ok(code) => *state = code,
                Err(message) => errors.push(ValidationError::new(field.key("state"), message)),
            }
        }
    }
}

/// Checks an ISO 3166-1 alpha-3 code and returns it in upper case.
pub fn country_code(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(format!(
            "`{text}` is not an ISO 3166-1 alpha-3 country code such as THA"
        ))
    }
}

/// An annual call for nominations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The call's year.
    pub year: i32,
    /// First and last day on which nominations are accepted, in the roster's
    /// time zone.
    pub window: DateRange,
    /// Incremented on every change; changes are made against a version.
    /// Ignored when a call is opened, which stores version 1.
    #[serde(default = "first_version")]
    pub version: u64,
}

/// A nomination: a member or observer puts an expert forward in a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Nomination {
    /// The call's year.
    pub call_year: i32,
    /// Code of the nominating member or observer.
    pub nominator: String,
    /// The nominee.
    pub expert: Profile,
}

/// A nomination as recorded on an expert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NominationRecord {
    /// The call's year.
    pub call_year: i32,
    /// Code of the nominating member or observer.
    pub nominator: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// What the expert adds when registering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The completed profile, replacing the nominated one.
    pub profile: Profile,
    /// Id of the stored CV document.
    pub cv_document: String,
}

/// An expert on the roster, at any stage of the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expert {
    /// Store-assigned id.
    pub id: ExpertId,
    /// Incremented on every change; changes are made against a version.
    pub version: u64,
    /// Where the expert is in the lifecycle.
    pub status: Status,
    /// The current profile.
    pub profile: Profile,
    /// Every nomination, oldest first.
    pub nominations: Vec<NominationRecord>,
    /// Id of the CV once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_document: Option<String>,
    /// The current or last term on the roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
}

impl Expert {
    /// Codes of every participant that nominated the expert.
    pub fn nominators(&self) -> BTreeSet<&str> {
        self.nominations
            .iter()
            .map(|n| n.nominator.as_str())
            .collect()
    }
}

/// A member state's request for experts for a mission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MissionRequest {
    /// The requester's own id for the request; issuing the same id twice is
    /// one request. Plain text of 1 to 100 characters, compared exactly.
    #[schemars(length(min = 1, max = 100))]
    pub id: String,
    /// Code of the requesting member.
    pub requester: String,
    /// Short title of the mission.
    pub title: String,
    /// Thematic codes needed, at any level of the taxonomy.
    #[schemars(schema_with = "crate::schema::theme_codes")]
    pub themes: Vec<String>,
    /// Competency codes needed.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::competency_codes")]
    pub competencies: Vec<String>,
    /// Languages every proposed expert must command at the given level.
    #[serde(default)]
    pub required_languages: Vec<LanguageSkill>,
    /// Languages that count in an expert's favour.
    #[serde(default)]
    pub desired_languages: Vec<LanguageSkill>,
    /// Mission days, both ends inclusive.
    pub window: DateRange,
    /// Where the mission takes place (ISO 3166-1 alpha-3).
    pub place: String,
    /// How many experts are wanted.
    pub experts_wanted: u16,
    /// Experts the requester excludes.
    #[serde(default)]
    pub excluded: Vec<ExpertId>,
}

impl MissionRequest {
    /// The key the request is stored and engaged under: the requester's
    /// code, a slash and the requester's own id. Ids are the requester's, so
    /// the same id from two members names two requests; codes hold no
    /// slash, so the key is unambiguous.
    pub fn key(&self) -> String {
        request_key(&self.requester, &self.id)
    }

    /// Normalises the place, the language tags and the exclusions (sorted,
    /// each once) and returns every problem found, each naming its field:
    /// the requester must be a member in `membership`, and the place a
    /// state or territory in it (member or observer).
    pub fn validate(
        &mut self,
        taxonomy: &Taxonomy,
        membership: &Membership,
    ) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let field = Field::new("");
        if let Err(message) = check_request_id(&self.id) {
            errors.push(ValidationError::new(field.key("id"), message));
        }
        if let Err(e) = membership.requester(&self.requester, field.key("requester")) {
            errors.push(e);
        }
        if let Err(message) = clean_text(&mut self.title, 300) {
            errors.push(ValidationError::new(field.key("title"), message));
        }
        match country_code(&self.place).and_then(|code| known_state(membership, code)) {
            Ok(code) => self.place = code,
            Err(message) => errors.push(ValidationError::new(field.key("place"), message)),
        }
        if self.themes.is_empty() {
            errors.push(ValidationError::new(
                field.key("themes"),
                "needs at least one thematic code",
            ));
        }
        for (i, code) in self.themes.iter().enumerate() {
            if let Err(e) = taxonomy.theme(code) {
                errors.push(ValidationError::unknown_code(
                    field.key("themes").index(i),
                    &e,
                ));
            }
        }
        for (i, code) in self.competencies.iter().enumerate() {
            if let Err(e) = taxonomy.competency(code) {
                errors.push(ValidationError::unknown_code(
                    field.key("competencies").index(i),
                    &e,
                ));
            }
        }
        for (name, list) in [
            ("required_languages", &mut self.required_languages),
            ("desired_languages", &mut self.desired_languages),
        ] {
            for (i, skill) in list.iter_mut().enumerate() {
                match canonical_tag(&skill.tag) {
                    Ok(tag) => skill.tag = tag,
                    Err(message) => errors.push(ValidationError::new(
                        field.key(name).index(i).key("tag"),
                        message,
                    )),
                }
            }
        }
        if self.window.last < self.window.first {
            errors.push(ValidationError::new(
                field.key("window"),
                format!(
                    "ends on {}, before it starts on {}",
                    self.window.last, self.window.first
                ),
            ));
        }
        for (name, day) in [
            ("window.first", self.window.first),
            ("window.last", self.window.last),
        ] {
            if !(1900..=9999).contains(&day.year()) {
                errors.push(ValidationError::new(
                    field.key(name),
                    format!("{day} is outside the years 1900 to 9999"),
                ));
            }
        }
        if self.experts_wanted == 0 {
            errors.push(ValidationError::new(
                field.key("experts_wanted"),
                "must be at least 1",
            ));
        }
        for (i, id) in self.excluded.iter().enumerate() {
            if id.0 < 1 {
                errors.push(ValidationError::new(
                    field.key("excluded").index(i),
                    format!("is {}; expert ids start at 1", id.0),
                ));
            }
        }
        // A set: the same experts in another order, or named twice, are the
        // same request when it is issued again.
        if errors.is_empty() {
            self.excluded.sort_unstable();
            self.excluded.dedup();
        }
        errors
    }
}

/// The longest request id, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 100;

/// A request id is text a person can read back: not empty, no control or
/// bidirectional formatting characters, no character that does not show
/// (see [`hidden_in_id`]), at most [`MAX_REQUEST_ID_CHARS`] characters,
/// and already trimmed and in Unicode NFC. It is refused rather than
/// normalised, since the requester later names the request by the same
/// id, compared exactly.
fn check_request_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        return Err("is empty".into());
    }
    let mut plain = id.to_owned();
    clean_text(&mut plain, MAX_REQUEST_ID_CHARS)?;
    if let Some(c) = id.chars().find(|&c| hidden_in_id(c)) {
        return Err(format!(
            "contains U+{:04X}, which does not show; two ids that read the same must be \
             the same id",
            c as u32
        ));
    }
    if plain != id {
        return Err(format!(
            "is not in its plain form: ids are compared exactly, so give it without \
             surrounding spaces and in Unicode NFC, as `{plain}`"
        ));
    }
    Ok(())
}

/// Whether `c` would sit in an id unseen: a format character such as a
/// zero-width space, a soft hyphen or a byte-order mark, a line or
/// paragraph separator, a private-use or unassigned code point. The
/// zero-width non-joiner and joiner are allowed, since Persian, Sinhala
/// and other scripts of the region spell words with them.
fn hidden_in_id(c: char) -> bool {
    use icu_properties::CodePointMapData;
    use icu_properties::props::GeneralCategory as Gc;
    if matches!(c, '\u{200C}' | '\u{200D}') {
        return false;
    }
    matches!(
        CodePointMapData::<Gc>::new().get(c),
        Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator | Gc::PrivateUse | Gc::Unassigned
    )
}

/// `code` when `membership` lists it as a state or territory.
fn known_state(membership: &Membership, code: String) -> Result<String, String> {
    match membership.get(&code).map(|p| p.kind) {
        Some(
            ParticipantKind::MemberState
            | ParticipantKind::MemberTerritory
            | ParticipantKind::ObserverState,
        ) => Ok(code),
        Some(ParticipantKind::MemberOrganization | ParticipantKind::ObserverOrganization) => {
            Err(format!(
                "`{code}` is an organisation; give the ISO 3166-1 alpha-3 code of the state or \
                 territory where the mission takes place, such as THA"
            ))
        }
        None => Err(format!(
            "`{code}` is not a state or territory of the Bali Process; give the ISO 3166-1 \
             alpha-3 code of a member or observer state or territory, such as THA"
        )),
    }
}

/// The [key](MissionRequest::key) of the request `id` from `requester`.
pub fn request_key(requester: &str, id: &str) -> String {
    let mut key = String::with_capacity(requester.len() + 1 + id.len());
    write_request_key(&mut key, requester, id);
    key
}

/// Appends the key of [`request_key`] to `out`, for callers that reuse a
/// buffer.
pub(crate) fn write_request_key(out: &mut String, requester: &str, id: &str) {
    out.push_str(requester);
    out.push('/');
    out.push_str(id);
}

/// Where an engagement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngagementState {
    /// Proposed to the requester; not yet confirmed.
    Proposed,
    /// Accepted by requester and expert; blocks overlapping missions.
    Accepted,
    /// Declined by either side.
    Declined,
    /// Carried out.
    Completed,
}

/// An expert proposed for or booked on a mission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    /// The mission request's [key](MissionRequest::key) (requester and id).
    pub request_id: String,
    /// The expert.
    pub expert: ExpertId,
    /// Mission days.
    pub window: DateRange,
    /// Where it stands.
    pub state: EngagementState,
    /// Incremented on every change; changes are made against a version.
    #[serde(default = "first_version")]
    pub version: u64,
    /// The post-mission feedback, once recorded on a completed engagement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<MissionFeedback>,
}

/// The lowest post-mission rating: unsatisfactory.
pub const LOWEST_RATING: u8 = 1;

/// The highest post-mission rating: outstanding.
pub const HIGHEST_RATING: u8 = 5;

/// The most characters a feedback comment may hold.
pub const FEEDBACK_COMMENT_MAX_CHARS: usize = 2000;

/// Post-mission feedback as it is given, before the roster records it.
///
/// The rating runs from 1 to 5:
///
/// | rating | meaning |
/// | --- | --- |
/// | 1 | unsatisfactory |
/// | 2 | below expectations |
/// | 3 | met expectations |
/// | 4 | above expectations |
/// | 5 | outstanding |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// From 1 (unsatisfactory) to 5 (outstanding).
    #[schemars(range(min = 1, max = 5))]
    pub rating: u8,
    /// What the requesting member or the RSO says about the mission, in any
    /// script: one paragraph of at most 2,000 characters, since control
    /// characters (line breaks among them) are refused as in all free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Feedback {
    /// Puts the comment into NFC (an empty one becomes `None`) and returns
    /// every problem found, each naming its field under `field`.
    pub fn validate(&mut self, field: &Field) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        if !(LOWEST_RATING..=HIGHEST_RATING).contains(&self.rating) {
            errors.push(ValidationError::new(
                field.key("rating"),
                format!(
                    "is {}; a rating runs from {LOWEST_RATING} (unsatisfactory) to \
                     {HIGHEST_RATING} (outstanding)",
                    self.rating
                ),
            ));
        }
        if let Some(comment) = &mut self.comment {
            if let Err(message) = clean_text(comment, FEEDBACK_COMMENT_MAX_CHARS) {
                errors.push(ValidationError::new(field.key("comment"), message));
            } else if comment.is_empty() {
                self.comment = None;
            }
        }
        errors
    }
}

/// Post-mission feedback as recorded on a completed engagement. Once
/// recorded it is never replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionFeedback {
    /// From 1 (unsatisfactory) to 5 (outstanding), as in [`Feedback`].
    pub rating: u8,
    /// The comment, in NFC; may hold personal data, so it is never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who recorded it ([`Actor`](crate::Actor) in text form, such as
    /// `rso:officer-1`).
    pub recorded_by: String,
    /// When it was recorded, by the roster's clock.
    pub recorded_at: DateTime<Utc>,
}

impl MissionFeedback {
    /// Whether this records the same rating and comment as `feedback`
    /// (validated), whoever recorded it and whenever.
    pub fn says(&self, feedback: &Feedback) -> bool {
        self.rating == feedback.rating && self.comment == feedback.comment
    }
}

/// The version of a record as first stored, and of records written before
/// they carried one.
fn first_version() -> u64 {
    1
}

impl Engagement {
    /// The engagement's id in errors and logs: request key and expert.
    pub fn id(&self) -> String {
        format!("{}/{}", self.request_id, self.expert)
    }

    /// Whether the engagement holds the expert's days.
    pub fn blocks(&self) -> bool {
        matches!(
            self.state,
            EngagementState::Accepted | EngagementState::Completed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(
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

    #[test]
    fn names_display_and_sort() {
        let mononym = name(Some("Sukarni"), None, None, NameOrder::NoFamilyName);
        assert_eq!(mononym.display(), "Sukarni");
        assert_eq!(mononym.sort_key(), "sukarni");
        let myanmar = name(Some("Aung Kyaw Moe"), None, None, NameOrder::NoFamilyName);
        assert_eq!(myanmar.sort_key(), "aung kyaw moe");
        let mut chinese = name(None, Some("小明"), Some("王"), NameOrder::FamilyFirst);
        chinese.latin = Some("WANG Xiaoming".into());
        assert_eq!(chinese.display(), "王小明");
        assert_eq!(chinese.sort_key(), "wang xiaoming");
        let korean = name(None, Some("민지"), Some("김"), NameOrder::FamilyFirst);
        assert_eq!(korean.display(), "김민지");
        let a = name(Some("Kaʻimi  NOHEA"), None, None, NameOrder::GivenFirst);
        let b = name(Some("Ka'imi Nohea"), None, None, NameOrder::GivenFirst);
        assert_eq!(a.match_key(), b.match_key());
        let western = name(None, Some("Ana"), Some("Silva"), NameOrder::GivenFirst);
        assert_eq!(western.display(), "Ana Silva");
        assert_eq!(western.sort_key(), "silva ana");
    }

    #[test]
    fn bidi_controls_are_refused_with_the_field() {
        let mut n = name(Some("Ab\u{202E}cd"), None, None, NameOrder::NoFamilyName);
        let mut errors = Vec::new();
        n.validate(&Field::new("expert.name"), &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "expert.name.full: contains the control character U+202E, which is not allowed"
        );
    }

    #[test]
    fn text_is_nfc_and_length_counts_characters() {
        let mut s = "Nguye\u{302}\u{303}n".to_owned();
        clean_text(&mut s, 10).unwrap();
        assert_eq!(s, "Nguyễn");
        let mut long = "ب".repeat(1000);
        assert!(clean_text(&mut long, 1000).is_ok());
        let mut longer = "ب".repeat(1001);
        assert_eq!(
            clean_text(&mut longer, 1000).unwrap_err(),
            "is 1001 characters long; at most 1000 are allowed"
        );
    }

    #[test]
    fn feedback_ratings_run_from_one_to_five() {
        for rating in [1, 3, 5] {
            let mut ok = Feedback {
                rating,
                comment: None,
            };
            assert_eq!(ok.validate(&Field::new("feedback")), []);
        }
        for rating in [0, 6, 255] {
            let mut bad = Feedback {
                rating,
                comment: None,
            };
            let errors = bad.validate(&Field::new("feedback"));
            assert_eq!(errors.len(), 1);
            assert_eq!(
                errors[0].to_string(),
                format!(
                    "feedback.rating: is {rating}; a rating runs from 1 (unsatisfactory) to 5 (outstanding)"
                )
            );
        }
    }

    #[test]
    fn feedback_comments_are_nfc_and_refuse_bidi_controls() {
        let mut decomposed = Feedback {
            rating: 4,
            comment: Some("  Nguye\u{302}\u{303}n helped a lot  ".into()),
        };
        assert_eq!(decomposed.validate(&Field::new("feedback")), []);
        assert_eq!(decomposed.comment.as_deref(), Some("Nguyễn helped a lot"));

        let mut blank = Feedback {
            rating: 4,
            comment: Some(" \n ".into()),
        };
        assert_eq!(blank.validate(&Field::new("feedback")), []);
        assert_eq!(blank.comment, None);

        let mut spoofed = Feedback {
            rating: 0,
            comment: Some("good\u{2066}bad".into()),
        };
        let errors = spoofed.validate(&Field::new("feedback"));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["feedback.rating", "feedback.comment"]);
        assert_eq!(
            errors[1].message,
            "contains the control character U+2066, which is not allowed"
        );

        let mut longest = Feedback {
            rating: 3,
            comment: Some("ก".repeat(FEEDBACK_COMMENT_MAX_CHARS)),
        };
        assert_eq!(longest.validate(&Field::new("feedback")), []);
        let mut too_long = Feedback {
            rating: 3,
            comment: Some("ก".repeat(FEEDBACK_COMMENT_MAX_CHARS + 1)),
        };
        let errors = too_long.validate(&Field::new("feedback"));
        assert_eq!(
            errors[0].to_string(),
            "feedback.comment: is 2001 characters long; at most 2000 are allowed"
        );
    }

    #[test]
    fn date_ranges_are_inclusive() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let july = DateRange {
            first: d("2025-07-01"),
            last: d("2025-07-10"),
        };
        assert_eq!(july.days(), 10);
        assert!(july.overlaps(&DateRange {
            first: d("2025-07-10"),
            last: d("2025-07-12")
        }));
        assert!(!july.overlaps(&DateRange {
            first: d("2025-07-11"),
            last: d("2025-07-12")
        }));
    }
}
