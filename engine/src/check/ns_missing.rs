//! `missing-namespace-import`: a module uses a namespaced symbol without importing the
//! namespace; `module-namespace-import`: a module imports a `module:` namespace.
//!
//! modpost (N1): `module <base> uses symbol <sym> from namespace <NS>, but does not
//! import it.`, an error, a warning under `-N` (`make nsdeps`,
//! `CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS`; `modpolicy check -N`). The
//! `import_ns=` strings are compared exactly (6.13+ writes them from string literals,
//! `MODULE_IMPORT_NS("NS")`; the bytes are the same as before).
//!
//! From Linux 6.16 (`EXPORT_SYMBOL_GPL_FOR_MODULES`, 6.18's `EXPORT_SYMBOL_FOR_MODULES`)
//! a namespace `module:<patterns>` admits the modules whose name matches one of its
//! comma-separated patterns (a trailing `*` matches any rest; `-` and `_` are the same)
//! without an import; any other module gets N1; and importing such a namespace is an
//! error of its own (N2): `<mod>: explicitly importing namespace "module:..." is not
//! allowed.`. Before 6.16 (6.12's modpost, verified) `module:...` is a namespace like
//! any other. Which rules apply is the input's kernel version
//! ([`Subject::kernel_version`](super::subject::Subject)).

use super::subject::Subject;
use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::graph::ModuleId;

/// Whether a `module:a,b-*` namespace admits module `base` (a trailing `*` is a glob;
/// `-` and `_` compare equal, as in module names).
pub fn module_namespace_admits(ns: &str, base: &str) -> bool {
    let Some(list) = ns.strip_prefix("module:") else {
        return false;
    };
    let norm = |c: u8| if c == b'-' { b'_' } else { c };
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| norm(x) == norm(y))
    };
    let base = base.as_bytes();
    list.split(',').any(|p| match p.strip_suffix('*') {
        Some(prefix) => {
            base.len() >= prefix.len() && same(&base[..prefix.len()], prefix.as_bytes())
        }
        None => same(p.as_bytes(), base),
    })
}

/// One finding per `import_ns=module:...` entry of a module, on kernels where that is
/// an error (6.16+), in `.modinfo` order.
pub fn module_namespace_imports(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    if !s.module_namespaces() {
        return out;
    }
    for (i, m) in cx.graph.modules.iter().enumerate() {
        if m.error.is_some() {
            continue;
        }
        for ns in m
            .modinfo(b"import_ns")
            .filter(|ns| ns.starts_with(b"module:"))
        {
            let msg = format!(
                "{}: explicitly importing namespace \"{}\" is not allowed.",
                s.facts[i].modpost_name,
                String::from_utf8_lossy(ns)
            );
            out.push(Placed {
                // Read with the licence, before the description (modpost's read_symbols).
                place: (0, i, 0, 1),
                finding: finding(
                    cx,
                    Code::ModuleNamespaceImport,
                    Some(ModuleId(i as u32)),
                    None,
                    msg,
                ),
            });
        }
    }
    out
}

/// One finding per resolved import whose namespace the module does not import.
pub fn missing_namespace_imports(cx: &CheckContext<'_>, s: &Subject) -> Vec<Placed> {
    let mut out = Vec::new();
    let module_namespaces = s.module_namespaces();
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
            if imported.contains(&ns.as_bytes())
                || (module_namespaces && module_namespace_admits(ns, &s.facts[i].base))
            {
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
        assert!(module_namespace_admits("module:ns-dash,nswild*", "ns_dash"));
        assert!(module_namespace_admits("module:ns_dash", "ns-dash"));
        assert!(module_namespace_admits(
            "module:ns-dash,nswild*",
            "nswildcard"
        ));
        assert!(module_namespace_admits("module:a,nswild*", "nswild"));
        assert!(!module_namespace_admits("module:ns-dash,nswild*", "nswil"));
        assert!(!module_namespace_admits("module:nsuser", "nsuser2"));
        assert!(!module_namespace_admits("module:nsuser", "nsuse"));
    }
}
