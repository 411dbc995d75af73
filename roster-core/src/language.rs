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

use icu_locale::{
    LanguageIdentifier, Locale, LocaleCanonicalizer, LocaleExpander, TransformResult,
};

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

/// A language tag in canonical BCP 47 form: deprecated subtags replaced
/// (`in` → `id`, `iw` → `he`), letter case fixed (`ZH-hant` → `zh-Hant`).
/// Tags that are not well-formed, carry extensions (`en-x-legal`), or name
/// a language CLDR does not know are refused with a message that names the
/// tag.
pub fn canonical_tag(tag: &str) -> Result<String, String> {
    let text = tag.trim().replace('_', "-");
    let mut locale: Locale = text
        .parse()
        .map_err(|_| format!("`{tag}` is not a well-formed BCP 47 language tag"))?;
    // Extensions (`-u-`, `-t-`, `-x-` and the like) say nothing about which
    // language an expert commands, and a tag carrying one would never meet
    // a need for the plain language; they are refused rather than dropped.
    if !locale.extensions.is_empty() {
        let plain = locale.id.to_string();
        return Err(format!(
            "`{tag}` carries extension subtags; give only the language, with a script, \
             region or variant where it matters, such as `{plain}`"
        ));
    }
    canonicalizer().canonicalize(&mut locale);
    let mut probe = LanguageIdentifier::from((locale.id.language, None, None));
    if locale.id.language.is_unknown()
        || expander().maximize(&mut probe) == TransformResult::Unmodified
    {
        return Err(format!(
            "`{tag}` names a language that is not in the CLDR data"
        ));
    }
    Ok(locale.to_string())
}

/// Whether a skill in language `have` satisfies a need for language `want`
/// (both canonical tags). Languages must be the same. The script is compared
/// when `want` names a script or a region, using the likely script where a
/// tag leaves it out: a need for `zh-Hant` is met by `zh-TW` (likely script
/// Hant) but not by `zh-Hans-TW`. A region in `want` must match too. A plain
/// `want` such as `en` or `zh` is met by any variety.
pub fn satisfies(have: &str, want: &str) -> bool {
    let (Ok(mut have), Ok(mut want)) = (
        have.parse::<LanguageIdentifier>(),
        want.parse::<LanguageIdentifier>(),
    ) else {
        return have == want;
    };
    if have.language != want.language {
        return false;
    }
    let want_region = want.region;
    if want.script.is_none() && want_region.is_none() {
        return true;
    }
    expander().maximize(&mut have);
    expander().maximize(&mut want);
    have.script == want.script && want_region.is_none_or(|r| have.region == Some(r))
}

/// A tag parsed once, so that it can be compared with many others as
/// [`satisfies`] would, without parsing either again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParsedTag {
    /// A tag that does not parse; it meets only the same text.
    Text(String),
    /// A tag that parses.
    Parsed {
        /// The language as written.
        language: icu_locale::subtags::Language,
        /// Whether the tag names a script or a region.
        narrowed: bool,
        /// The region as written.
        region: Option<icu_locale::subtags::Region>,
        /// The likely script and region, filled in where the tag leaves
        /// them out.
        likely: (
            Option<icu_locale::subtags::Script>,
            Option<icu_locale::subtags::Region>,
        ),
    },
}

impl ParsedTag {
    /// `tag` parsed, with its likely script and region.
    pub(crate) fn new(tag: &str) -> ParsedTag {
        let Ok(id) = tag.parse::<LanguageIdentifier>() else {
            return ParsedTag::Text(tag.to_owned());
        };
        let mut likely = id.clone();
        expander().maximize(&mut likely);
        ParsedTag::Parsed {
            language: id.language,
            narrowed: id.script.is_some() || id.region.is_some(),
            region: id.region,
            likely: (likely.script, likely.region),
        }
    }

    /// Whether a skill in this language satisfies a need for `want`:
    /// [`satisfies`] on the two tags these were parsed from.
    pub(crate) fn satisfies(&self, want: &ParsedTag) -> bool {
        match (self, want) {
            (
                ParsedTag::Parsed {
                    language: have,
                    likely: (have_script, have_region),
                    ..
                },
                ParsedTag::Parsed {
                    language,
                    narrowed,
                    region,
                    likely: (script, _),
                },
            ) => {
                have == language
                    && (!narrowed
                        || (have_script == script
                            && region.is_none_or(|r| *have_region == Some(r))))
            }
            (ParsedTag::Text(have), ParsedTag::Text(want)) => have == want,
            // One parses and the other does not, so their texts differ.
            _ => false,
        }
    }
}

/// The primary language subtag of a canonical tag (`zh` for `zh-Hant-TW`).
pub fn primary(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

// Built from compiled CLDR data that the binary holds as statics, so
// construction is cheap; the types are not `Sync`, so they cannot be shared
// through a static.
fn canonicalizer() -> LocaleCanonicalizer {
    LocaleCanonicalizer::new_extended()
}

fn expander() -> LocaleExpander {
    LocaleExpander::new_extended()
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
    fn tags_are_canonical() {
        let ok = |t: &str| canonical_tag(t).unwrap();
        assert_eq!(ok("ZH-hant"), "zh-Hant");
        assert_eq!(ok("in"), "id");
        assert_eq!(ok("zh_tw"), "zh-TW");
        assert_eq!(ok("es-419"), "es-419");
        assert_eq!(ok("tpi"), "tpi");
        assert_eq!(
            canonical_tag("xx-Foo").unwrap_err(),
            "`xx-Foo` is not a well-formed BCP 47 language tag"
        );
        assert_eq!(
            canonical_tag("qq").unwrap_err(),
            "`qq` names a language that is not in the CLDR data"
        );
        assert!(canonical_tag("").is_err());
        assert!(canonical_tag("en--GB").is_err());
        for (tag, plain) in [
            ("en-x-legal", "en"),
            ("th-TH-u-ca-buddhist", "th-TH"),
            ("zh-Hant-t-en", "zh-Hant"),
        ] {
            assert_eq!(
                canonical_tag(tag).unwrap_err(),
                format!(
                    "`{tag}` carries extension subtags; give only the language, with a \
                     script, region or variant where it matters, such as `{plain}`"
                )
            );
        }
        assert_eq!(ok("sl-rozaj"), "sl-rozaj");
        assert_eq!(primary("zh-Hant-TW"), "zh");
    }

    #[test]
    fn likely_scripts_decide_chinese_varieties() {
        assert!(satisfies("zh-TW", "zh-Hant"));
        assert!(satisfies("zh-Hant", "zh-Hant"));
        assert!(!satisfies("zh-Hans-TW", "zh-Hant"));
        assert!(!satisfies("zh", "zh-Hant"));
        assert!(satisfies("zh-Hans-TW", "zh"));
        assert!(satisfies("en-GB", "en"));
        assert!(!satisfies("en-GB", "en-US"));
        assert!(!satisfies("ms", "id"));
    }

    #[test]
    fn parsed_tags_compare_as_satisfies_does() {
        let tags = [
            "en",
            "en-GB",
            "en-US",
            "zh",
            "zh-TW",
            "zh-Hant",
            "zh-Hans",
            "zh-Hans-TW",
            "zh-HK",
            "sr-Latn",
            "sr",
            "ms",
            "id",
            "in",
            "und",
            "xx-Foo",
            "EN",
            "",
        ];
        for have in tags {
            for want in tags {
                assert_eq!(
                    ParsedTag::new(have).satisfies(&ParsedTag::new(want)),
                    satisfies(have, want),
                    "{have} for {want}"
                );
            }
        }
    }
}
