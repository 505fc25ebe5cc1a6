//! Broken module files, next to kmod 30's `depmod`.
//!
//! Each test copies the small `namespaces` fixture tree twice, runs each tool once on its
//! good copy (so both start with the same artifacts), adds one broken entry under
//! `lib/modules/6.1.0-test/kernel/bad/` (or patches a module in place), and runs again:
//!
//! - a truncated ELF (the first 200 bytes of a real `.ko`);
//! - an ELF whose section-header offset `e_shoff` points past the end of the file;
//! - a corrupt `.ko.xz`, made with the `xz` CLI from a fixture module, and one taken from
//!   the 6.12 corpus, each with bytes flipped in the middle;
//! - a non-ELF file named `x.ko`;
//! - unreadable entries: a symlink loop `x.ko -> x.ko` and a dangling symlink (we run as
//!   root, so `chmod 000` would not make anything unreadable);
//! - symbol names with an 8-bit byte that is not UTF-8 (0xE9): an export, an export with
//!   its importer, an import nothing exports (`-n`, `-v`, `-e`); and 8-bit entries in
//!   `modules.builtin` and `modules.builtin.modinfo`.
//!
//! Ours must never panic, must exit 0 or 1, and must name the file in its message. Where
//! kmod 30 copes, everything must match it as in the conformance suite; where kmod 30
//! crashes (an 8-bit key in a `.bin` index: it segfaults or writes a corrupt index), only
//! our behaviour is checked. When our run
//! fails, the artifacts written by the good run must still be there, byte for byte.
//!
//! kmod is the oracle: missing kmod fails these tests unless `MODPOLICY_NO_CORPUS=1`, which
//! skips the comparison (our own checks still run) and, for the corpus case, the test.

#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use support::{assert_ours_sane, Comparison, Pair, RunOutput, Tool, FIXTURE_VERSION};

/// A real module of the base tree, the raw material of the broken files.
const GOOD_MODULE: &str = "kernel/drivers/ns/nsprov.ko";

/// What a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Oracle {
    /// kmod copes: compare everything with it.
    Compare,
    /// kmod crashes or misbehaves: check ours only.
    OursOnly,
}

/// The result of the second (broken) run.
struct Outcome {
    pair: Pair,
    /// kmod's second run, when it was compared.
    kmod: Option<RunOutput>,
    ours: RunOutput,
}

impl Outcome {
    fn ours_err(&self) -> String {
        self.ours
            .stderr_text()
            .replace(self.pair.root(Tool::Ours).to_str().unwrap(), "<ROOT>")
    }
}

fn moddir(root: &Path) -> PathBuf {
    root.join("lib/modules").join(FIXTURE_VERSION)
}

/// Runs the good tree, applies `breakit` to both copies' `lib/modules/VERSION`, runs
/// again. `names` is what our stderr must contain (with `@ROOT@` for the copy's root).
fn bad_case(test: &str, oracle: Oracle, names: &str, breakit: impl Fn(&Path)) -> Outcome {
    bad_case_with(test, oracle, names, &[], breakit)
}

/// [`bad_case`] with `args` for the second run of both tools (`@ROOT@` for the copy's
/// root).
fn bad_case_with(
    test: &str,
    oracle: Oracle,
    names: &str,
    args: &[String],
    breakit: impl Fn(&Path),
) -> Outcome {
    let with_kmod = oracle == Oracle::Compare && support::kmod(test).is_some();
    let pair = Pair::new(
        &support::fixture_trees().join("namespaces"),
        FIXTURE_VERSION,
    );

    // 1. The good tree: both write their artifacts (compared when kmod runs).
    let good_ours = pair.run(Tool::Ours, &[]);
    assert_eq!(
        good_ours.code,
        Some(0),
        "{test}: modpolicy failed on the good tree: {}",
        good_ours.stderr_text()
    );
    if with_kmod {
        let good_kmod = pair.run(Tool::Kmod, &[]);
        pair.compare(good_kmod, good_ours)
            .assert_same(&format!("{test} (good tree, before breaking it)"));
    }

    // 2. Break both copies the same way and snapshot ours.
    pair.each(|root| {
        let dir = moddir(root);
        std::fs::create_dir_all(dir.join("kernel/bad")).expect("mkdir");
        breakit(&dir);
    });
    let before = pair.snapshot(Tool::Ours);

    // 3. Run again.
    let ours = pair.run(Tool::Ours, args);
    let root_s = pair.root(Tool::Ours).to_str().unwrap().to_string();
    assert_ours_sane(test, &ours, Some(&names.replace("@ROOT@", &root_s)));
    if ours.code == Some(1) {
        let after = pair.snapshot(Tool::Ours);
        let changed: Vec<&String> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .chain(after.keys().filter(|k| !before.contains_key(*k)))
            .collect();
        assert!(
            changed.is_empty(),
            "{test}: modpolicy failed but changed the previous artifacts: {changed:?}"
        );
    }
    let kmod = if with_kmod {
        let kmod = pair.run(Tool::Kmod, args);
        let cmp: Comparison = pair.compare(kmod.clone(), ours.clone());
        eprintln!(
            "{test}: kmod 30 {} with stderr:\n{}",
            kmod.status(),
            kmod.stderr_text()
                .replace(pair.root(Tool::Kmod).to_str().unwrap(), "<ROOT>")
        );
        cmp.assert_same(test);
        Some(kmod)
    } else {
        None
    };
    Outcome { pair, kmod, ours }
}

