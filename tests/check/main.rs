//! `modpolicy check` against the real 6.1 modpost, and its own checks.
//!
//! - **Oracle**: with `policies/modpost.kdl`, `check --format modpost` prints exactly the
//!   `WARNING: modpost:`/`ERROR: modpost:` lines the real modpost printed
//!   (`tests/fixtures/modpost/<build>.txt`), on the objects of every failed build
//!   (`tests/fixtures/modpost-objs/<build>/`) and on every installed fixture tree, after
//!   the build path `/tmp/modpolicy-kbuild/<build>` is replaced by the directory checked
//!   (objects) or the module's directory in the tree (trees).
//! - **Extra checks** (default policy): stale `depends=`, unneeded namespace imports,
//!   dependency cycles, softdep/weakdep naming a missing module, CRC mismatches,
//!   6.12's missing `MODULE_DESCRIPTION()`; each in every output format, JSON validated
//!   against `docs/modpolicy-check.schema.json` (the schema `docs/json-schema.md`
//!   documents, checked against it below), SARIF against the OASIS SARIF 2.1.0 schema.
//! - **Exit codes** 0/1/2, and the **Debian corpora**: nothing at error level under
//!   `policies/modpost.kdl`, in less time than kmod's depmod.
//!
//! The kernel `Module.symvers` of the object builds is the one they were built against
//! (`/usr/src/linux-headers-6.1.0-47-amd64`, installed by `tests/modules/build.sh`), or
//! else the corpus's 6.1 headers (same vmlinux exports for what these objects use).

#[path = "../support/mod.rs"]
mod support;

#[path = "../reports/schema.rs"]
mod schema;

mod v6_12;

use modpolicy::diag::Code;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::FIXTURE_VERSION;

/// What one `modpolicy check` run gave.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(args: &[String]) -> Out {
    let out = Command::new(support::modpolicy_bin())
        .arg("check")
        .args(args)
        .current_dir(support::repo_root())
        .env("LC_ALL", "C")
        .env("MODPOLICY_TODAY", "2026-01-01")
        .env_remove("RUST_LOG")
        .output()
        .expect("modpolicy runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(x: impl AsRef<std::ffi::OsStr>) -> String {
    x.as_ref().to_string_lossy().into_owned()
}

fn modpost_policy() -> String {
    s(support::repo_root().join("policies/modpost.kdl"))
}

/// The kernel Module.symvers the object builds were built against, or the corpus's.
fn kernel_symvers(test: &str) -> Option<PathBuf> {
    let built = PathBuf::from("/usr/src/linux-headers-6.1.0-47-amd64/Module.symvers");
    if built.is_file() {
        return Some(built);
    }
    support::corpus(test).map(|c| c.v6_1.symvers.clone())
}

/// modpost's own lines in `tests/fixtures/modpost/<build>.txt`.
fn modpost_lines(build: &str) -> Vec<String> {
    let p = support::repo_root().join(format!("tests/fixtures/modpost/{build}.txt"));
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    t.lines()
        .filter(|l| {
            l.starts_with("WARNING: modpost: ")
                || l.starts_with("ERROR: modpost: ")
                || l.starts_with("FATAL: modpost: ")
        })
        .map(str::to_string)
        .collect()
}

fn lines(t: &str) -> Vec<String> {
    t.lines().map(str::to_string).collect()
}

// ---------------------------------------------------------------------------------
// Oracle: failed builds' objects.

/// (build whose output is expected, object directory, extra flags)
const OBJECT_CASES: &[(&str, &str, &[&str])] = &[
    ("diag-exported-twice", "diag-exported-twice", &[]),
    ("diag-gpl-only", "diag-gpl-only", &[]),
    ("diag-no-license", "diag-no-license", &[]),
    ("diag-undefined", "diag-undefined", &[]),
    ("diag-undefined-warn", "diag-undefined", &["-w"]),
    ("diag-undefined-many", "diag-undefined-many", &[]),
    ("ns-missing-import", "ns-missing-import", &[]),
    ("ns-missing-import-nsdeps", "ns-missing-import", &["-N"]),
];

fn object_args(objs: &Path, symvers: &Path, flags: &[&str], format: &str) -> Vec<String> {
    let mut a = vec![
        "--policy".into(),
        modpost_policy(),
        "--symvers".into(),
        s(symvers),
    ];
    let extra = objs.join("extra.Module.symvers");
    if extra.is_file() {
        a.extend(["--symvers".into(), s(&extra)]);
    }
    a.extend(flags.iter().map(|f| f.to_string()));
    a.extend(["--format".into(), format.into(), s(objs)]);
    a
}

