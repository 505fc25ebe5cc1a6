//! `gpl-only-symbol`: a GPL-incompatible module uses a GPL-only export.
//!
//! modpost (G1): `GPL-incompatible module <base>.ko uses GPL-only symbol '<sym>'`, an
//! error. A module is GPL-incompatible when any of its `license=` strings is outside
//! modpost's exact list; a module with no licence counts as compatible (it fails
//! `missing-license` anyway).

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// The licence strings modpost accepts as GPL-compatible (exact comparison).
pub const GPL_COMPATIBLE: &[&[u8]] = &[
    b"GPL",
    b"GPL v2",
    b"GPL and additional rights",
    b"Dual BSD/GPL",
    b"Dual MIT/GPL",
    b"Dual MPL/GPL",
];

/// One finding per import of a GPL-only export by a GPL-incompatible module.
pub fn gpl_only_symbols(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() || m.modinfo(b"license").all(|l| GPL_COMPATIBLE.contains(&l)) {
            continue;
        }
        for (j, imp) in m.image.imports.iter().enumerate() {
            if imp.versions_only || !s.imports[i][j].as_ref().is_some_and(|r| r.info.gpl_only) {
                continue;
            }
            let msg = format!(
                "GPL-incompatible module {}.ko uses GPL-only symbol '{}'",
                s.facts[i].base, imp.name
            );
            out.push(Placed {
                place: (1, i, j, 2),
                finding: finding(
                    cx,
                    Code::GplOnlySymbol,
                    Some(ModuleId(i as u32)),
                    Some(&imp.name),
                    msg,
                ),
            });
        }
    }
    out
}
