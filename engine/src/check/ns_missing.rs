//! `missing-namespace-import`: a module uses a namespaced symbol without importing the
//! namespace.
//!
//! modpost (N1): `module <base> uses symbol <sym> from namespace <NS>, but does not
//! import it.`, an error, a warning under `-N` (`make nsdeps`,
//! `CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS`; `modpolicy check -N`). The
//! `import_ns=` strings are compared exactly. A recent `module:<patterns>` namespace
//! admits the modules whose name matches one of its comma-separated patterns.

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// Whether a `module:a,b-*` namespace admits module `base` (a trailing `*` is a glob).
pub fn module_namespace_admits(ns: &str, base: &str) -> bool {
    let Some(list) = ns.strip_prefix("module:") else {
        return false;
    };
    list.split(',').any(|p| match p.strip_suffix('*') {
        Some(prefix) => base.starts_with(prefix),
        None => p == base,
    })
}

/// One finding per resolved import whose namespace the module does not import.
pub fn missing_namespace_imports(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        let imported: Vec<&[u8]> = m.modinfo(b"import_ns").collect();
        for (j, imp) in m.image.imports.iter().enumerate() {
            if imp.versions_only {
                continue;
            }
            let Some(ns) = s.imports[i][j]
                .as_ref()
                .and_then(|r| r.info.namespace.as_deref())
            else {
                continue;
            };
            if imported.contains(&ns.as_bytes()) || module_namespace_admits(ns, &s.facts[i].base) {
                continue;
            }
            let msg = format!(
                "module {} uses symbol {} from namespace {ns}, but does not import it.",
                s.facts[i].base, imp.name
            );
            out.push(Placed {
                place: (1, i, j, 1),
                finding: finding(
                    cx,
                    Code::MissingNamespaceImport,
                    Some(ModuleId(i as u32)),
                    Some(&imp.name),
                    msg,
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_namespaces() {
        assert!(module_namespace_admits("module:kvm,kvm-*", "kvm-amd"));
        assert!(module_namespace_admits("module:kvm,kvm-*", "kvm"));
        assert!(!module_namespace_admits("module:kvm,kvm-*", "tsme-test"));
        assert!(!module_namespace_admits("TEST_NS", "kvm"));
    }
}
