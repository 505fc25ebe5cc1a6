//! `missing-description`: a module without `MODULE_DESCRIPTION()`.
//!
//! modpost 6.10 to 6.12 warns with `-W` (W=1), recent modpost always (D1):
//! `missing MODULE_DESCRIPTION() in <mod>.o`. 6.1's modpost has no such check, so the
//! modpost-compatible policy allows it; a 6.12 `W=1` policy sets it to `warn`.

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// One finding per readable module with no `description` in `.modinfo`.
pub fn missing_description(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() || m.modinfo(b"description").next().is_some() {
            continue;
        }
        let msg = format!(
            "missing MODULE_DESCRIPTION() in {}.o",
            s.facts[i].modpost_name
        );
        out.push(Placed {
            place: (0, i, 1, 0),
            finding: finding(
                cx,
                Code::MissingDescription,
                Some(ModuleId(i as u32)),
                None,
                msg,
            ),
        });
    }
    out
}
