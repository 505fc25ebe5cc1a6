//! Shared helpers for the integration tests that run kmod's `depmod` (the oracle) and
//! `modpolicy depmod` side by side.
//!
//! - [`corpus`] unpacks the real Debian kernel trees once per test process by running
//!   `tests/corpus/setup.sh` (idempotent, stamp file and `flock` inside the script).
//! - [`kmod`] locates Debian's kmod 30 `depmod`.
//! - [`Pair`] copies one root directory twice (`<tmp>/kmod` and `<tmp>/ours`: equal-length
//!   paths, so `.bin` files that embed the root keep the same layout) and runs each tool
//!   on its own copy.
//! - [`compare`] checks exit code, stdout, stderr (root paths replaced by `<ROOT>`) and every
//!   file under `lib/modules/VERSION`, and describes each difference (file, first differing
//!   line or byte).
//!
//! - [`skip`] records a test (or part of one) that cannot run: every skip goes through it.
//!
//! A missing shared corpus or a missing `/usr/sbin/depmod` FAILS the tests that need them,
//! with a message saying what to do. With `MODPOLICY_NO_CORPUS=1` those tests are skipped
//! instead, each through [`skip`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of Debian's kmod `depmod`, the oracle.
pub const KMOD_DEPMOD: &str = "/usr/sbin/depmod";

/// Kernel version string of every tree in `tests/fixtures/trees/`.
pub const FIXTURE_VERSION: &str = "6.1.0-test";

/// Placeholder for a copy's root directory in normalised output.
pub const ROOT_PLACEHOLDER: &str = "<ROOT>";

/// Placeholder in argument templates for the copy's root directory.
pub const ROOT_ARG: &str = "@ROOT@";

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ has a parent")
        .to_path_buf()
}

/// `tests/fixtures/trees/`.
pub fn fixture_trees() -> PathBuf {
    repo_root().join("tests/fixtures/trees")
}

/// Our binary.
pub fn modpolicy_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modpolicy"))
}

fn no_corpus() -> bool {
    std::env::var_os("MODPOLICY_NO_CORPUS").is_some_and(|v| v == "1")
}

/// The committed list of the tests CI may skip, each with its reason (`<test>: <why>`).
pub const CI_SKIPS: &str = "tests/ci-skips.txt";

/// The reason `tests/ci-skips.txt` gives for CI to skip `test`, if it lists it.
pub fn ci_skip_reason(test: &str) -> Option<String> {
    let text = std::fs::read_to_string(repo_root().join(CI_SKIPS)).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .find(|(name, why)| name.trim() == test && !why.trim().is_empty())
        .map(|(_, why)| why.trim().to_string())
}

/// Records that `test` cannot run, or cannot run all of itself, because of `why`; the
/// caller then returns (or leaves out the part). Every skip of every suite goes through
/// here, so that none passes silently:
///
/// - it prints `SKIPPED: <test>: <why>` straight to the process's stderr (not through
///   `eprintln!`, which the harness captures), in one write; `tests/tally.sh` counts these
///   lines into the closing `tests: N passed, M failed, K skipped`;
/// - under `CI=true` it panics, failing the test, unless [`CI_SKIPS`] lists `test` with a
///   reason.
pub fn skip(test: &str, why: &str) {
    use std::io::Write as _;
    if std::env::var_os("CI").is_some_and(|v| v == "true") && ci_skip_reason(test).is_none() {
        panic!(
            "{test} cannot run here ({why}), and {CI_SKIPS} gives no reason for CI to skip it: \
             provide what it needs, or list it there with the reason"
        );
    }
    let why = why.replace('\n', " ");
    let _ = std::io::stderr().write_all(format!("SKIPPED: {test}: {why}\n").as_bytes());
}

/// One unpacked Debian cloud kernel from the shared corpus.
#[derive(Debug, Clone)]
pub struct KernelTree {
    /// Kernel version, e.g. `6.1.0-47-cloud-amd64`.
    pub version: &'static str,
    /// Unpacked image package: the `-b` root (`lib/modules/VERSION`, `boot/System.map-*`).
    pub root: PathBuf,
    /// The headers package's `Module.symvers`.
    pub symvers: PathBuf,
    /// The real `System.map`, decompressed from `system-map/`.
    pub system_map: PathBuf,
}

impl KernelTree {
    /// The image's one-line stub `System.map`, as an argument template inside the copy.
    pub fn stub_map_arg(&self) -> String {
        format!("{ROOT_ARG}/boot/System.map-{}", self.version)
    }
}