fn good_module(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(GOOD_MODULE)).expect("fixture module")
}

#[test]
fn truncated_elf() {
    bad_case(
        "truncated_elf",
        Oracle::Compare,
        "@ROOT@/lib/modules/6.1.0-test/kernel/bad/x.ko",
        |dir| {
            let m = good_module(dir);
            std::fs::write(dir.join("kernel/bad/x.ko"), &m[..200]).expect("write");
        },
    );
}

#[test]
fn section_headers_past_end() {
    bad_case(
        "section_headers_past_end",
        Oracle::Compare,
        "@ROOT@/lib/modules/6.1.0-test/kernel/bad/x.ko",
        |dir| {
            let mut m = good_module(dir);
            assert_eq!(&m[..5], b"\x7fELF\x02", "fixture is ELF64");
            // e_shoff: 8 bytes little-endian at 0x28 in ELF64.
            let past = (m.len() as u64 + 0x1000).to_le_bytes();
            m[0x28..0x30].copy_from_slice(&past);
            std::fs::write(dir.join("kernel/bad/x.ko"), &m).expect("write");
        },
    );
}

/// Flips 16 bytes in the middle of `data`.
fn corrupt_middle(data: &mut [u8]) {
    let mid = data.len() / 2;
    for b in &mut data[mid..mid + 16] {
        *b ^= 0xff;
    }
}

#[test]
fn corrupt_xz_from_fixture() {
    bad_case(
        "corrupt_xz_from_fixture",
        Oracle::Compare,
        "@ROOT@/lib/modules/6.1.0-test/kernel/bad/x.ko.xz",
        |dir| {
            // Compressed as the kernel's Makefile does (crc32 check, 1 MiB dictionary).
            let out = std::process::Command::new("xz")
                .args(["--check=crc32", "--lzma2=dict=1MiB", "-c"])
                .arg(dir.join(GOOD_MODULE))
                .output()
                .expect("the xz CLI is needed (apt-get install -y xz-utils)");
            assert!(out.status.success(), "xz failed");
            let mut x = out.stdout;
            corrupt_middle(&mut x);
            std::fs::write(dir.join("kernel/bad/x.ko.xz"), &x).expect("write");
        },
    );
}

#[test]
fn corrupt_xz_from_corpus() {
    let test = "corrupt_xz_from_corpus";
    let Some(c) = support::corpus(test) else {
        return;
    };
    let src = c
        .v6_12
        .root
        .join("lib/modules")
        .join(c.v6_12.version)
        .join("kernel/net/key/af_key.ko.xz");
    let mut x = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    corrupt_middle(&mut x);
    bad_case(
        test,
        Oracle::Compare,
        "@ROOT@/lib/modules/6.1.0-test/kernel/bad/af_key.ko.xz",
        |dir| std::fs::write(dir.join("kernel/bad/af_key.ko.xz"), &x).expect("write"),
    );
}

#[test]
fn not_elf() {
    bad_case(
        "not_elf",
        Oracle::Compare,
        "@ROOT@/lib/modules/6.1.0-test/kernel/bad/x.ko",
        |dir| {
            std::fs::write(dir.join("kernel/bad/x.ko"), "this is not an ELF file\n").expect("write")
        },
    );
}

