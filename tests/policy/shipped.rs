//! The shipped policies (README, "Shipped policies") on the same duplicate-export trees,
//! and `kmod.kdl` byte-identical to kmod 30 on every fixture tree.
//!
//! The trees: `dup-export-ab` (modules.order: dupa, dupb, dupuser), `dup-export-ba`
//! (dupb, dupa, dupuser) and `examples/dup-export` (dupb, dupa, dupuser, plus the `ovr`
//! modules). In each, `dupa` and `dupb` both export `dup_shared_fn`, which `dupuser`
//! imports.
//!
//! - `kmod.kdl`: the exporter last in modules.order, nothing reported;
//! - `modpost.kdl`: duplicate exports are errors: exit 1, nothing written;
//! - `first-in-order.kdl`: the exporter first in modules.order, a warning;
//! - `distro-example.kdl`: `prefer "updates/**" "kernel/**"` (both in kernel/: the
//!   earliest), the duplicate tolerated until 2027-06-30, then denied.

use crate::support::{self, args, list_files, Pair, FIXTURE_VERSION};
use crate::*;
use std::path::{Path, PathBuf};

fn shipped(name: &str) -> PathBuf {
    support::repo_root().join("policies").join(name)
}

/// `file:LINE` of the first line of a shipped policy containing `needle`.
fn at(name: &str, needle: &str) -> String {
    let p = shipped(name);
    let text = std::fs::read_to_string(&p).expect("policy");
    format!("{}:{}", s(&p), line_of(&text, needle))
}

