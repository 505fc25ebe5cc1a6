//! Checks on exports: a symbol exported by several modules (`duplicate-export`) and a
//! module exporting what vmlinux exports (`vmlinux-conflict`).
//!
//! Each finding names the rule that decided its level or tolerated it, and the provider
//! the policy chose, so the report and `modules.dep` tell the same story.

use super::level::{Basis, Raw};
use super::CheckContext;
use crate::diag::Code;
use crate::graph::Provider;

/// Symbols with more than one exporter, sorted (the only ones either check looks at).
fn contested_symbols<'a>(cx: &'a CheckContext<'_>) -> Vec<&'a str> {
    let mut v: Vec<&str> = cx
        .graph
        .symbols()
        .iter()
        .filter(|(_, e)| e.len() > 1)
        .map(|(k, _)| &**k)
        .collect();
    v.sort_unstable();
    v
}

/// `duplicate-export`: every symbol that two or more modules export.
pub fn duplicate_exports(cx: &CheckContext<'_>) -> Vec<Raw> {
    let g = cx.graph;
    let mut out = Vec::new();
    for sym in contested_symbols(cx) {
        let exporters = g.exporters(sym);
        let mods: Vec<_> = exporters
            .iter()
            .filter_map(|e| match e.provider {
                Provider::Module(id) => Some(g.module(id)),
                Provider::Vmlinux => None,
            })
            .collect();
        if mods.len() < 2 {
            continue;
        }
        let pairs: Vec<(&str, &str)> = mods
            .iter()
            .map(|m| (m.name(), m.source.dep_path()))
            .collect();
        let chosen = cx.resolution.provider_of(g, sym).map(|e| match e.provider {
            Provider::Module(id) => g.module(id).name().to_string(),
            Provider::Vmlinux => "vmlinux".to_string(),
        });
        let names: Vec<&str> = mods.iter().map(|m| m.name()).collect();
        let message = format!(
            "'{sym}' is exported by {} modules ({}); provider: {}",
            mods.len(),
            names.join(", "),
            chosen.as_deref().unwrap_or("none")
        );
        let last = mods.last().expect("two or more");
        let modules = pairs
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect();
        out.push(Raw::new(
            Code::DuplicateExport,
            Some(last),
            Some(sym),
            message,
            Basis::Duplicate {
                symbol: sym.to_string(),
                modules,
                exempt: None,
            },
        ));
    }
    out
}

/// `vmlinux-conflict`: every module export of a symbol vmlinux also exports.
pub fn vmlinux_conflicts(cx: &CheckContext<'_>) -> Vec<Raw> {
    let g = cx.graph;
    let mut out = Vec::new();
    for sym in contested_symbols(cx) {
        let exporters = g.exporters(sym);
        if !exporters.iter().any(|e| e.provider == Provider::Vmlinux) {
            continue;
        }
        for e in exporters {
            let Provider::Module(id) = e.provider else {
                continue;
            };
            let m = g.module(id);
            let winner = match cx.resolution.provider_of(g, sym).map(|x| x.provider) {
                Some(Provider::Vmlinux) => "vmlinux keeps it",
                _ => "the module's export is used",
            };
            out.push(Raw::new(
                Code::VmlinuxConflict,
                Some(m),
                Some(sym),
                format!(
                    "{}: '{sym}' exported twice. Previous export was in vmlinux ({winner})",
                    m.name()
                ),
                Basis::Vmlinux {
                    symbol: sym.to_string(),
                    name: m.name().to_string(),
                    path: m.source.dep_path().to_string(),
                },
            ));
        }
    }
    out
}
