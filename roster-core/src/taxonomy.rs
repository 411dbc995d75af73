//! The two streams of expertise of the information sheet: thematic areas and
//! competencies.
//!
//! The taxonomy is data with a version. Thematic codes follow the sheet's
//! outline: an area is a letter (`B`), a sub-area adds its position (`B.2`),
//! and a third level adds another (`B.2.3`). Competency codes are short
//! slugs of the sheet's labels (`policy-development`). Codes never change
//! within a version, so they round-trip through serde, SQL and Python.
//!
//! ```
//! use roster_core::taxonomy::Taxonomy;
//!
//! let taxonomy = Taxonomy::current();
//! let node = taxonomy.theme("B.2.3")?;
//! assert_eq!(node.label, "Prosecution");
//! assert_eq!(taxonomy.theme(node.parent.unwrap())?.label, "Counter-trafficking in persons");
//! assert!(taxonomy.is_within("B.2.3", "B"));
//! # Ok::<(), roster_core::taxonomy::UnknownCode>(())
//! ```

use std::sync::OnceLock;

use serde::Serialize;

/// Version of the taxonomy shipped with this crate: the information sheet of
/// the Regional Support Office's roster of experts.
pub const TAXONOMY_VERSION: &str = "rso-information-sheet-1";

/// A code that is not in the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {stream} code `{code}` in taxonomy {version}")]
pub struct UnknownCode {
    /// `thematic` or `competency`.
    pub stream: &'static str,
    /// The code as given.
    pub code: String,
    /// The taxonomy version it was looked up in.
    pub version: &'static str,
}

/// One node of the thematic stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThemeNode {
    /// Stable code, such as `D.1.2`.
    pub code: &'static str,
    /// The sheet's wording.
    pub label: &'static str,
    /// Code of the parent node; `None` for an area.
    pub parent: Option<&'static str>,
    /// Depth: 1 for an area, 2 for a sub-area, 3 below that.
    pub depth: u8,
    /// Position in the sheet's order, from 0.
    pub index: u16,
}

/// One competency (a function the expert performs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Competency {
    /// Stable code, such as `policy-development`.
    pub code: &'static str,
    /// The sheet's wording.
    pub label: &'static str,
    /// Position in the sheet's order, from 0.
    pub index: u16,
}

/// The thematic and competency streams, with navigation.
#[derive(Debug)]
pub struct Taxonomy {
    version: &'static str,
    themes: Vec<ThemeNode>,
    competencies: Vec<Competency>,
    theme_index: foldhash::HashMap<&'static str, u16>,
    competency_index: foldhash::HashMap<&'static str, u16>,
    // For each node, the half-open range of sheet positions of its subtree.
    // The table is in pre-order, so a subtree is contiguous.
    subtree_end: Vec<u16>,
}