#[derive(Clone, Copy)]
struct Case {
    /// Directory name of the copy.
    name: &'static str,
    /// The source tree.
    src: fn() -> PathBuf,
    /// The exporters of dup_shared_fn in resolution order.
    order: [&'static str; 2],
}

const CASES: &[Case] = &[
    Case {
        name: "dup-export-ab",
        src: || support::fixture_trees().join("dup-export-ab"),
        order: AB,
    },
    Case {
        name: "dup-export-ba",
        src: || support::fixture_trees().join("dup-export-ba"),
        order: BA,
    },
    Case {
        name: "example",
        src: || support::repo_root().join("examples/dup-export"),
        order: BA,
    },
];

/// The whole `modules.dep` and `modules.symbols` (after the header) of a case.
fn expected(case: &Case, provider: &str) -> (Vec<String>, Vec<String>) {
    let mut dep = dup_dep(case.order, Some(provider));
    if case.name == "example" {
        dep.extend(
            [
                "kernel/drivers/ovr/ovruser.ko: updates/ovr.ko",
                "updates/ovrxuser.ko: updates/ovr.ko",
                "updates/ovr.ko:",
            ]
            .map(String::from),
        );
        let sym = vec![
            "alias symbol:dupa_only_fn dupa".to_string(),
            "alias symbol:dupb_only_fn dupb".to_string(),
            "alias symbol:ovr_extra_fn ovr".to_string(),
            format!("alias symbol:dup_shared_fn {provider}"),
            "alias symbol:ovr_base_fn ovr".to_string(),
        ];
        (dep, sym)
    } else {
        (dep, dup_symbols(Some(provider)))
    }
}

/// Runs `depmod --policy policies/<policy>` on every case, plain and with
/// `-E Module.symvers -e`, and checks each outcome with `check(case, out, root)`.
fn each_case(policy: &str, today: &str, check: impl Fn(&Case, &support::RunOutput, &Path)) {
    let w = Work::new();
    let p = shipped(policy);
    for case in CASES {
        for symvers in [false, true] {
            let root = w.copy(&(case.src)(), &format!("{}-{symvers}", case.name));
            let sv = s(&root.join("Module.symvers"));
            let extra: Vec<&str> = if symvers {
                vec!["-E", &sv, "-e"]
            } else {
                vec![]
            };
            let out = depmod_on(today, &root, &[&p], &extra);
            check(case, &out, &root);
        }
    }
}

fn assert_written(what: &str, case: &Case, root: &Path, provider: &str) {
    let (dep, sym) = expected(case, provider);
    assert_artifacts(
        &format!("{what} on {}", case.name),
        root,
        &strs(&dep),
        &strs(&sym),
    );
}

#[test]
fn kmod_kdl_last_in_order_silently() {
    each_case("kmod.kdl", TODAY, |case, out, root| {
        let err = assert_ok(case.name, out);
        assert_eq!(err, "", "{}: kmod.kdl reports nothing", case.name);
        assert_written("kmod.kdl", case, root, case.order[1]);
    });
}

#[test]
fn modpost_kdl_denies_the_duplicate() {
    let rule = at("modpost.kdl", "duplicate-export \"deny\"");
    each_case("modpost.kdl", TODAY, |case, out, root| {
        let err = assert_fails(case.name, out);
        assert_eq!(
            finding_lines(&err),
            vec![
                dup_finding("error", case.order, case.order[1], Some(rule.clone())),
                denied_line(1)
            ],
            "{}",
            case.name
        );
        assert_eq!(
            list_files(&moddir(root)),
            list_files(&moddir(&(case.src)())),
            "{}: files written",
            case.name
        );
    });
}

#[test]
fn first_in_order_kdl_takes_the_first_and_warns() {
    let rule = at("first-in-order.kdl", "duplicate-export \"warn\"");
    each_case("first-in-order.kdl", TODAY, |case, out, root| {
        let err = assert_ok(case.name, out);
        assert_eq!(
            finding_lines(&err),
            vec![dup_finding(
                "warning",
                case.order,
                case.order[0],
                Some(rule.clone())
            )],
            "{}",
            case.name
        );
        assert_written("first-in-order.kdl", case, root, case.order[0]);
    });
}

#[test]
fn distro_example_kdl_prefers_and_tolerates() {
    each_case("distro-example.kdl", TODAY, |case, out, root| {
        let err = assert_ok(case.name, out);
        assert_eq!(err, "", "{}: the duplicate is tolerated", case.name);
        assert_written("distro-example.kdl", case, root, case.order[0]);
    });
}

/// After `expires "2027-06-30"`, distro-example's `allow-duplicate` no longer applies and
/// its `severity { duplicate-export "deny" }` fails the run.
#[test]
fn distro_example_kdl_after_expiry() {
    let sev = at("distro-example.kdl", "duplicate-export \"deny\"");
    let allow = at("distro-example.kdl", "allow-duplicate \"dup_shared_fn\"");
    each_case("distro-example.kdl", "2027-07-01", |case, out, root| {
        let err = assert_fails(case.name, out);
        assert_eq!(
            finding_lines(&err),
            vec![
                dup_finding("error", case.order, case.order[0], Some(sev.clone())),
                format!("modpolicy: warning[expired-rule]: `allow-duplicate dup_shared_fn` expired on 2027-06-30 and no longer applies [rule {allow}]"),
                denied_line(1),
            ],
            "{}",
            case.name
        );
        assert_eq!(
            list_files(&moddir(root)),
            list_files(&moddir(&(case.src)())),
            "{}: files written",
            case.name
        );
    });
}

/// `--policy policies/kmod.kdl` and kmod 30: same exit status, output and files on every
/// fixture tree, plain and with `-e -E Module.symvers`.
#[test]
fn kmod_kdl_is_byte_identical_to_kmod_on_every_fixture_tree() {
    let test = "kmod_kdl_is_byte_identical_to_kmod_on_every_fixture_tree";
    if support::kmod(test).is_none() {
        return;
    }
    let kmod_kdl = s(&shipped("kmod.kdl"));
    let mut trees: Vec<String> = std::fs::read_dir(support::fixture_trees())
        .expect("fixture trees")
        .flatten()
        .filter(|e| e.path().join("lib/modules").join(FIXTURE_VERSION).is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    trees.sort();
    assert_eq!(trees.len(), 15, "fixture trees: {trees:?}");
    let mut failures = Vec::new();
    for tree in &trees {
        let src = support::fixture_trees().join(tree);
        for symvers in [false, true] {
            let pair = Pair::new(&src, FIXTURE_VERSION);
            pair.substitute_tree_placeholder();
            let mut a = Vec::new();
            if src.join("etc/depmod.d").is_dir() {
                a.extend(args(&["-C", "@ROOT@/etc/depmod.d"]));
            }
            if symvers {
                a.extend(args(&["-e", "-E", "@ROOT@/Module.symvers"]));
            }
            let cmp = pair.run_both_ours_extra(&a, &args(&["--policy", &kmod_kdl]));
            if !cmp.differences.is_empty() {
                failures.push(format!(
                    "{tree} (symvers: {symvers}):\n  {}",
                    cmp.differences.join("\n  ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "kmod.kdl differs from kmod 30:\n{}",
        failures.join("\n")
    );
}
