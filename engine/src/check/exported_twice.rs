//! "exported twice": a module exports a symbol that vmlinux (`vmlinux-conflict`) or an
//! earlier module (`duplicate-export`) already exports.
//!
//! modpost (X1): `<mod>: '<sym>' exported twice. Previous export was in vmlinux` or
//! `... in <othermod>.ko`, an error since 5.19, reported while reading the later
//! module's exports. The previous export is the most recent one: an earlier module in
//! the list, else a symbol dump, else vmlinux. modpost's external-build exemption
//! applies: an external module (`-e`; an installed module without `intree=Y`) may
//! override another module's export silently, never vmlinux's. Such a finding is kept,
//! tolerated. The policy's `vmlinux-conflict` rules and `allow-duplicate` entries decide
//! the level and may tolerate it, when the finding is levelled ([`super::level`]).

use super::level::{Basis, Raw};
use super::subject::Subject;
use super::{CheckContext, Placed};
use crate::diag::Code;
use crate::graph::{ModuleId, Provider};

enum Previous<'a> {
    Vmlinux,
    Module(ModuleId),
    Dump(&'a str),
}

/// One finding per export that an earlier exporter already had, in module order and,
/// within a module, export order.
pub fn exported_twice(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let g = cx.graph;
    let mut out = Vec::new();
    for (i, m) in g.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        let facts = &s.facts[i];
        for (j, e) in m.image.exports.iter().enumerate() {
            let key = g.prefix.export_key(&e.name);
            let exporters = g.exporters(key);
            let earlier = exporters.iter().rev().find_map(|x| match x.provider {
                Provider::Module(id) if id.index() < i => Some(id),
                _ => None,
            });
            let prev = if let Some(id) = earlier {
                Previous::Module(id)
            } else if let Some(d) = s.dumps.get(key) {
                Previous::Dump(&d.module)
            } else if exporters.iter().any(|x| x.provider == Provider::Vmlinux)
                || s.kernel.as_ref().is_some_and(|k| k.contains_key(key))
            {
                Previous::Vmlinux
            } else {
                continue;
            };
            let f = match prev {
                Previous::Vmlinux => Raw::new(
                    Code::VmlinuxConflict,
                    Some(m),
                    Some(&e.name),
                    format!(
                        "{}: '{}' exported twice. Previous export was in vmlinux",
                        facts.modpost_name, e.name
                    ),
                    Basis::Vmlinux {
                        symbol: key.to_string(),
                        name: m.name().to_string(),
                        path: m.source.dep_path().to_string(),
                    },
                ),
                Previous::Module(_) | Previous::Dump(_) => {
                    let (prev_name, prev_mp, prev_path) = match prev {
                        Previous::Module(id) => {
                            let p = g.module(id);
                            (
                                p.name().to_string(),
                                s.facts[id.index()].modpost_name.clone(),
                                p.source.dep_path().to_string(),
                            )
                        }
                        Previous::Dump(d) => (
                            crate::load::walk::modname_of(d.rsplit('/').next().unwrap_or(d)),
                            d.to_string(),
                            d.to_string(),
                        ),
                        Previous::Vmlinux => unreachable!("handled above"),
                    };
                    Raw::new(
                        Code::DuplicateExport,
                        Some(m),
                        Some(&e.name),
                        format!(
                            "{}: '{}' exported twice. Previous export was in {prev_mp}.ko",
                            facts.modpost_name, e.name
                        ),
                        Basis::Duplicate {
                            symbol: key.to_string(),
                            modules: vec![
                                (prev_name, prev_path),
                                (m.name().to_string(), m.source.dep_path().to_string()),
                            ],
                            exempt: facts.external.then_some(
                                "(accepted: an external module may override a module's export)",
                            ),
                        },
                    )
                }
            };
            out.push(Placed {
                place: (0, i, 2 + j, 0),
                finding: f,
            });
        }
    }
    out
}