impl Taxonomy {
    /// The taxonomy of the information sheet, built once.
    pub fn current() -> &'static Taxonomy {
        static CURRENT: OnceLock<Taxonomy> = OnceLock::new();
        CURRENT.get_or_init(|| Taxonomy::build(TAXONOMY_VERSION, THEMES, COMPETENCIES))
    }

    fn build(
        version: &'static str,
        themes: &[(&'static str, &'static str)],
        competencies: &[(&'static str, &'static str)],
    ) -> Taxonomy {
        let themes: Vec<ThemeNode> = themes
            .iter()
            .enumerate()
            .map(|(index, &(code, label))| ThemeNode {
                code,
                label,
                parent: code.rfind('.').map(|dot| &code[..dot]),
                depth: code.split('.').count() as u8,
                index: index as u16,
            })
            .collect();
        let theme_index = themes.iter().map(|n| (n.code, n.index)).collect();
        let subtree_end = (0..themes.len())
            .map(|i| {
                let depth = themes[i].depth;
                let end = themes[i + 1..]
                    .iter()
                    .position(|n| n.depth <= depth)
                    .map_or(themes.len(), |offset| i + 1 + offset);
                end as u16
            })
            .collect();
        let competencies: Vec<Competency> = competencies
            .iter()
            .enumerate()
            .map(|(index, &(code, label))| Competency {
                code,
                label,
                index: index as u16,
            })
            .collect();
        let competency_index = competencies.iter().map(|c| (c.code, c.index)).collect();
        Taxonomy {
            version,
            themes,
            competencies,
            theme_index,
            competency_index,
            subtree_end,
        }
    }

    /// The version of this taxonomy.
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// Every thematic node in the sheet's order.
    pub fn themes(&self) -> &[ThemeNode] {
        &self.themes
    }

    /// The ten areas, A to J.
    pub fn areas(&self) -> impl Iterator<Item = &ThemeNode> {
        self.themes.iter().filter(|n| n.depth == 1)
    }

    /// Every competency in the sheet's order.
    pub fn competencies(&self) -> &[Competency] {
        &self.competencies
    }

    /// The thematic node with this code.
    pub fn theme(&self, code: &str) -> Result<&ThemeNode, UnknownCode> {
        self.theme_position(code).map(|i| &self.themes[i as usize])
    }

    /// The position of a thematic code in the sheet's order; matching works on
    /// these small integers.
    pub fn theme_position(&self, code: &str) -> Result<u16, UnknownCode> {
        self.theme_index
            .get(code)
            .copied()
            .ok_or_else(|| self.unknown("thematic", code))
    }

    /// The competency with this code.
    pub fn competency(&self, code: &str) -> Result<&Competency, UnknownCode> {
        self.competency_position(code)
            .map(|i| &self.competencies[i as usize])
    }

    /// The position of a competency code in the sheet's order.
    pub fn competency_position(&self, code: &str) -> Result<u16, UnknownCode> {
        self.competency_index
            .get(code)
            .copied()
            .ok_or_else(|| self.unknown("competency", code))
    }

    /// The direct children of a node, in the sheet's order.
    pub fn children(&self, code: &str) -> Result<Vec<&ThemeNode>, UnknownCode> {
        let node = self.theme(code)?;
        Ok(
            self.themes[node.index as usize + 1..self.subtree_end[node.index as usize] as usize]
                .iter()
                .filter(|n| n.depth == node.depth + 1)
                .collect(),
        )
    }

    /// The ancestors of a node, nearest first.
    pub fn ancestors(&self, code: &str) -> Result<Vec<&ThemeNode>, UnknownCode> {
        let mut out = Vec::new();
        let mut current = self.theme(code)?.parent;
        while let Some(parent) = current {
            let node = self.theme(parent)?;
            out.push(node);
            current = node.parent;
        }
        Ok(out)
    }

    /// Whether `code` is `ancestor` itself or one of its descendants. Unknown
    /// codes are never within anything.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        match (self.theme_position(code), self.theme_position(ancestor)) {
            (Ok(node), Ok(root)) => self.position_within(node, root),
            _ => false,
        }
    }

    /// [`Taxonomy::is_within`] on positions.
    pub fn position_within(&self, node: u16, root: u16) -> bool {
        node >= root && node < self.subtree_end[root as usize]
    }

    /// The half-open range of positions of a node's subtree (itself first).
    pub fn subtree(&self, root: u16) -> std::ops::Range<u16> {
        root..self.subtree_end[root as usize]
    }

    fn unknown(&self, stream: &'static str, code: &str) -> UnknownCode {
        UnknownCode {
            stream,
            code: code.to_owned(),
            version: self.version,
        }
    }
}

