//! Hardening: faults injected around `modpolicy depmod`, and hostile input.
//!
//! **Nothing lost.** Each fault test writes the artifacts of a tree once (the "previous"
//! artifacts), changes the tree (a module removed, so the next artifacts differ), injects
//! one fault into a second run, and asserts that the previous artifacts are still there
//! byte for byte; then it removes the fault, runs again, and asserts that the artifacts
//! equal a clean run's on an untouched copy of the changed tree and that no temporary
//! file (`.<name>.modpolicy-<pid>-<n>.tmp`) remains:
//!
//! - `read_only_output_dir`: the output directory is immutable (`chattr +i`; else a
//!   read-only bind mount; skipped through `support::skip` where neither is allowed);
//! - `disk_full_tmpfs`: the output is on a small tmpfs filled to the last block (skipped
//!   through `support::skip` where `mount` is not allowed);
//! - `disk_full_file_size_limit`: `RLIMIT_FSIZE` below the size of one artifact, with
//!   `SIGXFSZ` ignored, so writes fail with `EFBIG` (works without privileges);
//! - `rename_fails_half_way`: `modules.symbols` is a non-empty directory, so its rename
//!   fails after `modules.dep*`, `modules.alias*` and `modules.softdep` were replaced:
//!   those are restored;
//! - `killed_mid_write`: SIGKILL at random moments over many runs; after each, every
//!   artifact is whole (the previous or the new version, byte for byte), and only our
//!   temporaries may be left over, which the next successful run removes;
//! - `two_runs_at_once`: two processes on one tree, several rounds: both succeed and the
//!   artifacts equal a clean run's.
//!
//! **Per-module errors follow policy** (`unreadable_module_*`): under the default
//! `kmod.kdl` an unreadable module is reported with kmod's message and listed, exit 0;
//! under a strict policy (`unreadable-module "deny"`, or `--deny unreadable-module`) the
//! run fails and nothing is written.
//!
//! **Hostile input is bounded** (`decompression_bombs`, `absurd_elf_headers`,
//! `sparse_read_allocation_fails_per_module`, `megabyte_symbol_name`, `hostile_policies`): each run under `RLIMIT_DATA` (so an
//! unbounded allocation would abort the process) ends in a clear message naming the file,
//! within seconds.

#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{copy_tree, fixture_trees, modpolicy_bin, repo_root, FIXTURE_VERSION};

/// The fixture tree the fault tests use: it has aliases, softdeps and device nodes, so
/// most artifacts are non-empty.
const TREE: &str = "devices";
/// The module removed to make the second run's artifacts differ.
const REMOVED: &str = "kernel/drivers/devices/devorphan.ko";

/// A copy of a fixture tree in its own temporary directory.
struct Tree {
    tmp: tempfile::TempDir,
}

