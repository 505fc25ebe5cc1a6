//! `crc-mismatch`: a module's `__versions` CRC for a symbol differs from the CRC its
//! provider exports (`Module.symvers` for vmlinux, `__crc_*` for a module).
//!
//! modpost has no message for it (it writes the CRCs); the kernel refuses such a module
//! at load time with `<mod>: disagrees about version of symbol <sym>`, which is the
//! wording used here. Only linked modules (`.ko`) carry `__versions`.

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// One finding per versioned import whose CRC differs from the provider's.
pub fn crc_mismatches(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        let n = m.image.imports.len();
        for (j, imp) in m.image.imports.iter().enumerate() {
            if !imp.has_crc {
                continue;
            }
            let Some(crc) = s.imports[i][j].as_ref().and_then(|r| r.info.crc) else {
                continue;
            };
            if crc == imp.crc {
                continue;
            }
            let msg = format!("{}: disagrees about version of symbol {} (module: 0x{:08x}, provider: 0x{crc:08x})", s.facts[i].base, imp.name, imp.crc);
            out.push(Placed {
                place: (1, i, n + j, 0),
                finding: finding(
                    cx,
                    Code::CrcMismatch,
                    Some(ModuleId(i as u32)),
                    Some(&imp.name),
                    msg,
                ),
            });
        }
    }
    out
}
