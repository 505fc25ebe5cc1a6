//! `--format json`: the versioned schema documented in `docs/json-schema.md`, whose
//! JSON Schema is `docs/modpolicy-check.schema.json` (the tests validate every output
//! against it).
//!
//! One object: `schema` (`"modpolicy-check"`), `schema_version` ([`SCHEMA_VERSION`]),
//! `tool`, `inputs`, `summary` and `findings`, each finding with `code`, `severity`,
//! `level`, `module`, `file`, `symbol`, `message`, `modpost`, `rule`, `tolerated` and
//! `plugin` (the plugin that reported it, for plugin findings and plugin failures).
//! Absent values are `null`, never missing keys.
//!
//! The types below are the schema. [`write()`] serializes straight to the writer, one
//! finding at a time: no value tree of the whole report is ever built.

use super::view::{self, FindingView};
use super::{modpost_message, severity_word, Report};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::io::{self, Write};

/// The schema version; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Serialize)]
struct Document<'r, 'a> {
    schema: &'static str,
    schema_version: u32,
    tool: Tool,
    inputs: &'a [String],
    summary: Summary,
    findings: Findings<'r, 'a>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    tolerated: usize,
}

/// The findings, serialized lazily as a sequence.
struct Findings<'r, 'a>(&'r Report<'a>);

impl Serialize for Findings<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(view::listed(self.0).map(JsonFinding::from))
    }
}

/// One finding.
#[derive(Serialize)]
struct JsonFinding<'a> {
    code: Cow<'a, str>,
    severity: &'static str,
    level: &'static str,
    module: Option<&'a str>,
    file: Option<&'a str>,
    symbol: Option<&'a str>,
    message: &'a str,
    modpost: Option<&'static str>,
    rule: Option<JsonRule<'a>>,
    tolerated: bool,
    plugin: Option<JsonPlugin<'a>>,
}

#[derive(Serialize)]
struct JsonRule<'a> {
    file: Cow<'a, str>,
    line: usize,
    kind: Cow<'a, str>,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonPlugin<'a> {
    name: &'a str,
    code: Option<&'a str>,
}

impl<'a> From<FindingView<'a>> for JsonFinding<'a> {
    fn from(f: FindingView<'a>) -> Self {
        JsonFinding {
            code: f.code,
            severity: severity_word(f.level),
            level: f.level.as_str(),
            module: f.module,
            file: f.file,
            symbol: f.symbol,
            message: f.message,
            modpost: modpost_message(f.builtin),
            rule: f.rule.map(|x| JsonRule {
                file: x.file,
                line: x.line,
                kind: x.kind,
                reason: x.reason,
            }),
            tolerated: f.tolerated,
            plugin: f.plugin.map(|p| JsonPlugin {
                name: p.name,
                code: p.code,
            }),
        }
    }
}

/// Writes the report as pretty-printed JSON ending in a newline, through a buffer, one
/// finding at a time.
pub fn write(r: &Report<'_>, w: impl Write) -> io::Result<()> {
    let doc = Document {
        schema: "modpolicy-check",
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "modpolicy",
            version: env!("CARGO_PKG_VERSION"),
        },
        inputs: r.inputs,
        summary: Summary {
            errors: r.errors(),
            warnings: r.warnings(),
            tolerated: r.tolerated(),
        },
        findings: Findings(r),
    };
    let mut w = io::BufWriter::with_capacity(64 << 10, w);
    serde_json::to_writer_pretty(&mut w, &doc)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// The report as pretty-printed JSON text, ending in a newline.
pub fn render(r: &Report<'_>) -> String {
    let mut out = Vec::new();
    // Writing to a Vec fails only if serialization does, and these types always serialize.
    let _ = write(r, &mut out);
    String::from_utf8(out).unwrap_or_default()
}
