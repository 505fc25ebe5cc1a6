//! Loading a build directory for `check`: `modules.order` and the objects it lists, as
//! modpost reads them.
//!
//! Each line names an object: `X.o` as modpost reads it, else the final `X.ko`. A
//! relative line is under the directory (an in-tree build, named as modpost names it);
//! an absolute one (an `M=` build) is looked up in the directory first, so that a copied
//! build directory reads its own objects, then at its own path. In the directory, the
//! longest tail of the path that names a file there wins (`/m/a/x.ko` is `DIR/a/x.o`
//! before `DIR/x.o`): two modules of one name in two subdirectories (`a/x.o`, `b/x.o`)
//! stay two objects, as modpost reads them. A directory without `vmlinux.o` is an
//! external (`M=`) build, modpost's `-e` mode.
//!
//! A line that names an object already listed (the same line twice, `x.o` and `x.ko`,
//! or two lines that find the same file) is skipped with a note: kbuild writes each
//! module once (`awk '!x[$0]++'`), and one object read twice would export everything
//! twice. [`assemble`] is the pure part (no IO but the file test it is given), so it can
//! be fuzzed.
//!
//! A 6.5+ object carries no CRCs: as modpost does, they are taken from the `#SYMVER
//! <symbol> <crc>` lines of the `.<object>.o.cmd` file of each member object that
//! `<module>.mod` lists ([`member_objects`], [`symver_lines`]). The kernel release the
//! build is for comes from a `vermagic` kbuild left in the directory, or from the
//! kernel build tree of the `Module.symvers` given ([`build_kernel_release`]).

use crate::check::subject::ModuleFacts;
use crate::graph::{ExportGraph, GraphInput, SymbolPrefix};
use crate::load::order::ModulesOrder;
use crate::load::symvers::KernelSymbol;
use crate::load::walk::{modname_of, strerror, ModuleSource};
use crate::load::{read_modules, Limits};
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

/// The most trailing components of an absolute `modules.order` line looked up in the
/// build directory.
const MAX_TAIL: usize = 16;

/// The modules a build directory's `modules.order` lists, found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assembly {
    /// Each object, in `modules.order`'s order, with modpost's facts about it.
    pub modules: Vec<(ModuleSource, ModuleFacts)>,
    /// Lines skipped because they name an object already listed, in the form
    /// `modules.order:N: ...`.
    pub notes: Vec<String>,
}

/// Finds the object of each line of `order`, in `dir` (as given on the command line,
/// without a trailing `/`); `is_file` says whether a path is a regular file. `external`:
/// the directory holds no `vmlinux.o`. Fails, naming the line, when a line's object
/// exists nowhere.
pub fn assemble(
    dir: &str,
    order: &ModulesOrder,
    external: bool,
    is_file: impl Fn(&str) -> bool,
) -> Result<Assembly, String> {
    let order_path = format!("{dir}/modules.order");
    let mut out = Assembly::default();
    let mut seen: HashMap<String, usize> = HashMap::default();
    for (n, line) in order.lines.iter().enumerate() {
        let n = n + 1;
        let stem = line
            .strip_suffix(".ko")
            .or_else(|| line.strip_suffix(".o"))
            .unwrap_or(line);
        let base = stem.rsplit('/').next().unwrap_or(stem);
        let absolute = stem.starts_with('/');
        let given = if absolute {
            stem.to_string()
        } else {
            format!("{dir}/{stem}")
        };
        let fallback = format!("{dir}/{base}");
        // (where to look, the name modpost gives the module found there): a relative
        // line where it says, then by its basename; an absolute one in `dir` by each
        // tail of its path, longest first, then where it says.
        let mut candidates: Vec<(String, String)> = Vec::new();
        if absolute {
            // At most the last `MAX_TAIL` components: work stays linear in the line.
            let slashes: Vec<usize> = stem.rmatch_indices('/').map(|(i, _)| i).collect();
            let tails = slashes
                .into_iter()
                .take(MAX_TAIL)
                .rev()
                .map(|i| &stem[i + 1..])
                .filter(|t| !t.is_empty());
            candidates.extend(tails.map(|t| {
                let p = format!("{dir}/{t}");
                (p.clone(), p)
            }));
            candidates.push((given.clone(), given.clone()));
        } else {
            candidates.push((given.clone(), stem.to_string()));
            candidates.push((fallback.clone(), fallback.clone()));
        }
        let found = candidates
            .iter()
            .flat_map(|(p, name)| [(format!("{p}.o"), name), (format!("{p}.ko"), name)])
            .find(|(p, _)| is_file(p));
        let Some((path, name)) = found else {
            return Err(format!("{order_path}:{n}: lists `{line}`, but neither {given}.o nor {given}.ko (nor {fallback}.o/.ko) exists"));
        };
        if let Some(first) = seen.get(&path) {
            out.notes.push(format!(
                "{order_path}:{n}: {line} is {path}, listed already on line {first}; skipped"
            ));
            continue;
        }
        seen.insert(path.clone(), n);
        let facts = ModuleFacts::from_path(name, false, external);
        let source = ModuleSource {
            name: modname_of(&format!("{base}.o")),
            path,
            relpath: Some(line.clone()),
        };
        out.modules.push((source, facts));
    }
    Ok(out)
}

