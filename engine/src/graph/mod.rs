//! Stage 2, **graph**: the export graph, built once from loaded records, then read-only.
//!
//! It keeps *every* exporter of every symbol (vmlinux and each module, in the order they
//! were added) and every import of every module, so that later stages can decide between
//! providers and explain what they did not choose. It decides nothing itself.
//!
//! Module order is part of the graph: modules are laid out in kmod's array order (the
//! hash-table order of their names, re-sorted stably by `modules.order`), which every
//! per-module artifact and every "later module wins" rule depends on.

use crate::load::elf::{ExportKind, ModuleImage, Name};
use crate::load::order::ModulesOrder;
use crate::load::symvers::KernelSymbol;
use crate::load::walk::ModuleSource;
use crate::util::hash;
use rustc_hash::FxHashMap as HashMap;

/// Index of a module in [`ExportGraph::modules`] (its array position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub u32);

impl ModuleId {
    /// The position as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One module of the graph.
#[derive(Debug, Clone)]
pub struct Module {
    /// Where it came from.
    pub source: ModuleSource,
    /// What was read from it (empty when it could not be read).
    pub image: ModuleImage,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

impl Module {
    /// The normalised module name.
    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// Every `.modinfo` value for `key`, in file order.
    pub fn modinfo<'a>(&'a self, key: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.image.modinfo.get(key)
    }
}

/// Who provides a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// The kernel image (from `Module.symvers`, `System.map`, or kmod's fake symbols).
    Vmlinux,
    /// A module.
    Module(ModuleId),
}

/// One exporter of a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporter {
    /// Who exports it.
    pub provider: Provider,
    /// Its CRC (0 when unknown).
    pub crc: u64,
    /// GPL-only or not (unknown for System.map and fake symbols).
    pub kind: ExportKind,
    /// Namespace, if known.
    pub namespace: Option<crate::load::elf::Name>,
}

/// How symbol names are normalised (kmod's `-P` symbol prefix).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolPrefix(pub Option<u8>);

impl SymbolPrefix {
    /// The name under which an export is stored: one leading prefix char dropped.
    pub fn export_key<'a>(&self, name: &'a str) -> &'a str {
        match self.0 {
            Some(p) if name.as_bytes().first() == Some(&p) => &name[1..],
            _ => name,
        }
    }
    /// The name an import is looked up by: one leading `.` dropped, then one prefix char.
    pub fn import_key<'a>(&self, name: &'a str) -> &'a str {
        let n = name.strip_prefix('.').unwrap_or(name);
        self.export_key(n)
    }
}

/// Every exporter of one symbol, in insertion order: stored inline when there is one, as
/// for almost every symbol (no allocation per symbol when the graph is built).
pub type Exporters = smallvec::SmallVec<[Exporter; 1]>;

/// The export graph.
#[derive(Debug, Clone, Default)]
pub struct ExportGraph {
    /// Modules in array order.
    pub modules: Vec<Module>,
    /// Every exporter of each symbol, in insertion order: vmlinux first, then modules in
    /// array order. Built on first use ([`ExportGraph::symbols`]), so that work needing
    /// only the modules can start while it is built.
    symbols: std::sync::OnceLock<HashMap<Name, Exporters>>,
    /// The vmlinux exports the symbol index starts with (`None`: none loaded).
    kernel: Option<Vec<KernelSymbol>>,
    /// The symbol-name prefix in force.
    pub prefix: SymbolPrefix,
}

/// Inputs for [`ExportGraph::build`].
pub struct GraphInput<'a> {
    /// The modules found, each with what was read from it (or why it could not be).
    pub modules: Vec<(ModuleSource, Result<ModuleImage, String>)>,
    /// `modules.order`, if it was read and is usable.
    pub order: Option<&'a ModulesOrder>,
    /// With duplicate `modules.order` lines, the first occurrence sets the position
    /// (kmod >= 34) instead of the last (kmod <= 33).
    pub order_first_wins: bool,
    /// The vmlinux exports (`None`: none loaded, and no fake symbols either).
    pub kernel: Option<Vec<KernelSymbol>>,
    /// The `-P` prefix.
    pub prefix: SymbolPrefix,
}

/// kmod's array order: hash order of the names (512 buckets), then a stable sort by
/// position in `modules.order`; modules not listed keep hash order after all listed ones.
pub fn array_order(
    sources: &mut Vec<(ModuleSource, Result<ModuleImage, String>)>,
    order: Option<&ModulesOrder>,
    first_wins: bool,
) {
    hash::sort_in_table_order(sources, 512, |(s, _)| s.name.as_bytes());
    let Some(order) = order else { return };
    let mut pos: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(order.lines.len(), Default::default());
    for (i, l) in order.lines.iter().enumerate() {
        if first_wins {
            pos.entry(l.as_str()).or_insert(i);
        } else {
            pos.insert(l.as_str(), i);
        }
    }
    let keys: Vec<i64> = sources
        .iter()
        .map(|(s, _)| {
            match s
                .uncompressed_relpath()
                .and_then(|u| pos.get(u.as_str()).copied())
            {
                Some(i) => i as i64 - order.lines.len() as i64 - 1,
                None => 1,
            }
        })
        .collect();
    let mut idx: Vec<usize> = (0..sources.len()).collect();
    idx.sort_by_key(|&i| keys[i]);
    crate::util::permute(sources, idx);
}

