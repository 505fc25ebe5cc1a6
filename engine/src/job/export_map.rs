//! What the HTML report shows of an input's export graph ([`ExportMap`]), from the
//! resolution the job computed: each module with its dependencies, and each symbol some
//! module exports or imports with every exporter, the chosen provider, what chose it
//! (the rule with its file, line and reason, as `explain` says it) and its importers.
//!
//! The decision is read from the [`Resolution`], the one the findings and `modules.dep`
//! come from; the renderer (`emit::diag::html`) gets plain data and knows no policy.

use crate::emit::diag::html::{ExportMap, MapDecision, MapModule, MapSymbol};
use crate::graph::{ExportGraph, Provider};
use crate::resolve::{Decision, Resolution};
use rustc_hash::FxHashMap as HashMap;

/// The decision as the report shows it (`None` for a symbol with one exporter).
pub fn decision(d: &Decision) -> Option<MapDecision> {
    match d {
        Decision::Only => None,
        Decision::Default {
            strategy,
            set_at,
            note,
        } => Some(MapDecision {
            rule: "defaults".into(),
            how: match note {
                Some(n) => format!("default strategy {strategy} ({n})"),
                None => format!("default strategy {strategy}"),
            },
            file: set_at.as_ref().map(|r| r.file.clone()),
            line: set_at.as_ref().map_or(0, |r| r.line),
            reason: set_at.as_ref().and_then(|r| r.reason.clone()),
        }),
        Decision::Rule { rule, how } => Some(MapDecision {
            rule: rule.kind.clone(),
            how: how.clone(),
            file: Some(rule.file.clone()),
            line: rule.line,
            reason: rule.reason.clone(),
        }),
    }
}

/// One symbol of the map: its exporters (`None` for vmlinux), the provider `res` chose and
/// the decision behind it; importers are filled in afterwards.
fn map_symbol(
    graph: &ExportGraph,
    res: &Resolution,
    name: &str,
    exporters: &[crate::graph::Exporter],
) -> MapSymbol {
    let choice = res.choice(graph, name);
    MapSymbol {
        name: name.to_string(),
        exporters: exporters
            .iter()
            .map(|e| match e.provider {
                Provider::Vmlinux => None,
                Provider::Module(id) => Some(id.0),
            })
            .collect(),
        provider: choice.as_ref().map(|c| c.index),
        decision: choice.as_ref().and_then(|c| decision(&c.decision)),
        importers: Vec::new(),
    }
}

/// The export map of `graph` as resolved in `res`: every module, and every symbol that a
/// module exports or imports (vmlinux's exports that no module imports are left out).
pub fn build(
    input: &str,
    kernel_version: Option<String>,
    graph: &ExportGraph,
    res: &Resolution,
) -> ExportMap {
    let modules = graph
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| MapModule {
            name: m.name().to_string(),
            path: m.source.dep_path().to_string(),
            description: m
                .modinfo(b"description")
                .next()
                .map(|d| String::from_utf8_lossy(d).into_owned()),
            deps: res
                .deps
                .get(i)
                .map(|d| d.iter().map(|id| id.0).collect())
                .unwrap_or_default(),
        })
        .collect();
    let mut symbols: Vec<MapSymbol> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::default();
    for (name, exporters) in graph.symbols() {
        if !exporters
            .iter()
            .any(|e| matches!(e.provider, Provider::Module(_)))
        {
            continue;
        }
        at.insert(name, symbols.len());
        symbols.push(map_symbol(graph, res, name, exporters));
    }
    for (i, m) in graph.modules.iter().enumerate() {
        for imp in &m.image.imports {
            let key = graph.prefix.import_key(&imp.name);
            let k = match at.get(key) {
                Some(&k) => k,
                None => {
                    at.insert(key, symbols.len());
                    symbols.push(map_symbol(graph, res, key, graph.exporters(key)));
                    symbols.len() - 1
                }
            };
            let list = &mut symbols[k].importers;
            if list.last() != Some(&(i as u32)) {
                list.push(i as u32);
            }
        }
    }
    drop(at);
    symbols.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    ExportMap {
        input: input.to_string(),
        kernel_version,
        modules,
        symbols,
    }
}