#[test]
fn modpost_text_matches_real_modpost_on_failed_builds() {
    let Some(symvers) = kernel_symvers("modpost_text_matches_real_modpost_on_failed_builds") else {
        return;
    };
    for (build, dir, flags) in OBJECT_CASES {
        let objs = support::repo_root()
            .join("tests/fixtures/modpost-objs")
            .join(dir);
        let expected: Vec<String> = modpost_lines(build)
            .iter()
            .map(|l| l.replace(&format!("/tmp/modpolicy-kbuild/{build}"), &s(&objs)))
            .collect();
        assert!(
            !expected.is_empty(),
            "{build}: the fixture has no modpost line"
        );
        let out = check(&object_args(&objs, &symvers, flags, "modpost"));
        assert_eq!(
            lines(&out.stdout),
            expected,
            "{build}: stdout differs; stderr:\n{}",
            out.stderr
        );
        let want = if expected.iter().any(|l| l.starts_with("ERROR")) {
            1
        } else {
            0
        };
        assert_eq!(
            out.code, want,
            "{build}: exit code; stderr:\n{}",
            out.stderr
        );
    }
}

/// A `modules.order` that lists a module twice, or one module as both `x.o` and `x.ko`
/// (kbuild never writes one: it keeps the first of equal lines), names one object once:
/// the output is modpost's for the build as it was, a note on stderr names each line
/// skipped, and nothing panics.
#[test]
fn modules_order_listing_a_module_twice() {
    let Some(symvers) = kernel_symvers("modules_order_listing_a_module_twice") else {
        return;
    };
    let build = "diag-gpl-only";
    let src = support::repo_root()
        .join("tests/fixtures/modpost-objs")
        .join(build);
    for (case, order) in [
        ("same line twice", "gplprov.o\npropuser.o\ngplprov.o\n"),
        ("x.o and x.ko", "gplprov.o\npropuser.o\npropuser.ko\n"),
        (
            "every line twice, absolute",
            "/elsewhere/gplprov.ko\n/elsewhere/propuser.ko\ngplprov.ko\npropuser.o\n",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let objs = tmp.path().join(build);
        std::fs::create_dir(&objs).unwrap();
        for f in ["gplprov.o", "propuser.o"] {
            std::fs::copy(src.join(f), objs.join(f)).unwrap();
        }
        std::fs::write(objs.join("modules.order"), order).unwrap();
        let expected: Vec<String> = modpost_lines(build)
            .iter()
            .map(|l| l.replace(&format!("/tmp/modpolicy-kbuild/{build}"), &s(&objs)))
            .collect();
        let out = check(&object_args(&objs, &symvers, &[], "modpost"));
        assert_eq!(
            (out.code, lines(&out.stdout)),
            (1, expected),
            "{case}: stderr:\n{}",
            out.stderr
        );
        let notes: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("modules.order:") && l.contains("listed already on line"))
            .collect();
        let want = if case.starts_with("every") { 2 } else { 1 };
        assert_eq!(notes.len(), want, "{case}: {}", out.stderr);
    }
}