impl ExportGraph {
    /// Builds the graph: orders the modules and records every exporter.
    pub fn build(input: GraphInput<'_>) -> ExportGraph {
        let GraphInput {
            mut modules,
            order,
            order_first_wins,
            kernel,
            prefix,
        } = input;
        array_order(&mut modules, order, order_first_wins);
        ExportGraph {
            modules: modules
                .into_iter()
                .map(|(source, image)| {
                    let (image, error) = match image {
                        Ok(img) => (img, None),
                        Err(e) => (ModuleImage::default(), Some(e)),
                    };
                    Module {
                        source,
                        image,
                        error,
                    }
                })
                .collect(),
            symbols: std::sync::OnceLock::new(),
            kernel,
            prefix,
        }
    }

    /// Every exporter of each symbol (an export key), in insertion order: vmlinux first,
    /// then modules in array order. The index is built by the first call (any other
    /// caller meanwhile waits for it).
    pub fn symbols(&self) -> &HashMap<Name, Exporters> {
        self.symbols.get_or_init(|| self.index_symbols())
    }

    fn index_symbols(&self) -> HashMap<Name, Exporters> {
        let mut symbols: HashMap<Name, Exporters> = HashMap::with_capacity_and_hasher(
            self.modules
                .iter()
                .map(|m| m.image.exports.len())
                .sum::<usize>()
                + self.kernel.as_ref().map(|k| k.len()).unwrap_or(0)
                + 3,
            Default::default(),
        );
        fn add(symbols: &mut HashMap<Name, Exporters>, name: Name, e: Exporter) {
            symbols.entry(name).or_default().push(e);
        }
        let vmlinux = |crc| Exporter {
            provider: Provider::Vmlinux,
            crc,
            kind: ExportKind::Unknown,
            namespace: None,
        };
        if let Some(kernel) = &self.kernel {
            for k in kernel {
                add(&mut symbols, Name::from(&*k.name), vmlinux(k.crc));
            }
            // kmod's fake symbols: two always replace, `TOC.` only when absent.
            for fake in ["__this_module", "_GLOBAL_OFFSET_TABLE_"] {
                add(&mut symbols, fake.into(), vmlinux(0));
            }
            if !symbols.contains_key("TOC.") {
                add(&mut symbols, "TOC.".into(), vmlinux(0));
            }
        }
        for (i, m) in self.modules.iter().enumerate() {
            let id = ModuleId(i as u32);
            for e in &m.image.exports {
                add(
                    &mut symbols,
                    Name::from(self.prefix.export_key(&e.name)),
                    Exporter {
                        provider: Provider::Module(id),
                        crc: e.crc,
                        kind: e.kind,
                        namespace: e.namespace.clone(),
                    },
                );
            }
        }
        symbols
    }

    /// Every exporter of `name` (an export key), in insertion order.
    pub fn exporters(&self, name: &str) -> &[Exporter] {
        self.symbols()
            .get(name)
            .map(|e| e.as_slice())
            .unwrap_or(&[])
    }

    /// The module with this id.
    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.index()]
    }

    /// Finds a module by name (`-` and `_` are equivalent).
    pub fn find_module(&self, name: &str) -> Option<ModuleId> {
        let n = name.replace('-', "_");
        self.modules
            .iter()
            .position(|m| m.name() == n)
            .map(|i| ModuleId(i as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::elf::Export;

    fn m(rel: &str, exports: &[&str]) -> (ModuleSource, Result<ModuleImage, String>) {
        let base = rel.rsplit('/').next().unwrap();
        let img = ModuleImage {
            exports: exports
                .iter()
                .map(|e| Export {
                    name: (*e).into(),
                    crc: 1,
                    has_crc: true,
                    kind: ExportKind::Plain,
                    namespace: None,
                })
                .collect(),
            ..Default::default()
        };
        (
            ModuleSource {
                name: crate::load::walk::modname_of(base),
                path: format!("/x/{rel}"),
                relpath: Some(rel.into()),
            },
            Ok(img),
        )
    }

    #[test]
    fn keeps_every_exporter_in_array_order() {
        let order = ModulesOrder {
            lines: vec!["kernel/b.ko".into(), "kernel/a.ko".into()],
            unterminated_line: None,
        };
        let g = ExportGraph::build(GraphInput {
            modules: vec![
                m("kernel/a.ko", &["s"]),
                m("kernel/b.ko", &["s"]),
                m("kernel/c.ko", &[]),
            ],
            order: Some(&order),
            order_first_wins: false,
            kernel: Some(vec![KernelSymbol {
                name: "s".into(),
                crc: 9,
            }]),
            prefix: SymbolPrefix::default(),
        });
        let names: Vec<&str> = g.modules.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        let ex = g.exporters("s");
        assert_eq!(ex.len(), 3);
        assert_eq!(ex[0].provider, Provider::Vmlinux);
        assert_eq!(ex[1].provider, Provider::Module(ModuleId(0)));
        assert_eq!(ex[2].provider, Provider::Module(ModuleId(1)));
        assert!(g.symbols().contains_key("__this_module") && g.symbols().contains_key("TOC."));
    }

    #[test]
    fn duplicate_order_lines() {
        let order = ModulesOrder {
            lines: vec![
                "kernel/a.ko".into(),
                "kernel/b.ko".into(),
                "kernel/a.ko".into(),
            ],
            unterminated_line: None,
        };
        let mut v = vec![m("kernel/a.ko", &[]), m("kernel/b.ko", &[])];
        array_order(&mut v, Some(&order), false);
        assert_eq!(v[0].0.name, "b");
        array_order(&mut v, Some(&order), true);
        assert_eq!(v[0].0.name, "a");
    }

    #[test]
    fn prefix_rules() {
        let p = SymbolPrefix(Some(b'_'));
        assert_eq!(p.export_key("_foo"), "foo");
        assert_eq!(p.import_key("._foo"), "foo");
        assert_eq!(SymbolPrefix(None).import_key(".foo"), "foo");
    }
}
