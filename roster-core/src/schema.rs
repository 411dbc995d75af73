//! JSON Schemas of the input documents, for the portal's forms.
//!
//! Thematic and competency codes are listed with the taxonomy's labels as
//! titles, so a form can show "B.2.3 Prosecution" without its own copy of
//! the taxonomy. Every object rejects unknown fields
//! (`additionalProperties: false`), as the parsers do.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use crate::model::{MissionRequest, Nomination, Registration};
use crate::taxonomy::Taxonomy;

/// The schema of every input document, by file stem: `nomination`,
/// `registration` and `mission-request`.
pub fn input_schemas() -> Vec<(&'static str, Schema)> {
    vec![
        ("nomination", schema_of::<Nomination>()),
        ("registration", schema_of::<Registration>()),
        ("mission-request", schema_of::<MissionRequest>()),
    ]
}

fn schema_of<T: JsonSchema>() -> Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Schema of a list of thematic codes, each with its label as title.
pub(crate) fn theme_codes(generator: &mut SchemaGenerator) -> Schema {
    let t = Taxonomy::current();
    let options: Vec<Value> = t
        .themes()
        .iter()
        .map(|n| json!({ "const": n.code, "title": format!("{} {}", n.code, n.label) }))
        .collect();
    generator.definitions_mut().insert(
        "ThemeCode".into(),
        json!({
            "title": "Thematic field",
            "description": format!("A code of the thematic stream, taxonomy {}.", t.version()),
            "type": "string",
            "oneOf": options,
        }),
    );
    json_schema!({ "type": "array", "items": { "$ref": "#/$defs/ThemeCode" } })
}

/// Schema of a list of competency codes, each with its label as title.
pub(crate) fn competency_codes(generator: &mut SchemaGenerator) -> Schema {
    let t = Taxonomy::current();
    let options: Vec<Value> = t
        .competencies()
        .iter()
        .map(|c| json!({ "const": c.code, "title": c.label }))
        .collect();
    generator.definitions_mut().insert(
        "CompetencyCode".into(),
        json!({
            "title": "Competency",
            "description": format!("A code of the competency stream, taxonomy {}.", t.version()),
            "type": "string",
            "oneOf": options,
        }),
    );
    json_schema!({ "type": "array", "items": { "$ref": "#/$defs/CompetencyCode" } })
}
