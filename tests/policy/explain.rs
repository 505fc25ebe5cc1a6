//! `modpolicy explain` (README, "Explanations"): for a symbol, every exporter, the chosen
//! one, the deciding rule (`file.kdl:LINE`, its reason), the alternatives it beat and the
//! importers; for a module, each import's provider and the rule behind it. Exit 2 when
//! the name is neither a symbol nor a module.
//!
//! Runs read the committed trees in place (`explain` writes nothing), from the repository
//! root with relative policy paths, as in the README's example.

use crate::support::{fixture_trees, repo_root, FIXTURE_VERSION};
use crate::*;

fn explain(policy: Option<&str>, root: &str, name: &str) -> (support::RunOutput, String) {
    let mut a = vec!["explain".to_string()];
    if let Some(p) = policy {
        a.extend(["--policy".to_string(), p.to_string()]);
    }
    a.extend([
        "-b".to_string(),
        root.to_string(),
        FIXTURE_VERSION.to_string(),
        name.to_string(),
    ]);
    let out = run(&a);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

/// The 1-based line of `needle` in a shipped policy.
fn line(policy: &str, needle: &str) -> usize {
    line_of(
        &std::fs::read_to_string(repo_root().join(policy)).expect("policy"),
        needle,
    )
}

const AB_ROOT: &str = "tests/fixtures/trees/dup-export-ab";

#[test]
fn explain_symbol_under_kmod_kdl() {
    let want = format!(
        "symbol dup_shared_fn
  exported by (2 in resolution order):
    dupa (kernel/drivers/dup/dupa.ko)  [EXPORT_SYMBOL, crc 0x026da508]
    dupb (kernel/drivers/dup/dupb.ko)  [EXPORT_SYMBOL, crc 0x026da508]
  provider: dupb (kernel/drivers/dup/dupb.ko)
  decided by: default strategy `last-in-order` (policies/kmod.kdl:{})
  beat: dupa (kernel/drivers/dup/dupa.ko)
  imported by (1):
    dupuser (kernel/drivers/dup/dupuser.ko)
  findings:
    allow[duplicate-export] 'dup_shared_fn' is exported by 2 modules (dupa, dupb); provider: dupb — severity at policies/kmod.kdl:{}
",
        line("policies/kmod.kdl", "provider \"last-in-order\""),
        line("policies/kmod.kdl", "duplicate-export \"allow\""),
    );
    let (out, text) = explain(Some("policies/kmod.kdl"), AB_ROOT, "dup_shared_fn");
    assert_ok("explain kmod.kdl", &out);
    assert_eq!(text, want);
    // Without --policy: the built-in copy of policies/kmod.kdl, same explanation.
    let (out, text) = explain(None, AB_ROOT, "dup_shared_fn");
    assert_ok("explain built-in", &out);
    assert_eq!(text, want);
}

#[test]
fn explain_symbol_under_distro_example_kdl() {
    let p = "policies/distro-example.kdl";
    let want = format!(
        "symbol dup_shared_fn
  exported by (2 in resolution order):
    dupa (kernel/drivers/dup/dupa.ko)  [EXPORT_SYMBOL, crc 0x026da508]
    dupb (kernel/drivers/dup/dupb.ko)  [EXPORT_SYMBOL, crc 0x026da508]
  provider: dupa (kernel/drivers/dup/dupa.ko)
  decided by: `provider` rule at {p}:{}, prefer updates/** kernel/**: vendor drivers in updates/ supersede the in-tree driver they replace
  beat: dupb (kernel/drivers/dup/dupb.ko)
  imported by (1):
    dupuser (kernel/drivers/dup/dupuser.ko)
  findings:
    tolerated[duplicate-export] 'dup_shared_fn' is exported by 2 modules (dupa, dupb); provider: dupa — allow-duplicate at {p}:{}: dupa and dupb are alternative backends; only one is ever loaded
",
        line(p, "provider \"ovr_*\""),
        line(p, "allow-duplicate \"dup_shared_fn\""),
    );
    let (out, text) = explain(Some(p), AB_ROOT, "dup_shared_fn");
    assert_ok("explain distro-example.kdl", &out);
    assert_eq!(text, want);
}

/// The example in policies/README.md, line for line (its `...` elides the finding's
/// message).
#[test]
fn explain_readme_example() {
    let readme = std::fs::read_to_string(repo_root().join("policies/README.md")).expect("README");
    let start = readme
        .find("$ modpolicy explain --policy policies/distro-example.kdl")
        .expect("the example");
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("end of block")];
    let mut lines = block.lines();
    let cmd = lines.next().unwrap();
    assert_eq!(cmd, "$ modpolicy explain --policy policies/distro-example.kdl -b examples/dup-export 6.1.0-test dup_shared_fn");
    let want: Vec<&str> = lines.collect();
    let (out, text) = explain(
        Some("policies/distro-example.kdl"),
        "examples/dup-export",
        "dup_shared_fn",
    );
    assert_ok("README example", &out);
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(
        got.len(),
        want.len(),
        "README:\n{}\nours:\n{text}",
        want.join("\n")
    );
    for (g, w) in got.iter().zip(&want) {
        match w.split_once(" ... ") {
            Some((head, tail)) => assert!(
                g.starts_with(head) && g.ends_with(tail),
                "README: {w}\nours:   {g}"
            ),
            None => assert_eq!(g, w),
        }
    }
}

#[test]
fn explain_module() {
    let p = "policies/distro-example.kdl";
    let (out, text) = explain(Some(p), AB_ROOT, "dupuser");
    assert_ok("explain dupuser", &out);
    let root = repo_root().join(AB_ROOT);
    for want in [
        "module dupuser\n".to_string(),
        format!("  file: {}/lib/modules/{FIXTURE_VERSION}/kernel/drivers/dup/dupuser.ko\n", s(&root)),
        format!(
            "    dup_shared_fn <- dupa (kernel/drivers/dup/dupa.ko)  — `provider` rule at {p}:{}, prefer updates/** kernel/**: vendor drivers in updates/ supersede the in-tree driver they replace\n",
            line(p, "provider \"ovr_*\"")
        ),
        "  depends on: dupa (kernel/drivers/dup/dupa.ko)\n".to_string(),
        "  depends recorded at build time (modinfo): dupb\n".to_string(),
        "  used by: nobody\n".to_string(),
    ] {
        assert!(text.contains(&want), "explain dupuser lacks {want:?}:\n{text}");
    }

    // An exporter that lost, and the one that won, under kmod.kdl.
    let (out, text) = explain(Some("policies/kmod.kdl"), AB_ROOT, "dupa");
    assert_ok("explain dupa", &out);
    for want in [
        "module dupa\n",
        "  exports (2):\n",
        "    dup_shared_fn  (not used: provided by dupb (kernel/drivers/dup/dupb.ko))\n",
        "  used by: nobody\n",
    ] {
        assert!(text.contains(want), "explain dupa lacks {want:?}:\n{text}");
    }
    let (out, text) = explain(Some("policies/kmod.kdl"), AB_ROOT, "dupb");
    assert_ok("explain dupb", &out);
    assert!(
        text.contains("  used by: dupuser (kernel/drivers/dup/dupuser.ko)\n"),
        "{text}"
    );
    assert!(!text.contains("not used"), "{text}");
}

#[test]
fn explain_unknown_name_exits_2() {
    let (out, text) = explain(
        Some("policies/kmod.kdl"),
        AB_ROOT,
        "no_such_symbol_or_module",
    );
    assert_eq!(out.code, Some(2), "stderr: {}", out.stderr_text());
    assert_eq!(text, "");
    let dir = fixture_trees()
        .join("dup-export-ab/lib/modules")
        .join(FIXTURE_VERSION);
    assert_eq!(
        out.stderr_text(),
        format!(
            "modpolicy: no symbol or module named `no_such_symbol_or_module` in {}\n",
            s(&dir)
        )
    );
}