impl Tree {
    fn new(name: &str) -> Tree {
        let tmp = tempfile::Builder::new()
            .prefix("modpolicy-hardening.")
            .tempdir()
            .expect("temporary directory");
        copy_tree(&fixture_trees().join(name), &tmp.path().join("root"));
        Tree { tmp }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn moddir(&self) -> PathBuf {
        self.root().join("lib/modules").join(FIXTURE_VERSION)
    }

    /// A second copy of the same tree, changed the same way, run once: the expected
    /// artifacts of a clean run.
    fn clean_run_of_changed(name: &str) -> BTreeMap<String, Vec<u8>> {
        let t = Tree::new(name);
        t.change();
        let out = t.depmod(&[]);
        assert!(out.status.success(), "clean run: {}", text(&out.stderr));
        artifacts(&t.moddir())
    }

    /// Removes [`REMOVED`] so that the next artifacts differ from the previous ones.
    fn change(&self) {
        std::fs::remove_file(self.moddir().join(REMOVED)).expect("remove a module");
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(modpolicy_bin());
        c.arg("depmod")
            .arg("-b")
            .arg(self.root())
            .args(extra)
            .arg(FIXTURE_VERSION)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn depmod(&self, extra: &[&str]) -> Output {
        self.command(extra).output().expect("modpolicy runs")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every regular file directly in `dir`, with its contents (artifacts, inputs and any
/// temporary file). Directories are listed with the marker contents `<dir>`.
fn artifacts(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            if name.starts_with("modules.") {
                out.insert(name, b"<dir>".to_vec());
            }
        } else {
            out.insert(name, std::fs::read(e.path()).expect("read"));
        }
    }
    out
}

/// Names that are neither in `expected` nor artifacts: stray files.
fn strays(dir: &Path) -> Vec<String> {
    artifacts(dir)
        .into_keys()
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Whether `name` is one of our temporary names, `.<name>.modpolicy-<pid>-<n>.tmp`.
fn is_own_temp(name: &str) -> bool {
    modpolicy::util::atomic::is_own_temp(name)
}

/// Asserts `dir` holds exactly `want`, naming the first difference.
fn assert_same(dir: &Path, want: &BTreeMap<String, Vec<u8>>, what: &str) {
    let got = artifacts(dir);
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(want), "{what}: file names differ");
    for (n, c) in want {
        assert!(got[n] == *c, "{what}: {n} differs from before");
    }
}

/// The common tail of every fault test: with the fault removed, a run succeeds, equals a
/// clean run of the changed tree, and leaves no temporary file.
fn assert_recovers(t: &Tree, extra: &[&str], what: &str) {
    let out = t.depmod(extra);
    assert!(
        out.status.success(),
        "{what}: run after the fault: {}",
        text(&out.stderr)
    );
    assert_eq!(strays(&t.moddir()), Vec::<String>::new(), "{what}: strays");
    assert_same(&t.moddir(), &Tree::clean_run_of_changed(TREE), what);
}

/// Runs the first (good) run and changes the tree; returns the previous artifacts.
fn previous(t: &Tree) -> BTreeMap<String, Vec<u8>> {
    let out = t.depmod(&[]);
    assert!(out.status.success(), "first run: {}", text(&out.stderr));
    let before = artifacts(&t.moddir());
    t.change();
    before
}

fn note(msg: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "note: {msg}");
}

fn sh(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Undoes a fault when dropped (even when an assertion fails).
struct Undo(Box<dyn FnMut()>);

impl Drop for Undo {
    fn drop(&mut self) {
        (self.0)();
    }
}

#[test]
fn read_only_output_dir() {
    let t = Tree::new(TREE);
    let before = previous(&t);
    let dir = t.moddir();
    let d = dir.to_str().unwrap().to_string();
    let undo = if sh("chattr", &["+i", &d]) {
        let d2 = d.clone();
        Undo(Box::new(move || {
            sh("chattr", &["-i", &d2]);
        }))
    } else if sh("mount", &["--bind", &d, &d]) && sh("mount", &["-o", "remount,bind,ro", &d]) {
        let d2 = d.clone();
        Undo(Box::new(move || {
            sh("umount", &["-l", &d2]);
        }))
    } else {
        sh("umount", &["-l", &d]);
        support::skip(
            "read_only_output_dir",
            "neither chattr +i nor a read-only bind mount works here (needs root, CAP_LINUX_IMMUTABLE or CAP_SYS_ADMIN)",
        );
        return;
    };
    let out = t.depmod(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("could not write artifacts"),
        "{}",
        text(&out.stderr)
    );
    drop(undo);
    assert_same(&dir, &before, "read-only output directory");
    assert_recovers(&t, &[], "read-only output directory");
}

/// Sets `RLIMIT_FSIZE` and ignores `SIGXFSZ` in the child, so an oversized write fails
/// with `EFBIG` instead of killing the process.
fn limit_file_size(c: &mut Command, bytes: u64) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let l = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Caps the child's data segment (heap and anonymous mappings): an unbounded
/// allocation makes it abort, which the tests detect as a signal.
fn limit_memory(c: &mut Command, bytes: u64) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn disk_full_file_size_limit() {
    let t = Tree::new(TREE);
    let before = previous(&t);
    let largest = before
        .iter()
        .filter(|(n, _)| n.starts_with("modules."))
        .map(|(_, c)| c.len() as u64)
        .max()
        .unwrap();
    assert!(largest > 64, "an artifact larger than the limit");
    let mut c = t.command(&[]);
    limit_file_size(&mut c, 64);
    let out = c.output().expect("modpolicy runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("File too large"),
        "{}",
        text(&out.stderr)
    );
    assert_same(&t.moddir(), &before, "file-size limit");
    assert_recovers(&t, &[], "file-size limit");
}

#[test]
fn disk_full_tmpfs() {
    let t = Tree::new(TREE);
    let out_root = t.tmp.path().join("out");
    std::fs::create_dir(&out_root).unwrap();
    let o = out_root.to_str().unwrap().to_string();
    if !sh("mount", &["-t", "tmpfs", "-o", "size=256k", "tmpfs", &o]) {
        support::skip(
            "disk_full_tmpfs",
            "cannot mount a tmpfs here (needs CAP_SYS_ADMIN); disk_full_file_size_limit covers ENOSPC's twin EFBIG",
        );
        return;
    }
    let o2 = o.clone();
    let _undo = Undo(Box::new(move || {
        sh("umount", &["-l", &o2]);
    }));
    let extra = ["-o", o.as_str()];
    let outdir = out_root.join("lib/modules").join(FIXTURE_VERSION);
    let first = t.depmod(&extra);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let before = artifacts(&outdir);
    t.change();
    // Fill the filesystem to the last block.
    let filler = out_root.join("filler");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0xa5u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&chunk[..1]).is_ok() {}
    }
    let out = t.depmod(&extra);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("No space left on device"),
        "{}",
        text(&out.stderr)
    );
    assert_same(&outdir, &before, "disk full");
    std::fs::remove_file(&filler).unwrap();
    let out = t.depmod(&extra);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(strays(&outdir), Vec::<String>::new());
    // The artifacts equal a clean run's, apart from the input files that -o does not
    // copy (modules.order, modules.builtin*).
    let mut want = Tree::clean_run_of_changed(TREE);
    want.retain(|n, _| artifacts(&outdir).contains_key(n));
    assert_same(&outdir, &want, "disk full, recovered");
}