/// Two modules named `x`, `a/x.o` and `b/x.o`, exporting one symbol (kbuild's
/// `modules_check` refuses that build, so the real modpost ran alone on its objects:
/// `fixtures/modpost/same-name-*`). Each line of the absolute `modules.order` reads its
/// own object of the copied directory: as an `M=` build (`-e`) modpost says nothing; in
/// in-tree mode (a `vmlinux.o` in the directory) the second object's export is "exported
/// twice", the first being the previous export, in both list orders; a stray `x.o` at
/// the top of the directory changes nothing.
#[test]
fn same_name_objects_in_two_directories() {
    let Some(symvers) = kernel_symvers("same_name_objects_in_two_directories") else {
        return;
    };
    let src = support::repo_root().join("tests/fixtures/modpost-objs/same-name");
    let order = std::fs::read_to_string(src.join("modules.order")).unwrap();
    for (expect, reversed, in_tree, stray) in [
        ("same-name-external", false, false, false),
        ("same-name-external", false, false, true),
        ("same-name-intree", false, true, false),
        ("same-name-intree-ba", true, true, false),
        ("same-name-intree", false, true, true),
        ("same-name-intree-ba", true, true, true),
    ] {
        let case = format!("{expect}, stray x.o: {stray}");
        let tmp = tempfile::tempdir().unwrap();
        let objs = tmp.path().join("same-name");
        for sub in ["a", "b"] {
            std::fs::create_dir_all(objs.join(sub)).unwrap();
            std::fs::copy(src.join(sub).join("x.o"), objs.join(sub).join("x.o")).unwrap();
        }
        let mut listed: Vec<&str> = order.lines().collect();
        if reversed {
            listed.reverse();
        }
        std::fs::write(objs.join("modules.order"), listed.join("\n") + "\n").unwrap();
        if in_tree {
            std::fs::write(objs.join("vmlinux.o"), "").unwrap();
        }
        if stray {
            std::fs::copy(src.join("a/x.o"), objs.join("x.o")).unwrap();
        }
        let expected: Vec<String> = modpost_lines(expect)
            .iter()
            .map(|l| l.replace("/tmp/modpolicy-kbuild/same-name", &s(&objs)))
            .collect();
        assert_eq!(expected.len(), usize::from(in_tree), "{case}: the fixture");
        let out = check(&object_args(&objs, &symvers, &[], "modpost"));
        assert_eq!(
            (out.code, lines(&out.stdout)),
            (i32::from(in_tree), expected),
            "{case}: stderr:\n{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("listed already"),
            "{case}: {}",
            out.stderr
        );
        // As an M= build, the duplicate is found and tolerated (modpost's -e exemption).
        let out = check(&object_args(&objs, &symvers, &[], "json"));
        let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
        let dups = findings(&v, "duplicate-export");
        assert_eq!(dups.len(), 1, "{case}: {}", out.stdout);
        assert_eq!(dups[0]["tolerated"], Value::Bool(!in_tree), "{case}");
    }
}

