//! `docs/taxonomy.md` lists every code; this test keeps it in step with the
//! data. Run with `UPDATE_DOCS=1` to rewrite the file.

use std::fmt::Write;

use roster_core::taxonomy::Taxonomy;

fn render() -> String {
    let t = Taxonomy::current();
    let mut out = String::new();
    writeln!(out, "# Taxonomy\n").unwrap();
    writeln!(
        out,
        "The two streams of expertise of the information sheet, version `{}`: {} thematic nodes \
         and {} competencies. Codes are stable within a version and are what the API, the \
         database and the Python bindings use. A request for a node is satisfied by experience \
         in the node itself (an exact match, which counts most) or in any node below it.\n",
        t.version(),
        t.themes().len(),
        t.competencies().len()
    )
    .unwrap();
    writeln!(
        out,
        "This file is generated from `roster-core/src/taxonomy.rs` by the test `taxonomy_doc`.\n"
    )
    .unwrap();
    writeln!(out, "## Thematic\n\n| code | label |\n| --- | --- |").unwrap();
    for node in t.themes() {
        let indent = "&nbsp;&nbsp;".repeat(usize::from(node.depth - 1) * 2);
        let label = if node.depth == 1 {
            format!("**{}**", node.label)
        } else {
            node.label.to_owned()
        };
        writeln!(out, "| `{}` | {indent}{label} |", node.code).unwrap();
    }
    writeln!(out, "\n## Competency\n\n| code | label |\n| --- | --- |").unwrap();
    for c in t.competencies() {
        writeln!(out, "| `{}` | {} |", c.code, c.label).unwrap();
    }
    out
}

#[test]
fn docs_list_every_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/taxonomy.md");
    let expected = render();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/taxonomy.md is out of date; run UPDATE_DOCS=1 cargo test -p roster-core --test taxonomy_doc"
    );
}
