//! `missing-softdep-target`: a `softdep` (`pre:`/`post:` lists) or `weakdep` names a
//! module that is neither in the input, nor built in (`modules.builtin`), nor an exact
//! alias of a module. modprobe ignores such a name silently.

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;
use rustc_hash::FxHashSet as HashSet;

/// One finding per softdep or weakdep name that matches nothing.
pub fn missing_softdep_targets(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let g = cx.graph;
    let mut aliases: Option<HashSet<&[u8]>> = None;
    let mut out = Vec::new();
    for (i, m) in g.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        let mut k = 0;
        for key in [&b"softdep"[..], b"weakdep"] {
            let kind = String::from_utf8_lossy(key).into_owned();
            for value in m.modinfo(key) {
                let value = String::from_utf8_lossy(value);
                for name in value.split_whitespace().filter(|t| !t.ends_with(':')) {
                    let norm = name.replace('-', "_");
                    if g.find_module(&norm).is_some() || s.builtin.contains(&norm) {
                        continue;
                    }
                    let aliases = aliases.get_or_insert_with(|| {
                        g.modules.iter().flat_map(|m| m.modinfo(b"alias")).collect()
                    });
                    if aliases.contains(name.as_bytes()) {
                        continue;
                    }
                    let msg = format!("module {}: {kind} names module {name}, which is neither a module nor built in", s.facts[i].base);
                    out.push(Placed {
                        place: (2, i, 100 + k, 0),
                        finding: finding(
                            cx,
                            Code::MissingSoftdepTarget,
                            Some(ModuleId(i as u32)),
                            None,
                            msg,
                        ),
                    });
                    k += 1;
                }
            }
        }
    }
    out
}