/// A build directory, loaded.
pub struct Build {
    /// The export graph, in kmod's array order.
    pub graph: ExportGraph,
    /// modpost's facts about each module of the graph, in the graph's order.
    pub facts: Vec<ModuleFacts>,
    /// Notes on `modules.order` (lines skipped).
    pub notes: Vec<String>,
}

/// Loads the build directory `dir`: `modules.order`, each object it lists, and the graph
/// (with vmlinux's exports from `kernel`, if known).
pub fn load_build(dir: &str, kernel: Option<Vec<KernelSymbol>>) -> Result<Build, String> {
    let order_path = format!("{dir}/modules.order");
    let order = crate::load::order::read_modules_order(Path::new(&order_path))
        .map_err(|e| format!("cannot read {order_path}: {}", strerror(&e)))?;
    if let Some(n) = order.unterminated_line {
        return Err(format!("{order_path}:{n}: line does not end in a newline"));
    }
    let external = !Path::new(dir).join("vmlinux.o").exists();
    let assembly = assemble(dir, &order, external, |p| Path::new(p).is_file())?;
    let (sources, facts): (Vec<ModuleSource>, Vec<ModuleFacts>) =
        assembly.modules.into_iter().unzip();
    let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
    let mut images = read_modules(&paths, &Limits::default());
    for (path, img) in paths.iter().zip(images.iter_mut()) {
        if let Ok(img) = img {
            apply_symver_crcs(dir, path, img);
        }
    }
    let mut facts_of: HashMap<String, ModuleFacts> =
        sources.iter().map(|s| s.path.clone()).zip(facts).collect();
    let modules = sources
        .into_iter()
        .zip(images)
        .map(|(s, r)| (s, r.map_err(|e| e.to_string())))
        .collect();
    let order = ko_order(&order);
    let graph = ExportGraph::build(GraphInput {
        modules,
        order: Some(&order),
        order_first_wins: false,
        kernel,
        prefix: SymbolPrefix::default(),
    });
    // Paths are unique (see `assemble`), so each module takes its own facts.
    let facts = graph
        .modules
        .iter()
        .map(|m| {
            facts_of
                .remove(&m.source.path)
                .unwrap_or_else(|| ModuleFacts::from_path(&m.source.path, false, external))
        })
        .collect();
    Ok(Build {
        graph,
        facts,
        notes: assembly.notes,
    })
}

/// `modules.order` with each `X.o` line (kbuild 6.2+) as `X.ko` (what older kbuilds
/// wrote, and how the graph matches a module with its line), so that the modules keep
/// the file's order.
fn ko_order(order: &ModulesOrder) -> ModulesOrder {
    ModulesOrder {
        lines: order
            .lines
            .iter()
            .map(|l| match l.strip_suffix(".o") {
                Some(stem) => format!("{stem}.ko"),
                None => l.clone(),
            })
            .collect(),
        unterminated_line: order.unterminated_line,
    }
}

/// The member objects `<module>.mod` lists for the object `obj` (`X.o`, or the final
/// `X.ko`): whitespace-separated paths, each looked up as given, then in `dir` and in
/// the object's own directory by its basename (a copied build directory). Without a
/// `.mod` file, the object itself.
pub fn member_objects(dir: &str, obj: &str) -> Vec<String> {
    let stem = obj
        .strip_suffix(".ko")
        .or_else(|| obj.strip_suffix(".o"))
        .unwrap_or(obj);
    let own_dir = stem.rsplit_once('/').map_or(".", |(d, _)| d);
    let Ok(text) = std::fs::read(format!("{stem}.mod")) else {
        return vec![format!("{stem}.o")];
    };
    String::from_utf8_lossy(&text)
        .split_ascii_whitespace()
        .map(|m| {
            let base = m.rsplit('/').next().unwrap_or(m);
            [
                m.to_string(),
                format!("{own_dir}/{base}"),
                format!("{dir}/{base}"),
            ]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or_else(|| format!("{own_dir}/{base}"))
        })
        .collect()
}

