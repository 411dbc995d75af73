//! Participants of the Bali Process: who may nominate experts and who may
//! request them.
//!
//! The crate ships its own membership file, `data/membership.json`, with the
//! source of each entry and whether a source confirmed it. A deployment can
//! load its own file with [`Membership::from_json`].

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::{Field, ValidationError};

const BUNDLED: &str = include_str!("../data/membership.json");

/// How a participant takes part in the Bali Process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    /// A member state.
    MemberState,
    /// A member territory, counted among the member states.
    MemberTerritory,
    /// A member international organisation.
    MemberOrganization,
    /// An observer state.
    ObserverState,
    /// An observer organisation.
    ObserverOrganization,
}

impl ParticipantKind {
    /// States and territories, members or observers, as opposed to
    /// organisations.
    pub fn is_state(self) -> bool {
        !matches!(self, Self::MemberOrganization | Self::ObserverOrganization)
    }

    /// Members (states, territories and organisations), as opposed to
    /// observers.
    pub fn is_member(self) -> bool {
        matches!(
            self,
            Self::MemberState | Self::MemberTerritory | Self::MemberOrganization
        )
    }
}

/// Whether a source confirmed an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Named as a participant in at least one listed source.
    ConfirmedInSource,
    /// Not yet confirmed; check against the official page before relying on
    /// it.
    RecalledUnverified,
}

/// One member or observer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// ISO 3166-1 alpha-3 code for a state or territory, a short acronym for
    /// an organisation.
    pub code: String,
    /// The name in English.
    pub name: String,
    /// Member or observer, state or organisation.
    pub kind: ParticipantKind,
    /// ISO 3166-1 alpha-2 code of a state or territory: the default region
    /// for phone numbers its nominees write without a country code.
    #[serde(default)]
    pub alpha2: Option<String>,
    /// Region code used by the matching score; organisations have none.
    #[serde(default)]
    pub region: Option<String>,
    /// Whether a source confirmed the entry.
    pub verification: Verification,
    /// Keys into the file's `sources` table.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Free note.
    #[serde(default)]
    pub note: Option<String>,
}

/// The membership table.
#[derive(Debug, Clone)]
pub struct Membership {
    entries: BTreeMap<String, Participant>,
}

#[derive(Deserialize)]
struct File {
    entries: Vec<Participant>,
}

impl Membership {
    /// The membership file shipped with the crate.
    pub fn bundled() -> Arc<Membership> {
        static BUNDLED_TABLE: OnceLock<Arc<Membership>> = OnceLock::new();
        BUNDLED_TABLE
            .get_or_init(|| {
                // OK because the bundled file is checked by this crate's tests.
                Arc::new(Membership::from_json(BUNDLED).expect("bundled membership file is valid"))
            })
            .clone()
    }

    /// Reads a membership file: a JSON object whose `entries` list holds
    /// participants. Other top-level keys (sources, notes) are ignored.
    pub fn from_json(text: &str) -> Result<Membership, ValidationError> {
        let file: File = serde_json::from_str(text)
            .map_err(|e| ValidationError::new(Field::new("membership"), e.to_string()))?;
        let mut entries = BTreeMap::new();
        for (i, entry) in file.entries.into_iter().enumerate() {
            let field = Field::new("membership.entries").index(i).key("code");
            if entry.code.trim().is_empty() {
                return Err(ValidationError::new(field, "is empty"));
            }
            if let Some(old) = entries.insert(entry.code.clone(), entry) {
                return Err(ValidationError::new(
                    field,
                    format!("`{}` appears twice", old.code),
                ));
            }
        }
        Ok(Membership { entries })
    }

    /// The participant with this code.
    pub fn get(&self, code: &str) -> Option<&Participant> {
        self.entries.get(code)
    }

    /// Every participant, ordered by code.
    pub fn iter(&self) -> impl Iterator<Item = &Participant> {
        self.entries.values()
    }

    /// Checks that `code` may nominate experts (members and observers).
    pub fn nominator(&self, code: &str, field: Field) -> Result<&Participant, ValidationError> {
        self.get(code).ok_or_else(|| {
            ValidationError::new(
                field,
                format!("`{code}` is not a Bali Process member or observer"),
            )
        })
    }

    /// Checks that `code` may request experts (members only).
    pub fn requester(&self, code: &str, field: Field) -> Result<&Participant, ValidationError> {
        let participant = self.get(code).ok_or_else(|| {
            ValidationError::new(
                field.clone(),
                format!("`{code}` is not a Bali Process member"),
            )
        })?;
        if !participant.kind.is_member() {
            return Err(ValidationError::new(
                field,
                format!("`{code}` is an observer; only members may request experts"),
            ));
        }
        Ok(participant)
    }

    /// The region of a state, if it has one.
    pub fn region(&self, code: &str) -> Option<&str> {
        self.get(code)?.region.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_file_matches_its_counts() {
        let m = Membership::bundled();
        let count = |k: ParticipantKind| m.iter().filter(|p| p.kind == k).count();
        assert_eq!(count(ParticipantKind::MemberState), 42);
        assert_eq!(count(ParticipantKind::MemberTerritory), 3);
        assert_eq!(count(ParticipantKind::MemberOrganization), 4);
        assert_eq!(count(ParticipantKind::ObserverState), 16);
        assert_eq!(count(ParticipantKind::ObserverOrganization), 8);
        let unverified = m
            .iter()
            .filter(|p| p.verification == Verification::RecalledUnverified)
            .count();
        assert_eq!(unverified, 49);
        assert_eq!(
            m.get("THA").unwrap().region.as_deref(),
            Some("south-east-asia")
        );
    }

    #[test]
    fn observers_nominate_but_do_not_request() {
        let m = Membership::bundled();
        assert!(m.nominator("CAN", Field::new("nominator")).is_ok());
        let err = m.requester("CAN", Field::new("requester")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "requester: `CAN` is an observer; only members may request experts"
        );
        assert!(m.requester("IOM", Field::new("requester")).is_ok());
        let err = m.nominator("XYZ", Field::new("nominator")).unwrap_err();
        assert_eq!(err.field.to_string(), "nominator");
    }
}
