//! `unneeded-namespace-import`: a module imports a namespace (`MODULE_IMPORT_NS()`) but
//! uses no symbol from it. No modpost has this check; `make nsdeps` only ever adds
//! imports.
//!
//! A module is only judged when every import resolved and every provider's namespace
//! is known (vmlinux's come from the kernel `Module.symvers`).

use super::subject::{Owner, Subject};
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// One finding per imported namespace no import of the module comes from.
pub fn unneeded_namespace_imports(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        let mut imported: Vec<&[u8]> = Vec::new();
        for ns in m.modinfo(b"import_ns") {
            if !imported.contains(&ns) {
                imported.push(ns);
            }
        }
        if imported.is_empty() {
            continue;
        }
        let mut used: Vec<&str> = Vec::new();
        let mut known = true;
        for (j, imp) in m.image.imports.iter().enumerate() {
            if imp.versions_only {
                continue;
            }
            match &s.imports[i][j] {
                None if imp.weak => {}
                None => known = false,
                Some(r) => {
                    if r.owner == Owner::Vmlinux && s.kernel.is_none() {
                        known = false;
                    }
                    if let Some(ns) = r.info.namespace.as_deref() {
                        used.push(ns);
                    }
                }
            }
        }
        if !known {
            continue;
        }
        for (k, ns) in imported.iter().enumerate() {
            let ns = String::from_utf8_lossy(ns);
            if used.contains(&&*ns) {
                continue;
            }
            let msg = format!(
                "module {} imports namespace {ns}, but uses no symbol from it",
                s.facts[i].base
            );
            out.push(Placed {
                place: (2, i, 1 + k, 0),
                finding: finding(
                    cx,
                    Code::UnneededNamespaceImport,
                    Some(ModuleId(i as u32)),
                    None,
                    msg,
                ),
            });
        }
    }
    out
}