#[test]
fn rename_fails_half_way() {
    let t = Tree::new(TREE);
    previous(&t);
    let dir = t.moddir();
    // modules.symbols becomes a non-empty directory: renaming over it fails (EISDIR)
    // after modules.dep, modules.dep.bin, modules.alias, modules.alias.bin and
    // modules.softdep were already replaced.
    std::fs::remove_file(dir.join("modules.symbols")).unwrap();
    std::fs::create_dir(dir.join("modules.symbols")).unwrap();
    std::fs::write(dir.join("modules.symbols/keep"), b"x").unwrap();
    let before = artifacts(&dir);
    let out = t.depmod(&[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("modules.symbols: cannot rename into place (every artifact was restored)"),
        "{err}"
    );
    assert_same(&dir, &before, "rename failing half way");
    std::fs::remove_dir_all(dir.join("modules.symbols")).unwrap();
    assert_recovers(&t, &[], "rename failing half way");
}

/// A small xorshift generator: the tests print their seed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("MODPOLICY_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        note(&format!("MODPOLICY_TEST_SEED={seed}"));
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn kill(child: &mut Child) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
}

#[test]
fn killed_mid_write() {
    let t = Tree::new(TREE);
    let old = previous(&t);
    let new = Tree::clean_run_of_changed(TREE);
    let dir = t.moddir();
    // How long one run takes, to spread the kills over it.
    let probe = Tree::new(TREE);
    let t0 = Instant::now();
    assert!(probe.depmod(&[]).status.success());
    let span = t0.elapsed().as_micros().max(1000) as u64 * 3 / 2;
    let mut rng = Rng::seeded();
    let (mut killed, mut finished, mut mixed) = (0, 0, 0);
    for round in 0..150 {
        // Back to the previous artifacts (every file whole), then a run killed at a
        // random moment.
        for (n, c) in &old {
            std::fs::write(dir.join(n), c).unwrap();
        }
        let mut child = t.command(&[]).spawn().expect("spawn");
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        kill(&mut child);
        let st = child.wait().unwrap();
        if st.success() {
            finished += 1;
        } else {
            killed += 1;
        }
        let now = artifacts(&dir);
        let mut saw_new = false;
        let mut saw_old = false;
        for (n, c) in &now {
            if is_own_temp(n) || n == modpolicy::util::atomic::JOURNAL {
                continue;
            }
            let o = old.get(n);
            let w = new.get(n);
            assert!(
                o == Some(c) || w == Some(c),
                "round {round}: {n} is neither the previous nor the new version ({} bytes)",
                c.len()
            );
            saw_new |= o != Some(c);
            saw_old |= w != Some(c) && o.is_some();
        }
        mixed += usize::from(saw_new && saw_old);
        for n in old.keys() {
            assert!(now.contains_key(n), "round {round}: {n} is gone");
        }
    }
    note(&format!(
        "killed_mid_write: {killed} runs killed, {finished} finished first, {mixed} left a mix of whole old and new files"
    ));
    assert!(killed > 0, "no run was killed: the timing is off");
    assert_recovers(&t, &[], "killed mid-write");
}