#[test]
fn every_failed_build_is_an_oracle_case() {
    let mut dirs: Vec<String> =
        std::fs::read_dir(support::repo_root().join("tests/fixtures/modpost-objs"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    dirs.sort();
    let mut cased: Vec<String> = OBJECT_CASES.iter().map(|c| c.1.to_string()).collect();
    // modpost ran alone on these (see `same_name_objects_in_two_directories`).
    cased.push("same-name".into());
    cased.sort();
    cased.dedup();
    assert_eq!(dirs, cased);
}

/// Every check modpost has runs on the real objects in every format, with the same
/// codes and messages.
#[test]
fn failed_builds_in_every_format() {
    let Some(symvers) = kernel_symvers("failed_builds_in_every_format") else {
        return;
    };
    let expect: &[(&str, Code, &str)] = &[
        ("diag-exported-twice", Code::VmlinuxConflict, "msleep"),
        ("diag-gpl-only", Code::GplOnlySymbol, "gpl_only_fn"),
        ("diag-no-license", Code::MissingLicense, ""),
        (
            "diag-undefined",
            Code::UndefinedSymbol,
            "modpolicy_nobody_exports_this",
        ),
        (
            "diag-undefined-many",
            Code::UndefinedSymbol,
            "modpolicy_missing_12",
        ),
        ("ns-missing-import", Code::MissingNamespaceImport, "ns_fn"),
    ];
    for (dir, code, symbol) in expect {
        let objs = support::repo_root()
            .join("tests/fixtures/modpost-objs")
            .join(dir);
        let j = check(&object_args(&objs, &symvers, &[], "json"));
        assert_eq!(j.code, 1, "{dir}: {}", j.stderr);
        let v: Value = serde_json::from_str(&j.stdout).expect("JSON");
        validate_json(&v);
        let f = findings(&v, code.name());
        assert!(!f.is_empty(), "{dir}: no {code} in {v}");
        if !symbol.is_empty() {
            assert!(
                f.iter().any(|f| f["symbol"] == *symbol),
                "{dir}: {symbol} missing"
            );
        }
        assert!(f
            .iter()
            .all(|f| f["severity"] == "error" && f["rule"]["kind"] == "severity"));
        assert!(f
            .iter()
            .all(|f| f["rule"]["file"].as_str().unwrap().ends_with("modpost.kdl")));
        let sa = check(&object_args(&objs, &symvers, &[], "sarif"));
        let v: Value = serde_json::from_str(&sa.stdout).expect("SARIF");
        validate_sarif(&v);
        assert!(sarif_results(&v, code.name())
            .iter()
            .all(|r| r["level"] == "error"));
        let h = check(&object_args(&objs, &symvers, &[], "human"));
        assert!(
            h.stdout.contains(code.name()) && h.stdout.contains("modpost.kdl"),
            "{dir}: human:\n{}",
            h.stdout
        );
        assert_eq!(h.code, 1);
    }
}

// ---------------------------------------------------------------------------------
// Oracle: installed fixture trees.

/// (tree, builds it holds, flags those builds had, build path -> module directory)
type TreeCase = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Every installed-tree oracle case.
const TREE_CASES: &[TreeCase] = &[
    ("cycle", &["cycle"], &[], &[]),
    ("cycles-loops", &["cycles"], &[], &[]),
    ("cycles-loops-unlisted", &["cycles"], &[], &[]),
    ("cycles-ring", &["cycles"], &[], &[]),
    (
        "depmod-conf-default",
        &[
            "depmod-conf-kernel",
            "depmod-conf-extra",
            "depmod-conf-updates",
            "depmod-conf-vendor",
        ],
        &[],
        &[],
    ),
    (
        "depmod-conf-exclude",
        &[
            "depmod-conf-kernel",
            "depmod-conf-extra",
            "depmod-conf-updates",
            "depmod-conf-vendor",
        ],
        &[],
        &[],
    ),
    (
        "depmod-conf-external",
        &[
            "depmod-conf-kernel",
            "depmod-conf-extra",
            "depmod-conf-updates",
            "depmod-conf-vendor",
            "depmod-conf-external",
        ],
        &[],
        &[],
    ),
    (
        "depmod-conf-override",
        &[
            "depmod-conf-kernel",
            "depmod-conf-extra",
            "depmod-conf-updates",
            "depmod-conf-vendor",
        ],
        &[],
        &[],
    ),
    (
        "depmod-conf-search",
        &[
            "depmod-conf-kernel",
            "depmod-conf-extra",
            "depmod-conf-updates",
            "depmod-conf-vendor",
        ],
        &[],
        &[],
    ),
    ("devices", &["devices"], &[], &[]),
    (
        "diag",
        &["diag-no-description", "diag-undefined-warn"],
        &["-w"],
        &[
            (
                "/tmp/modpolicy-kbuild/diag-undefined-warn/",
                "drivers/diag/",
            ),
            (
                "/tmp/modpolicy-kbuild/diag-no-description/",
                "drivers/diag/",
            ),
        ],
    ),
    ("dup-export-ab", &["dup-export"], &[], &[]),
    ("dup-export-ba", &["dup-export"], &[], &[]),
    (
        "namespaces",
        &["namespaces", "ns-missing-import-nsdeps"],
        &["-N"],
        &[],
    ),
    (
        "updates-override",
        &["updates-override-kernel", "updates-override-updates"],
        &[],
        &[],
    ),
];

/// A copy of a fixture tree with `@TREE@` replaced, and the `check` arguments for it.
struct TreeCopy {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl TreeCopy {
    fn new(tree: &str) -> TreeCopy {
        let tmp = tempfile::Builder::new()
            .prefix("modpolicy-check.")
            .tempdir()
            .unwrap();
        let root = tmp.path().join(tree);
        support::copy_tree(&support::fixture_trees().join(tree), &root);
        let conf = root.join("etc/depmod.d");
        if let Ok(rd) = std::fs::read_dir(&conf) {
            for e in rd.flatten() {
                let t = std::fs::read_to_string(e.path()).unwrap();
                std::fs::write(e.path(), t.replace("@TREE@", &s(&root))).unwrap();
            }
        }
        TreeCopy { _tmp: tmp, root }
    }

    fn moddir(&self) -> PathBuf {
        self.root.join("lib/modules").join(FIXTURE_VERSION)
    }

    /// `[-C conf] [--policy P] --symvers <tree>/Module.symvers FLAGS --format F DIR`.
    fn args(&self, policy: Option<&str>, flags: &[&str], format: &str) -> Vec<String> {
        let mut a = Vec::new();
        if self.root.join("etc/depmod.d").is_dir() {
            a.extend(["-C".into(), s(self.root.join("etc/depmod.d"))]);
        }
        if let Some(p) = policy {
            a.extend(["--policy".into(), p.to_string()]);
        }
        a.extend(["--symvers".into(), s(self.root.join("Module.symvers"))]);
        a.extend(flags.iter().map(|f| f.to_string()));
        a.extend(["--format".into(), format.into(), s(self.moddir())]);
        a
    }
}

#[test]
fn modpost_text_matches_real_modpost_on_trees() {
    for (tree, builds, flags, paths) in TREE_CASES {
        let t = TreeCopy::new(tree);
        let mut expected: Vec<String> = builds.iter().flat_map(|b| modpost_lines(b)).collect();
        for l in &mut expected {
            for (from, to) in *paths {
                *l = l.replace(from, to);
            }
        }
        let out = check(&t.args(Some(&modpost_policy()), flags, "modpost"));
        assert_eq!(
            lines(&out.stdout),
            expected,
            "{tree}: stdout differs; stderr:\n{}",
            out.stderr
        );
        let want = if expected.iter().any(|l| l.starts_with("ERROR")) {
            1
        } else {
            0
        };
        assert_eq!(out.code, want, "{tree}: exit code; stderr:\n{}", out.stderr);
    }
}

#[test]
fn every_fixture_tree_is_an_oracle_case() {
    let mut on_disk: Vec<String> = std::fs::read_dir(support::fixture_trees())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("lib/modules").join(FIXTURE_VERSION).is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let cased: Vec<String> = TREE_CASES.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(on_disk, cased);
}

// ---------------------------------------------------------------------------------
// Schema validation helpers.

/// The JSON report is valid under the schema, and its summary and codes agree with its
/// findings.
fn validate_json(v: &Value) {
    schema::assert_json_valid(v);
    let fs = v["findings"].as_array().expect("findings");
    let errors = fs
        .iter()
        .filter(|f| f["severity"] == "error" && f["tolerated"] == false)
        .count();
    assert_eq!(v["summary"]["errors"], errors);
    for f in fs {
        // A built-in code, or a plugin's own `PLUGIN/CODE` with its `plugin` object.
        let code = f["code"].as_str().unwrap();
        match f["plugin"]["code"].as_str() {
            Some(pc) => assert_eq!(
                code,
                format!("{}/{pc}", f["plugin"]["name"].as_str().unwrap())
            ),
            None => assert!(Code::from_name(code).is_some()),
        }
    }
}

fn findings<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

fn validate_sarif(v: &Value) {
    schema::assert_sarif_valid(v);
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "modpolicy");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(ids, codes);
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string());
        assert!(["error", "warning", "none"]
            .contains(&r["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    for res in run["results"].as_array().unwrap() {
        let id = res["ruleId"].as_str().unwrap();
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(ids[idx], id);
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        assert!(res["message"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        let locs = res["locations"].as_array().unwrap();
        assert!(!locs.is_empty());
        assert!(locs[0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| !u.is_empty()));
    }
}

fn sarif_results<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == code)
        .collect()
}

/// Runs the default policy on `tree` in all four formats and checks that `code`'s
/// findings (their messages as `expect_messages`, symbols as `symbol`) appear in each.
fn extra_check(tree: &str, code: Code, expect_messages: &[&str], symbol: Option<&str>, exit: i32) {
    let t = TreeCopy::new(tree);
    let j = check(&t.args(None, &[], "json"));
    assert_eq!(j.code, exit, "{tree}: exit; {}", j.stderr);
    let v: Value = serde_json::from_str(&j.stdout).expect("JSON");
    validate_json(&v);
    let f = findings(&v, code.name());
    let msgs: Vec<&str> = f.iter().map(|f| f["message"].as_str().unwrap()).collect();
    assert_eq!(msgs, expect_messages, "{tree}: {code}");
    for f in &f {
        assert_eq!(f["symbol"].as_str(), symbol);
        assert!(f["module"].is_string() && f["file"].as_str().unwrap().ends_with(".ko"));
        assert_eq!(f["modpost"], Value::Null);
    }
    let sa = check(&t.args(None, &[], "sarif"));
    assert_eq!(sa.code, exit);
    let sv: Value = serde_json::from_str(&sa.stdout).expect("SARIF");
    validate_sarif(&sv);
    let r: Vec<&str> = sarif_results(&sv, code.name())
        .iter()
        .map(|r| r["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(r, expect_messages);
    let m = check(&t.args(None, &[], "modpost"));
    assert_eq!(m.code, exit);
    for msg in expect_messages {
        assert!(
            m.stdout
                .lines()
                .any(|l| l.ends_with(msg) && l.contains(": modpolicy: ")),
            "{tree}: modpost text lacks {msg}:\n{}",
            m.stdout
        );
    }
    let h = check(&t.args(None, &[], "human"));
    assert_eq!(h.code, exit);
    assert!(
        h.stdout.contains(code.name()),
        "{tree}: human:\n{}",
        h.stdout
    );
}

// ---------------------------------------------------------------------------------
// The checks no modpost has.

#[test]
fn stale_depends_on_dup_export_ba() {
    extra_check(
        "dup-export-ba",
        Code::StaleDepends,
        &["module dupuser records depends=dupb, but the policy resolves its imports to dupa (dup_shared_fn -> dupa; no import resolves to dupb)"],
        Some("dup_shared_fn"),
        0,
    );
    // In -ab, last-in-order picks dupb, which is what modpost recorded.
    let t = TreeCopy::new("dup-export-ab");
    let v: Value = serde_json::from_str(&check(&t.args(None, &[], "json")).stdout).unwrap();
    assert!(findings(&v, "stale-depends").is_empty());
    // The duplicate itself is modpost's external-build exemption: kept, tolerated.
    let d = findings(&v, "duplicate-export");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["tolerated"], true);
}

#[test]
fn stale_depends_names_the_deciding_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("first.kdl");
    std::fs::write(
        &p,
        "version 1\ndefaults {\n    provider \"first-in-order\"\n}\n",
    )
    .unwrap();
    let t = TreeCopy::new("dup-export-ab");
    let v: Value = serde_json::from_str(&check(&t.args(Some(&s(&p)), &[], "json")).stdout).unwrap();
    let f = findings(&v, "stale-depends");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["rule"]["kind"], "defaults");
    assert_eq!(f[0]["rule"]["line"], 3);
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("dup_shared_fn -> dupa"));
}

#[test]
fn unneeded_namespace_import_on_namespaces() {
    extra_check(
        "namespaces",
        Code::UnneededNamespaceImport,
        &[
            "module nsunneeded imports namespace UNUSED_NS, but uses no symbol from it",
            "module nsunneeded imports namespace TEST_NS, but uses no symbol from it",
        ],
        None,
        1, // nsbad's missing import is an error by default
    );
}

#[test]
fn cycles_on_cycle() {
    extra_check(
        "cycle",
        Code::DependencyCycle,
        &[
            "dependency cycle: cyca -> cycb -> cyca",
            "dependency cycle: cyc3a -> cyc3b -> cyc3c -> cyc3a",
        ],
        None,
        1,
    );
}

#[test]
fn softdep_naming_missing_modules_on_devices() {
    extra_check(
        "devices",
        Code::MissingSoftdepTarget,
        &[
            "module softdep: softdep names module foo, which is neither a module nor built in",
            "module softdep: softdep names module bar, which is neither a module nor built in",
            "module softdep: weakdep names module somemod, which is neither a module nor built in",
        ],
        None,
        0,
    );
}

/// A module built against a different CRC than the kernel's `Module.symvers` has:
/// the diag tree's modules against a symvers whose `__fentry__` CRC was edited.
#[test]
fn crc_mismatch_against_edited_symvers() {
    let t = TreeCopy::new("diag");
    let sv = t.root.join("Module.symvers");
    let text = std::fs::read_to_string(&sv).unwrap();
    assert!(text.contains("0xbdfb6dbb\t__fentry__\t"));
    std::fs::write(
        &sv,
        text.replace("0xbdfb6dbb\t__fentry__\t", "0x12345678\t__fentry__\t"),
    )
    .unwrap();
    let out = check(&t.args(None, &["--allow", "undefined-symbol"], "json"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    validate_json(&v);
    let f = findings(&v, "crc-mismatch");
    let mut mods: Vec<&str> = f.iter().map(|f| f["module"].as_str().unwrap()).collect();
    mods.sort();
    assert_eq!(mods, ["nodesc", "undef"]);
    assert!(f
        .iter()
        .all(|f| f["symbol"] == "__fentry__" && f["severity"] == "error"));
    assert!(f.iter().any(|f| f["message"] == "nodesc: disagrees about version of symbol __fentry__ (module: 0xbdfb6dbb, provider: 0x12345678)"));
    let m = check(&t.args(None, &["--allow", "undefined-symbol"], "modpost"));
    assert!(
        m.stdout
            .contains("ERROR: modpolicy: undef: disagrees about version of symbol __fentry__"),
        "{}",
        m.stdout
    );
    // The unedited symvers: no mismatch.
    let clean = TreeCopy::new("diag");
    let v: Value = serde_json::from_str(&check(&clean.args(None, &[], "json")).stdout).unwrap();
    assert!(findings(&v, "crc-mismatch").is_empty());
}

/// 6.12's rule (modpost -W, W=1): a policy layered over modpost.kdl that sets
/// missing-description to warn prints modpost's D1 line, before the undefined symbol
/// (objects are read before imports are checked).
#[test]
fn missing_description_as_in_6_12() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("w1.kdl");
    std::fs::write(
        &p,
        "version 1\nseverity {\n    missing-description \"warn\"\n}\n",
    )
    .unwrap();
    let t = TreeCopy::new("diag");
    let mut a = vec!["--policy".to_string(), modpost_policy()];
    a.extend(t.args(Some(&s(&p)), &["-w"], "modpost"));
    let out = check(&a);
    assert_eq!(
        lines(&out.stdout),
        [
            "WARNING: modpost: missing MODULE_DESCRIPTION() in drivers/diag/nodesc.o",
            "WARNING: modpost: \"modpolicy_nobody_exports_this\" [drivers/diag/undef.ko] undefined!",
        ]
    );
    assert_eq!(out.code, 0);
    a.iter_mut()
        .filter(|x| *x == "modpost")
        .for_each(|x| *x = "json".into());
    let v: Value = serde_json::from_str(&check(&a).stdout).unwrap();
    let f = findings(&v, "missing-description");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["module"], "nodesc");
    assert_eq!(f[0]["modpost"], "D1");
    assert_eq!(
        f[0]["rule"]["file"].as_str().map(|x| x.ends_with("w1.kdl")),
        Some(true)
    );
    assert_eq!(f[0]["rule"]["line"], 3);
}

// ---------------------------------------------------------------------------------
// Exit codes.

#[test]
fn exit_codes() {
    // 0: clean (the duplicate is tolerated, nothing else is found).
    let t = TreeCopy::new("dup-export-ab");
    assert_eq!(check(&t.args(None, &[], "human")).code, 0);
    // 1: an error-level finding; an override can lower it to 0.
    let c = TreeCopy::new("cycle");
    assert_eq!(check(&c.args(None, &[], "human")).code, 1);
    assert_eq!(
        check(&c.args(None, &["--warn-code", "dependency-cycle"], "human")).code,
        0
    );
    // 2: bad invocation or unreadable input.
    let m = s(t.moddir());
    for bad in [
        vec!["--format".to_string(), "xml".into(), m.clone()],
        vec!["--deny".to_string(), "no-such-code".into(), m.clone()],
        vec![],
        vec!["/nonexistent/dir".to_string()],
        vec![
            "-b".to_string(),
            s(&t.root),
            FIXTURE_VERSION.into(),
            "extra".into(),
        ],
        vec![
            "--symvers".to_string(),
            "/nonexistent/Module.symvers".into(),
            m.clone(),
        ],
        vec![
            "--policy".to_string(),
            "/nonexistent/policy.kdl".into(),
            m.clone(),
        ],
        vec![s(support::repo_root().join("tests"))],
    ] {
        let out = check(&bad);
        assert_eq!(out.code, 2, "{bad:?}: {}", out.stderr);
        assert!(!out.stderr.is_empty(), "{bad:?}: no message");
    }
    // A corrupt module is unreadable input.
    let k = t.moddir().join("kernel/drivers/dup/dupa.ko");
    std::fs::write(&k, b"\x7fELF\x02\x01\x01garbage").unwrap();
    let out = check(&t.args(None, &[], "json"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(findings(&v, "unreadable-module").len(), 1);
    // -b BASEDIR VERSION reads the same tree as the path does.
    let c2 = TreeCopy::new("cycle");
    let out = check(&[
        "-b".into(),
        s(&c2.root),
        "--format".into(),
        "modpost".into(),
        FIXTURE_VERSION.into(),
    ]);
    assert_eq!(out.code, 1);
    assert!(out
        .stdout
        .contains("dependency cycle: cyca -> cycb -> cyca"));
}

// ---------------------------------------------------------------------------------
// Docs.

#[test]
fn every_code_is_documented() {
    let doc =
        std::fs::read_to_string(support::repo_root().join("docs/codes.md")).expect("docs/codes.md");
    for c in Code::ALL {
        assert!(
            doc.lines().any(|l| l == format!("### `{}`", c.name())),
            "docs/codes.md has no `### `{}`` heading",
            c.name()
        );
    }
}

/// The keys a table of `docs/json-schema.md` documents: the first cell of each row,
/// in backquotes.
fn documented_keys(doc: &str) -> Vec<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(k, _)| k.to_string())
        .collect()
}

/// The property names of every object the JSON Schema describes.
fn schema_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(p)) = o.get("properties") {
                out.extend(p.keys().cloned());
            }
            o.values().for_each(|x| schema_keys(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| schema_keys(x, out)),
        _ => {}
    }
}

