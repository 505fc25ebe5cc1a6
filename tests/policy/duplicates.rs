//! `allow-duplicate`, `severity` and `expires` (README, "`allow-duplicate`",
//! "`severity`", "Lints on the policy itself").
//!
//! A duplicate export that an entry tolerates never fails a run; one that `severity`
//! denies fails it, and then `depmod` writes nothing: previous artifacts stay byte for
//! byte. After its `expires` date an entry no longer applies and `expired-rule` says so.

use crate::support::list_files;
use crate::*;

const DENY: &str = "severity {\n    duplicate-export \"deny\"\n}\n";

fn allow(modules: Option<&str>, extra: &str) -> String {
    let m = modules
        .map(|m| format!("    modules {m}\n"))
        .unwrap_or_default();
    format!(
        "allow-duplicate \"dup_shared_fn\" {{\n{m}    reason \"alternative backends\"\n{extra}}}\n"
    )
}

#[test]
fn tolerated_duplicate_is_written_and_keeps_its_provider() {
    let w = Work::new();
    for (i, modules) in [
        Some("\"dupa\" \"dupb\""),
        Some("\"dup?\""),
        Some("\"kernel/drivers/dup/*\""),
        Some("\"dupb\" \"kernel/**\""),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let p = w.file(
            &format!("allow{i}.kdl"),
            &format!("version 1\n{DENY}{}", allow(modules, "")),
        );
        for (tree, order, want) in [("dup-export-ab", AB, "dupb"), ("dup-export-ba", BA, "dupa")] {
            let root = w.tree_as(tree, &format!("{tree}-{i}"));
            let err = assert_ok(
                &format!("modules {modules:?} on {tree}"),
                &depmod(&root, &[&p], &[]),
            );
            // "Tolerating a duplicate does not choose its provider."
            assert_dup_provider(tree, &root, order, want);
            // A tolerated finding is not printed by depmod.
            assert_eq!(
                finding_lines(&err),
                Vec::<String>::new(),
                "modules {modules:?} on {tree}"
            );
        }
    }
}

/// "`modules` patterns match **every** exporting module": matching only one does not
/// tolerate the duplicate.
#[test]
fn allow_duplicate_must_match_every_exporter() {
    let w = Work::new();
    for (i, modules) in ["\"dupa\"", "\"dupb\"", "\"updates/**\" \"dupa\""]
        .into_iter()
        .enumerate()
    {
        let p = w.file(
            &format!("partial{i}.kdl"),
            &format!("version 1\n{DENY}{}", allow(Some(modules), "")),
        );
        let root = w.tree_as("dup-export-ab", &format!("ab{i}"));
        let err = assert_fails(modules, &depmod(&root, &[&p], &[]));
        assert_eq!(
            finding_lines(&err),
            vec![
                dup_finding("error", AB, "dupb", Some(format!("{}:3", s(&p)))),
                format!("modpolicy: warning[unmatched-rule]: `allow-duplicate dup_shared_fn` tolerated no duplicate export [rule {}:5]", s(&p)),
                denied_line(1),
            ],
            "modules {modules}"
        );
        assert!(
            !moddir(&root).join("modules.dep").exists(),
            "modules {modules}: modules.dep written"
        );
    }
}

/// Denied: exit 1, stderr names the code, no file written, previous artifacts intact.
#[test]
fn denied_duplicate_writes_nothing() {
    let w = Work::new();
    let p = w.file("deny.kdl", &format!("version 1\n{DENY}"));

    // A fresh tree: nothing appears.
    let root = w.tree("dup-export-ab");
    let before = list_files(&moddir(&root));
    let err = assert_fails("fresh", &depmod(&root, &[&p], &[]));
    assert_eq!(
        finding_lines(&err),
        vec![
            dup_finding("error", AB, "dupb", Some(format!("{}:3", s(&p)))),
            denied_line(1)
        ]
    );
    assert_eq!(
        list_files(&moddir(&root)),
        before,
        "files written by a denied run"
    );

    // A tree with artifacts from an earlier (kmod policy) run: they stay byte for byte.
    let root = w.tree_as("dup-export-ba", "ba");
    assert_ok("first run", &depmod(&root, &[], &[]));
    assert_dup_provider("first run", &root, BA, "dupa");
    let before = snapshot(&root);
    assert!(before.contains_key("modules.dep.bin") && before.contains_key("modules.symbols.bin"));
    let err = assert_fails("denied run", &depmod(&root, &[&p], &[]));
    assert!(
        err.contains("[duplicate-export]"),
        "stderr does not name the code:\n{err}"
    );
    assert_eq!(
        finding_lines(&err),
        vec![
            dup_finding("error", BA, "dupa", Some(format!("{}:3", s(&p)))),
            denied_line(1)
        ]
    );
    assert!(
        snapshot(&root) == before,
        "a denied run changed the previous artifacts"
    );
}