#[test]
fn symlink_loop() {
    // kmod names the entry by its name within the directory only.
    bad_case("symlink_loop", Oracle::Compare, "x.ko", |dir| {
        std::os::unix::fs::symlink("x.ko", dir.join("kernel/bad/x.ko")).expect("symlink")
    });
}

#[test]
fn dangling_symlink() {
    bad_case("dangling_symlink", Oracle::Compare, "x.ko", |dir| {
        std::os::unix::fs::symlink("nowhere.ko", dir.join("kernel/bad/x.ko")).expect("symlink")
    });
}

/// Gives `nsprov`'s export `nsprov_plain_fn` (which nothing imports) a Latin-1 byte,
/// `ns\xe9rov_plain_fn`: not UTF-8 text.
fn latin1_export(dir: &Path) {
    let p = dir.join(GOOD_MODULE);
    let mut m = std::fs::read(&p).expect("fixture module");
    let needle = b"\0__crc_nsprov_plain_fn\0";
    let at = m
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the fixture has __crc_nsprov_plain_fn in .strtab");
    // "__crc_ns" + 0xE9 + "rov_plain_fn"
    m[at + 1 + 8] = 0xe9;
    std::fs::write(&p, &m).expect("write");
}

/// Renames `ns_plain_fn` to `ns_\xe9lain_fn` (a Latin-1 byte, not UTF-8) everywhere in
/// the modules `rels` (the exporter's `__crc_`/`__ksymtab_` symbols and strings, an
/// importer's `.strtab` and `__versions`).
fn latin1_symbol(dir: &Path, rels: &[&str]) {
    for rel in rels {
        let p = dir.join(rel);
        let m = std::fs::read(&p).expect("fixture module");
        let n = m.windows(11).filter(|w| w == b"ns_plain_fn").count();
        assert!(n >= 1, "{rel} names ns_plain_fn");
        std::fs::write(
            &p,
            support::replace_bytes(&m, b"ns_plain_fn", b"ns_\xe9lain_fn"),
        )
        .expect("write");
    }
}

/// An export whose name is not UTF-8 (`ns\xe9rov_plain_fn`), with `-n`: kmod 30 reads
/// names as bytes and prints `modules.dep`, `modules.alias`, `modules.softdep` and
/// `modules.symbols` (the name's byte as it is, in its hash order); so must we.
#[test]
fn eight_bit_export_name_dry_run() {
    bad_case_with(
        "eight_bit_export_name_dry_run",
        Oracle::Compare,
        "",
        &support::args(&["-n"]),
        latin1_export,
    );
}