#[test]
fn json_schema_doc_and_schema_agree() {
    let doc = std::fs::read_to_string(support::repo_root().join("docs/json-schema.md"))
        .expect("docs/json-schema.md");
    let schema = schema::read_json(schema::JSON_SCHEMA);
    assert!(
        doc.contains(schema::JSON_SCHEMA.trim_start_matches("docs/")),
        "docs/json-schema.md does not name its JSON Schema"
    );
    // Every key the schema allows is documented, and every documented key is in the
    // schema (which allows no other key: `additionalProperties` is false throughout).
    let mut keys = Vec::new();
    schema_keys(&schema, &mut keys);
    keys.sort();
    keys.dedup();
    let mut documented = documented_keys(&doc);
    documented.sort();
    documented.dedup();
    assert_eq!(
        documented, keys,
        "keys in docs/json-schema.md tables vs the schema"
    );
    // The schema's built-in codes are the code table.
    let codes: Vec<&str> = schema["$defs"]["builtin_code"]["enum"]
        .as_array()
        .expect("$defs.builtin_code.enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let table: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(
        codes, table,
        "the schema's built-in codes vs the code table"
    );
    // The schema version is the one the code writes.
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        modpolicy::emit::diag::json::SCHEMA_VERSION
    );
    // The example in the document is valid under the schema.
    let start = doc.find("```json\n").expect("an example") + 8;
    let end = start + doc[start..].find("```").unwrap();
    let v: Value = serde_json::from_str(&doc[start..end]).expect("the example parses");
    validate_json(&v);
}

