//! The two Debian cloud kernels of the shared corpus (6.1 with plain `.ko`, 6.12 with
//! `.ko.xz`), one test per (tree, mode):
//!
//! - `plain`: `depmod -b ROOT VERSION`;
//! - `stub_map`: `-F ROOT/boot/System.map-VERSION -e`, the image's one-line stub map, so
//!   every vmlinux import is reported (about 43,000 / 46,000 "needs unknown symbol" lines,
//!   all compared);
//! - `real_map`: `-F <real System.map from system-map/> -e`;
//! - `symvers`: `-E <headers package Module.symvers> -e`;
//! - `show`: `-n` (the artifacts on stdout, nothing written);
//! - `warn`: `-w`;
//! - `verbose`: `-v` (each dependency edge on stdout);
//! - `kmod_policy_*`: `plain` and `symvers` again, ours with `--policy policies/kmod.kdl`.
//!
//! The 6.1 tree also gets damaged `modules.order` files: duplicated lines, none at all,
//! and a last line without its newline.

use crate::support::{self, args, KernelTree, Pair, Tool};

#[derive(Debug, Clone, Copy)]
enum Tree {
    V6_1,
    V6_12,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    StubMap,
    RealMap,
    Symvers,
    Show,
    Warn,
    Verbose,
}

fn tree(c: &support::Corpus, t: Tree) -> &KernelTree {
    match t {
        Tree::V6_1 => &c.v6_1,
        Tree::V6_12 => &c.v6_12,
    }
}

fn mode_args(t: &KernelTree, m: Mode) -> Vec<String> {
    let path = |p: &std::path::Path| p.to_str().expect("UTF-8 path").to_string();
    match m {
        Mode::Plain => Vec::new(),
        Mode::StubMap => vec!["-F".into(), t.stub_map_arg(), "-e".into()],
        Mode::RealMap => vec!["-F".into(), path(&t.system_map), "-e".into()],
        Mode::Symvers => vec!["-E".into(), path(&t.symvers), "-e".into()],
        Mode::Show => args(&["-n"]),
        Mode::Warn => args(&["-w"]),
        Mode::Verbose => args(&["-v"]),
    }
}

/// Runs both tools on one corpus tree in one mode and requires identical results. Also
/// checks a few facts about kmod's own run, so that a broken setup cannot pass by having
/// both tools fail the same way.
fn check(test: &str, t: Tree, mode: Mode) {
    let Some(c) = support::corpus(test) else {
        return;
    };
    if support::kmod(test).is_none() {
        return;
    }
    let kt = tree(c, t);
    let pair = Pair::new(&kt.root, kt.version);
    let cmp = pair.run_both(&mode_args(kt, mode));
    cmp.assert_same(test);

    assert_eq!(cmp.kmod.code, Some(0), "{test}: kmod failed");
    let wrote_dep = pair.moddir(Tool::Kmod).join("modules.dep.bin").is_file();
    let err = cmp.kmod.stderr_text();
    match mode {
        Mode::Show => {
            assert!(!wrote_dep, "{test}: kmod -n wrote files");
            assert!(
                cmp.kmod.stdout.len() > 100_000,
                "{test}: kmod -n printed too little"
            );
        }
        Mode::StubMap => {
            assert!(wrote_dep, "{test}: kmod wrote no modules.dep.bin");
            let n = err.matches(" needs unknown symbol ").count();
            assert!(
                n > 40_000,
                "{test}: expected over 40,000 unknown-symbol warnings, kmod printed {n}"
            );
        }
        Mode::Verbose => {
            assert!(wrote_dep, "{test}: kmod wrote no modules.dep.bin");
            assert!(
                cmp.kmod.stdout.len() > 10_000,
                "{test}: kmod -v printed too little"
            );
        }
        _ => {
            assert!(wrote_dep, "{test}: kmod wrote no modules.dep.bin");
            assert!(err.is_empty(), "{test}: kmod printed messages: {err}");
        }
    }
}

macro_rules! corpus_tests {
    ($($name:ident: $tree:ident, $mode:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), Tree::$tree, Mode::$mode);
            }
        )*
    };
}