/// The same module without `-n`: kmod 30 cannot put the name in `modules.symbols.bin`
/// (its index code indexes a child array with the negative `char`): it segfaults on
/// this tree after renaming some files into place (with `\xc3\xa9` instead, it writes a
/// corrupt index and exits 0), so there is no behaviour to match. We refuse as kmod 34
/// does: a fatal error naming the module, the key and the byte, exit 1, nothing written.
#[test]
fn eight_bit_export_name() {
    let test = "eight_bit_export_name";
    let o = bad_case(
        test,
        Oracle::OursOnly,
        &format!("@ROOT@/lib/modules/6.1.0-test/{GOOD_MODULE}"),
        latin1_export,
    );
    assert!(o.kmod.is_none());
    assert_eq!(
        o.ours.code,
        Some(1),
        "{test}: expected a fatal error; stderr:\n{}",
        o.ours_err()
    );
    let err = o.ours_err();
    assert!(
        err.starts_with("depmod: FATAL: cannot write modules.symbols.bin: ")
            && err.contains(r#"key "symbol:ns\xe9rov_plain_fn" has the byte 0xe9 at offset 9"#)
            && err.ends_with(&format!(
                "; the entry comes from module nsprov (<ROOT>/lib/modules/6.1.0-test/{GOOD_MODULE})\n"
            )),
        "{test}: stderr:\n{err}"
    );
}

/// An 8-bit symbol (not UTF-8) exported by `nsprov` and imported by `nsuser`, with `-n`:
/// kmod matches the import to the export byte for byte (`nsuser` keeps its dependency)
/// and prints the name as it is.
#[test]
fn eight_bit_symbol_resolved_dry_run() {
    bad_case_with(
        "eight_bit_symbol_resolved_dry_run",
        Oracle::Compare,
        "",
        &support::args(&["-n", "-v"]),
        |dir| latin1_symbol(dir, &[GOOD_MODULE, "kernel/drivers/ns/nsuser.ko"]),
    );
}

/// An 8-bit import (not UTF-8) that nothing exports, with `-e -F` (a one-line
/// `System.map`): imports never go into an index, so kmod 30 writes everything and warns
/// `needs unknown symbol` with the name's byte as it is; so must we, byte for byte.
#[test]
fn eight_bit_unknown_import_warned() {
    bad_case_with(
        "eight_bit_unknown_import_warned",
        Oracle::Compare,
        "",
        &support::args(&["-e", "-F", "@ROOT@/System.map"]),
        |dir| {
            latin1_symbol(dir, &["kernel/drivers/ns/nsuser.ko"]);
            let root = dir.ancestors().nth(3).expect("the copy's root");
            std::fs::write(root.join("System.map"), "ffffffff81000000 T _stext\n")
                .expect("write System.map");
        },
    );
}

/// An 8-bit byte in `modules.builtin` and in an alias of `modules.builtin.modinfo`: kmod
/// 30's index code reads a negative `char` as a child index there (undefined behaviour: it
/// wrote a corrupt index and exited 0 on these trees), so only ours is checked. The key
/// cannot go into the `.bin` index: one fatal line names the artifact, the key and byte,
/// and the line or built-in module and file it comes from (it once read `module
/// (modules.builtin.bin)`, with no name); nothing is written.
#[test]
fn eight_bit_builtin_entries() {
    let cases: [(&str, &str, &[u8], &str); 2] = [
        (
            "eight_bit_builtin_line",
            "modules.builtin",
            b"kernel/drivers/ok.ko\nkernel/drivers/caf\xe9.ko\n",
            "depmod: FATAL: cannot write modules.builtin.bin: key \"caf\\xe9\" has the byte 0xe9 \
             at offset 3, which a .bin index cannot hold (keys are 7-bit ASCII without NUL); \
             the entry comes from line 2 of <ROOT>/lib/modules/6.1.0-test/modules.builtin\n",
        ),
        (
            "eight_bit_builtin_alias",
            "modules.builtin.modinfo",
            b"caf.file=x\0caf.alias=pci:v\xe9*\0",
            "depmod: FATAL: cannot write modules.builtin.alias.bin: key \"pci:v\\xe9*\" has the \
             byte 0xe9 at offset 5, which a .bin index cannot hold (keys are 7-bit ASCII without \
             NUL); the entry comes from an alias of the built-in module caf in \
             <ROOT>/lib/modules/6.1.0-test/modules.builtin.modinfo\n",
        ),
    ];
    for (test, file, contents, want) in cases {
        let o = bad_case(test, Oracle::OursOnly, "", |dir| {
            std::fs::write(dir.join(file), contents).expect("write")
        });
        assert_eq!(o.ours.code, Some(1), "{test}");
        assert_eq!(o.ours_err(), want, "{test}");
    }
}

/// FIFOs and devices where modules belong, directly and through symlinks (a FIFO named
/// like a module, one named otherwise, `/dev/null` behind a `.ko` symlink, a symlink in
/// a subdirectory to the FIFO): kmod 30 prints `unsupported file type PATH: MODE` for each
/// in walk order and goes on; so must we, without ever opening them.
#[test]
fn fifo_and_device_modules() {
    bad_case(
        "fifo_and_device_modules",
        Oracle::Compare,
        "unsupported file type @ROOT@/lib/modules/6.1.0-test/kernel/bad/x.ko: 10000",
        |dir| {
            let bad = dir.join("kernel/bad");
            mkfifo(&bad.join("x.ko"));
            mkfifo(&bad.join("y.txt"));
            std::os::unix::fs::symlink("/dev/null", bad.join("z.ko")).expect("symlink");
            std::fs::create_dir(bad.join("sub")).expect("mkdir");
            std::os::unix::fs::symlink("../x.ko", bad.join("sub/v.ko")).expect("symlink");
        },
    );
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().expect("UTF-8 path")).expect("no NUL");
    // SAFETY: `c` is a valid NUL-terminated path for the call.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        p.display()
    );
}

