//! One side of an ABI comparison: every export with its CRC, exporter, licence and
//! namespace, sorted by name, and (when the side holds modules) who imports what.
//!
//! A side comes from a `Module.symvers` ([`read_symvers`], [`parse`]) or from an export
//! graph ([`from_graph`]: an installed tree or a build directory loaded by the jobs, with
//! vmlinux's exports from a `Module.symvers` when one is given). Exports are kept in
//! `Module.symvers`' own record ([`SymversEntry`]), whatever the source, so the
//! comparison sees one shape; a module's path is written as `Module.symvers` writes it
//! (`drivers/net/tun`: no `kernel/` prefix, no `.ko` suffix).

use crate::graph::ExportGraph;
use crate::load::elf::ExportKind;
use crate::load::symvers::{parse_symvers, read_symbol_file, SymversEntry};
use crate::load::walk::strerror;
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::Arc;

/// The exports of one side, sorted by name, one record per name.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// How the side is named in messages (the path given).
    pub label: String,
    /// Every export, sorted by name; for a name exported twice, the first record read.
    pub exports: Vec<SymversEntry>,
    /// Names exported more than once on this side (the later records were dropped).
    pub duplicates: usize,
}

impl Side {
    /// A side of `exports` in any order: sorted by name, duplicates dropped (the first
    /// record of a name is kept).
    pub fn new(label: String, exports: Vec<SymversEntry>) -> Side {
        // Sorting small keys (the name's first 8 bytes, big-endian, and the index) moves
        // 16 bytes per swap instead of a whole record, and settles most comparisons
        // without reading the names (a zero-padded prefix orders as the name does; equal
        // prefixes fall back to the names). The index breaks ties: for a name exported
        // twice, the first record read comes first.
        fn prefix(name: &str) -> u64 {
            let (b, mut k) = (name.as_bytes(), [0u8; 8]);
            let n = b.len().min(8);
            k[..n].copy_from_slice(&b[..n]);
            u64::from_be_bytes(k)
        }
        let mut order: Vec<(u64, usize)> = exports
            .iter()
            .enumerate()
            .map(|(i, e)| (prefix(&e.name), i))
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| exports[a.1].name.cmp(&exports[b.1].name))
                .then(a.1.cmp(&b.1))
        });
        let mut slots: Vec<Option<SymversEntry>> = exports.into_iter().map(Some).collect();
        let mut sorted: Vec<SymversEntry> = Vec::with_capacity(order.len());
        let mut duplicates = 0;
        for (_, i) in order {
            let Some(e) = slots[i].take() else { continue };
            if sorted.last().is_some_and(|l| l.name == e.name) {
                duplicates += 1;
            } else {
                sorted.push(e);
            }
        }
        Side {
            label,
            duplicates,
            exports: sorted,
        }
    }

    /// The export named `name`, if this side has it.
    pub fn get(&self, name: &str) -> Option<&SymversEntry> {
        self.exports
            .binary_search_by(|e| (*e.name).cmp(name))
            .ok()
            .map(|i| &self.exports[i])
    }
}

/// Reads a `Module.symvers` (a regular file or a pipe, bounded): an error names the
/// file, and the line for a malformed one.
pub fn read_symvers(path: &Path) -> Result<Side, String> {
    let text = read_symbol_file(path)
        .map_err(|e| format!("cannot read {}: {}", path.display(), strerror(&e)))?;
    parse(path, &text)
}

/// Parses a `Module.symvers`'s text strictly (see [`parse_symvers`]).
pub fn parse(path: &Path, text: &[u8]) -> Result<Side, String> {
    let entries = parse_symvers(path, text).map_err(|e| e.to_string())?;
    Ok(Side::new(path.display().to_string(), entries))
}

/// A module's path as `Module.symvers` writes it, from its path in a tree or build
/// directory: a leading `kernel/` and the `.ko` suffix (compressed or not) dropped, and
/// a build directory's `.o` suffix too (modpost names `M=DIR/foo.o` `M=DIR/foo`).
pub fn symvers_path(path: &str) -> &str {
    let p = path.strip_prefix("kernel/").unwrap_or(path);
    let p = p.strip_prefix("./").unwrap_or(p);
    if let Some(stem) = p.strip_suffix(".o") {
        return stem;
    }
    match p.rfind(".ko") {
        Some(i) if !p[i..].contains('/') => &p[..i],
        _ => p,
    }
}

