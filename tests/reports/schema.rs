//! Schema validation of `modpolicy check`'s machine-readable reports, shared by the
//! `check` and `reports` suites (included with `#[path]`; the including crate declares
//! `mod support`):
//!
//! - JSON against `docs/modpolicy-check.schema.json` (JSON Schema 2020-12), the schema
//!   `docs/json-schema.md` documents;
//! - SARIF against the OASIS SARIF 2.1.0 schema (`tests/fixtures/sarif/`, draft-07), with
//!   formats (`uri`, `uri-reference`, ...) validated, plus the rules' help: each built-in
//!   code's help names `docs/codes.md#CODE`, an anchor of a heading of `docs/codes.md`.
#![allow(dead_code)]

use crate::support;
use modpolicy::diag::Code;
use serde_json::Value;
use std::sync::OnceLock;

/// The JSON Schema of `--format json`.
pub const JSON_SCHEMA: &str = "docs/modpolicy-check.schema.json";
/// The SARIF 2.1.0 schema.
pub const SARIF_SCHEMA: &str = "tests/fixtures/sarif/sarif-schema-2.1.0.json";

/// Reads a JSON document of the repository.
pub fn read_json(rel: &str) -> Value {
    let path = support::repo_root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn compile(rel: &str) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&read_json(rel))
        .unwrap_or_else(|e| panic!("{rel} is not a valid schema: {e}"))
}

/// The first ten errors of `v` under `validator`.
fn errors(validator: &jsonschema::Validator, v: &Value) -> Vec<String> {
    validator
        .iter_errors(v)
        .take(10)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, v: &Value) {
    let errors = errors(validator, v);
    assert!(
        errors.is_empty(),
        "the output is not valid under {what}:\n{}",
        errors.join("\n")
    );
}

/// The errors of `v` under `docs/modpolicy-check.schema.json` (none when valid).
pub fn json_errors(v: &Value) -> Vec<String> {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    errors(V.get_or_init(|| compile(JSON_SCHEMA)), v)
}

/// Asserts that `v` is valid under `docs/modpolicy-check.schema.json`.
pub fn assert_json_valid(v: &Value) {
    let errors = json_errors(v);
    assert!(
        errors.is_empty(),
        "the output is not valid under {JSON_SCHEMA}:\n{}",
        errors.join("\n")
    );
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation other than `-` and
/// `_` dropped, spaces as `-`.
pub fn heading_anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The anchors of every heading of `docs/codes.md`.
pub fn codes_md_anchors() -> &'static Vec<String> {
    static A: OnceLock<Vec<String>> = OnceLock::new();
    A.get_or_init(|| {
        std::fs::read_to_string(support::repo_root().join("docs/codes.md"))
            .expect("docs/codes.md")
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(heading_anchor)
            .collect()
    })
}

fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| compile(SARIF_SCHEMA))
}

/// The errors of `v` under the SARIF 2.1.0 schema (none when valid).
pub fn sarif_errors(v: &Value) -> Vec<String> {
    errors(sarif_validator(), v)
}

/// Asserts that `v` is a valid SARIF 2.1.0 log under the OASIS schema, whose rules'
/// help points at existing sections of `docs/codes.md`.
pub fn assert_sarif_valid(v: &Value) {
    assert_valid(sarif_validator(), SARIF_SCHEMA, v);
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for r in rules {
        let id = r["id"].as_str().unwrap();
        let anchor = match Code::from_name(id) {
            Some(_) => id,
            None => "plugin-finding",
        };
        let reference = format!("docs/codes.md#{anchor}");
        for form in ["text", "markdown"] {
            assert!(
                r["help"][form]
                    .as_str()
                    .is_some_and(|t| t.contains(&reference)),
                "rule {id}: help.{form} does not name {reference}"
            );
        }
        assert!(
            codes_md_anchors().iter().any(|a| a == anchor),
            "docs/codes.md has no heading with anchor #{anchor}"
        );
        assert!(
            !r.to_string().contains("example.invalid"),
            "rule {id} has a placeholder link"
        );
    }
}