/// The same tree tolerated and then denied by the command line: `--deny`/`--allow`
/// override the policy, and the finding names the flag that decided its level, not the
/// policy rule it overrode.
#[test]
fn command_line_levels_override_the_policy() {
    let w = Work::new();
    let p = w.file("deny.kdl", &format!("version 1\n{DENY}"));
    let root = w.tree("dup-export-ab");
    let err = assert_ok(
        "--allow",
        &depmod(&root, &[&p], &["--allow", "duplicate-export"]),
    );
    assert_eq!(finding_lines(&err), Vec::<String>::new());
    assert_dup_provider("--allow", &root, AB, "dupb");
    let before = snapshot(&root);
    let kmod = w.file(
        "kmodlike.kdl",
        "version 1\nseverity {\n    duplicate-export \"allow\"\n}\n",
    );
    let err = assert_fails(
        "--deny",
        &depmod(&root, &[&kmod], &["--deny", "duplicate-export"]),
    );
    assert_eq!(finding_lines(&err)[1..], [denied_line(1)]);
    assert_eq!(
        finding_lines(&err)[0],
        "modpolicy: error[duplicate-export]: 'dup_shared_fn' is exported by 2 modules (dupa, dupb); provider: dupb [command line: --deny duplicate-export]",
        "{err}"
    );
    assert!(
        snapshot(&root) == before,
        "a denied run changed the previous artifacts"
    );
    let err = assert_ok(
        "--warn-code",
        &depmod(&root, &[&p], &["--warn-code", "duplicate-export"]),
    );
    let line = dup_finding("warning", AB, "dupb", None);
    assert_eq!(
        finding_lines(&err),
        vec![format!(
            "{line} [command line: --warn-code duplicate-export]"
        )]
    );
}

/// "After its `expires` date an entry no longer applies, and `expired-rule` reports it."
#[test]
fn expired_allow_duplicate_no_longer_applies() {
    let w = Work::new();
    let p = w.file(
        "exp.kdl",
        &format!(
            "version 1\n{DENY}{}",
            allow(Some("\"dupa\" \"dupb\""), "    expires \"2029-12-31\"\n")
        ),
    );
    // On the expiry date it still applies.
    let root = w.tree_as("dup-export-ab", "on");
    let err = assert_ok("on the date", &depmod_on("2029-12-31", &root, &[&p], &[]));
    assert_eq!(finding_lines(&err), Vec::<String>::new());
    assert_dup_provider("on the date", &root, AB, "dupb");
    // The day after it does not.
    let root = w.tree_as("dup-export-ab", "after");
    let err = assert_fails("after", &depmod_on("2030-01-01", &root, &[&p], &[]));
    assert_eq!(
        finding_lines(&err),
        vec![
            dup_finding("error", AB, "dupb", Some(format!("{}:3", s(&p)))),
            format!("modpolicy: warning[expired-rule]: `allow-duplicate dup_shared_fn` expired on 2029-12-31 and no longer applies [rule {}:5]", s(&p)),
            denied_line(1),
        ]
    );
    assert!(
        !moddir(&root).join("modules.dep").exists(),
        "modules.dep written by a denied run"
    );
}

#[test]
fn expired_provider_rule_no_longer_applies() {
    let w = Work::new();
    let p = w.file(
        "exp.kdl",
        "version 1\nseverity {\n    duplicate-export \"allow\"\n}\nprovider \"dup_*\" {\n    prefer \"dupa\"\n    expires \"2029-12-31\"\n}\n",
    );
    let root = w.tree_as("dup-export-ab", "before");
    let err = assert_ok("before", &depmod_on("2029-06-01", &root, &[&p], &[]));
    assert_eq!(finding_lines(&err), Vec::<String>::new());
    assert_dup_provider("before expiry", &root, AB, "dupa");
    let root = w.tree_as("dup-export-ab", "after");
    let err = assert_ok("after", &depmod_on("2030-01-01", &root, &[&p], &[]));
    assert_dup_provider("after expiry: the default decides", &root, AB, "dupb");
    assert_eq!(
        finding_lines(&err),
        vec![format!("modpolicy: warning[expired-rule]: `provider dup_*` expired on 2029-12-31 and no longer applies [rule {}:5]", s(&p))]
    );
}

/// `severity` levels: `allow` (not reported), `warn` (reported), `deny` (fails).
#[test]
fn severity_levels() {
    let w = Work::new();
    for (level, code, line) in [
        ("allow", 0, None),
        ("warn", 0, Some("warning")),
        ("deny", 1, Some("error")),
    ] {
        let p = w.file(
            &format!("{level}.kdl"),
            &format!("version 1\nseverity {{\n    duplicate-export \"{level}\"\n}}\n"),
        );
        let root = w.tree_as("dup-export-ab", level);
        let out = depmod(&root, &[&p], &[]);
        assert_eq!(out.code, Some(code), "{level}: {}", out.stderr_text());
        let mut want: Vec<String> = line
            .map(|l| dup_finding(l, AB, "dupb", Some(format!("{}:3", s(&p)))))
            .into_iter()
            .collect();
        if code == 1 {
            want.push(denied_line(1));
        } else {
            assert_dup_provider(level, &root, AB, "dupb");
        }
        assert_eq!(finding_lines(&out.stderr_text()), want, "{level}");
    }
}