/// The `#SYMVER <symbol> <crc>` lines of a `.cmd` file's text, as modpost reads them:
/// only where the line follows a newline (never the file's first line), the CRC in
/// hexadecimal after `0x`; a line that does not parse is skipped.
pub fn symver_lines(text: &[u8]) -> Vec<(&str, u64)> {
    let mut out = Vec::new();
    for hit in memchr::memmem::find_iter(text, b"\n#SYMVER ") {
        let rest = &text[hit + 9..];
        let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let mut f = line.split(' ');
        let (Some(name), Some(crc)) = (f.next(), f.next()) else {
            continue;
        };
        let crc = crc.strip_prefix("0x").unwrap_or(crc);
        if let Ok(crc) = u64::from_str_radix(crc, 16) {
            out.push((name, crc));
        }
    }
    out
}

/// Gives the exports of the object at `path` that have no CRC the CRCs of the `#SYMVER`
/// lines of its member objects' `.cmd` files (6.5+ objects, and 6.0+ ones without
/// `__crc_` symbols).
fn apply_symver_crcs(dir: &str, path: &str, img: &mut crate::load::ModuleImage) {
    if img.exports.iter().all(|e| e.has_crc) {
        return;
    }
    for member in member_objects(dir, path) {
        let (d, base) = member.rsplit_once('/').unwrap_or((".", &member));
        let Ok(text) = std::fs::read(format!("{d}/.{base}.cmd")) else {
            continue;
        };
        for (name, crc) in symver_lines(&text) {
            if let Some(e) = img
                .exports
                .iter_mut()
                .find(|e| !e.has_crc && e.name == name)
            {
                e.crc = crc;
                e.has_crc = true;
            }
        }
    }
}

