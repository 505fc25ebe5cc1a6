//! The policy language (`policies/README.md`) against real test modules.
//!
//! Every test copies one of the small trees of `tests/fixtures/trees/` (or
//! `examples/dup-export`) into a temporary directory, writes its policies into temporary
//! files, runs the `modpolicy` binary, and asserts the exact `modules.dep` and
//! `modules.symbols` it wrote (or that it wrote nothing), its exit code and the finding
//! lines on stderr:
//!
//! - [`strategies`]: `defaults { provider }`, `provider` rules (`strategy`, `prefer` by
//!   name and by path, `prefer` matching nothing), `search-order` on a tree whose
//!   exporters sit in different search directories;
//! - [`layering`]: several `--policy` files and `include`: rules of higher layers first,
//!   settings from the top-most layer that sets them;
//! - [`duplicates`]: `allow-duplicate`, `severity`, `expires`;
//! - [`vmlinux`]: `vmlinux-conflict` and `defaults { vmlinux-winner }`, with a
//!   `Module.symvers` that makes vmlinux export `dup_shared_fn` too;
//! - [`depmod_block`]: `depmod { search override exclude external }`, the same result as
//!   depmod.d, depmod.d ignored, and `policy import-depmod-conf` byte-identical to kmod;
//! - [`shipped`]: the duplicate-export trees under each shipped policy, and `kmod.kdl`
//!   byte-identical to kmod 30 on every fixture tree;
//! - [`explain`] and [`lint`]: `modpolicy explain` and `modpolicy policy lint`.
//!
//! `MODPOLICY_TODAY` is set to [`TODAY`] for every run (unless a test sets another date),
//! so `expires` dates in the shipped policies do not make the tests depend on the clock.
//! Tests that compare with kmod need `/usr/sbin/depmod` (kmod 30), as the conformance
//! suite does; `MODPOLICY_NO_CORPUS=1` skips those comparisons.

#[path = "../support/mod.rs"]
mod support;

mod depmod_block;
mod duplicates;
mod explain;
mod layering;
mod lint;
mod shipped;
mod strategies;
mod vmlinux;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{list_files, Entry, RunOutput, FIXTURE_VERSION};

/// The date every run is evaluated on (before `distro-example.kdl`'s 2027-06-30 expiry).
pub const TODAY: &str = "2026-06-01";

/// The comment line kmod writes first in `modules.symbols`.
pub const SYMBOLS_HEADER: &str = "# Aliases for symbols, used by symbol_request().";

/// A temporary work directory holding tree copies and policy files.
pub struct Work {
    tmp: tempfile::TempDir,
}

impl Default for Work {
    fn default() -> Self {
        Self::new()
    }
}