// The thematic stream in the sheet's order. In area G the sheet's line
// "Agreements and MOUs regarding:" introduces the sub-areas rather than being
// one; in area I the heading sentence on forced displacement introduces them.
const THEMES: &[(&str, &str)] = &[
    ("A", "Comprehensive Migration Management"),
    ("B", "Smuggling, Trafficking and Transnational Crime"),
    ("B.1", "Counter-people smuggling"),
    ("B.1.1", "Prevention"),
    ("B.1.2", "Protection"),
    ("B.1.3", "Prosecution"),
    ("B.1.4", "Technical Cooperation"),
    ("B.2", "Counter-trafficking in persons"),
    ("B.2.1", "Prevention"),
    ("B.2.2", "Protection"),
    ("B.2.3", "Prosecution"),
    ("B.2.4", "Technical Cooperation"),
    ("B.3", "Other transnational crime"),
    ("B.3.1", "Prevention"),
    ("B.3.2", "Prosecution"),
    ("B.3.3", "Criminal Justice"),
    ("C", "Border Management"),
    ("C.1", "Identity management, including biometrics"),
    ("C.2", "Visa integrity systems"),
    ("C.3", "Document Integrity and Verification"),
    ("C.4", "Data Management, Intelligence and Risk Analysis"),
    ("C.5", "Border Management Information Systems"),
    ("C.6", "Immigration by Air, and airport security"),
    ("C.7", "Immigration by Sea, and seaport security"),
    (
        "D",
        "Protection of Refugees and other vulnerable individuals or groups",
    ),
    ("D.1", "Asylum seekers and refugees"),
    ("D.1.1", "Profiling, Identification and Referral"),
    ("D.1.2", "Registration and Documentation"),
    ("D.1.3", "Protection"),
    ("D.1.4", "Processing and Case Management"),
    ("D.1.5", "Reception, Direct Assistance and Support"),
    ("D.1.6", "Durable Solutions"),
    ("D.2", "Victims of Trafficking"),
    ("D.2.1", "Identification, Referral and Registration"),
    ("D.2.2", "Protection"),
    ("D.2.3", "Direct assistance and support"),
    ("D.2.4", "Durable Solutions"),
    ("D.3", "Stateless Persons"),
    ("D.3.1", "Identification and Referral"),
    ("D.3.2", "Registration and documentation"),
    ("D.3.3", "Processing and case management"),
    ("D.3.4", "Protection"),
    ("D.3.5", "Durable Solutions"),
    ("D.3.6", "Direct assistance, support, referral"),
    ("D.4", "Unaccompanied and Separated Children"),
    ("D.4.1", "Identification and Referral"),
    ("D.4.2", "Registration and documentation"),
    ("D.4.3", "Protection and Care arrangements"),
    ("D.4.4", "Durable Solutions"),
    ("E", "Return and Reintegration"),
    ("E.1", "Assisted voluntary return"),
    ("E.2", "Readmission arrangements"),
    ("E.3", "Specialized assistance and referral services"),
    (
        "E.4",
        "Reintegration, self-reliance, capacity building, returnee monitoring",
    ),
    ("F", "Data and Information Management Systems"),
    ("F.1", "Migration data (collection, storage, analysis, use)"),
    (
        "F.2",
        "Information Management Systems and Information Exchange",
    ),
    ("G", "International and Regional Cooperation"),
    ("G.1", "Voluntary Return and Reintegration"),
    ("G.2", "Mutual Legal Assistance in criminal matters"),
    ("G.3", "Extradition"),
    ("G.4", "Law Enforcement Cooperation"),
    ("G.5", "Witness protection, including children"),
    ("G.6", "Migrant Labour and Consular law"),
    ("H", "International Law, Treaties and Standards"),
    ("H.1", "International migration law"),
    ("H.2", "International refugee law"),
    (
        "H.3",
        "International criminal law (including people smuggling, trafficking)",
    ),
    ("H.4", "International trade law"),
    ("H.5", "International maritime law"),
    ("H.6", "International human rights law"),
    ("H.7", "International humanitarian law"),
    ("H.8", "International labour law"),
    ("H.9", "International consular law"),
    ("I", "Emergency Preparedness and Response"),
    (
        "I.1",
        "Emergency preparedness, disaster risk management or reduction",
    ),
    (
        "I.2",
        "General planning for emergency response, and specific contingency planning",
    ),
    ("I.3", "Emergency management tools"),
    (
        "I.4",
        "International protection standards, field safety, security risk management",
    ),
    (
        "I.5",
        "Operational and logistical support (eg shelter, reception, health)",
    ),
    ("J", "Facilitating Regular Migration"),
    ("J.1", "Labour migration"),
    ("J.2", "Trade"),
    ("J.3", "Business"),
    ("J.4", "Family reunification"),
    ("J.5", "Students"),
    ("J.6", "Retirees"),
    ("J.7", "Migration and Development"),
    ("J.8", "Integration"),
];

