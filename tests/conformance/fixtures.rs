//! The small trees of `tests/fixtures/trees/` (kernel version `6.1.0-test`; see that
//! directory's README.md), each in two modes: plain, and `-e -E <tree>/Module.symvers`.
//!
//! Trees with an `etc/depmod.d` get `-C <copy>/etc/depmod.d`, and `@TREE@` in its `.conf`
//! files is replaced by each copy's own absolute path (outputs are compared with the copy
//! paths normalised). The `cycle` and `cycles-*` trees (several cycles sharing modules, in
//! several module orders) must fail with exit 1, identical `Cycle detected` errors (the
//! same cycles, each starting where kmod starts it) and no files written. The `modules.order` tests damage the `dup-export-ab` tree's
//! order file, where the order decides which of two exporters wins.

use crate::support::{self, args, list_files, Comparison, Pair, Tool, FIXTURE_VERSION};
use std::path::Path;

/// Every tree this file tests, by directory name.
const TREES: &[&str] = &[
    "cycle",
    "cycles-loops",
    "cycles-loops-unlisted",
    "cycles-ring",
    "depmod-conf-default",
    "depmod-conf-exclude",
    "depmod-conf-external",
    "depmod-conf-override",
    "depmod-conf-search",
    "devices",
    "diag",
    "dup-export-ab",
    "dup-export-ba",
    "namespaces",
    "updates-override",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Symvers,
}

/// Copies `tree`, prepares `@TREE@`, runs both tools with the tree's `-C` (if any) and the
/// mode's arguments, after `edit` has been applied to both copies.
fn run_tree(
    test: &str,
    tree: &str,
    mode: Mode,
    edit: impl Fn(&Path),
) -> Option<(Pair, Comparison)> {
    support::kmod(test)?;
    let src = support::fixture_trees().join(tree);
    assert!(src.is_dir(), "{} is missing", src.display());
    let pair = Pair::new(&src, FIXTURE_VERSION);
    pair.substitute_tree_placeholder();
    pair.each(&edit);
    let mut a = Vec::new();
    if src.join("etc/depmod.d").is_dir() {
        a.extend(args(&["-C", "@ROOT@/etc/depmod.d"]));
    }
    if mode == Mode::Symvers {
        a.extend(args(&["-e", "-E", "@ROOT@/Module.symvers"]));
    }
    let cmp = pair.run_both(&a);
    cmp.assert_same(test);
    Some((pair, cmp))
}

fn check(test: &str, tree: &str, mode: Mode) {
    let Some((pair, cmp)) = run_tree(test, tree, mode, |_| {}) else {
        return;
    };
    if tree == "cycle" || tree.starts_with("cycles-") {
        assert_eq!(cmp.kmod.code, Some(1), "{test}: kmod should fail");
        let err = cmp.kmod.stderr_text();
        assert!(
            err.contains("depmod: ERROR: Cycle detected: "),
            "{test}: kmod did not report the cycle: {err}"
        );
        let src = support::fixture_trees()
            .join(tree)
            .join("lib/modules")
            .join(FIXTURE_VERSION);
        for t in [Tool::Kmod, Tool::Ours] {
            assert_eq!(
                list_files(&pair.moddir(t)),
                list_files(&src),
                "{test}: {} wrote files although it failed",
                t.label()
            );
        }
    } else {
        assert_eq!(cmp.kmod.code, Some(0), "{test}: kmod failed");
        assert!(
            pair.moddir(Tool::Kmod).join("modules.dep.bin").is_file(),
            "{test}: kmod wrote no modules.dep.bin"
        );
    }
}

