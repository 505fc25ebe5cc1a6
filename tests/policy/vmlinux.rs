//! `vmlinux-conflict` (README, "`vmlinux-conflict`"), simulated: `-E` gets the tree's
//! `Module.symvers` plus one line that makes vmlinux export `dup_shared_fn` (same CRC as
//! the modules' exports), so both `dupa` and `dupb` conflict with vmlinux.
//!
//! With `winner "module"` (kmod's behaviour) the module's export replaces vmlinux's:
//! `dupuser` depends on the module and `modules.symbols` lists it. With `winner
//! "vmlinux"` the module's export is ignored: no dependency, no `modules.symbols` line.
//! `action` is the finding's level; `deny` fails the run with nothing written.

use crate::support::{self, args, list_files, Pair, FIXTURE_VERSION};
use crate::*;
use std::path::{Path, PathBuf};

const VMLINUX_LINE: &str = "0x026da508\tdup_shared_fn\tvmlinux\tEXPORT_SYMBOL\t\n";

/// Appends the `dup_shared_fn` vmlinux export to `<root>/Module.symvers`; returns the
/// `-E` argument.
fn add_vmlinux_export(root: &Path) -> PathBuf {
    let p = root.join("Module.symvers");
    let mut t = std::fs::read_to_string(&p).expect("Module.symvers");
    assert!(t.ends_with('\n'));
    t.push_str(VMLINUX_LINE);
    std::fs::write(&p, t).expect("write Module.symvers");
    p
}

fn tree(w: &Work, name: &str) -> (PathBuf, String) {
    let root = w.tree_as("dup-export-ab", name);
    let sv = add_vmlinux_export(&root);
    (root, s(&sv))
}

fn conflict(module: &str, level: &str, file: &Path, line: usize, keeps: bool) -> String {
    let what = if keeps {
        "vmlinux keeps it"
    } else {
        "the module's export is used"
    };
    format!(
        "modpolicy: {level}[vmlinux-conflict]: {module}: 'dup_shared_fn' exported twice. Previous export was in vmlinux ({what}) [rule {}:{line}]",
        s(file)
    )
}

fn rule(action: &str, winner: Option<&str>, modules: Option<&str>) -> String {
    let w = winner
        .map(|w| format!("    winner \"{w}\"\n"))
        .unwrap_or_default();
    let m = modules
        .map(|m| format!("    modules {m}\n"))
        .unwrap_or_default();
    format!("version 1\nseverity {{\n    duplicate-export \"allow\"\n}}\nvmlinux-conflict \"dup_shared_fn\" {{\n{m}    action \"{action}\"\n{w}    reason \"test\"\n}}\n")
}

/// Without `--policy` (kmod.kdl): the module wins and nothing is reported.
#[test]
fn kmod_policy_module_wins_silently() {
    let w = Work::new();
    let (root, sv) = tree(&w, "kmod");
    let err = assert_ok("kmod.kdl", &depmod(&root, &[], &["-E", &sv]));
    assert_eq!(err, "");
    assert_dup_provider("kmod.kdl", &root, AB, "dupb");
    let (root, sv) = tree(&w, "kmod-file");
    let kmod_kdl = support::repo_root().join("policies/kmod.kdl");
    let err = assert_ok(
        "--policy kmod.kdl",
        &depmod(&root, &[&kmod_kdl], &["-E", &sv, "-e"]),
    );
    assert_eq!(err, "");
    assert_dup_provider("--policy kmod.kdl", &root, AB, "dupb");
}

/// The same conflict, kmod 30 and `--policy kmod.kdl`: byte-identical.
#[test]
fn kmod_policy_matches_kmod_on_a_vmlinux_conflict() {
    let test = "kmod_policy_matches_kmod_on_a_vmlinux_conflict";
    if support::kmod(test).is_none() {
        return;
    }
    let pair = Pair::new(
        &support::fixture_trees().join("dup-export-ab"),
        FIXTURE_VERSION,
    );
    pair.each(|root| {
        add_vmlinux_export(root);
    });
    let a = args(&["-e", "-E", "@ROOT@/Module.symvers"]);
    let kmod_kdl = s(&support::repo_root().join("policies/kmod.kdl"));
    let cmp = pair.run_both_ours_extra(&a, &args(&["--policy", &kmod_kdl]));
    cmp.assert_same(test);
    assert_eq!(cmp.kmod.code, Some(0));
}

#[test]
fn winner_module_keeps_the_module_export() {
    let w = Work::new();
    let (root, sv) = tree(&w, "module");
    let p = w.file("module.kdl", &rule("warn", Some("module"), None));
    let err = assert_ok("winner module", &depmod(&root, &[&p], &["-E", &sv]));
    assert_dup_provider("winner module", &root, AB, "dupb");
    assert_eq!(
        finding_lines(&err),
        vec![
            conflict("dupa", "warning", &p, 5, false),
            conflict("dupb", "warning", &p, 5, false)
        ]
    );
}