/// The unpacked shared corpus.
#[derive(Debug)]
pub struct Corpus {
    /// Debian 6.1 cloud kernel, plain `.ko`.
    pub v6_1: KernelTree,
    /// Debian 6.12 cloud kernel, `.ko.xz`.
    pub v6_12: KernelTree,
    /// The read-only shared corpus directory the trees came from.
    pub shared: PathBuf,
}

fn shared_corpus_dir() -> PathBuf {
    match std::env::var_os("MODPOLICY_SHARED") {
        Some(s) => PathBuf::from(s).join("corpus"),
        None => repo_root().join("../shared/corpus"),
    }
}

fn setup_corpus() -> Result<Corpus, String> {
    let shared = shared_corpus_dir();
    if !shared.is_dir() {
        return Err(format!(
            "the shared corpus directory {} is missing. The conformance tests need the Debian \
             kernel packages it holds (see tests/corpus/setup.sh). Set MODPOLICY_SHARED to the \
             directory that contains corpus/, or set MODPOLICY_NO_CORPUS=1 to skip these tests.",
            shared.display()
        ));
    }
    let script = repo_root().join("tests/corpus/setup.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dest = match std::env::var_os("MODPOLICY_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("target/corpus"),
    };
    let tree = |short: &str, version: &'static str| -> Result<KernelTree, String> {
        let t = KernelTree {
            version,
            root: dest.join(format!("image-{short}")),
            symvers: dest.join(format!(
                "headers-{short}/usr/src/linux-headers-{version}/Module.symvers"
            )),
            system_map: dest.join(format!("system-map/System.map-{version}")),
        };
        for p in [
            t.root
                .join("lib/modules")
                .join(version)
                .join("modules.order"),
            t.root.join(format!("boot/System.map-{version}")),
            t.symvers.clone(),
            t.system_map.clone(),
        ] {
            if !p.is_file() {
                return Err(format!(
                    "{} is missing after tests/corpus/setup.sh; delete {} and retry",
                    p.display(),
                    dest.join(".stamp").display()
                ));
            }
        }
        Ok(t)
    };
    Ok(Corpus {
        v6_1: tree("6.1", "6.1.0-47-cloud-amd64")?,
        v6_12: tree("6.12", "6.12.107+deb12-cloud-amd64")?,
        shared,
    })
}

/// The unpacked corpus, set up on first use. Panics with a clear message when the shared
/// corpus is missing; returns `None` (after [`skip`]) when `MODPOLICY_NO_CORPUS=1`.
pub fn corpus(test: &str) -> Option<&'static Corpus> {
    if no_corpus() {
        skip(
            test,
            "MODPOLICY_NO_CORPUS=1: needs the shared kernel corpus",
        );
        return None;
    }
    static CORPUS: OnceLock<Result<Corpus, String>> = OnceLock::new();
    match CORPUS.get_or_init(setup_corpus) {
        Ok(c) => Some(c),
        Err(e) => panic!("{e}"),
    }
}

/// kmod's depmod, checked once to be kmod 30. Panics when it is missing (or is not kmod 30)
/// unless `MODPOLICY_NO_CORPUS=1`, which makes it `None` after [`skip`].
pub fn kmod(test: &str) -> Option<&'static Path> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let r = CHECK.get_or_init(|| {
        let out = Command::new(KMOD_DEPMOD)
            .arg("--version")
            .output()
            .map_err(|e| {
                format!(
                "kmod's depmod ({KMOD_DEPMOD}) cannot be run: {e}. The conformance tests use it \
                 as the oracle: install it with `apt-get install -y kmod` (Debian bookworm's \
                 kmod 30), or set MODPOLICY_NO_CORPUS=1 to skip these tests."
            )
            })?;
        let v = String::from_utf8_lossy(&out.stdout);
        if !v.contains("kmod version 30") {
            return Err(format!(
                "{KMOD_DEPMOD} is not kmod 30 (it says {:?}); the expected outputs are kmod 30's",
                v.lines().next().unwrap_or("")
            ));
        }
        Ok(())
    });
    match r {
        Ok(()) => Some(Path::new(KMOD_DEPMOD)),
        Err(e) if no_corpus() => {
            skip(test, &format!("MODPOLICY_NO_CORPUS=1: {e}"));
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// What one run printed and how it ended.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    /// Signal number when killed by one.
    pub signal: Option<i32>,
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Raw stderr.
    pub stderr: Vec<u8>,
}

impl RunOutput {
    /// `exit N` or `signal N`.
    pub fn status(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown status".into(),
        }
    }

    /// stderr as (lossy) text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Which program to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `/usr/sbin/depmod`.
    Kmod,
    /// `modpolicy depmod`.
    Ours,
}

