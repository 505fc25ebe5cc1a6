//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning accepts it.
//!
//! One run. `tool.driver.rules` lists every code (`id` = the code, with its summary,
//! default level and help link), then each plugin code found (`PLUGIN/CODE`); each finding is a result with `ruleId`, `ruleIndex`,
//! `level`, `message.text`, a physical location (the module file, else the deciding
//! policy file at the rule's line), a logical location (the module), and properties
//! (`symbol`, `module`, `rule`). Tolerated findings carry a suppression.

use super::{modpost_message, severity_word, Report};
use crate::diag::{Code, Level};
use serde_json::{json, Value};

/// The SARIF schema this output follows.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn uri(path: &str) -> String {
    let cwd = std::env::current_dir()
        .ok()
        .map(|c| c.to_string_lossy().into_owned());
    let rel = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c))
        .and_then(|r| r.strip_prefix('/'));
    match rel {
        Some(r) => r.to_string(),
        None if path.starts_with('/') => format!("file://{path}"),
        None => path.to_string(),
    }
}

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

/// The report as a SARIF log.
pub fn to_value(r: &Report<'_>) -> Value {
    let mut rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.name(),
                "name": pascal(c.name()),
                "shortDescription": { "text": c.summary() },
                "fullDescription": { "text": match modpost_message(*c) {
                    Some(id) => format!("{} (mirrors modpost message {id})", c.summary()),
                    None => c.summary().to_string(),
                } },
                "helpUri": format!("https://example.invalid/modpolicy/blob/main/{}", c.doc_anchor()),
                "help": { "text": format!("See {} for the code, its default level and the policy field that controls it.", c.doc_anchor()) },
                "defaultConfiguration": { "level": severity_word(c.default_level()) },
            })
        })
        .collect();
    // Plugin codes, in order of first appearance, after the built-in ones.
    let mut plugin_rules: Vec<String> = Vec::new();
    for f in r.findings.iter().filter(|f| f.level != Level::Allow) {
        if let Some(p) = f.plugin.as_ref().filter(|p| p.code.is_some()) {
            let id = f.code_name().into_owned();
            if !plugin_rules.contains(&id) {
                rules.push(json!({
                    "id": id,
                    "name": pascal(&id.replace('/', "-")),
                    "shortDescription": { "text": format!("finding `{}` of plugin {}", p.code.as_deref().unwrap_or(""), p.plugin) },
                    "helpUri": format!("https://example.invalid/modpolicy/blob/main/{}", Code::PluginFinding.doc_anchor()),
                    "defaultConfiguration": { "level": "warning" },
                    "properties": { "plugin": p.plugin },
                }));
                plugin_rules.push(id);
            }
        }
    }
    let results: Vec<Value> = r
        .findings
        .iter()
        .filter(|f| f.level != Level::Allow)
        .map(|f| {
            let code = f.code_name();
            let index = match f.plugin.as_ref().filter(|p| p.code.is_some()) {
                Some(_) => Code::ALL.len() + plugin_rules.iter().position(|c| *c == code).unwrap_or(0),
                None => Code::ALL.iter().position(|c| *c == f.code).unwrap_or(0),
            };
            let physical = match (&f.file, f.rule()) {
                (Some(file), _) => json!({ "artifactLocation": { "uri": uri(file) } }),
                (None, Some(rule)) => json!({ "artifactLocation": { "uri": uri(&rule.file) }, "region": { "startLine": rule.line.max(1) } }),
                (None, None) => json!({ "artifactLocation": { "uri": r.inputs.first().map(|i| uri(i)).unwrap_or_default() } }),
            };
            let mut location = json!({ "physicalLocation": physical });
            if let Some(m) = &f.module {
                location["logicalLocations"] = json!([{ "name": m, "kind": "module" }]);
            }
            let mut result = json!({
                "ruleId": code,
                "ruleIndex": index,
                "level": severity_word(f.level),
                "message": { "text": f.message },
                "locations": [location],
                "partialFingerprints": {
                    "modpolicyFinding/v1": format!("{}|{}|{}", code, f.module.as_deref().unwrap_or(""), f.symbol.as_deref().unwrap_or("")),
                },
                "properties": {
                    "module": f.module,
                    "symbol": f.symbol,
                    "rule": f.rule().map(|x| format!("{}:{} ({})", x.file, x.line, x.kind)),
                    "plugin": f.plugin.as_ref().map(|p| p.plugin.clone()),
                },
            });
            if let Some(rule) = f.rule() {
                result["relatedLocations"] = json!([{
                    "id": 0,
                    "physicalLocation": { "artifactLocation": { "uri": uri(&rule.file) }, "region": { "startLine": rule.line.max(1) } },
                    "message": { "text": format!("the `{}` that decided", rule.kind) },
                }]);
            }
            if f.tolerated {
                result["suppressions"] = json!([{ "kind": "external", "justification": f.rule().and_then(|x| x.reason.clone()).unwrap_or_else(|| "tolerated by policy".into()) }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "modpolicy",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/modpolicy",
                "rules": rules,
            } },
            "results": results,
        }],
    })
}

/// The SARIF log as pretty-printed JSON text, ending in a newline.
pub fn render(r: &Report<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(r)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