const COMPETENCIES: &[(&str, &str)] = &[
    ("advice", "Advice"),
    ("policy-development", "Policy development"),
    (
        "legislative-development",
        "Legislative/ regulatory development",
    ),
    ("administration-procedure", "Administration procedure"),
    (
        "international-agreements",
        "International agreements and arrangements",
    ),
    ("programme-development", "Program / project development"),
    ("programme-management", "Program / project management"),
    ("training", "Training"),
    ("facilitation", "Facilitation"),
    ("communications", "Communications and awareness raising"),
    ("counselling", "Counselling"),
    ("research", "Research"),
    ("data-statistics", "Data and statistics"),
    (
        "knowledge-management",
        "Knowledge and information management",
    ),
    ("needs-assessment", "Needs assessment"),
    ("monitoring-evaluation", "Monitoring and evaluation"),
    ("editing", "Editing"),
    (
        "translation-interpretation",
        "Translation and Interpretation",
    ),
];

/// The area headings of the thematic stream, for reports.
pub const AREA_CODES: [&str; 10] = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_sheet() {
        let t = Taxonomy::current();
        assert_eq!(t.themes().len(), 89);
        assert_eq!(t.competencies().len(), 18);
        let areas: Vec<&str> = t.areas().map(|n| n.code).collect();
        assert_eq!(areas, AREA_CODES);
    }

    #[test]
    fn children_follow_the_outline() {
        let t = Taxonomy::current();
        let d: Vec<&str> = t.children("D").unwrap().iter().map(|n| n.label).collect();
        assert_eq!(
            d,
            [
                "Asylum seekers and refugees",
                "Victims of Trafficking",
                "Stateless Persons",
                "Unaccompanied and Separated Children"
            ]
        );
        assert_eq!(t.children("D.3").unwrap().len(), 6);
        assert_eq!(t.children("G").unwrap().len(), 6);
        assert_eq!(t.children("I").unwrap().len(), 5);
        assert!(t.children("A").unwrap().is_empty());
        assert!(t.children("B.1.1").unwrap().is_empty());
    }

    #[test]
    fn subtrees_and_ancestors() {
        let t = Taxonomy::current();
        assert!(t.is_within("B.2.3", "B.2"));
        assert!(t.is_within("B.2", "B.2"));
        assert!(!t.is_within("B.3.1", "B.2"));
        assert!(!t.is_within("B", "B.2"));
        assert!(!t.is_within("Z", "B"));
        let up: Vec<&str> = t
            .ancestors("D.4.3")
            .unwrap()
            .iter()
            .map(|n| n.code)
            .collect();
        assert_eq!(up, ["D.4", "D"]);
        let b = t.theme_position("B").unwrap();
        assert_eq!(t.subtree(b).len(), 15);
    }

    #[test]
    fn unknown_codes_are_named() {
        let t = Taxonomy::current();
        let err = t.theme("K.1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown thematic code `K.1` in taxonomy rso-information-sheet-1"
        );
        let err = t.competency("juggling").unwrap_err();
        assert_eq!(err.code, "juggling");
        assert_eq!(err.stream, "competency");
    }

    #[test]
    fn codes_are_unique_and_parents_exist() {
        let t = Taxonomy::current();
        for node in t.themes() {
            if let Some(parent) = node.parent {
                let p = t.theme(parent).unwrap();
                assert_eq!(p.depth + 1, node.depth, "{}", node.code);
            }
        }
        let mut codes: Vec<_> = t.themes().iter().map(|n| n.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), 89);
    }
}