impl Tool {
    /// `kmod` or `ours`: also the copy's directory name.
    pub fn label(self) -> &'static str {
        match self {
            Tool::Kmod => "kmod",
            Tool::Ours => "ours",
        }
    }
}

/// Runs `tool` with `-b root`, the `args` (with `@ROOT@` replaced by `root`) and `version`.
pub fn run_tool(tool: Tool, root: &Path, args: &[String], version: &str) -> RunOutput {
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = match tool {
        Tool::Kmod => Command::new(KMOD_DEPMOD),
        Tool::Ours => {
            let mut c = Command::new(modpolicy_bin());
            c.arg("depmod");
            c
        }
    };
    let root_s = root.to_str().expect("temporary paths are UTF-8");
    cmd.arg("-b").arg(root_s);
    for a in args {
        cmd.arg(a.replace(ROOT_ARG, root_s));
    }
    cmd.arg(version);
    // strerror texts are locale-dependent; keep both in C.
    cmd.env("LC_ALL", "C").env_remove("RUST_LOG");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", tool.label()));
    RunOutput {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// `cp -a src dst` (a real copy: depmod writes into the tree).
pub fn copy_tree(src: &Path, dst: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .expect("cp runs");
    assert!(
        st.success(),
        "cp -a {} {} failed",
        src.display(),
        dst.display()
    );
}

/// Two copies of one root directory, one per tool, in a fresh temporary directory.
pub struct Pair {
    tmp: tempfile::TempDir,
    /// Kernel version under `lib/modules/`.
    pub version: String,
}

impl Pair {
    /// Copies `source` (a `-b` root) to `<tmp>/kmod` and `<tmp>/ours`.
    pub fn new(source: &Path, version: &str) -> Pair {
        let tmp = tempfile::Builder::new()
            .prefix("modpolicy-conf.")
            .tempdir()
            .expect("temporary directory");
        for t in [Tool::Kmod, Tool::Ours] {
            copy_tree(source, &tmp.path().join(t.label()));
        }
        Pair {
            tmp,
            version: version.to_string(),
        }
    }

    /// The temporary directory holding both copies.
    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// The root of `tool`'s copy.
    pub fn root(&self, tool: Tool) -> PathBuf {
        self.tmp.path().join(tool.label())
    }

    /// `lib/modules/VERSION` of `tool`'s copy.
    pub fn moddir(&self, tool: Tool) -> PathBuf {
        self.root(tool).join("lib/modules").join(&self.version)
    }

    /// Applies `f` to both copies (given the copy's root).
    pub fn each(&self, f: impl Fn(&Path)) {
        for t in [Tool::Kmod, Tool::Ours] {
            f(&self.root(t));
        }
    }

    /// Replaces `@TREE@` in every `etc/depmod.d/*.conf` of each copy by that copy's root.
    pub fn substitute_tree_placeholder(&self) {
        self.each(|root| {
            let dir = root.join("etc/depmod.d");
            let Ok(rd) = std::fs::read_dir(&dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "conf") {
                    let s = std::fs::read_to_string(&p).expect("conf is text");
                    let r = s.replace("@TREE@", root.to_str().expect("UTF-8 path"));
                    std::fs::write(&p, r).expect("write conf");
                }
            }
        });
    }

    /// Runs one tool on its copy.
    pub fn run(&self, tool: Tool, args: &[String]) -> RunOutput {
        run_tool(tool, &self.root(tool), args, &self.version)
    }

    /// Runs both tools and returns the comparison.
    pub fn run_both(&self, args: &[String]) -> Comparison {
        let kmod = self.run(Tool::Kmod, args);
        let ours = self.run(Tool::Ours, args);
        self.compare(kmod, ours)
    }

    /// Runs both tools with `args`, ours with `ours_extra` too (placed before `args`, e.g.
    /// `--policy FILE`), and returns the comparison.
    pub fn run_both_ours_extra(&self, args: &[String], ours_extra: &[String]) -> Comparison {
        let kmod = self.run(Tool::Kmod, args);
        let mut ours_args = ours_extra.to_vec();
        ours_args.extend(args.iter().cloned());
        let ours = self.run(Tool::Ours, &ours_args);
        self.compare(kmod, ours)
    }

    /// Compares two finished runs and the two `lib/modules/VERSION` directories.
    pub fn compare(&self, kmod: RunOutput, ours: RunOutput) -> Comparison {
        let mut c = Comparison {
            kmod,
            ours,
            differences: Vec::new(),
        };
        let kroot = self.root(Tool::Kmod);
        let oroot = self.root(Tool::Ours);
        let kroot = kroot.to_str().expect("UTF-8").as_bytes();
        let oroot = oroot.to_str().expect("UTF-8").as_bytes();
        if c.kmod.code != c.ours.code || c.kmod.signal != c.ours.signal {
            c.differences.push(format!(
                "status: kmod {}, ours {}",
                c.kmod.status(),
                c.ours.status()
            ));
        }
        if let Some(d) = describe_difference(
            "stdout",
            &c.kmod.stdout,
            &c.ours.stdout,
            Some((kroot, oroot)),
        ) {
            c.differences.push(d);
        }
        if let Some(d) = describe_difference(
            "stderr",
            &c.kmod.stderr,
            &c.ours.stderr,
            Some((kroot, oroot)),
        ) {
            c.differences.push(d);
        }
        let kfiles = list_files(&self.moddir(Tool::Kmod));
        let ofiles = list_files(&self.moddir(Tool::Ours));
        let only_k: Vec<&String> = kfiles.keys().filter(|k| !ofiles.contains_key(*k)).collect();
        let only_o: Vec<&String> = ofiles.keys().filter(|k| !kfiles.contains_key(*k)).collect();
        if !only_k.is_empty() || !only_o.is_empty() {
            c.differences.push(format!(
                "file sets differ in lib/modules/{}: only kmod wrote {only_k:?}; only ours wrote {only_o:?}",
                self.version
            ));
        }
        for (name, kind) in &kfiles {
            let Some(okind) = ofiles.get(name) else {
                continue;
            };
            if kind != okind {
                c.differences
                    .push(format!("{name}: kmod has a {kind:?}, ours a {okind:?}"));
                continue;
            }
            match kind {
                Entry::File => {
                    let a = std::fs::read(self.moddir(Tool::Kmod).join(name)).expect("read");
                    let b = std::fs::read(self.moddir(Tool::Ours).join(name)).expect("read");
                    if let Some(d) = describe_difference(name, &a, &b, Some((kroot, oroot))) {
                        c.differences.push(d);
                    }
                }
                Entry::Symlink => {
                    let a = std::fs::read_link(self.moddir(Tool::Kmod).join(name)).ok();
                    let b = std::fs::read_link(self.moddir(Tool::Ours).join(name)).ok();
                    if a != b {
                        c.differences
                            .push(format!("{name}: symlink targets {a:?} vs {b:?}"));
                    }
                }
                Entry::Dir | Entry::Other => {}
            }
        }
        c
    }

    /// Every file under `lib/modules/VERSION` of `tool`'s copy with its contents (symlinks
    /// and directories are listed with empty contents).
    pub fn snapshot(&self, tool: Tool) -> BTreeMap<String, Vec<u8>> {
        let dir = self.moddir(tool);
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
}

/// Builds an argument list from string slices.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// What kind of directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link (not followed).
    Symlink,
    /// Anything else.
    Other,
}

/// Recursively lists `dir`, paths relative to it, without following symlinks.
pub fn list_files(dir: &Path) -> BTreeMap<String, Entry> {
    fn walk(base: &Path, rel: &str, out: &mut BTreeMap<String, Entry>) {
        let Ok(rd) = std::fs::read_dir(base.join(rel)) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = e.file_type().expect("file type");
            let kind = if ft.is_symlink() {
                Entry::Symlink
            } else if ft.is_dir() {
                Entry::Dir
            } else if ft.is_file() {
                Entry::File
            } else {
                Entry::Other
            };
            out.insert(r.clone(), kind);
            if kind == Entry::Dir {
                walk(base, &r, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out);
    out
}

/// The outcome of running both tools.
#[derive(Debug)]
pub struct Comparison {
    /// kmod's run.
    pub kmod: RunOutput,
    /// Our run.
    pub ours: RunOutput,
    /// One description per difference; empty when everything matched.
    pub differences: Vec<String>,
}

impl Comparison {
    /// Panics with every difference when there is any.
    pub fn assert_same(&self, what: &str) {
        if self.differences.is_empty() {
            return;
        }
        let mut msg = format!(
            "{what}: modpolicy differs from kmod 30 in {} way(s):\n",
            self.differences.len()
        );
        for d in &self.differences {
            let _ = writeln!(msg, "- {d}");
        }
        panic!("{msg}");
    }
}

/// Replaces every occurrence of `from` in `data` by `to`.
pub fn replace_bytes(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == from[0] && data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn looks_textual(data: &[u8]) -> bool {
    !data.contains(&0)
}

fn show_line(line: &[u8]) -> String {
    const MAX: usize = 300;
    let s = line.escape_ascii().to_string();
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}... ({} bytes)", &s[..cut], line.len())
    } else {
        s
    }
}

fn hex_window(data: &[u8], at: usize) -> String {
    let start = at.saturating_sub(8);
    let end = (at + 24).min(data.len());
    let mut s = String::new();
    for (i, b) in data[start..end].iter().enumerate() {
        if start + i == at {
            s.push('[');
        }
        let _ = write!(s, "{b:02x}");
        if start + i == at {
            s.push(']');
        }
        s.push(' ');
    }
    format!("@{start:#x}: {}", s.trim_end())
}

/// Describes how `ours` differs from `kmod` (named `name`), or `None` when equal. When
/// `roots` is given, each side's root path is replaced by `<ROOT>` first (only if the raw
/// bytes differ). Text gets the first differing line; binary data the first differing byte.
pub fn describe_difference(
    name: &str,
    kmod: &[u8],
    ours: &[u8],
    roots: Option<(&[u8], &[u8])>,
) -> Option<String> {
    if kmod == ours {
        return None;
    }
    let (a, b) = match roots {
        Some((kr, or)) => (
            replace_bytes(kmod, kr, ROOT_PLACEHOLDER.as_bytes()),
            replace_bytes(ours, or, ROOT_PLACEHOLDER.as_bytes()),
        ),
        None => (kmod.to_vec(), ours.to_vec()),
    };
    if a == b {
        return None;
    }
    if looks_textual(&a) && looks_textual(&b) {
        let la: Vec<&[u8]> = a.split(|&c| c == b'\n').collect();
        let lb: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
        let i = la
            .iter()
            .zip(&lb)
            .position(|(x, y)| x != y)
            .unwrap_or(la.len().min(lb.len()));
        let differing =
            la.iter().zip(&lb).filter(|(x, y)| x != y).count() + la.len().abs_diff(lb.len());
        let count = |d: &[u8], l: &[&[u8]]| {
            if d.is_empty() {
                0
            } else {
                l.len() - usize::from(d.ends_with(b"\n"))
            }
        };
        let get = |l: &Vec<&[u8]>| match l.get(i) {
            Some(x) => format!("{:?}", show_line(x)),
            None => "<end of data>".to_string(),
        };
        let mut s = format!(
            "{name}: first difference at line {} (kmod {} lines / {} bytes, ours {} lines / {} bytes, {differing} line position(s) differ)\n    kmod: {}\n    ours: {}",
            i + 1,
            count(&a, &la),
            a.len(),
            count(&b, &lb),
            b.len(),
            get(&la),
            get(&lb),
        );
        if i > 0 {
            let _ = write!(s, "\n    (previous line: {:?})", show_line(la[i - 1]));
        }
        Some(s)
    } else {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        Some(format!(
            "{name}: first differing byte at offset {i} ({i:#x}) (kmod {} bytes, ours {} bytes)\n    kmod {}\n    ours {}",
            a.len(),
            b.len(),
            hex_window(&a, i),
            hex_window(&b, i),
        ))
    }
}

/// Asserts what must hold of every run of ours, whatever the input: no panic, exit code 0
/// or 1, and (when given) that stderr names `file`.
pub fn assert_ours_sane(what: &str, ours: &RunOutput, names_file: Option<&str>) {
    let err = ours.stderr_text();
    assert!(
        !err.contains("panicked"),
        "{what}: modpolicy panicked:\n{err}"
    );
    assert!(
        matches!(ours.code, Some(0 | 1)),
        "{what}: modpolicy ended with {}, expected exit 0 or 1; stderr:\n{err}",
        ours.status()
    );
    if let Some(f) = names_file {
        assert!(
            err.contains(f),
            "{what}: modpolicy's messages do not name {f}; stderr:\n{err}"
        );
    }
}
