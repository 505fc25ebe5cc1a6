//! `undefined-symbol`: a module uses a symbol that nobody exports.
//!
//! modpost (U1): `"<sym>" [<mod>.ko] undefined!`, an error, a warning under `-w`
//! (`KBUILD_MODPOST_WARN=1`; `modpolicy check -w`). Weak references are never reported,
//! nor `__this_module` and `_GLOBAL_OFFSET_TABLE_`. modpost prints only the first ten;
//! that limit belongs to the modpost output format, not to the check.
//!
//! Without a kernel `Module.symvers` vmlinux's exports are unknown, and nothing is
//! reported.

use super::subject::{Subject, IGNORED_UNDEFINED};
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// One finding per unresolved, non-weak undefined symbol, in symbol-table order.
pub fn undefined_symbols(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    if s.kernel.is_none() {
        return out;
    }
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        for (j, imp) in m.image.imports.iter().enumerate() {
            if imp.versions_only || imp.weak || s.imports[i][j].is_some() {
                continue;
            }
            let key = cx.graph.prefix.import_key(&imp.name);
            if IGNORED_UNDEFINED.contains(&key) {
                continue;
            }
            let msg = format!(
                "\"{}\" [{}.ko] undefined!",
                imp.name, s.facts[i].modpost_name
            );
            out.push(Placed {
                place: (1, i, j, 0),
                finding: finding(
                    cx,
                    Code::UndefinedSymbol,
                    Some(ModuleId(i as u32)),
                    Some(&imp.name),
                    msg,
                ),
            });
        }
    }
    out
}