/// Runs `modpolicy ARGS` with a deadline: a hang fails the test instead of stalling it.
fn ours_within(args: &[String], secs: u64) -> RunOutput {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(support::modpolicy_bin())
        .args(args)
        .env("LC_ALL", "C")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn modpolicy");
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            return RunOutput {
                code: st.code(),
                signal: st.signal(),
                stdout: out.stdout,
                stderr: out.stderr,
            };
        }
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("modpolicy {args:?} still running after {secs} s (blocked on a FIFO?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A copy of the `namespaces` tree for the cases kmod cannot be compared on.
fn tree_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("t");
    support::copy_tree(&support::fixture_trees().join("namespaces"), &root);
    (tmp, root)
}

/// Inputs kmod 30 blocks on (a FIFO as a depmod.d file, as `-C`, as `modules.order`,
/// `modules.builtin`, `-E`, `-F`, a policy, an included policy) or reads until a buffer
/// overflows (`-C /dev/zero`, a depmod.d entry linked to `/dev/zero`, `-E /dev/zero`):
/// we finish at once with an error naming the file, and read the rest as kmod does.
#[test]
fn fifo_and_endless_inputs_never_block() {
    let (tmp, root) = tree_copy();
    let r = root.to_str().unwrap().to_string();
    let moddir = moddir(&root);
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap().to_string();
    let conf = root.join("etc/depmod.d");
    std::fs::create_dir_all(&conf).unwrap();
    mkfifo(&conf.join("a.conf"));
    std::os::unix::fs::symlink("/dev/zero", conf.join("b.conf")).unwrap();
    let c = conf.to_str().unwrap().to_string();
    let depmod = |extra: &[&str]| -> Vec<String> {
        let mut a = support::args(&["depmod", "-b", &r]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a.push(FIXTURE_VERSION.into());
        a
    };
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            depmod(&["-C", &c]),
            format!("could not open '{c}/a.conf': not a regular file (a FIFO)"),
        ),
        (
            depmod(&["-C", &c]),
            format!("could not open '{c}/b.conf': larger than 16777216 bytes, modpolicy's limit for depmod.d configuration files"),
        ),
        (
            depmod(&["-C", "/dev/zero"]),
            "could not open '/dev/zero': larger than 16777216 bytes, modpolicy's limit for depmod.d configuration files".into(),
        ),
        (
            depmod(&["-E", "/dev/zero"]),
            "could not load /dev/zero: not a regular file (a character device)".into(),
        ),
        (
            depmod(&["-F", "/dev/zero"]),
            "could not load /dev/zero: not a regular file (a character device)".into(),
        ),
        // A FIFO given on the command line may be a pipe: with no writer it is empty.
        (depmod(&["-C", &f]), String::new()),
        (depmod(&["-E", &f]), String::new()),
        (
            support::args(&["explain", "-b", &r, "-C", &c, FIXTURE_VERSION, "ns_fn"]),
            format!("could not open '{c}/a.conf': not a regular file (a FIFO)"),
        ),
    ];
    for (args, want) in &cases {
        let out = ours_within(args, 20);
        assert!(
            out.stderr_text().contains(want.as_str()),
            "{args:?}: stderr:\n{}",
            out.stderr_text()
        );
        assert!(out.code.is_some(), "{args:?}: {}", out.status());
    }
    // modules.order and modules.builtin as FIFOs: the walk reports them as kmod does,
    // and reading them fails without blocking.
    for name in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        let p = moddir.join(name);
        std::fs::remove_file(&p).ok();
        mkfifo(&p);
    }
    let out = ours_within(&depmod(&[]), 20);
    let err = out.stderr_text();
    for name in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        assert!(
            err.contains(&format!(
                "depmod: ERROR: unsupported file type {}/{name}: 10000",
                moddir.display()
            )),
            "{name}: {err}"
        );
        assert!(
            err.contains(&format!(
                "could not open {name} at {}: not a regular file (a FIFO)",
                moddir.display()
            )),
            "{name}: {err}"
        );
    }
    assert_eq!(out.code, Some(0), "{err}");
    // A policy that includes a FIFO, and one that is a FIFO: `policy lint` and `check`.
    let inc = tmp.path().join("inc.kdl");
    std::fs::write(&inc, format!("version 1\ninclude \"{f}\"\n")).unwrap();
    let i = inc.to_str().unwrap().to_string();
    let out = ours_within(&support::args(&["policy", "lint", &i]), 20);
    assert!(
        out.stderr_text()
            .contains(&format!("{f}: not a regular file (a FIFO)")),
        "{}",
        out.stderr_text()
    );
    assert_eq!(out.code, Some(1));
    let out = ours_within(
        &support::args(&["check", "--policy", &i, moddir.to_str().unwrap()]),
        20,
    );
    assert!(
        out.stderr_text()
            .contains(&format!("{f}: not a regular file (a FIFO)")),
        "{}",
        out.stderr_text()
    );
    // `policy import-depmod-conf` on a device and on a directory holding a FIFO.
    for (arg, want) in [
        (
            "/dev/zero".to_string(),
            "'/dev/zero': larger than 16777216 bytes, modpolicy's limit for depmod.d configuration files".to_string(),
        ),
        (
            c.clone(),
            format!("'{c}/a.conf': not a regular file (a FIFO)"),
        ),
    ] {
        let out = ours_within(&support::args(&["policy", "import-depmod-conf", &arg]), 20);
        assert!(
            out.stderr_text().contains(&want),
            "{arg}: {}",
            out.stderr_text()
        );
    }
}