corpus_tests! {
    corpus_6_1_plain: V6_1, Plain;
    corpus_6_1_stub_map: V6_1, StubMap;
    corpus_6_1_real_map: V6_1, RealMap;
    corpus_6_1_symvers: V6_1, Symvers;
    corpus_6_1_show: V6_1, Show;
    corpus_6_1_warn: V6_1, Warn;
    corpus_6_1_verbose: V6_1, Verbose;
    corpus_6_12_plain: V6_12, Plain;
    corpus_6_12_stub_map: V6_12, StubMap;
    corpus_6_12_real_map: V6_12, RealMap;
    corpus_6_12_symvers: V6_12, Symvers;
    corpus_6_12_show: V6_12, Show;
    corpus_6_12_warn: V6_12, Warn;
    corpus_6_12_verbose: V6_12, Verbose;
}

/// Runs both tools on the 6.1 tree after `edit` changed `modules.order` in both copies.
fn check_order(test: &str, edit: impl Fn(&std::path::Path)) -> Option<support::Comparison> {
    let c = support::corpus(test)?;
    support::kmod(test)?;
    let kt = &c.v6_1;
    let pair = Pair::new(&kt.root, kt.version);
    pair.each(|root| {
        edit(
            &root
                .join("lib/modules")
                .join(kt.version)
                .join("modules.order"),
        )
    });
    let cmp = pair.run_both(&[]);
    cmp.assert_same(test);
    Some(cmp)
}

/// The first 200 lines appended again, in reverse: kmod 30 keeps the last index of a
/// duplicated line, which reorders those modules in modules.dep.
#[test]
fn corpus_6_1_order_duplicated_lines() {
    check_order("corpus_6_1_order_duplicated_lines", |p| {
        let text = std::fs::read_to_string(p).expect("modules.order");
        let mut lines: Vec<&str> = text.lines().collect();
        let again: Vec<&str> = lines[..200].iter().rev().copied().collect();
        lines.extend(again);
        std::fs::write(p, lines.join("\n") + "\n").expect("write");
    });
}

/// No modules.order: a warning, and modules sorted without it.
#[test]
fn corpus_6_1_order_missing() {
    let Some(cmp) = check_order("corpus_6_1_order_missing", |p| {
        std::fs::remove_file(p).expect("remove modules.order")
    }) else {
        return;
    };
    assert!(
        cmp.kmod
            .stderr_text()
            .contains("could not open modules.order"),
        "kmod did not warn about the missing modules.order: {}",
        cmp.kmod.stderr_text()
    );
}

/// The last line lacks its newline: kmod reports the corrupted line and ignores the file.
#[test]
fn corpus_6_1_order_unterminated() {
    let Some(cmp) = check_order("corpus_6_1_order_unterminated", |p| {
        let mut b = std::fs::read(p).expect("modules.order");
        assert_eq!(b.pop(), Some(b'\n'));
        std::fs::write(p, b).expect("write");
    }) else {
        return;
    };
    assert!(
        cmp.kmod.stderr_text().contains("corrupted line misses"),
        "kmod did not report the unterminated line: {}",
        cmp.kmod.stderr_text()
    );
}

/// `modpolicy depmod --policy policies/kmod.kdl` against kmod 30's `depmod` (no policy):
/// kmod.kdl is kmod's rules exactly, so everything must match as in [`check`].
fn check_kmod_policy(test: &str, t: Tree, mode: Mode) {
    let Some(c) = support::corpus(test) else {
        return;
    };
    if support::kmod(test).is_none() {
        return;
    }
    let kt = tree(c, t);
    let pair = Pair::new(&kt.root, kt.version);
    let kmod_kdl = support::repo_root().join("policies/kmod.kdl");
    let policy = args(&["--policy", kmod_kdl.to_str().expect("UTF-8 path")]);
    let cmp = pair.run_both_ours_extra(&mode_args(kt, mode), &policy);
    cmp.assert_same(test);
    assert_eq!(cmp.kmod.code, Some(0), "{test}: kmod failed");
    assert!(
        pair.moddir(Tool::Kmod).join("modules.dep.bin").is_file(),
        "{test}: kmod wrote no modules.dep.bin"
    );
    let err = cmp.kmod.stderr_text();
    assert!(err.is_empty(), "{test}: kmod printed messages: {err}");
}

macro_rules! kmod_policy_tests {
    ($($name:ident: $tree:ident, $mode:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check_kmod_policy(stringify!($name), Tree::$tree, Mode::$mode);
            }
        )*
    };
}

kmod_policy_tests! {
    corpus_6_1_kmod_policy_plain: V6_1, Plain;
    corpus_6_1_kmod_policy_symvers: V6_1, Symvers;
    corpus_6_12_kmod_policy_plain: V6_12, Plain;
    corpus_6_12_kmod_policy_symvers: V6_12, Symvers;
}
