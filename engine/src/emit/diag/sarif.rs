//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning accepts it, from typed structs
//! (the subset of the SARIF object model modpolicy fills). The tests validate every
//! output against the OASIS SARIF 2.1.0 JSON schema.
//!
//! One run. `tool.driver.rules` lists every code (`id` = the code, with its summary,
//! default level and help: the code's section of `docs/codes.md`, embedded, naming the
//! section's anchor), then each plugin code found (`PLUGIN/CODE`); each finding is a
//! result with `ruleId`, `ruleIndex`, `level`, `message.text`, a physical location (the
//! module file, else the deciding policy file at the rule's line), a logical location
//! (the module), and properties (`symbol`, `module`, `rule`, `plugin`). Tolerated
//! findings carry a suppression.
//!
//! [`write()`] serializes straight to the writer, one result at a time: only the rules
//! table is built beforehand.

use super::view::{self, FindingView};
use super::{modpost_message, severity_word, Report};
use crate::diag::Code;
use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::io::{self, Write};

/// The SARIF schema this output follows.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// `docs/codes.md`, the reference the rules' help is taken from.
const CODES_MD: &str = include_str!("../../../../docs/codes.md");

/// The text of `code`'s section in `docs/codes.md` (below its `### `code`` heading, up
/// to the next heading), trimmed.
pub fn code_doc(code: Code) -> Option<&'static str> {
    let heading = format!("\n### `{}`\n", code.name());
    let start = CODES_MD.find(&heading)? + heading.len();
    let rest = &CODES_MD[start..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    Some(rest[..end].trim()).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------
// The SARIF object model (SARIF 2.1.0 §3), the parts modpolicy fills.

/// `sarifLog` (§3.13).
#[derive(Serialize)]
struct Log<'r, 'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'r, 'a>; 1],
}

/// `run` (§3.14).
#[derive(Serialize)]
struct Run<'r, 'a> {
    tool: Tool<'a>,
    results: Results<'r, 'a>,
}

/// `tool` (§3.18).
#[derive(Serialize)]
struct Tool<'a> {
    driver: ToolComponent<'a>,
}

/// `toolComponent` (§3.19).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolComponent<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<ReportingDescriptor<'a>>,
}

/// `reportingDescriptor` (§3.49): one rule.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: Cow<'a, str>,
    name: String,
    short_description: Message<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Message<'a>>,
    help: MultiformatMessage,
    default_configuration: ReportingConfiguration,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<RuleProperties<'a>>,
}

/// `message` (§3.11), plain text only.
#[derive(Serialize)]
struct Message<'a> {
    text: Cow<'a, str>,
}

/// `multiformatMessageString` (§3.12).
#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

/// `reportingConfiguration` (§3.50).
#[derive(Serialize)]
struct ReportingConfiguration {
    level: &'static str,
}

/// The property bag of a plugin's rule.
#[derive(Serialize)]
struct RuleProperties<'a> {
    plugin: &'a str,
}

/// `result` (§3.27).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: Cow<'a, str>,
    rule_index: usize,
    level: &'static str,
    message: Message<'a>,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    related_locations: Option<[Location<'a>; 1]>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression<'a>; 1]>,
    properties: ResultProperties<'a>,
}

/// `location` (§3.28).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    logical_locations: Option<[LogicalLocation<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
}

/// `physicalLocation` (§3.29).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

/// `artifactLocation` (§3.4).
#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

/// `region` (§3.30), by line.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

/// `logicalLocation` (§3.33).
#[derive(Serialize)]
struct LogicalLocation<'a> {
    name: &'a str,
    kind: &'static str,
}

/// `partialFingerprints` (§3.27.17).
#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "modpolicyFinding/v1")]
    v1: String,
}

/// `suppression` (§3.35).
#[derive(Serialize)]
struct Suppression<'a> {
    kind: &'static str,
    justification: &'a str,
}

/// The property bag of a result.
#[derive(Serialize)]
struct ResultProperties<'a> {
    module: Option<&'a str>,
    symbol: Option<&'a str>,
    rule: Option<String>,
    plugin: Option<&'a str>,
}

