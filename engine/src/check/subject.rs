//! What the checks of `modpolicy check` see beyond the graph: the vmlinux exports with
//! their licence and namespace, exports read from extra symbol dumps, per-module facts
//! modpost words its messages with, built-in module names, and where each import of each
//! module resolved.
//!
//! The graph's resolution (the policy's provider choice) comes first; an import no
//! graph exporter provides falls back to the extra dumps, as modpost finds a symbol a
//! `KBUILD_EXTRA_SYMBOLS` file lists. This module does no IO.

use crate::graph::{ExportGraph, ModuleId, Provider};
use crate::load::elf::ExportKind;
use crate::resolve::Resolution;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// What is known about one export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolInfo {
    /// Its CRC, when one is recorded.
    pub crc: Option<u64>,
    /// `EXPORT_SYMBOL_GPL`.
    pub gpl_only: bool,
    /// Its namespace, if any (never empty).
    pub namespace: Option<Box<str>>,
}

/// An export read from a symbol dump (`Module.symvers`) for a module not in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpExport {
    /// The module as the dump names it (path without `.ko`).
    pub module: Box<str>,
    /// The export.
    pub info: SymbolInfo,
}

/// Who provides an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// vmlinux.
    Vmlinux,
    /// A module of the input.
    Module(ModuleId),
    /// A module known only from a symbol dump (its path without `.ko`).
    Dump(Box<str>),
}

/// Where one import resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The provider.
    pub owner: Owner,
    /// What is known of the export used.
    pub info: SymbolInfo,
}

/// Per-module facts for modpost's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFacts {
    /// modpost's `<mod>`: the object path without `.o` (build directory), or the path
    /// under `kernel/` without `.ko*` (installed tree), e.g. `drivers/usb/storage/uas`.
    pub modpost_name: String,
    /// The last component of `modpost_name` (dashes kept).
    pub base: String,
    /// Built out of tree: modpost's `-e` mode, where a module may override another
    /// module's export. An installed module is external when it lacks `intree=Y`.
    pub external: bool,
}

impl ModuleFacts {
    /// Facts for a module named by `path` (an object or module file path, as given).
    pub fn from_path(path: &str, strip_kernel: bool, external: bool) -> ModuleFacts {
        let mut p = path;
        for ext in [".ko.xz", ".ko.zst", ".ko.gz", ".ko", ".o"] {
            if let Some(s) = p.strip_suffix(ext) {
                p = s;
                break;
            }
        }
        if strip_kernel {
            p = p.strip_prefix("kernel/").unwrap_or(p);
        }
        let base = p.rsplit('/').next().unwrap_or(p).to_string();
        ModuleFacts {
            modpost_name: p.to_string(),
            base,
            external,
        }
    }
}

/// The version of the kernel an input was built for, as far as modpost's behaviour
/// changed with it (major and minor; the rest of the release is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    /// E.g. 6.
    pub major: u32,
    /// E.g. 12.
    pub minor: u32,
}

impl KernelVersion {
    /// The version of a kernel release (`6.12.118+deb12-amd64`, `6.1.0-47-amd64`, a
    /// `vermagic`'s first word), or `None` when it does not start with `N.N`.
    pub fn parse(release: &str) -> Option<KernelVersion> {
        let (major, rest) = release.split_once('.')?;
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        Some(KernelVersion {
            major: major.parse().ok()?,
            minor: rest[..digits].parse().ok()?,
        })
    }

    /// Linux 6.16 and later: a `module:<names>` namespace admits the modules it names
    /// without an import, and importing such a namespace is an error.
    pub fn has_module_namespaces(self) -> bool {
        self >= KernelVersion {
            major: 6,
            minor: 16,
        }
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Everything the checks read besides the graph, its resolution and the policy.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// vmlinux's exports, when a kernel `Module.symvers` was given (`None`: unknown, so
    /// undefined symbols cannot be told apart and are not checked).
    pub kernel: Option<HashMap<Box<str>, SymbolInfo>>,
    /// Exports of modules known only from symbol dumps.
    pub dumps: HashMap<Box<str>, DumpExport>,
    /// Per module (array order).
    pub facts: Vec<ModuleFacts>,
    /// Normalised names of the modules built into vmlinux (`modules.builtin`).
    pub builtin: HashSet<String>,
    /// Per module, per import (the image's import order), where it resolved.
    pub imports: Vec<Vec<Option<Resolved>>>,
    /// The kernel the input was built for, when known: modpost's rules changed with it
    /// (`None`: the rules before Linux 6.16).
    pub kernel_version: Option<KernelVersion>,
}

/// Names modpost never reports as undefined.
pub const IGNORED_UNDEFINED: &[&str] = &["__this_module", "_GLOBAL_OFFSET_TABLE_", ".TOC.", "TOC."];

impl Subject {
    /// Whether `module:` namespaces have their 6.16+ meaning for this input.
    pub fn module_namespaces(&self) -> bool {
        self.kernel_version
            .is_some_and(KernelVersion::has_module_namespaces)
    }

    /// Works out where every import resolved: the graph's choice, else a dump export.
    pub fn resolve_imports(&mut self, graph: &ExportGraph, res: &Resolution) {
        self.imports = graph
            .modules
            .iter()
            .map(|m| {
                m.image
                    .imports
                    .iter()
                    .map(|imp| {
                        let key = graph.prefix.import_key(&imp.name);
                        match res.provider_of(graph, key) {
                            Some(e) => Some(match e.provider {
                                Provider::Vmlinux => Resolved {
                                    owner: Owner::Vmlinux,
                                    info: self
                                        .kernel
                                        .as_ref()
                                        .and_then(|k| k.get(key))
                                        .cloned()
                                        .unwrap_or_default(),
                                },
                                Provider::Module(id) => Resolved {
                                    owner: Owner::Module(id),
                                    info: SymbolInfo {
                                        crc: (e.crc != 0).then_some(e.crc),
                                        gpl_only: e.kind == ExportKind::GplOnly,
                                        namespace: e
                                            .namespace
                                            .as_deref()
                                            .filter(|n| !n.is_empty())
                                            .map(Into::into),
                                    },
                                },
                            }),
                            None => self.dumps.get(key).map(|d| Resolved {
                                owner: Owner::Dump(d.module.clone()),
                                info: d.info.clone(),
                            }),
                        }
                    })
                    .collect()
            })
            .collect();
    }

    /// The normalised module name of a provider (`None` for vmlinux).
    pub fn owner_name<'g>(&self, graph: &'g ExportGraph, owner: &'g Owner) -> Option<String> {
        match owner {
            Owner::Vmlinux => None,
            Owner::Module(id) => Some(graph.module(*id).name().to_string()),
            Owner::Dump(path) => Some(crate::load::walk::modname_of(
                path.rsplit('/').next().unwrap_or(path),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        let v = |s| KernelVersion::parse(s).map(|v| (v.major, v.minor));
        assert_eq!(v("6.12.118+deb12-amd64"), Some((6, 12)));
        assert_eq!(v("6.1.0-47-cloud-amd64"), Some((6, 1)));
        assert_eq!(v("6.18"), Some((6, 18)));
        assert_eq!(v("6.16-rc1"), Some((6, 16)));
        assert_eq!(v("6"), None);
        assert_eq!(v("6-1.2"), None);
        assert_eq!(v("test"), None);
        assert!(!KernelVersion::parse("6.15.9")
            .unwrap()
            .has_module_namespaces());
        assert!(KernelVersion::parse("6.16.0")
            .unwrap()
            .has_module_namespaces());
        assert!(KernelVersion::parse("7.0").unwrap().has_module_namespaces());
    }
}
