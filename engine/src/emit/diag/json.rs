//! `--format json`: the versioned schema documented in `docs/json-schema.md`.
//!
//! One object: `schema` (`"modpolicy-check"`), `schema_version` ([`SCHEMA_VERSION`]),
//! `tool`, `inputs`, `summary` and `findings`, each finding with `code`, `severity`,
//! `level`, `module`, `file`, `symbol`, `message`, `modpost`, `rule`, `tolerated` and
//! `plugin` (the plugin that reported it, for plugin findings and plugin failures).
//! Absent values are `null`, never missing keys.

use super::{modpost_message, severity_word, Report};
use crate::diag::Level;
use serde_json::{json, Value};

/// The schema version; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The report as a JSON value.
pub fn to_value(r: &Report<'_>) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .filter(|f| f.level != Level::Allow)
        .map(|f| {
            json!({
                "code": f.code_name(),
                "severity": severity_word(f.level),
                "level": f.level.as_str(),
                "module": f.module,
                "file": f.file,
                "symbol": f.symbol,
                "message": f.message,
                "modpost": modpost_message(f.code),
                "rule": f.rule().map(|x| json!({
                    "file": x.file,
                    "line": x.line,
                    "kind": x.kind,
                    "reason": x.reason,
                })),
                "tolerated": f.tolerated,
                "plugin": f.plugin.as_ref().map(|p| json!({
                    "name": p.plugin,
                    "code": p.code,
                })),
            })
        })
        .collect();
    json!({
        "schema": "modpolicy-check",
        "schema_version": SCHEMA_VERSION,
        "tool": { "name": "modpolicy", "version": env!("CARGO_PKG_VERSION") },
        "inputs": r.inputs,
        "summary": { "errors": r.errors(), "warnings": r.warnings(), "tolerated": r.tolerated() },
        "findings": findings,
    })
}

/// The report as pretty-printed JSON text, ending in a newline.
pub fn render(r: &Report<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(r)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
