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
//! - an export whose name has an 8-bit byte (`__crc_<name>` in `.strtab` patched to 0xE9).
//!
//! Ours must never panic, must exit 0 or 1, and must name the file in its message. Where
//! kmod 30 copes, everything must match it as in the conformance suite; where kmod 30
//! crashes (the 8-bit export: it segfaults), only our behaviour is checked. When our run
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
    let ours = pair.run(Tool::Ours, &[]);
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
        let kmod = pair.run(Tool::Kmod, &[]);
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

/// kmod 30 segfaults on this tree (after writing some files), so only our behaviour is
/// checked: a fatal error naming the module, exit 1, previous artifacts untouched.
#[test]
fn eight_bit_export_name() {
    let test = "eight_bit_export_name";
    let o = bad_case(
        test,
        Oracle::OursOnly,
        &format!("@ROOT@/lib/modules/6.1.0-test/{GOOD_MODULE}"),
        |dir| {
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
        },
    );
    assert!(o.kmod.is_none());
    assert_eq!(
        o.ours.code,
        Some(1),
        "{test}: expected a fatal error; stderr:\n{}",
        o.ours_err()
    );
    assert!(
        o.ours_err().starts_with("depmod: FATAL: "),
        "{test}: stderr:\n{}",
        o.ours_err()
    );
}