/// The kernel release a build directory was built for: the `vermagic` of
/// `.module-common.o` (6.11+) or of a `<module>.mod.o` that kbuild left in `dir` (after a
/// successful modpost), else the `include/config/kernel.release` of the kernel build
/// tree holding the `Module.symvers` given (`symvers`), else `None`.
pub fn build_kernel_release(dir: &str, modules: &[&str], symvers: Option<&Path>) -> Option<String> {
    let mut candidates = vec![format!("{dir}/.module-common.o")];
    candidates.extend(modules.iter().map(|m| {
        let stem = m
            .strip_suffix(".ko")
            .or_else(|| m.strip_suffix(".o"))
            .unwrap_or(m);
        format!("{stem}.mod.o")
    }));
    for c in candidates {
        if !Path::new(&c).is_file() {
            continue;
        }
        if let Ok(img) = crate::load::read_module(Path::new(&c), &Limits::default()) {
            if let Some(v) = img.modinfo.get(b"vermagic").next() {
                let v = String::from_utf8_lossy(v);
                if let Some(release) = v.split_whitespace().next() {
                    return Some(release.to_string());
                }
            }
        }
    }
    let release = symvers?.parent()?.join("include/config/kernel.release");
    let text = std::fs::read_to_string(release).ok()?;
    text.lines()
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(lines: &[&str]) -> ModulesOrder {
        ModulesOrder {
            lines: lines.iter().map(|l| l.to_string()).collect(),
            unterminated_line: None,
        }
    }

    fn names(a: &Assembly) -> Vec<(&str, &str)> {
        a.modules
            .iter()
            .map(|(s, f)| (s.path.as_str(), f.modpost_name.as_str()))
            .collect()
    }

    #[test]
    fn objects_are_found_as_modpost_names_them() {
        let files = ["/b/drivers/x.o", "/b/y.ko", "/elsewhere/z.o"];
        let a = assemble(
            "/b",
            &order(&["drivers/x.o", "/src/y.ko", "/elsewhere/z.ko"]),
            true,
            |p| files.contains(&p),
        )
        .unwrap();
        assert_eq!(
            names(&a),
            [
                ("/b/drivers/x.o", "drivers/x"),
                ("/b/y.ko", "/b/y"),
                ("/elsewhere/z.o", "/elsewhere/z")
            ]
        );
        assert!(a.notes.is_empty());
    }

    #[test]
    fn an_object_listed_twice_is_read_once() {
        let files = ["/b/x.o", "/b/x.ko", "/b/y.ko"];
        let a = assemble(
            "/b",
            &order(&["x.o", "y.ko", "x.o", "x.ko", "/src/y.o"]),
            true,
            |p| files.contains(&p),
        )
        .unwrap();
        assert_eq!(names(&a), [("/b/x.o", "x"), ("/b/y.ko", "y")]);
        assert_eq!(a.notes.len(), 3, "{:?}", a.notes);
        assert!(
            a.notes[0].starts_with("/b/modules.order:3: x.o is /b/x.o, listed already on line 1")
        );
    }

    /// Two modules of one name in two subdirectories, listed by absolute paths (an `M=`
    /// build, copied): each line finds its own object, not the first one's basename.
    #[test]
    fn same_name_in_two_subdirectories_is_two_objects() {
        let files = ["/b/a/x.o", "/b/b/x.o", "/b/x.o"];
        let a = assemble(
            "/b",
            &order(&["/m/a/x.ko", "/m/b/x.ko", "/m/c/x.ko"]),
            true,
            |p| files.contains(&p),
        )
        .unwrap();
        assert_eq!(
            names(&a),
            [
                ("/b/a/x.o", "/b/a/x"),
                ("/b/b/x.o", "/b/b/x"),
                ("/b/x.o", "/b/x")
            ]
        );
        assert!(a.notes.is_empty(), "{:?}", a.notes);
        let a = assemble("/b", &order(&["a/x.o", "b/x.o"]), false, |p| {
            files.contains(&p)
        })
        .unwrap();
        assert_eq!(names(&a), [("/b/a/x.o", "a/x"), ("/b/b/x.o", "b/x")]);
    }

    #[test]
    fn symver_lines_as_modpost_reads_them() {
        let t =
            b"#SYMVER first 0x1\ncmd\n#SYMVER a 0x0000abcd\n#SYMVER bad zz\n#SYMVER b 0xffffffff";
        assert_eq!(symver_lines(t), [("a", 0xabcd), ("b", 0xffff_ffff)]);
        assert!(symver_lines(b"").is_empty());
    }

    /// A 6.12 build of a module of two objects: the exports come from the second
    /// object's `.export_symbol` entries (licence and all), their CRCs from its `.cmd`
    /// file found through `comp.mod`, the same as modpost wrote to `Module.symvers`.
    #[test]
    fn exports_and_crcs_of_a_6_12_build() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
        let dir = format!("{root}/modpost-objs-6.12/composite");
        let b = load_build(&dir, None).unwrap();
        let comp = b.graph.modules.iter().find(|m| m.name() == "comp").unwrap();
        let got: Vec<(String, u64, bool, crate::load::elf::ExportKind)> = comp
            .image
            .exports
            .iter()
            .map(|e| (e.name.to_string(), e.crc, e.has_crc, e.kind))
            .collect();
        let symvers =
            std::fs::read_to_string(format!("{root}/modpost-6.12/composite.Module.symvers"))
                .unwrap();
        let want: Vec<(String, u64, bool, crate::load::elf::ExportKind)> = symvers
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let kind = if f[3] == "EXPORT_SYMBOL_GPL" {
                    crate::load::elf::ExportKind::GplOnly
                } else {
                    crate::load::elf::ExportKind::Plain
                };
                (
                    f[1].to_string(),
                    u64::from_str_radix(&f[0][2..], 16).unwrap(),
                    true,
                    kind,
                )
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            b.graph.modules.iter().map(|m| m.name()).collect::<Vec<_>>(),
            ["comp", "compuser"]
        );
    }

    /// Namespaces of `.export_symbol` entries, as modpost wrote them to `Module.symvers`.
    #[test]
    fn namespaces_of_a_6_12_build() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
        let b = load_build(&format!("{root}/modpost-objs-6.12/namespaces"), None).unwrap();
        let prov = b
            .graph
            .modules
            .iter()
            .find(|m| m.name() == "nsprov")
            .unwrap();
        let got: Vec<(String, Option<String>, u64)> = prov
            .image
            .exports
            .iter()
            .map(|e| {
                (
                    e.name.to_string(),
                    e.namespace.as_deref().map(str::to_string),
                    e.crc,
                )
            })
            .collect();
        let symvers =
            std::fs::read_to_string(format!("{root}/modpost-6.12/namespaces.Module.symvers"))
                .unwrap();
        let mut want: Vec<(String, Option<String>, u64)> = symvers
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let ns = (!f[4].is_empty()).then(|| f[4].to_string());
                (
                    f[1].to_string(),
                    ns,
                    u64::from_str_radix(&f[0][2..], 16).unwrap(),
                )
            })
            .collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        want.sort();
        assert_eq!(got_sorted, want);
    }

    #[test]
    fn a_missing_object_names_the_line() {
        let e = assemble("/b", &order(&["gone.o"]), false, |_| false).unwrap_err();
        assert!(e.starts_with("/b/modules.order:1: lists `gone.o`"), "{e}");
    }
}