// ---------------------------------------------------------------------------------
// Building it.

fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A path as a URI reference: relative to `cwd` when under it, else a `file:` URI;
/// every byte but unreserved ones and `/` percent-encoded (RFC 3986).
fn uri(path: &str, cwd: Option<&str>) -> String {
    let rel = cwd
        .and_then(|c| path.strip_prefix(c))
        .and_then(|r| r.strip_prefix('/'));
    let (prefix, p) = match rel {
        Some(r) => ("", r),
        None if path.starts_with('/') => ("file://", path),
        None => ("", path),
    };
    let mut out = String::with_capacity(prefix.len() + p.len());
    out.push_str(prefix);
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The rule of a built-in code, with its section of `docs/codes.md` as help.
fn builtin_rule(c: Code) -> ReportingDescriptor<'static> {
    let anchor = c.doc_anchor();
    let doc = code_doc(c).unwrap_or_default();
    ReportingDescriptor {
        id: Cow::Borrowed(c.name()),
        name: pascal(c.name()),
        short_description: Message {
            text: Cow::Borrowed(c.summary()),
        },
        full_description: Some(Message {
            text: match modpost_message(c) {
                Some(id) => format!("{} (mirrors modpost message {id})", c.summary()).into(),
                None => Cow::Borrowed(c.summary()),
            },
        }),
        help: MultiformatMessage {
            text: format!(
                "{}\n\n{}\n\nFrom {anchor} in the modpolicy sources.",
                c.summary(),
                doc.replace("**", "")
            ),
            markdown: format!(
                "**{}**\n\n{doc}\n\nFrom `{anchor}` in the modpolicy sources.",
                c.summary()
            ),
        },
        default_configuration: ReportingConfiguration {
            level: severity_word(c.default_level()),
        },
        properties: None,
    }
}

/// The rule of a plugin's own code `id` (`PLUGIN/CODE`).
fn plugin_rule<'a>(id: Cow<'a, str>, plugin: &'a str, code: &'a str) -> ReportingDescriptor<'a> {
    let anchor = Code::PluginFinding.doc_anchor();
    ReportingDescriptor {
        name: pascal(&id.replace('/', "-")),
        short_description: Message {
            text: format!("finding `{code}` of plugin {plugin}").into(),
        },
        full_description: None,
        help: MultiformatMessage {
            text: format!(
                "Finding `{code}` of the WebAssembly plugin `{plugin}` declared by the policy; \
                 its meaning is the plugin's. Plugin findings in general: {anchor} in the \
                 modpolicy sources."
            ),
            markdown: format!(
                "Finding `{code}` of the WebAssembly plugin `{plugin}` declared by the policy; \
                 its meaning is the plugin's.\n\nPlugin findings in general: `{anchor}` in the \
                 modpolicy sources."
            ),
        },
        default_configuration: ReportingConfiguration { level: "warning" },
        properties: Some(RuleProperties { plugin }),
        id,
    }
}

/// The rules table: every built-in code, then each plugin code in order of first
/// appearance, with the index of each plugin code.
fn rules<'a>(r: &Report<'a>) -> (Vec<ReportingDescriptor<'a>>, FxHashMap<Cow<'a, str>, usize>) {
    let mut rules: Vec<ReportingDescriptor<'a>> =
        Code::ALL.iter().map(|c| builtin_rule(*c)).collect();
    let mut index = FxHashMap::default();
    for f in view::listed(r) {
        if let Some((plugin, Some(code))) = f.plugin.as_ref().map(|p| (p.name, p.code)) {
            if !index.contains_key(&f.code) {
                index.insert(f.code.clone(), rules.len());
                rules.push(plugin_rule(f.code, plugin, code));
            }
        }
    }
    (rules, index)
}

/// The results, serialized lazily as a sequence.
struct Results<'r, 'a> {
    report: &'r Report<'a>,
    plugin_index: FxHashMap<Cow<'a, str>, usize>,
    cwd: Option<String>,
}

impl Serialize for Results<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(view::listed(self.report).map(|f| self.result(f)))
    }
}