macro_rules! tree_tests {
    ($($plain:ident, $symvers:ident: $tree:literal;)*) => {
        $(
            #[test]
            fn $plain() {
                check(stringify!($plain), $tree, Mode::Plain);
            }
            #[test]
            fn $symvers() {
                check(stringify!($symvers), $tree, Mode::Symvers);
            }
        )*
        /// The list above names every tree in `tests/fixtures/trees/` (and `TREES` too).
        #[test]
        fn every_fixture_tree_is_tested() {
            let listed: Vec<&str> = vec![$($tree),*];
            assert_eq!(listed, TREES);
            let mut on_disk: Vec<String> = std::fs::read_dir(support::fixture_trees())
                .expect("tests/fixtures/trees")
                .flatten()
                .filter(|e| e.path().join("lib/modules").join(FIXTURE_VERSION).is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            assert_eq!(on_disk, TREES, "tests/fixtures/trees/ and the test list differ");
        }
    };
}

tree_tests! {
    tree_cycle_plain, tree_cycle_symvers: "cycle";
    tree_cycles_loops_plain, tree_cycles_loops_symvers: "cycles-loops";
    tree_cycles_loops_unlisted_plain, tree_cycles_loops_unlisted_symvers: "cycles-loops-unlisted";
    tree_cycles_ring_plain, tree_cycles_ring_symvers: "cycles-ring";
    tree_depmod_conf_default_plain, tree_depmod_conf_default_symvers: "depmod-conf-default";
    tree_depmod_conf_exclude_plain, tree_depmod_conf_exclude_symvers: "depmod-conf-exclude";
    tree_depmod_conf_external_plain, tree_depmod_conf_external_symvers: "depmod-conf-external";
    tree_depmod_conf_override_plain, tree_depmod_conf_override_symvers: "depmod-conf-override";
    tree_depmod_conf_search_plain, tree_depmod_conf_search_symvers: "depmod-conf-search";
    tree_devices_plain, tree_devices_symvers: "devices";
    tree_diag_plain, tree_diag_symvers: "diag";
    tree_dup_export_ab_plain, tree_dup_export_ab_symvers: "dup-export-ab";
    tree_dup_export_ba_plain, tree_dup_export_ba_symvers: "dup-export-ba";
    tree_namespaces_plain, tree_namespaces_symvers: "namespaces";
    tree_updates_override_plain, tree_updates_override_symvers: "updates-override";
}

/// The external tree's outputs really hold the copy's absolute path (so the `@TREE@`
/// substitution took effect and the normalised comparison compared something).
#[test]
fn tree_depmod_conf_external_uses_absolute_path() {
    let test = "tree_depmod_conf_external_uses_absolute_path";
    let Some((pair, _)) = run_tree(test, "depmod-conf-external", Mode::Plain, |_| {}) else {
        return;
    };
    for t in [Tool::Kmod, Tool::Ours] {
        let dep = std::fs::read_to_string(pair.moddir(t).join("modules.dep")).expect("modules.dep");
        let want = format!("{}/opt/external/prio/prio.ko", pair.root(t).display());
        assert!(
            dep.contains(&want),
            "{test}: {}'s modules.dep lacks {want}:\n{dep}",
            t.label()
        );
    }
}

fn order_file(root: &Path) -> std::path::PathBuf {
    root.join("lib/modules")
        .join(FIXTURE_VERSION)
        .join("modules.order")
}

fn modules_dep(pair: &Pair) -> String {
    std::fs::read_to_string(pair.moddir(Tool::Kmod).join("modules.dep")).expect("modules.dep")
}

/// `modules.order` with `dupa` listed again at the end: kmod 30 keeps the last index, so
/// `dupa` (not `dupb`) becomes the provider of `dup_shared_fn`.
#[test]
fn order_duplicated_line() {
    let test = "order_duplicated_line";
    let Some((pair, _)) = run_tree(test, "dup-export-ab", Mode::Symvers, |root| {
        let p = order_file(root);
        let mut s = std::fs::read_to_string(&p).expect("modules.order");
        s.push_str("kernel/drivers/dup/dupa.ko\n");
        std::fs::write(&p, s).expect("write");
    }) else {
        return;
    };
    let dep = modules_dep(&pair);
    assert!(
        dep.contains("kernel/drivers/dup/dupuser.ko: kernel/drivers/dup/dupa.ko"),
        "{test}: kmod's modules.dep:\n{dep}"
    );
}

/// Every line of `modules.order` written twice in a row.
#[test]
fn order_every_line_twice() {
    run_tree(
        "order_every_line_twice",
        "dup-export-ab",
        Mode::Plain,
        |root| {
            let p = order_file(root);
            let s = std::fs::read_to_string(&p).expect("modules.order");
            let doubled: String = s.lines().map(|l| format!("{l}\n{l}\n")).collect();
            std::fs::write(&p, doubled).expect("write");
        },
    );
}

/// No `modules.order` at all.
#[test]
fn order_missing() {
    let test = "order_missing";
    let Some((_, cmp)) = run_tree(test, "dup-export-ab", Mode::Plain, |root| {
        std::fs::remove_file(order_file(root)).expect("remove modules.order");
    }) else {
        return;
    };
    let err = cmp.kmod.stderr_text();
    assert!(
        err.contains("depmod: WARNING: could not open modules.order at "),
        "{test}: kmod's stderr: {err}"
    );
}

/// `modules.order` whose last line has no newline.
#[test]
fn order_no_final_newline() {
    let test = "order_no_final_newline";
    let Some((_, cmp)) = run_tree(test, "dup-export-ab", Mode::Plain, |root| {
        let p = order_file(root);
        let mut b = std::fs::read(&p).expect("modules.order");
        assert_eq!(b.pop(), Some(b'\n'));
        std::fs::write(&p, b).expect("write");
    }) else {
        return;
    };
    let err = cmp.kmod.stderr_text();
    assert!(
        err.contains("corrupted line misses '\\n'"),
        "{test}: kmod's stderr: {err}"
    );
}

/// `dup-export-ba`'s `modules.order` (dupb, dupa, dupuser: dupa wins `dup_shared_fn`)
/// with its second line corrupted as kmod reads it: kmod stops there, ignores the whole
/// file (so dupb wins, by hash order) and says
/// `modules.order:2 corrupted line misses '\n'`.
fn order_corrupted_line(test: &str, corrupt: impl Fn(&mut Vec<u8>)) {
    let Some((pair, cmp)) = run_tree(test, "dup-export-ba", Mode::Symvers, |root| {
        let p = order_file(root);
        let s = std::fs::read_to_string(&p).expect("modules.order");
        let mut lines: Vec<Vec<u8>> = s.lines().map(|l| l.as_bytes().to_vec()).collect();
        corrupt(&mut lines[1]);
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(&l);
            out.push(b'\n');
        }
        std::fs::write(&p, out).expect("write");
    }) else {
        return;
    };
    let err = cmp.kmod.stderr_text();
    assert!(
        err.contains("modules.order:2 corrupted line misses '\\n'"),
        "{test}: kmod's stderr: {err}"
    );
    let dep = modules_dep(&pair);
    assert!(
        dep.contains("kernel/drivers/dup/dupuser.ko: kernel/drivers/dup/dupb.ko"),
        "{test}: with the order ignored, hash order decides (dupb, where the order said \
         dupa): kmod's modules.dep:\n{dep}"
    );
}

