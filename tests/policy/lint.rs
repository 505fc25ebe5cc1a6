//! `modpolicy policy lint FILE...` (README, "Validation" and "Lints on the policy
//! itself"): exit 0 for the shipped policies, exit 1 with every mistake (file, line,
//! labelled span, hint) on stderr for a bad one; shadowed and expired rules reported.

use crate::*;

fn lint_in(cwd: &std::path::Path, files: &[&str]) -> support::RunOutput {
    let mut a = vec!["policy".to_string(), "lint".to_string()];
    a.extend(files.iter().map(|f| f.to_string()));
    run_in(Some(cwd), &a, None)
}

#[test]
fn shipped_policies_lint_clean() {
    let root = support::repo_root();
    for (file, summary) in [
        ("policies/kmod.kdl", "1 file(s), 0 rule(s), 0 finding(s)\n"),
        (
            "policies/modpost.kdl",
            "1 file(s), 0 rule(s), 0 finding(s)\n",
        ),
        (
            "policies/first-in-order.kdl",
            "1 file(s), 0 rule(s), 0 finding(s)\n",
        ),
        // It includes kmod.kdl: two files; one provider rule and one allow-duplicate.
        (
            "policies/distro-example.kdl",
            "2 file(s), 2 rule(s), 0 finding(s)\n",
        ),
    ] {
        let out = lint_in(&root, &[file]);
        let err = assert_ok(file, &out);
        assert_eq!(err, "", "{file}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), summary, "{file}");
    }
    let out = lint_in(
        &root,
        &[
            "policies/kmod.kdl",
            "policies/modpost.kdl",
            "policies/first-in-order.kdl",
        ],
    );
    assert_ok("three layers", &out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3 file(s), 0 rule(s), 0 finding(s)\n"
    );
}

/// The README's rendering of an unknown node.
#[test]
fn bad_policy_fails_with_the_labelled_span() {
    let w = Work::new();
    w.file(
        "site.kdl",
        "version 1\n// site policy\n\nprovider-rule \"foo_*\" { prefer \"a\" }\n",
    );
    let out = lint_in(w.path(), &["site.kdl"]);
    let err = assert_fails("lint site.kdl", &out);
    assert_eq!(out.stdout, b"", "nothing on stdout");
    let readme = "  × unknown policy node `provider-rule`
   ╭─[site.kdl:4:1]
 3 │
 4 │ provider-rule \"foo_*\" { prefer \"a\" }
   · ──────┬──────
   ·       ╰── unknown node
   ╰────
  help: did you mean `provider`?";
    let got: Vec<&str> = err.lines().map(str::trim_end).collect();
    let want: Vec<&str> = readme.lines().collect();
    assert!(
        got.windows(want.len()).any(|w| w == want.as_slice()),
        "stderr lacks the README's rendering:\n{err}"
    );
    assert!(
        err.contains("policy::unknown-node"),
        "stderr lacks the code:\n{err}"
    );
}

/// "every mistake is reported at once".
#[test]
fn every_mistake_is_reported() {
    let w = Work::new();
    w.file(
        "bad.kdl",
        "version 1\ndefaults {\n    provider \"last-in-oder\"\n}\nallow-duplicate \"x\" {\n    modules \"a\"\n}\nseverity {\n    duplicate-export \"fatal\"\n}\n",
    );
    let out = lint_in(w.path(), &["bad.kdl"]);
    let err = assert_fails("lint bad.kdl", &out);
    for want in [
        "unknown provider strategy `last-in-oder`",
        "did you mean `last-in-order`?",
        "[bad.kdl:3:14]",
        "`allow-duplicate` needs a `reason`",
        "[bad.kdl:5:1]",
        "unknown level `fatal` (allow, warn or deny)",
        "[bad.kdl:9:22]",
    ] {
        assert!(err.contains(want), "stderr lacks {want:?}:\n{err}");
    }
}

#[test]
fn lint_reports_shadowed_and_expired_rules() {
    let w = Work::new();
    w.file(
        "stale.kdl",
        "version 1\nprovider \"*\" strategy=\"first-in-order\"\nprovider \"dup_*\" strategy=\"last-in-order\"\nallow-duplicate \"x\" reason=\"r\" expires=\"2020-01-01\"\n",
    );
    let out = lint_in(w.path(), &["stale.kdl"]);
    let err = assert_ok("stale", &out);
    assert_eq!(
        err,
        "stale.kdl:3: warn[shadowed-rule]: `provider dup_*` never applies: the rule on line 2 matches the same symbols first\n\
         stale.kdl:4: warn[expired-rule]: `allow-duplicate x` expired on 2020-01-01 and no longer applies\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1 file(s), 3 rule(s), 2 finding(s)\n"
    );

    // The same findings denied by the policy fail the lint.
    w.file(
        "strict.kdl",
        "version 1\ninclude \"stale.kdl\"\nseverity {\n    shadowed-rule \"deny\"\n}\n",
    );
    let out = lint_in(w.path(), &["strict.kdl"]);
    let err = assert_fails("strict", &out);
    assert!(err.contains("stale.kdl:3: deny[shadowed-rule]: "), "{err}");

    // A rule in a higher layer overriding one below is not shadowed.
    w.file(
        "below.kdl",
        "version 1\nprovider \"dup_*\" strategy=\"last-in-order\"\n",
    );
    w.file(
        "top.kdl",
        "version 1\nprovider \"*\" strategy=\"first-in-order\"\n",
    );
    let out = lint_in(w.path(), &["below.kdl", "top.kdl"]);
    let err = assert_ok("layers", &out);
    assert_eq!(err, "");
}