impl<'a> Results<'_, 'a> {
    fn result(&self, f: FindingView<'a>) -> SarifResult<'a> {
        let cwd = self.cwd.as_deref();
        let rule_index = match f.plugin.as_ref().filter(|p| p.code.is_some()) {
            Some(_) => self.plugin_index.get(&f.code).copied().unwrap_or(0),
            None => Code::ALL.iter().position(|c| *c == f.builtin).unwrap_or(0),
        };
        let physical_location = match (f.file, &f.rule) {
            (Some(file), _) => PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: uri(file, cwd),
                },
                region: None,
            },
            (None, Some(rule)) => PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: uri(&rule.file, cwd),
                },
                region: Some(Region {
                    start_line: rule.line.max(1),
                }),
            },
            (None, None) => PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: self
                        .report
                        .inputs
                        .first()
                        .map(|i| uri(i, cwd))
                        .unwrap_or_default(),
                },
                region: None,
            },
        };
        let related_locations = f.rule.as_ref().map(|rule| {
            [Location {
                id: Some(0),
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: uri(&rule.file, cwd),
                    },
                    region: Some(Region {
                        start_line: rule.line.max(1),
                    }),
                },
                logical_locations: None,
                message: Some(Message {
                    text: format!("the `{}` that decided", rule.kind).into(),
                }),
            }]
        });
        let suppressions = f.tolerated.then(|| {
            [Suppression {
                kind: "external",
                justification: f
                    .rule
                    .as_ref()
                    .and_then(|x| x.reason)
                    .unwrap_or("tolerated by policy"),
            }]
        });
        SarifResult {
            rule_index,
            level: severity_word(f.level),
            message: Message {
                text: Cow::Borrowed(f.message),
            },
            locations: [Location {
                id: None,
                physical_location,
                logical_locations: f.module.map(|m| {
                    [LogicalLocation {
                        name: m,
                        kind: "module",
                    }]
                }),
                message: None,
            }],
            related_locations,
            partial_fingerprints: Fingerprints {
                v1: format!(
                    "{}|{}|{}",
                    f.code,
                    f.module.unwrap_or(""),
                    f.symbol.unwrap_or("")
                ),
            },
            suppressions,
            properties: ResultProperties {
                module: f.module,
                symbol: f.symbol,
                rule: f
                    .rule
                    .as_ref()
                    .map(|x| format!("{}:{} ({})", x.file, x.line, x.kind)),
                plugin: f.plugin.as_ref().map(|p| p.name),
            },
            rule_id: f.code,
        }
    }
}

/// Writes the SARIF log as pretty-printed JSON ending in a newline, through a buffer,
/// one result at a time.
pub fn write(r: &Report<'_>, w: impl Write) -> io::Result<()> {
    let (rules, plugin_index) = rules(r);
    let cwd = std::env::current_dir()
        .ok()
        .map(|c| c.to_string_lossy().into_owned());
    let log = Log {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: ToolComponent {
                    name: "modpolicy",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            results: Results {
                report: r,
                plugin_index,
                cwd,
            },
        }],
    };
    let mut w = io::BufWriter::with_capacity(64 << 10, w);
    serde_json::to_writer_pretty(&mut w, &log)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// The SARIF log as pretty-printed JSON text, ending in a newline.
pub fn render(r: &Report<'_>) -> String {
    let mut out = Vec::new();
    // Writing to a Vec fails only if serialization does, and these types always serialize.
    let _ = write(r, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_section_in_codes_md() {
        for c in Code::ALL {
            let doc = code_doc(*c).unwrap_or_else(|| panic!("no section for {}", c.name()));
            assert!(doc.contains("**Default level:**"), "{}: {doc}", c.name());
        }
    }

    #[test]
    fn uris_are_encoded_references() {
        assert_eq!(uri("/w/a b/x.ko", Some("/w")), "a%20b/x.ko");
        assert_eq!(uri("/t/x:y.ko", Some("/w")), "file:///t/x%3Ay.ko");
        assert_eq!(uri("c:x/%.ko", None), "c%3Ax/%25.ko");
        assert_eq!(uri("/wx/y.ko", Some("/w")), "file:///wx/y.ko");
    }
}