impl Work {
    pub fn new() -> Work {
        let tmp = tempfile::Builder::new()
            .prefix("modpolicy-policy.")
            .tempdir()
            .expect("temporary directory");
        Work { tmp }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Copies `tests/fixtures/trees/<name>` to `<tmp>/<as_name>` and returns the copy's root.
    pub fn tree_as(&self, name: &str, as_name: &str) -> PathBuf {
        let src = support::fixture_trees().join(name);
        self.copy(&src, as_name)
    }

    /// Copies `tests/fixtures/trees/<name>` to `<tmp>/<name>`.
    pub fn tree(&self, name: &str) -> PathBuf {
        self.tree_as(name, name)
    }

    /// Copies the `-b` root at `src` (any directory) to `<tmp>/<as_name>`.
    pub fn copy(&self, src: &Path, as_name: &str) -> PathBuf {
        assert!(src.is_dir(), "{} is missing", src.display());
        let dst = self.path().join(as_name);
        support::copy_tree(src, &dst);
        dst
    }

    /// Writes a file (a policy, a Module.symvers) into the work directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }
}

/// `<root>/lib/modules/6.1.0-test`.
pub fn moddir(root: &Path) -> PathBuf {
    root.join("lib/modules").join(FIXTURE_VERSION)
}

/// A path argument as a `String`.
pub fn s(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

/// Runs `modpolicy ARGS` in `cwd` (default: the repository root) with `LC_ALL=C` and
/// `MODPOLICY_TODAY` (default [`TODAY`]).
pub fn run_in(cwd: Option<&Path>, args: &[String], today: Option<&str>) -> RunOutput {
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = Command::new(support::modpolicy_bin());
    cmd.args(args)
        .current_dir(
            cwd.map(Path::to_path_buf)
                .unwrap_or_else(support::repo_root),
        )
        .env("LC_ALL", "C")
        .env("MODPOLICY_TODAY", today.unwrap_or(TODAY))
        .env_remove("RUST_LOG");
    let out = cmd.output().expect("run modpolicy");
    RunOutput {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Runs `modpolicy ARGS` from the repository root on [`TODAY`].
pub fn run(args: &[String]) -> RunOutput {
    run_in(None, args, None)
}

/// The arguments of `modpolicy depmod [--policy P]... -b ROOT EXTRA... 6.1.0-test`.
pub fn depmod_args(root: &Path, policies: &[&Path], extra: &[&str]) -> Vec<String> {
    let mut a = vec!["depmod".to_string()];
    for p in policies {
        a.push("--policy".into());
        a.push(s(p));
    }
    a.push("-b".into());
    a.push(s(root));
    a.extend(extra.iter().map(|x| x.to_string()));
    a.push(FIXTURE_VERSION.into());
    a
}

/// `modpolicy depmod` with these policies on `root`, on [`TODAY`].
pub fn depmod(root: &Path, policies: &[&Path], extra: &[&str]) -> RunOutput {
    run(&depmod_args(root, policies, extra))
}

/// `modpolicy depmod` on another day.
pub fn depmod_on(today: &str, root: &Path, policies: &[&Path], extra: &[&str]) -> RunOutput {
    run_in(None, &depmod_args(root, policies, extra), Some(today))
}

/// A file written by depmod, as text.
pub fn artifact(root: &Path, name: &str) -> String {
    let p = moddir(root).join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Asserts a successful run (exit 0) and returns its stderr.
#[track_caller]
pub fn assert_ok(what: &str, out: &RunOutput) -> String {
    let err = out.stderr_text();
    assert_eq!(
        out.code,
        Some(0),
        "{what}: expected exit 0, got {}; stderr:\n{err}",
        out.status()
    );
    err
}

/// Asserts exit 1 and returns stderr.
#[track_caller]
pub fn assert_fails(what: &str, out: &RunOutput) -> String {
    let err = out.stderr_text();
    assert_eq!(
        out.code,
        Some(1),
        "{what}: expected exit 1, got {}; stderr:\n{err}",
        out.status()
    );
    assert!(!err.contains("panicked"), "{what}: panic:\n{err}");
    err
}

/// Asserts `modules.dep` and `modules.symbols` of `root`, whole files.
#[track_caller]
pub fn assert_artifacts(what: &str, root: &Path, dep: &[&str], symbols: &[&str]) {
    let want_dep: String = dep.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(
        artifact(root, "modules.dep"),
        want_dep,
        "{what}: modules.dep"
    );
    let want_sym: String = std::iter::once(SYMBOLS_HEADER)
        .chain(symbols.iter().copied())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        artifact(root, "modules.symbols"),
        want_sym,
        "{what}: modules.symbols"
    );
}

/// The lines of stderr that are policy findings or policy summaries (`modpolicy: ...`).
pub fn finding_lines(err: &str) -> Vec<String> {
    err.lines()
        .filter(|l| l.starts_with("modpolicy: "))
        .map(str::to_string)
        .collect()
}

/// Every file under `lib/modules/VERSION` with its contents.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = moddir(root);
    list_files(&dir)
        .into_iter()
        .map(|(name, kind)| {
            let data = match kind {
                Entry::File => std::fs::read(dir.join(&name)).expect("read"),
                _ => Vec::new(),
            };
            (name, data)
        })
        .collect()
}

/// The `modules.dep` of a `dup-export-*` tree: `order` is the two exporters in
/// `modules.order` order, `provider` the module `dupuser` depends on.
pub fn dup_dep(order: [&str; 2], provider: Option<&str>) -> Vec<String> {
    let user = match provider {
        Some(p) => format!("kernel/drivers/dup/dupuser.ko: kernel/drivers/dup/{p}.ko"),
        None => "kernel/drivers/dup/dupuser.ko:".to_string(),
    };
    vec![
        format!("kernel/drivers/dup/{}.ko:", order[0]),
        format!("kernel/drivers/dup/{}.ko:", order[1]),
        user,
    ]
}

/// The `modules.symbols` lines (after the header) of a `dup-export-*` tree whose
/// `dup_shared_fn` is provided by `provider` (`None`: by vmlinux, so not listed).
pub fn dup_symbols(provider: Option<&str>) -> Vec<String> {
    let mut v = vec![
        "alias symbol:dupa_only_fn dupa".to_string(),
        "alias symbol:dupb_only_fn dupb".to_string(),
    ];
    if let Some(p) = provider {
        v.push(format!("alias symbol:dup_shared_fn {p}"));
    }
    v
}

/// `&[String]` as `&[&str]`.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Asserts the artifacts of a `dup-export-*` tree: which exporter `dupuser` depends on
/// and which one `modules.symbols` names for `dup_shared_fn`.
#[track_caller]
pub fn assert_dup_provider(what: &str, root: &Path, order: [&str; 2], provider: &str) {
    assert_artifacts(
        what,
        root,
        &strs(&dup_dep(order, Some(provider))),
        &strs(&dup_symbols(Some(provider))),
    );
}

/// `[dupa, dupb]` for `dup-export-ab`, `[dupb, dupa]` for `dup-export-ba`.
pub const AB: [&str; 2] = ["dupa", "dupb"];
/// See [`AB`].
pub const BA: [&str; 2] = ["dupb", "dupa"];

/// The finding line for `dup_shared_fn`'s duplicate export, as `depmod` prints it.
pub fn dup_finding(
    level: &str,
    exporters: [&str; 2],
    provider: &str,
    rule: Option<String>,
) -> String {
    let rule = rule.map(|r| format!(" [rule {r}]")).unwrap_or_default();
    format!(
        "modpolicy: {level}[duplicate-export]: 'dup_shared_fn' is exported by 2 modules ({}, {}); provider: {provider}{rule}",
        exporters[0], exporters[1]
    )
}

/// The summary line of a run that a policy denied.
pub fn denied_line(n: usize) -> String {
    format!("modpolicy: {n} finding(s) denied by policy; nothing was written")
}

/// The 1-based line of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}"))
        + 1
}
