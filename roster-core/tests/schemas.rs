//! The committed JSON Schemas under `schemas/` are what the portal builds its
//! forms from; this test fails when the types drift from them. Run with
//! `UPDATE_SCHEMAS=1` to rewrite the files after an intended change.

use roster_core::schema::input_schemas;

#[test]
fn committed_schemas_match_the_types() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas");
    let mut stale = Vec::new();
    for (name, schema) in input_schemas() {
        let path = format!("{dir}/{name}.schema.json");
        let expected = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, &expected).unwrap();
        }
        if std::fs::read_to_string(&path).unwrap_or_default() != expected {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "schemas out of date: {stale:?}; run UPDATE_SCHEMAS=1 cargo test -p roster-core --test schemas"
    );
}

#[test]
fn schemas_carry_taxonomy_titles_and_refuse_unknown_fields() {
    let schemas = input_schemas();
    let nomination = serde_json::to_value(&schemas[0].1).unwrap();
    let theme = &nomination["$defs"]["ThemeCode"]["oneOf"];
    assert_eq!(theme.as_array().unwrap().len(), 89);
    assert_eq!(theme[10]["const"], "B.2.3");
    assert_eq!(theme[10]["title"], "B.2.3 Prosecution");
    assert_eq!(nomination["additionalProperties"], false);
    let comps = &nomination["$defs"]["CompetencyCode"]["oneOf"];
    assert_eq!(comps.as_array().unwrap().len(), 18);
    let request = serde_json::to_value(&schemas[2].1).unwrap();
    assert_eq!(
        request["properties"]["themes"]["items"]["$ref"],
        "#/$defs/ThemeCode"
    );
}
