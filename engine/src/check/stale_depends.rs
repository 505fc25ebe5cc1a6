//! `stale-depends`: a module's recorded `depends=` (what modpost saw at build time)
//! names other modules than the providers the policy resolves (what `modules.dep` says
//! and `modprobe` loads): the inconsistency between modpost and depmod.
//!
//! The sets are compared (the final link may reorder imports). The finding names the
//! symbols whose provider is not recorded, and the rule that chose that provider.

use super::level::{Basis, Raw};
use super::subject::Subject;
use super::{CheckContext, Placed};
use crate::diag::Code;
use crate::resolve::Decision;
use std::collections::BTreeSet;

/// One finding per module whose recorded and resolved dependency sets differ.
pub fn stale_depends(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let g = cx.graph;
    let mut out = Vec::new();
    for (i, m) in g.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        let Some(dep) = m.modinfo(b"depends").next() else {
            continue;
        };
        let recorded: BTreeSet<String> = String::from_utf8_lossy(dep)
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.replace('-', "_"))
            .collect();
        let mut resolved: BTreeSet<String> = BTreeSet::new();
        // (symbol, provider) for providers depends= does not name, in import order.
        let mut unrecorded: Vec<(&str, String)> = Vec::new();
        for (j, imp) in m.image.imports.iter().enumerate() {
            let Some(r) = &s.imports[i][j] else { continue };
            let Some(name) = s.owner_name(g, &r.owner) else {
                continue;
            };
            if name == m.name() {
                continue;
            }
            if !recorded.contains(&name) && !unrecorded.iter().any(|(_, p)| *p == name) {
                unrecorded.push((&imp.name, name.clone()));
            }
            resolved.insert(name);
        }
        if recorded == resolved {
            continue;
        }
        let missing: Vec<&str> = recorded.difference(&resolved).map(String::as_str).collect();
        let mut detail: Vec<String> = unrecorded
            .iter()
            .map(|(sym, p)| format!("{sym} -> {p}"))
            .collect();
        if !missing.is_empty() {
            detail.push(format!("no import resolves to {}", missing.join(", ")));
        }
        let resolved_list: Vec<&str> = resolved.iter().map(String::as_str).collect();
        let message = format!(
            "module {} records depends={}, but the policy resolves its imports to {} ({})",
            s.facts[i].base,
            String::from_utf8_lossy(dep),
            if resolved_list.is_empty() {
                "no module".to_string()
            } else {
                resolved_list.join(",")
            },
            detail.join("; ")
        );
        let symbol = unrecorded.first().map(|(sym, _)| *sym);
        // The rule that chose the provider is the one the finding is about.
        let rule = symbol
            .and_then(|sym| cx.resolution.chosen.get(g.prefix.import_key(sym)))
            .and_then(|c| match &c.decision {
                Decision::Rule { rule, .. } => Some(rule.clone()),
                Decision::Default { set_at, .. } => set_at.clone(),
                Decision::Only => None,
            });
        out.push(Placed {
            place: (2, i, 0, 0),
            finding: Raw::new(
                Code::StaleDepends,
                Some(m),
                symbol,
                message,
                match rule {
                    Some(r) => Basis::About(Some(r)),
                    None => Basis::Severity,
                },
            ),
        });
    }
    out
}