/// A text input larger than its limit is refused with the limit named, without reading
/// past it: a sparse 600 MiB `Module.symvers`, a 20 MiB depmod.d file.
#[test]
fn oversized_text_inputs_name_the_limit() {
    let (tmp, root) = tree_copy();
    let r = root.to_str().unwrap().to_string();
    let big = tmp.path().join("Module.symvers");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    let conf = tmp.path().join("big.conf");
    std::fs::File::create(&conf)
        .unwrap()
        .set_len(20 << 20)
        .unwrap();
    let want = format!(
        "depmod: FATAL: could not load {}: larger than 536870912 bytes, modpolicy's limit for \
         Module.symvers and System.map",
        big.display()
    );
    let out = ours_within(
        &support::args(&[
            "depmod",
            "-b",
            &r,
            "-E",
            big.to_str().unwrap(),
            FIXTURE_VERSION,
        ]),
        20,
    );
    assert!(out.stderr_text().contains(&want), "{}", out.stderr_text());
    assert_eq!(out.code, Some(1));
    let out = ours_within(
        &support::args(&[
            "depmod",
            "-b",
            &r,
            "-C",
            conf.to_str().unwrap(),
            FIXTURE_VERSION,
        ]),
        20,
    );
    assert!(
        out.stderr_text().contains(&format!(
            "could not open '{}': larger than 16777216 bytes, modpolicy's limit for depmod.d configuration files",
            conf.display()
        )),
        "{}",
        out.stderr_text()
    );
    assert_eq!(out.code, Some(0));
}

