//! `missing-license`: a module without `MODULE_LICENSE()`.
//!
//! modpost (L1, an error since 5.x): `missing MODULE_LICENSE() in <mod>.o`.

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// One finding per readable module with no `license` in `.modinfo`.
pub fn missing_license(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() || m.modinfo(b"license").next().is_some() {
            continue;
        }
        let msg = format!("missing MODULE_LICENSE() in {}.o", s.facts[i].modpost_name);
        out.push(Placed {
            place: (0, i, 0, 0),
            finding: finding(
                cx,
                Code::MissingLicense,
                Some(ModuleId(i as u32)),
                None,
                msg,
            ),
        });
    }
    out
}
