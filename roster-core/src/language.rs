//! Languages and proficiency levels.
//!
//! Levels form one ordered scale. The CEFR levels A1 to C2 come first, then
//! `native`, which ranks above C2. Labelled levels map onto it explicitly:
//!
//! | label        | level  |
//! |--------------|--------|
//! | basic        | A2     |
//! | intermediate | B1     |
//! | working      | B2     |
//! | fluent       | C1     |
//! | native       | native |
//!
//! Working-level English, as the information sheet asks, is B2 or above.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A proficiency level on one ordered scale.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schemars(with = "String")]
pub enum Level {
    /// CEFR A1.
    A1,
    /// CEFR A2; also "basic".
    A2,
    /// CEFR B1; also "intermediate".
    B1,
    /// CEFR B2; also "working".
    B2,
    /// CEFR C1; also "fluent".
    C1,
    /// CEFR C2.
    C2,
    /// A first language; ranks above C2.
    Native,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 7] = [
        Level::A1,
        Level::A2,
        Level::B1,
        Level::B2,
        Level::C1,
        Level::C2,
        Level::Native,
    ];

    /// The working level the information sheet asks for.
    pub const WORKING: Level = Level::B2;

    /// The level's canonical name: a CEFR code or `native`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::A1 => "A1",
            Level::A2 => "A2",
            Level::B1 => "B1",
            Level::B2 => "B2",
            Level::C1 => "C1",
            Level::C2 => "C2",
            Level::Native => "native",
        }
    }

    /// The ordinal, from 1 (A1) to 7 (native).
    pub fn ordinal(self) -> u8 {
        self as u8 + 1
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level name that is neither CEFR nor one of the labels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown level `{0}`: expected A1, A2, B1, B2, C1, C2, or basic, intermediate, working, fluent, native"
)]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Level, UnknownLevel> {
        let level = match s.trim().to_ascii_lowercase().as_str() {
            "a1" => Level::A1,
            "a2" | "basic" => Level::A2,
            "b1" | "intermediate" => Level::B1,
            "b2" | "working" => Level::B2,
            "c1" | "fluent" => Level::C1,
            "c2" => Level::C2,
            "native" | "mother tongue" => Level::Native,
            _ => return Err(UnknownLevel(s.to_owned())),
        };
        Ok(level)
    }
}

impl TryFrom<String> for Level {
    type Error = UnknownLevel;
    fn try_from(s: String) -> Result<Level, UnknownLevel> {
        s.parse()
    }
}

impl From<Level> for String {
    fn from(level: Level) -> String {
        level.as_str().to_owned()
    }
}

/// Normalises a language tag's letter case the BCP 47 way: language lower
/// case, script title case, region upper case (`ZH-hant-tw` → `zh-Hant-TW`).
/// Returns `None` when the tag is not well-formed.
// Deprecated subtags (`in` for Indonesian) and likely scripts are not
// resolved here: that needs the CLDR data of a locale crate.
pub fn normalise_tag(tag: &str) -> Option<String> {
    let mut out = Vec::new();
    for (i, part) in tag.trim().split(['-', '_']).enumerate() {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let lower = part.to_ascii_lowercase();
        let piece = if i == 0 {
            if !(2..=3).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphabetic()) {
                return None;
            }
            lower
        } else if part.len() == 4 && part.chars().all(|c| c.is_ascii_alphabetic()) {
            let mut chars = lower.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect()
        } else if part.len() == 2 || (part.len() == 3 && part.chars().all(|c| c.is_ascii_digit())) {
            part.to_ascii_uppercase()
        } else {
            lower
        };
        out.push(piece);
    }
    Some(out.join("-"))
}

/// The primary language subtag of a normalised tag (`zh` for `zh-Hant-TW`).
pub fn primary(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_by_ordinal_not_name() {
        let mut levels = vec![Level::Native, Level::B1, Level::C2, Level::A1, Level::B2];
        levels.sort();
        assert_eq!(
            levels,
            [Level::A1, Level::B1, Level::B2, Level::C2, Level::Native]
        );
        assert!("fluent".parse::<Level>().unwrap() >= Level::WORKING);
        assert!("B1".parse::<Level>().unwrap() < Level::WORKING);
        assert_eq!("Native".parse::<Level>().unwrap().ordinal(), 7);
    }

    #[test]
    fn labels_map_explicitly() {
        let pairs = [
            ("basic", Level::A2),
            ("intermediate", Level::B1),
            ("working", Level::B2),
            ("fluent", Level::C1),
            ("native", Level::Native),
        ];
        for (label, level) in pairs {
            assert_eq!(label.parse::<Level>().unwrap(), level);
        }
        assert_eq!(
            "expert".parse::<Level>().unwrap_err().to_string(),
            "unknown level `expert`: expected A1, A2, B1, B2, C1, C2, or basic, intermediate, working, fluent, native"
        );
    }

    #[test]
    fn tags_get_bcp47_case() {
        assert_eq!(normalise_tag("ZH-hant").as_deref(), Some("zh-Hant"));
        assert_eq!(normalise_tag("zh_tw").as_deref(), Some("zh-TW"));
        assert_eq!(normalise_tag("es-419").as_deref(), Some("es-419"));
        assert_eq!(normalise_tag("").as_deref(), None);
        assert_eq!(normalise_tag("e").as_deref(), None);
        assert_eq!(normalise_tag("en--GB").as_deref(), None);
        assert_eq!(primary("zh-Hant-TW"), "zh");
    }
}