/// A NUL byte inside a line.
#[test]
fn order_line_with_nul() {
    order_corrupted_line("order_line_with_nul", |l| l.insert(3, 0));
}

/// A line of exactly 4,095 bytes before its newline (kmod's `fgets` reads 4,095 at a time).
#[test]
fn order_line_of_4095_bytes() {
    order_corrupted_line("order_line_of_4095_bytes", |l| {
        l.resize(4095, b'x');
    });
}

/// A line of a megabyte: the same, and only its first 4 KiB are read.
#[test]
fn order_line_of_a_megabyte() {
    order_corrupted_line("order_line_of_a_megabyte", |l| {
        l.resize(1 << 20, b'x');
    });
}

/// One byte shorter than kmod's limit, and a line that starts with NUL (kmod skips it,
/// counting it): not corrupted, the order still applies.
#[test]
fn order_lines_kmod_still_reads() {
    let test = "order_lines_kmod_still_reads";
    let Some((_, cmp)) = run_tree(test, "dup-export-ab", Mode::Plain, |root| {
        let p = order_file(root);
        let mut b = std::fs::read(&p).expect("modules.order");
        b.extend(std::iter::repeat_n(b'y', 4094));
        b.extend_from_slice(b"\n\0kernel/drivers/dup/dupa.ko\n");
        std::fs::write(&p, b).expect("write");
    }) else {
        return;
    };
    assert!(
        !cmp.kmod.stderr_text().contains("corrupted"),
        "{test}: kmod's stderr: {}",
        cmp.kmod.stderr_text()
    );
}