#[test]
fn schema_rejects_what_the_doc_forbids() {
    // The validator is not vacuous: a missing key, an undocumented key, a wrong type
    // and an unknown code are each refused.
    let doc = std::fs::read_to_string(support::repo_root().join("docs/json-schema.md")).unwrap();
    let start = doc.find("```json\n").unwrap() + 8;
    let end = start + doc[start..].find("```").unwrap();
    let good: Value = serde_json::from_str(&doc[start..end]).unwrap();
    let bad: [fn(&mut Value); 5] = [
        |v| {
            v["findings"][0].as_object_mut().unwrap().remove("symbol");
        },
        |v| v["findings"][0]["extra"] = Value::Bool(true),
        |v| v["findings"][0]["tolerated"] = Value::from("no"),
        |v| v["findings"][0]["code"] = Value::from("no-such-code"),
        |v| v["findings"][0]["severity"] = Value::from("warning"),
    ];
    for (i, f) in bad.iter().enumerate() {
        let mut v = good.clone();
        f(&mut v);
        assert!(
            !schema::json_errors(&v).is_empty(),
            "mutation {i} was accepted: {v}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Debian corpora.

/// The best of five interleaved runs of each, so that load from other tests weighs on
/// both alike.
fn best_of_5(
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (std::time::Duration, std::time::Duration) {
    let mut best = (std::time::Duration::MAX, std::time::Duration::MAX);
    for _ in 0..5 {
        let t = std::time::Instant::now();
        a();
        best.0 = best.0.min(t.elapsed());
        let t = std::time::Instant::now();
        b();
        best.1 = best.1.min(t.elapsed());
    }
    best
}

fn corpus_clean(test: &str, pick: impl Fn(&support::Corpus) -> &support::KernelTree) {
    let Some(c) = support::corpus(test) else {
        return;
    };
    let k = pick(c);
    let dir = k.root.join("lib/modules").join(k.version);
    let args = vec![
        "--policy".into(),
        modpost_policy(),
        "--symvers".into(),
        s(&k.symvers),
        "--format".into(),
        "json".into(),
        s(&dir),
    ];
    let out = check(&args);
    assert_eq!(out.code, 0, "{test}: {}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    validate_json(&v);
    let errors: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(
        errors.is_empty(),
        "{test}: error-level findings: {errors:?}"
    );
    // Faster than kmod's depmod on the same tree (both read every module; -n writes
    // nothing).
    let Some(kmod) = support::kmod(test) else {
        return;
    };
    let (ours, theirs) = best_of_5(
        || {
            check(&args);
        },
        || {
            let st = Command::new(kmod)
                .args(["-n", "-b"])
                .arg(&k.root)
                .arg("-E")
                .arg(&k.symvers)
                .arg(k.version)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
        },
    );
    assert!(
        ours < theirs,
        "{test}: check took {ours:?}, kmod's depmod {theirs:?}"
    );
}

#[test]
fn corpus_6_1_is_clean_under_modpost_policy() {
    corpus_clean("corpus_6_1_is_clean_under_modpost_policy", |c| &c.v6_1);
}

#[test]
fn corpus_6_12_is_clean_under_modpost_policy() {
    corpus_clean("corpus_6_12_is_clean_under_modpost_policy", |c| &c.v6_12);
}