#[test]
fn winner_vmlinux_drops_the_module_export() {
    let w = Work::new();
    let (root, sv) = tree(&w, "vmlinux");
    let p = w.file("vmlinux.kdl", &rule("warn", Some("vmlinux"), None));
    let err = assert_ok("winner vmlinux", &depmod(&root, &[&p], &["-E", &sv]));
    assert_artifacts(
        "winner vmlinux",
        &root,
        &strs(&dup_dep(AB, None)),
        &strs(&dup_symbols(None)),
    );
    assert_eq!(
        finding_lines(&err),
        vec![
            conflict("dupa", "warning", &p, 5, true),
            conflict("dupb", "warning", &p, 5, true)
        ]
    );
    // action "allow": same outcome, nothing reported.
    let (root, sv) = tree(&w, "vmlinux-allow");
    let p = w.file("vmlinux-allow.kdl", &rule("allow", Some("vmlinux"), None));
    let err = assert_ok("allow", &depmod(&root, &[&p], &["-E", &sv]));
    assert_eq!(finding_lines(&err), Vec::<String>::new());
    assert_artifacts(
        "winner vmlinux, allow",
        &root,
        &strs(&dup_dep(AB, None)),
        &strs(&dup_symbols(None)),
    );
}

/// `action "deny"`: the run fails, nothing is written; the winner defaults to vmlinux
/// (`explain` shows it).
#[test]
fn action_deny_fails_and_writes_nothing() {
    let w = Work::new();
    let (root, sv) = tree(&w, "deny");
    let p = w.file("deny.kdl", &rule("deny", None, None));
    let before = list_files(&moddir(&root));
    let err = assert_fails("deny", &depmod(&root, &[&p], &["-E", &sv]));
    assert_eq!(
        finding_lines(&err),
        vec![
            conflict("dupa", "error", &p, 5, true),
            conflict("dupb", "error", &p, 5, true),
            denied_line(2)
        ]
    );
    assert_eq!(
        list_files(&moddir(&root)),
        before,
        "a denied run wrote files"
    );

    // Previous artifacts stay as they were.
    assert_ok("kmod run", &depmod(&root, &[], &["-E", &sv]));
    let snap = snapshot(&root);
    assert_fails("deny again", &depmod(&root, &[&p], &["-E", &sv]));
    assert!(
        snapshot(&root) == snap,
        "a denied run changed the previous artifacts"
    );

    let out = run(&[
        "explain".into(),
        "--policy".into(),
        s(&p),
        "-b".into(),
        s(&root),
        "-E".into(),
        sv.clone(),
        FIXTURE_VERSION.into(),
        "dup_shared_fn".into(),
    ]);
    assert_ok("explain", &out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("\n  provider: vmlinux\n"),
        "deny without winner: vmlinux should provide:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "\n  decided by: `vmlinux-conflict` rule at {}:5, ",
            s(&p)
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  beat: dupa (kernel/drivers/dup/dupa.ko), dupb (kernel/drivers/dup/dupb.ko)\n"
        ),
        "{text}"
    );
}

/// "Without a matching rule, the level comes from `severity` and the winner from
/// `defaults`."
#[test]
fn without_a_rule_severity_and_defaults_decide() {
    let w = Work::new();
    let p = w.file(
        "defaults.kdl",
        "version 1\ndefaults {\n    vmlinux-winner \"vmlinux\"\n}\nseverity {\n    vmlinux-conflict \"warn\"\n    duplicate-export \"allow\"\n}\n",
    );
    let (root, sv) = tree(&w, "defaults");
    let err = assert_ok("defaults", &depmod(&root, &[&p], &["-E", &sv]));
    assert_artifacts(
        "defaults vmlinux-winner vmlinux",
        &root,
        &strs(&dup_dep(AB, None)),
        &strs(&dup_symbols(None)),
    );
    assert_eq!(
        finding_lines(&err),
        vec![
            conflict("dupa", "warning", &p, 6, true),
            conflict("dupb", "warning", &p, 6, true)
        ]
    );

    // A rule whose `modules` match no exporter does not apply.
    let nomatch = w.file(
        "nomatch.kdl",
        "version 1\ndefaults {\n    vmlinux-winner \"vmlinux\"\n}\nseverity {\n    vmlinux-conflict \"warn\"\n    duplicate-export \"allow\"\n}\nvmlinux-conflict \"dup_*\" {\n    modules \"updates/**\"\n    action \"allow\"\n    winner \"module\"\n}\n",
    );
    let (root, sv) = tree(&w, "nomatch");
    let err = assert_ok("nomatch", &depmod(&root, &[&nomatch], &["-E", &sv]));
    assert_artifacts(
        "modules filter matches nothing",
        &root,
        &strs(&dup_dep(AB, None)),
        &strs(&dup_symbols(None)),
    );
    let lines = finding_lines(&err);
    assert_eq!(
        lines[..2],
        [
            conflict("dupa", "warning", &nomatch, 6, true),
            conflict("dupb", "warning", &nomatch, 6, true)
        ]
    );
    assert_eq!(
        lines[2..],
        [format!("modpolicy: warning[unmatched-rule]: `vmlinux-conflict dup_*` matched no module exporting a vmlinux symbol [rule {}:9]", s(&nomatch))]
    );

    // A rule naming the provider module applies to it.
    // (dupa's conflict, which it does not match, takes its level from `severity`.)
    let dupb = w.file(
        "dupb.kdl",
        &format!(
            "{}severity {{\n    vmlinux-conflict \"warn\"\n}}\n",
            rule("warn", Some("vmlinux"), Some("\"dupb\""))
        ),
    );
    let (root, sv) = tree(&w, "dupb");
    assert_ok("dupb", &depmod(&root, &[&dupb], &["-E", &sv]));
    assert_artifacts(
        "rule with modules dupb",
        &root,
        &strs(&dup_dep(AB, None)),
        &strs(&dup_symbols(None)),
    );
}