#[test]
fn two_runs_at_once() {
    let t = Tree::new(TREE);
    previous(&t);
    let want = Tree::clean_run_of_changed(TREE);
    for round in 0..10 {
        let a = t.command(&[]).spawn().expect("spawn");
        let b = t.command(&[]).spawn().expect("spawn");
        for (which, c) in [("first", a), ("second", b)] {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}, {which} run: {}",
                text(&out.stderr)
            );
        }
        assert_eq!(strays(&t.moddir()), Vec::<String>::new(), "round {round}");
        assert_same(&t.moddir(), &want, &format!("round {round}"));
    }
}

/// A corrupt module next to the good ones.
fn add_corrupt_module(t: &Tree) -> PathBuf {
    let bad = t.moddir().join("kernel/bad");
    std::fs::create_dir_all(&bad).unwrap();
    let p = bad.join("broken.ko");
    std::fs::write(&p, b"\x7fELF\x02\x01\x01 this is no module").unwrap();
    p
}

#[test]
fn unreadable_module_kmod_policy_lists_it() {
    let t = Tree::new(TREE);
    let p = add_corrupt_module(&t);
    let out = t.depmod(&[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // kmod's message, and nothing of ours (the tree's own devname error follows).
    assert!(
        err.starts_with(&format!(
            "depmod: ERROR: failed to load symbols from {}: Invalid argument\n",
            p.display()
        )),
        "{err}"
    );
    assert!(!err.contains("modpolicy:"), "{err}");
    let dep = std::fs::read_to_string(t.moddir().join("modules.dep")).unwrap();
    assert!(dep.contains("kernel/bad/broken.ko:\n"), "{dep}");
}

#[test]
fn unreadable_module_strict_policy_writes_nothing() {
    let t = Tree::new(TREE);
    let first = t.depmod(&[]);
    assert!(first.status.success());
    let before = artifacts(&t.moddir());
    let p = add_corrupt_module(&t);
    let strict = t.tmp.path().join("strict.kdl");
    std::fs::write(
        &strict,
        format!(
            "version 1\ninclude \"{}\"\nseverity {{\n    unreadable-module \"deny\"\n}}\n",
            repo_root().join("policies/kmod.kdl").display()
        ),
    )
    .unwrap();
    let policy_arg = strict.to_str().unwrap().to_string();
    for extra in [
        vec!["--policy", policy_arg.as_str()],
        vec!["--deny", "unreadable-module"],
    ] {
        let out = t.depmod(&extra);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(
            err.contains(&format!(
                "modpolicy: error[unreadable-module]: {}: malformed ELF",
                p.display()
            )),
            "{extra:?}: {err}"
        );
        assert!(err.contains("nothing was written"), "{extra:?}: {err}");
        // The module file is new; the artifacts are the previous ones.
        let mut now = artifacts(&t.moddir());
        now.retain(|n, _| before.contains_key(n));
        assert_eq!(now, before, "{extra:?}");
        assert_eq!(strays(&t.moddir()), Vec::<String>::new());
    }
    // A policy that does not include kmod.kdl warns (the code's own default level).
    let plain = t.tmp.path().join("plain.kdl");
    std::fs::write(&plain, "version 1\n").unwrap();
    let out = t.depmod(&["--policy", plain.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("modpolicy: warning[unreadable-module]"),
        "{err}"
    );
}

/// Runs depmod on `t` with `extra` under a 256 MiB data limit and a time bound; returns
/// stderr. Fails on a signal (an aborted allocation) or a slow run.
fn bounded_run(t: &Tree, extra: &[&str]) -> String {
    let mut c = t.command(extra);
    limit_memory(&mut c, 256 << 20);
    let t0 = Instant::now();
    let out = c.output().expect("modpolicy runs");
    let err = text(&out.stderr);
    assert!(
        out.status.code().is_some(),
        "killed by a signal (an unbounded allocation?): {:?}\n{err}",
        out.status
    );
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
    err
}

fn zeros_compressed(kind: &str, size: u64) -> Vec<u8> {
    use std::io::Write as _;
    let chunk = vec![0u8; 1 << 20];
    match kind {
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
            for _ in 0..size >> 20 {
                e.write_all(&chunk).unwrap();
            }
            e.finish().unwrap()
        }
        _ => {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
            for _ in 0..size >> 20 {
                e.write_all(&chunk).unwrap();
            }
            e.finish().unwrap()
        }
    }
}

#[test]
fn decompression_bombs() {
    let t = Tree::new(TREE);
    let bad = t.moddir().join("kernel/bomb");
    std::fs::create_dir_all(&bad).unwrap();
    // 512 MiB of zeros each: a few hundred KiB on disk.
    std::fs::write(bad.join("xzbomb.ko.xz"), zeros_compressed("xz", 512 << 20)).unwrap();
    std::fs::write(
        bad.join("zstbomb.ko.zst"),
        zeros_compressed("zst", 512 << 20),
    )
    .unwrap();
    let err = bounded_run(&t, &["--max-module-size", "16M"]);
    for f in ["xzbomb.ko.xz", "zstbomb.ko.zst"] {
        assert!(
            err.contains(&format!(
                "failed to load symbols from {}: Invalid argument",
                bad.join(f).display()
            )),
            "{f}: {err}"
        );
    }
    // A strict policy names the limit.
    let err = bounded_run(
        &t,
        &["--max-module-size", "16M", "--deny", "unreadable-module"],
    );
    assert!(
        err.contains("data expands past the limit of 16777216 bytes"),
        "{err}"
    );
    // A bad size is refused up front.
    let out = t.depmod(&["--max-module-size", "lots"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The section headers of an ELF64 little-endian file: `(header offset, sh_type)`.
fn section_headers(elf: &[u8]) -> Vec<(usize, u32)> {
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap());
    let shoff = u64::from_le_bytes(elf[0x28..0x30].try_into().unwrap()) as usize;
    let shentsize = u16_at(0x3a) as usize;
    let shnum = u16_at(0x3c) as usize;
    (0..shnum)
        .map(|i| {
            let h = shoff + i * shentsize;
            (h, u32::from_le_bytes(elf[h + 4..h + 8].try_into().unwrap()))
        })
        .collect()
}

const SHT_SYMTAB: u32 = 2;

#[test]
fn absurd_elf_headers() {
    let t = Tree::new(TREE);
    let good = std::fs::read(t.moddir().join("kernel/drivers/devices/devtbl.ko")).unwrap();
    let bad = t.moddir().join("kernel/absurd");
    std::fs::create_dir_all(&bad).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // e_shnum 65535 with the table near the end of the file.
    let mut m = good.clone();
    m[0x3c..0x3e].copy_from_slice(&u16::MAX.to_le_bytes());
    cases.push(("shnum.ko", m));
    // e_shoff at the very end of the 64-bit range.
    let mut m = good.clone();
    m[0x28..0x30].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    cases.push(("shoff.ko", m));
    // .symtab claiming 2^62 bytes at offset 2^62.
    let mut m = good.clone();
    let (h, _) = section_headers(&m)
        .into_iter()
        .find(|&(_, ty)| ty == SHT_SYMTAB)
        .unwrap();
    m[h + 24..h + 32].copy_from_slice(&(1u64 << 62).to_le_bytes());
    m[h + 32..h + 40].copy_from_slice(&(1u64 << 62).to_le_bytes());
    cases.push(("symtab-size.ko", m));
    // Extended numbering (e_shnum 0): section 0's sh_size says 2^40 sections.
    let mut m = good.clone();
    m[0x3c..0x3e].copy_from_slice(&0u16.to_le_bytes());
    let (h0, _) = section_headers(&good)[0];
    m[h0 + 32..h0 + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
    cases.push(("ext-shnum.ko", m));
    for (name, data) in &cases {
        std::fs::write(bad.join(name), data).unwrap();
    }
    // A sparse file of 1 TiB that starts like a module: larger than any limit.
    let huge = bad.join("huge.ko");
    std::fs::write(&huge, &good).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(1 << 40)
        .unwrap();
    let err = bounded_run(&t, &[]);
    for (name, _) in &cases {
        // kmod 30 treats a section lying past the end of the file as absent and reads
        // the rest of the module (checked with kmod on this file): no error for it.
        let failed = format!("failed to load symbols from {}", bad.join(name).display());
        if *name == "symtab-size.ko" {
            assert!(!err.contains(&failed), "{name}: {err}");
            continue;
        }
        assert!(
            err.contains(&format!("{failed}: Invalid argument")),
            "{name}: {err}"
        );
    }
    assert!(
        err.contains(&format!(
            "failed to load symbols from {}: File too large",
            huge.display()
        )),
        "{err}"
    );
}

/// An uncompressed module whose `.symtab` is 300 MiB (a sparse file of 301 MiB, within
/// `--max-module-size`) under a 256 MiB data limit: the sparse reader's buffer cannot be
/// allocated. It once grew with `resize` and the process aborted (`memory allocation of
/// ... failed`); now the module is unreadable with kmod's ENOMEM text and the run goes on.
#[test]
fn sparse_read_allocation_fails_per_module() {
    let t = Tree::new(TREE);
    let mut m = std::fs::read(t.moddir().join("kernel/drivers/devices/devtbl.ko")).unwrap();
    let (h, _) = section_headers(&m)
        .into_iter()
        .find(|&(_, ty)| ty == SHT_SYMTAB)
        .unwrap();
    let off = (m.len() as u64).next_multiple_of(4096);
    let size: u64 = 300 << 20; // a whole number of 24-byte symbols
    m[h + 24..h + 32].copy_from_slice(&off.to_le_bytes());
    m[h + 32..h + 40].copy_from_slice(&size.to_le_bytes());
    let bad = t.moddir().join("kernel/big");
    std::fs::create_dir_all(&bad).unwrap();
    let p = bad.join("bigsym.ko");
    std::fs::write(&p, &m).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(off + size + 4096)
        .unwrap();
    let err = bounded_run(&t, &[]);
    assert!(
        err.contains(&format!(
            "failed to load symbols from {}: Cannot allocate memory",
            p.display()
        )),
        "{err}"
    );
    let dep = std::fs::read_to_string(t.moddir().join("modules.dep")).unwrap();
    assert!(dep.contains("kernel/big/bigsym.ko:"), "{dep}");
}

#[test]
fn megabyte_symbol_name() {
    let t = Tree::new(TREE);
    let good = std::fs::read(t.moddir().join("kernel/drivers/devices/devtbl.ko")).unwrap();
    // A new string table at the end of the file: the old one, then a 4 MiB name that
    // every symbol points into.
    let headers = section_headers(&good);
    let (symtab_h, _) = headers
        .iter()
        .copied()
        .find(|&(_, ty)| ty == SHT_SYMTAB)
        .unwrap();
    let u32_at = |d: &[u8], o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
    let u64_at = |d: &[u8], o: usize| u64::from_le_bytes(d[o..o + 8].try_into().unwrap());
    let strtab_idx = u32_at(&good, symtab_h + 40) as usize; // sh_link
    let (strtab_h, _) = headers[strtab_idx];
    let mut m = good.clone();
    let new_off = m.len() as u64;
    let old_off = u64_at(&good, strtab_h + 24) as usize;
    let old_size = u64_at(&good, strtab_h + 32) as usize;
    m.extend_from_slice(&good[old_off..old_off + old_size]);
    let long_at = m.len() as u64 - new_off;
    m.extend(std::iter::repeat_n(b'A', 4 << 20));
    m.push(0);
    let new_size = m.len() as u64 - new_off;
    m[strtab_h + 24..strtab_h + 32].copy_from_slice(&new_off.to_le_bytes());
    m[strtab_h + 32..strtab_h + 40].copy_from_slice(&new_size.to_le_bytes());
    let sym_off = u64_at(&good, symtab_h + 24) as usize;
    let sym_size = u64_at(&good, symtab_h + 32) as usize;
    for s in (sym_off + 24..sym_off + sym_size).step_by(24) {
        m[s..s + 4].copy_from_slice(&(long_at as u32).to_le_bytes());
    }
    let p = t.moddir().join("kernel/drivers/devices/devtbl.ko");
    std::fs::write(&p, &m).unwrap();
    // kmod reads names of any length, and so do we: every symbol's name is the one
    // 4 MiB string, found once (not once per symbol: that would be 4 MiB times the
    // symbol count).
    let t0 = Instant::now();
    let img = modpolicy::load::elf::parse(&m).expect("read as kmod reads it");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "slow: {:?}",
        t0.elapsed()
    );
    let long: Vec<_> = img
        .imports
        .iter()
        .filter(|i| i.name.len() == 4 << 20)
        .collect();
    assert!(
        !long.is_empty(),
        "the undefined symbols are imports of the long name"
    );
    let err = bounded_run(&t, &[]);
    assert!(
        !err.contains("failed to load symbols"),
        "the module is read: {}",
        &err[..err.len().min(2000)]
    );
}

#[test]
fn hostile_policies() {
    let dir = tempfile::tempdir().unwrap();
    let load = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let t0 = Instant::now();
        let r = modpolicy::policy::load(&[p], FIXTURE_VERSION);
        assert!(t0.elapsed() < Duration::from_secs(10), "{name}: slow");
        r.map(|_| ()).unwrap_err().diagnostics
    };
    // A policy that includes itself.
    let d = load("self.kdl", "version 1\ninclude \"self.kdl\"\n");
    assert_eq!(d[0].code, "policy::include-cycle", "{d:?}");
    // An include of an endless device: refused for its type, before any read.
    let d = load("zero.kdl", "version 1\ninclude \"/dev/zero\"\n");
    assert_eq!(d[0].code, "policy::unreadable", "{d:?}");
    assert!(
        d[0].message
            .contains("/dev/zero: not a regular file (a character device)"),
        "{d:?}"
    );
    // A huge policy file (sparse: no disk space used).
    let huge = dir.path().join("huge.kdl");
    std::fs::write(&huge, "version 1\n").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(modpolicy::policy::MAX_POLICY_SIZE + 1)
        .unwrap();
    let d = load("top.kdl", "version 1\ninclude \"huge.kdl\"\n");
    assert!(d[0].message.contains("larger than"), "{d:?}");
}

/// Sets `RLIMIT_AS` (the address space) in the child.
fn limit_address_space(c: &mut Command, bytes: u64) {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        c.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Eight zstd bombs (each 64 KiB expanding past the default 512 MiB limit) read by eight
/// threads under a 1 GiB address space: once 4.4 GB (each thread its own 512 MiB
/// buffer), and an abort (`memory allocation of 536870912 bytes failed`). Now the
/// threads share one budget: the run completes, each bomb a per-module error, exit 0.
#[test]
fn bombs_share_one_memory_budget() {
    let t = Tree::new(TREE);
    let bad = t.moddir().join("kernel/bomb");
    std::fs::create_dir_all(&bad).unwrap();
    // The frame states its content size (as `zstd FILE` writes it): each thread once
    // reserved that much (capped at the limit) up front.
    let bomb = {
        use std::io::Write as _;
        let size: u64 = 600 << 20;
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        e.set_pledged_src_size(Some(size)).unwrap();
        e.include_contentsize(true).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..size >> 20 {
            e.write_all(&chunk).unwrap();
        }
        e.finish().unwrap()
    };
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    for i in 0..8 {
        std::fs::write(bad.join(format!("bomb{i}.ko.zst")), &bomb).unwrap();
    }
    let mut c = t.command(&[]);
    c.env("RAYON_NUM_THREADS", "8");
    limit_address_space(&mut c, 1 << 30);
    let t0 = Instant::now();
    let out = c.output().expect("modpolicy runs");
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?} after {:?}\n{err}",
        out.status,
        t0.elapsed()
    );
    for i in 0..8 {
        let p = bad.join(format!("bomb{i}.ko.zst"));
        let listed = [
            format!(
                "failed to load symbols from {}: Invalid argument",
                p.display()
            ),
            format!(
                "failed to load symbols from {}: Cannot allocate memory",
                p.display()
            ),
        ];
        assert!(
            listed.iter().any(|l| err.contains(l.as_str())),
            "bomb{i}: {err}"
        );
    }
    let dep = std::fs::read_to_string(t.moddir().join("modules.dep")).unwrap();
    assert!(dep.contains("kernel/bomb/bomb0.ko.zst:"), "{dep}");
}

/// A policy of 100,000 `provider` rules (about 6 MB) loads in seconds: loading was
/// quadratic (line numbers counted from the start of the file for every location, every
/// rule compared with every earlier one), 20,000 rules took 29 s and 100,000 would take
/// about 12 minutes. The lint and provider lookups are counted, not timed, in
/// `policy::lookup`'s and the engine's unit tests; this bounds the whole run.
#[test]
fn large_policy_loads_in_linear_time() {
    use std::fmt::Write as _;
    let t = Tree::new(TREE);
    let mut p = String::from("version 1\ninclude \"");
    p.push_str(&repo_root().join("policies/kmod.kdl").display().to_string());
    p.push_str("\"\n");
    for i in 0..100_000 {
        let _ = writeln!(
            p,
            "provider \"sym_{i}_*\" {{\n    prefer \"updates/**\" \"mod_{i}\"\n    reason \"rule {i}\"\n}}"
        );
    }
    let path = t.tmp.path().join("large.kdl");
    std::fs::write(&path, &p).unwrap();
    let t0 = Instant::now();
    let out = t.depmod(&["--policy", path.to_str().unwrap()]);
    let took = t0.elapsed();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(took < Duration::from_secs(300), "took {took:?}");
    // One summary line for the rules that matched nothing, not 100,000 warnings.
    let unmatched: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("unmatched-rule"))
        .collect();
    assert_eq!(unmatched.len(), 1, "{err}");
    assert!(
        unmatched[0].contains("100000 policy rules matched nothing") && unmatched[0].contains("-v"),
        "{}",
        unmatched[0]
    );
    note(&format!(
        "large_policy_loads_in_linear_time: 100,000 rules, {} bytes: {took:?}",
        p.len()
    ));
}

/// The renames of a set, interrupted at each one: `strace` kills the run at its N-th
/// `rename` system call (`rename`, `renameat`, `renameat2`: whichever libc uses), for
/// every N. After each kill every file is whole (old or new) and the journal lists the
/// set; the next run, even one that then fails and writes nothing (a strict policy),
/// first completes the set: the artifacts equal a clean run's byte for byte, with no
/// temporary or journal left.
#[test]
fn killed_at_every_rename() {
    if !sh("strace", &["-V"]) {
        panic!("strace is missing (apt-get install strace): cannot inject kills at renames");
    }
    let t = Tree::new(TREE);
    let old = previous(&t);
    let new = Tree::clean_run_of_changed(TREE);
    let dir = t.moddir();
    let renamed: usize = new.keys().filter(|n| old.get(*n) != new.get(*n)).count();
    assert!(renamed > 3, "too few artifacts change: {renamed}");
    let mut n = 1;
    loop {
        for (name, c) in &old {
            std::fs::write(dir.join(name), c).unwrap();
        }
        let mut c = Command::new("strace");
        c.args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            &format!("inject=rename,renameat,renameat2:signal=SIGKILL:when={n}"),
        ])
        .arg(modpolicy_bin())
        .arg("depmod")
        .arg("-b")
        .arg(t.root())
        .arg(FIXTURE_VERSION)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let out = c.output().expect("strace runs");
        let now = artifacts(&dir);
        if !now.contains_key(modpolicy::util::atomic::JOURNAL) {
            // No rename was interrupted: the run got past its last one.
            assert!(
                out.status.success() || n > 1,
                "kill {n}: {}",
                text(&out.stderr)
            );
            break;
        }
        for (name, c) in &now {
            if name.starts_with('.') {
                continue;
            }
            assert!(
                old.get(name) == Some(c) || new.get(name) == Some(c),
                "kill {n}: {name} is neither the previous nor the new version"
            );
        }
        // A run that fails after locking the directory (an unreadable module it must
        // deny) completes the set first.
        let bad = add_corrupt_module(&t);
        let out = t.depmod(&["--deny", "unreadable-module"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "kill {n}: {}",
            text(&out.stderr)
        );
        std::fs::remove_file(&bad).unwrap();
        let mut after = artifacts(&dir);
        after.retain(|k, _| !is_own_temp(k));
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            new.keys().collect::<Vec<_>>(),
            "kill {n}: after recovery"
        );
        assert_same(&dir, &new, &format!("kill {n}: recovered"));
        assert_recovers(&t, &[], &format!("kill {n}"));
        n += 1;
        assert!(n < 100, "no end to the renames");
    }
    note(&format!("killed_at_every_rename: {} kills", n - 1));
    assert!(
        n > renamed,
        "only {} kills for {renamed} changed artifacts",
        n - 1
    );
}
