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
    let images = read_modules(&paths, &Limits::default());
    let mut facts_of: HashMap<String, ModuleFacts> =
        sources.iter().map(|s| s.path.clone()).zip(facts).collect();
    let modules = sources
        .into_iter()
        .zip(images)
        .map(|(s, r)| (s, r.map_err(|e| e.to_string())))
        .collect();
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
    fn a_missing_object_names_the_line() {
        let e = assemble("/b", &order(&["gone.o"]), false, |_| false).unwrap_err();
        assert!(e.starts_with("/b/modules.order:1: lists `gone.o`"), "{e}");
    }
}