/// ELF64 section headers of a module: `(header offset, name, sh_offset, sh_size, sh_link)`.
fn sections(m: &[u8]) -> Vec<(usize, String, u64, u64, u32)> {
    let u16_at = |o: usize| u16::from_le_bytes(m[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(m[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(m[o..o + 8].try_into().unwrap());
    let (shoff, shnum, shstrndx) = (u64_at(0x28) as usize, u16_at(0x3c), u16_at(0x3e));
    let names_off = u64_at(shoff + shstrndx * 64 + 24) as usize;
    (0..shnum)
        .map(|i| {
            let h = shoff + i * 64;
            let n = names_off + u32_at(h) as usize;
            let end = n + m[n..].iter().position(|&b| b == 0).unwrap();
            let name = String::from_utf8_lossy(&m[n..end]).into_owned();
            (h, name, u64_at(h + 24), u64_at(h + 32), u32_at(h + 40))
        })
        .collect()
}

/// Points section `name` of the module at `rel` past the end of the file.
fn section_past_eof(dir: &Path, rel: &str, name: &str) {
    let p = dir.join(rel);
    let mut m = std::fs::read(&p).expect("module");
    let (h, ..) = sections(&m)
        .into_iter()
        .find(|s| s.1 == name)
        .unwrap_or_else(|| panic!("{rel} has {name}"));
    let past = (m.len() as u64 + 4096).to_le_bytes();
    m[h + 24..h + 32].copy_from_slice(&past);
    std::fs::write(&p, &m).expect("write");
}

/// `__versions` pointing past the end of the file: kmod skips that section only (the
/// imports come from `.symtab`, without CRCs) and keeps the module's dependencies.
#[test]
fn versions_past_eof() {
    bad_case("versions_past_eof", Oracle::Compare, "", |dir| {
        section_past_eof(dir, "kernel/drivers/ns/nsuser.ko", "__versions")
    });
}

/// `__ksymtab_strings` pointing past the end: kmod still takes the exports from the
/// `__crc_*` symbols of `.symtab`, so the importers keep their provider.
#[test]
fn ksymtab_strings_past_eof() {
    bad_case("ksymtab_strings_past_eof", Oracle::Compare, "", |dir| {
        section_past_eof(dir, GOOD_MODULE, "__ksymtab_strings")
    });
}

/// Gives `nsuser` an import `len` bytes long: the string table is copied to the end of
/// the file with the long name appended, and the import of `__x86_return_thunk` (which
/// nothing in the tree provides) is renamed to it.
fn long_import_name(dir: &Path, len: usize) {
    let p = dir.join("kernel/drivers/ns/nsuser.ko");
    let mut m = std::fs::read(&p).expect("module");
    let secs = sections(&m);
    let symtab = secs
        .iter()
        .find(|s| s.1 == ".symtab")
        .expect(".symtab")
        .clone();
    let strtab = secs[symtab.4 as usize].clone();
    let (old_off, old_size) = (strtab.2 as usize, strtab.3 as usize);
    let want = b"\0__x86_return_thunk\0";
    let target = m[old_off..old_off + old_size]
        .windows(want.len())
        .position(|w| w == want)
        .expect("the name in .strtab") as u32
        + 1;
    let new_off = m.len() as u64;
    let copy = m[old_off..old_off + old_size].to_vec();
    m.extend_from_slice(&copy);
    let long_at = (m.len() as u64 - new_off) as u32;
    m.extend(std::iter::repeat_n(b'L', len));
    m.push(0);
    let new_size = m.len() as u64 - new_off;
    m[strtab.0 + 24..strtab.0 + 32].copy_from_slice(&new_off.to_le_bytes());
    m[strtab.0 + 32..strtab.0 + 40].copy_from_slice(&new_size.to_le_bytes());
    let mut hit = 0;
    for s in (symtab.2 as usize..(symtab.2 + symtab.3) as usize).step_by(24) {
        if u32::from_le_bytes(m[s..s + 4].try_into().unwrap()) == target {
            m[s..s + 4].copy_from_slice(&long_at.to_le_bytes());
            hit += 1;
        }
    }
    assert_eq!(hit, 1, "one symbol named __x86_return_thunk");
    std::fs::write(&p, &m).expect("write");
}

/// Import names of 4,095 and 70,000 bytes: kmod reads the module (its other imports
/// still give its dependencies); we declared it unreadable before.
#[test]
fn long_import_names() {
    for len in [4095, 70_000] {
        bad_case(
            &format!("long_import_name_{len}"),
            Oracle::Compare,
            "",
            |dir| long_import_name(dir, len),
        );
    }
}

/// An import name with an 8-bit byte (in `.strtab`, so also in `__versions`' record for
/// it): imports never go into an index, and kmod reads them; the run is not refused.
/// Once as UTF-8 (`é`, two bytes for two: `_r` becomes `\xc3\xa9`) and once as a lone
/// Latin-1 byte.
#[test]
fn eight_bit_import_names() {
    for (test, patch) in [
        ("eight_bit_import_utf8", &b"\xc3\xa9"[..]),
        ("eight_bit_import_latin1", &b"\xe9_"[..]),
    ] {
        bad_case(test, Oracle::Compare, "", |dir| {
            let p = dir.join("kernel/drivers/ns/nsuser.ko");
            let mut m = std::fs::read(&p).expect("module");
            let needle = b"__x86_return_thunk\0";
            let mut n = 0;
            let mut at = 0;
            while let Some(i) = m[at..].windows(needle.len()).position(|w| w == needle) {
                let s = at + i;
                m[s + 5..s + 7].copy_from_slice(patch);
                n += 1;
                at = s + needle.len();
            }
            assert!(n >= 1, "{test}: the name is in the module");
            std::fs::write(&p, &m).expect("write");
        });
    }
}