/// The side a loaded tree or build directory gives: the exports of every module of
/// `graph` (in array order, so the first exporter of a name is the one kept), after
/// vmlinux's exports from `kernel` (a `Module.symvers`'s vmlinux lines; its module lines
/// are ignored, the modules are read).
pub fn from_graph(label: String, graph: &ExportGraph, kernel: &[SymversEntry]) -> Side {
    let mut out: Vec<SymversEntry> = kernel.iter().filter(|e| e.is_vmlinux()).cloned().collect();
    let (plain, gpl, none): (Arc<str>, Arc<str>, Arc<str>) = (
        "EXPORT_SYMBOL".into(),
        "EXPORT_SYMBOL_GPL".into(),
        "".into(),
    );
    for m in &graph.modules {
        let path: Arc<str> = symvers_path(m.source.dep_path()).into();
        for e in &m.image.exports {
            let export_type = match e.kind {
                ExportKind::GplOnly => &gpl,
                ExportKind::Plain | ExportKind::Unknown => &plain,
            };
            out.push(SymversEntry {
                crc: e.crc,
                name: (&*e.name).into(),
                module: path.clone(),
                export_type: export_type.clone(),
                namespace: e
                    .namespace
                    .as_deref()
                    .map_or_else(|| none.clone(), Arc::from),
                line: 0,
            });
        }
    }
    Side::new(label, out)
}

/// Who imports each symbol: module names by symbol, from any number of trees, build
/// directories or graphs ([`Importers::add_graph`]).
#[derive(Debug, Clone, Default)]
pub struct Importers {
    by_symbol: HashMap<Box<str>, Vec<String>>,
}

impl Importers {
    /// Adds every import of every module of `graph`; `origin`, when given, is put after
    /// each module's name (`name (origin)`), to tell consumers from the new tree.
    pub fn add_graph(&mut self, graph: &ExportGraph, origin: Option<&str>) {
        for m in &graph.modules {
            let who = match origin {
                Some(o) => format!("{} ({o})", m.name()),
                None => m.name().to_string(),
            };
            for i in &m.image.imports {
                let key = graph.prefix.import_key(&i.name);
                let list = self.by_symbol.entry(key.into()).or_default();
                if list.last() != Some(&who) {
                    list.push(who.clone());
                }
            }
        }
    }

    /// The modules importing `symbol`, sorted, each once.
    pub fn of(&self, symbol: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .by_symbol
            .get(symbol)
            .map(|l| l.iter().map(String::as_str).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether any module was added.
    pub fn is_empty(&self) -> bool {
        self.by_symbol.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_written_as_module_symvers_writes_them() {
        assert_eq!(symvers_path("kernel/drivers/net/tun.ko"), "drivers/net/tun");
        assert_eq!(symvers_path("kernel/fs/xfs/xfs.ko.xz"), "fs/xfs/xfs");
        assert_eq!(symvers_path("updates/dkms/foo.ko.zst"), "updates/dkms/foo");
        assert_eq!(
            symvers_path("/tmp/build/drivers/x/y.o"),
            "/tmp/build/drivers/x/y"
        );
        assert_eq!(symvers_path("drivers/x.old/y"), "drivers/x.old/y");
    }

    #[test]
    fn a_side_is_sorted_with_one_record_per_name() {
        let t = b"0x1\tb\tvmlinux\tEXPORT_SYMBOL\t\n0x2\ta\tm/x\tEXPORT_SYMBOL_GPL\tNS\n0x3\tb\tm/y\tEXPORT_SYMBOL\t\n";
        let s = parse(Path::new("M"), t).unwrap();
        let names: Vec<&str> = s.exports.iter().map(|e| &*e.name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            s.get("b").unwrap().crc,
            1,
            "the first record of a name is kept"
        );
        assert_eq!(s.duplicates, 1);
        // Names sharing their first 8 bytes, shorter than 8, and a prefix of another.
        let t = b"0x1\t__tracepoint_b\tvmlinux\tEXPORT_SYMBOL\t\n0x2\tab\tvmlinux\tEXPORT_SYMBOL\t\n0x3\t__tracepoint_a\tvmlinux\tEXPORT_SYMBOL\t\n0x4\ta\tvmlinux\tEXPORT_SYMBOL\t\n0x5\t__tracepoint\tvmlinux\tEXPORT_SYMBOL\t\n0x6\tab\tm/x\tEXPORT_SYMBOL\t\n";
        let s = parse(Path::new("M"), t).unwrap();
        let names: Vec<(&str, u64)> = s.exports.iter().map(|e| (&*e.name, e.crc)).collect();
        assert_eq!(
            names,
            [
                ("__tracepoint", 5),
                ("__tracepoint_a", 3),
                ("__tracepoint_b", 1),
                ("a", 4),
                ("ab", 2)
            ]
        );
        assert!(s.get("c").is_none());
        let e = parse(
            Path::new("bad.symvers"),
            b"0x1\ta\tvmlinux\tEXPORT_SYMBOL\t\nnope\n",
        )
        .unwrap_err();
        assert!(e.starts_with("bad.symvers:2: "), "{e}");
    }
}
