//! Provider strategies: `defaults { provider }`, `provider` rules with `strategy` or
//! `prefer`, and `search-order`.
//!
//! README, "Provider strategies": modules are considered in resolution order
//! (`modules.order`, then unlisted modules); `last-in-order` takes the latest exporter,
//! `first-in-order` the earliest, `search-order` the one in the highest-priority search
//! directory (ties: the latest), `prefer` the first pattern that matches an exporter (of
//! several matching it, the earliest), falling back to the default strategy.

use crate::support::FIXTURE_VERSION;
use crate::*;
use std::path::{Path, PathBuf};

/// A policy with only `defaults { provider STRATEGY }`.
fn defaults_policy(w: &Work, strategy: &str) -> PathBuf {
    w.file(
        &format!("defaults-{strategy}.kdl"),
        &format!("version 1\ndefaults {{\n    provider \"{strategy}\"\n}}\n"),
    )
}

/// `dup-export-ab` with `dupa.ko` moved from `kernel/drivers/dup/` to `updates/<sub>`:
/// `modules.order` still lists `kernel/drivers/dup/dupa.ko` (now missing), so `dupa` is
/// unlisted and comes after `dupb` in resolution order.
fn updates_tree(w: &Work, name: &str, sub: &str) -> PathBuf {
    let root = w.tree_as("dup-export-ab", name);
    let m = moddir(&root);
    let dst = m.join("updates").join(sub);
    std::fs::create_dir_all(&dst).expect("mkdir");
    std::fs::rename(m.join("kernel/drivers/dup/dupa.ko"), dst.join("dupa.ko"))
        .expect("move dupa.ko");
    root
}

/// `modules.dep` of [`updates_tree`] with `dupa` at `updates/<sub>dupa.ko`.
fn updates_dep(sub: &str, provider_is_dupa: bool) -> Vec<String> {
    let dupa = format!("updates/{sub}dupa.ko");
    let p = if provider_is_dupa {
        dupa.clone()
    } else {
        "kernel/drivers/dup/dupb.ko".to_string()
    };
    vec![
        "kernel/drivers/dup/dupb.ko:".to_string(),
        format!("kernel/drivers/dup/dupuser.ko: {p}"),
        format!("{dupa}:"),
    ]
}

#[track_caller]
fn assert_updates_provider(what: &str, root: &Path, sub: &str, provider_is_dupa: bool) {
    let p = if provider_is_dupa { "dupa" } else { "dupb" };
    assert_artifacts(
        what,
        root,
        &strs(&updates_dep(sub, provider_is_dupa)),
        &strs(&dup_symbols(Some(p))),
    );
}

#[test]
fn defaults_last_in_order_takes_latest_in_modules_order() {
    let w = Work::new();
    let p = defaults_policy(&w, "last-in-order");
    for (tree, order, want) in [("dup-export-ab", AB, "dupb"), ("dup-export-ba", BA, "dupa")] {
        let root = w.tree(tree);
        let err = assert_ok(tree, &depmod(&root, &[&p], &[]));
        assert_dup_provider(tree, &root, order, want);
        // Without a `severity` block, duplicate-export keeps its default level (warn).
        assert_eq!(
            finding_lines(&err),
            vec![dup_finding("warning", order, want, None)],
            "{tree}"
        );
    }
}

#[test]
fn defaults_first_in_order_takes_earliest_in_modules_order() {
    let w = Work::new();
    let p = defaults_policy(&w, "first-in-order");
    for (tree, order, want) in [("dup-export-ab", AB, "dupa"), ("dup-export-ba", BA, "dupb")] {
        let root = w.tree(tree);
        let err = assert_ok(tree, &depmod(&root, &[&p], &[]));
        assert_dup_provider(tree, &root, order, want);
        assert_eq!(
            finding_lines(&err),
            vec![dup_finding("warning", order, want, None)],
            "{tree}"
        );
    }
}

/// "Built-in default: `last-in-order` (kmod)."
#[test]
fn builtin_default_strategy_is_last_in_order() {
    let w = Work::new();
    let p = w.file("empty.kdl", "version 1\n");
    for (tree, order, want) in [("dup-export-ab", AB, "dupb"), ("dup-export-ba", BA, "dupa")] {
        let root = w.tree(tree);
        assert_ok(tree, &depmod(&root, &[&p], &[]));
        assert_dup_provider(tree, &root, order, want);
    }
}

/// `provider ... strategy=...` overrides the default for the symbols it names only.
#[test]
fn provider_rule_strategy_applies_to_matching_symbols() {
    let w = Work::new();
    let p = w.file(
        "rule.kdl",
        "version 1\nprovider \"dup_shared_*\" strategy=\"first-in-order\" reason=\"earliest wins\"\n",
    );
    let root = w.tree("dup-export-ab");
    let err = assert_ok("rule", &depmod(&root, &[&p], &[]));
    assert_dup_provider("rule", &root, AB, "dupa");
    assert_eq!(
        finding_lines(&err),
        vec![dup_finding("warning", AB, "dupa", None)]
    );

    // A rule whose patterns match no duplicated symbol changes nothing, and is reported.
    let other = w.file(
        "other.kdl",
        "version 1\nprovider \"dupa_only_fn\" \"nothing_*\" {\n    strategy \"first-in-order\"\n}\n",
    );
    let root = w.tree_as("dup-export-ab", "ab2");
    let err = assert_ok("other", &depmod(&root, &[&other], &[]));
    assert_dup_provider("other", &root, AB, "dupb");
    assert_eq!(
        finding_lines(&err),
        vec![
            dup_finding("warning", AB, "dupb", None),
            format!(
                "modpolicy: warning[unmatched-rule]: `provider dupa_only_fn nothing_*` matched no symbol with several exporters [rule {}:2]",
                s(&other)
            ),
        ]
    );
}

#[test]
fn prefer_by_module_name() {
    let w = Work::new();
    for (want, tree, order) in [
        ("dupa", "dup-export-ab", AB),
        ("dupa", "dup-export-ba", BA),
        ("dupb", "dup-export-ab", AB),
        ("dupb", "dup-export-ba", BA),
    ] {
        let p = w.file(
            &format!("prefer-{want}.kdl"),
            &format!("version 1\nprovider \"dup_*\" {{\n    prefer \"{want}\"\n}}\n"),
        );
        let root = w.tree_as(tree, &format!("{tree}-{want}"));
        assert_ok(tree, &depmod(&root, &[&p], &[]));
        assert_dup_provider(&format!("prefer {want} on {tree}"), &root, order, want);
    }
}

/// "the first pattern, in the order written, that matches an exporter".
#[test]
fn prefer_takes_first_pattern_that_matches() {
    let w = Work::new();
    for (pats, want) in [
        ("\"dupb\" \"dupa\"", "dupb"),
        ("\"dupa\" \"dupb\"", "dupa"),
        ("\"nomatch\" \"du?a\"", "dupa"),
        ("\"[b]*\" \"dup[b]\" \"dupa\"", "dupb"),
    ] {
        let p = w.file(
            "p.kdl",
            &format!("version 1\nprovider \"dup_shared_fn\" {{\n    prefer {pats}\n}}\n"),
        );
        let root = w.tree_as("dup-export-ab", &format!("ab-{want}-{}", pats.len()));
        assert_ok(pats, &depmod(&root, &[&p], &[]));
        assert_dup_provider(pats, &root, AB, want);
    }
}

/// "`[abc]`/`[a-z]` (a set)" in a module name pattern: `dup[a-c]` matches dupa and dupb,
/// so the earliest in resolution order wins.
#[test]
fn prefer_with_a_range() {
    let w = Work::new();
    let p = w.file(
        "range.kdl",
        "version 1\nprovider \"dup_shared_fn\" {\n    prefer \"dup[a-c]\"\n}\n",
    );
    for (tree, order, want) in [("dup-export-ab", AB, "dupa"), ("dup-export-ba", BA, "dupb")] {
        let root = w.tree(tree);
        assert_ok(tree, &depmod(&root, &[&p], &[]));
        assert_dup_provider(&format!("dup[a-c] on {tree}"), &root, order, want);
    }
}

/// A pattern with `/` matches the path under `/lib/modules/VERSION`; of several exporters
/// matching one pattern, the earliest in resolution order wins.
#[test]
fn prefer_by_path() {
    let w = Work::new();
    let exact = w.file(
        "exact.kdl",
        "version 1\nprovider \"dup_shared_fn\" {\n    prefer \"kernel/drivers/dup/dupa.ko\"\n}\n",
    );
    let root = w.tree_as("dup-export-ab", "exact");
    assert_ok("exact", &depmod(&root, &[&exact], &[]));
    assert_dup_provider("exact path", &root, AB, "dupa");

    let both = w.file(
        "both.kdl",
        "version 1\nprovider \"dup_shared_fn\" {\n    prefer \"kernel/**\"\n}\n",
    );
    for (tree, order, want) in [("dup-export-ab", AB, "dupa"), ("dup-export-ba", BA, "dupb")] {
        let root = w.tree(tree);
        assert_ok(tree, &depmod(&root, &[&both], &[]));
        assert_dup_provider(&format!("kernel/** on {tree}"), &root, order, want);
    }

    // A module name pattern never matches a path, and a path pattern never a name.
    let name_like_path = w.file("nlp.kdl", "version 1\nprovider \"dup_shared_fn\" {\n    prefer \"drivers/dupa\" \"dupb.ko\" \"dupa\"\n}\n");
    let root = w.tree_as("dup-export-ab", "nlp");
    assert_ok("nlp", &depmod(&root, &[&name_like_path], &[]));
    assert_dup_provider("drivers/dupa, dupb.ko match nothing", &root, AB, "dupa");
}

/// `updates/*` matches `updates/x.ko` only, `updates/**` anything below `updates/`.
#[test]
fn prefer_updates_single_and_double_star() {
    let w = Work::new();
    let single = w.file(
        "single.kdl",
        "version 1\nprovider \"dup_*\" {\n    prefer \"updates/*\" \"dupb\"\n}\n",
    );
    let double = w.file(
        "double.kdl",
        "version 1\nprovider \"dup_*\" {\n    prefer \"updates/**\" \"dupb\"\n}\n",
    );

    let flat = updates_tree(&w, "flat", "");
    assert_ok("flat single", &depmod(&flat, &[&single], &[]));
    assert_updates_provider("updates/* on updates/dupa.ko", &flat, "", true);
    assert_ok("flat double", &depmod(&flat, &[&double], &[]));
    assert_updates_provider("updates/** on updates/dupa.ko", &flat, "", true);

    let nested = updates_tree(&w, "nested", "vendor/");
    assert_ok("nested single", &depmod(&nested, &[&single], &[]));
    assert_updates_provider(
        "updates/* on updates/vendor/dupa.ko",
        &nested,
        "vendor/",
        false,
    );
    assert_ok("nested double", &depmod(&nested, &[&double], &[]));
    assert_updates_provider(
        "updates/** on updates/vendor/dupa.ko",
        &nested,
        "vendor/",
        true,
    );
}

/// "If no pattern of a `prefer` list matches any exporter, the default strategy decides
/// (and `explain` says so)."
#[test]
fn prefer_without_match_falls_back_to_default() {
    let w = Work::new();
    let rule = "provider \"dup_shared_fn\" {\n    prefer \"nomatch*\" \"updates/**\"\n    reason \"vendor first\"\n}\n";
    let plain = w.file("plain.kdl", &format!("version 1\n{rule}"));
    let first = w.file(
        "first.kdl",
        &format!("version 1\ndefaults {{\n    provider \"first-in-order\"\n}}\n{rule}"),
    );
    let root = w.tree_as("dup-export-ab", "plain");
    assert_ok("plain", &depmod(&root, &[&plain], &[]));
    assert_dup_provider("fallback to built-in last-in-order", &root, AB, "dupb");
    let root = w.tree_as("dup-export-ab", "first");
    assert_ok("first", &depmod(&root, &[&first], &[]));
    assert_dup_provider("fallback to defaults first-in-order", &root, AB, "dupa");

    let out = run(&[
        "explain".into(),
        "--policy".into(),
        s(&first),
        "-b".into(),
        s(&root),
        FIXTURE_VERSION.into(),
        "dup_shared_fn".into(),
    ]);
    assert_ok("explain", &out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("  provider: dupa (kernel/drivers/dup/dupa.ko)\n"),
        "explain:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "  decided by: default strategy `first-in-order` ({}:3)\n",
            s(&first)
        )),
        "explain does not say the default decided:\n{text}"
    );
}

/// `search-order`: the exporter in the highest-priority search directory, whatever the
/// resolution order; `first-`/`last-in-order` ignore the search list.
#[test]
fn search_order_follows_the_search_list() {
    let w = Work::new();
    let root = updates_tree(&w, "upd", "");
    // Resolution order: dupb (listed), then updates/dupa.ko (unlisted).
    for (strategy, dupa) in [
        ("first-in-order", false),
        ("last-in-order", true),
        ("search-order", true),
    ] {
        let p = defaults_policy(&w, strategy);
        assert_ok(strategy, &depmod(&root, &[&p], &[]));
        assert_updates_provider(
            &format!("{strategy}, default search [updates]"),
            &root,
            "",
            dupa,
        );
    }
    // The kernel's own tree above updates/: search-order now takes dupb, although dupa is
    // later in resolution order.
    for (strategy, dupa) in [
        ("first-in-order", false),
        ("last-in-order", true),
        ("search-order", false),
    ] {
        let p = w.file(
            &format!("builtin-first-{strategy}.kdl"),
            &format!("version 1\ndefaults {{\n    provider \"{strategy}\"\n}}\ndepmod {{\n    search \"built-in\" \"updates\"\n}}\n"),
        );
        assert_ok(strategy, &depmod(&root, &[&p], &[]));
        assert_updates_provider(
            &format!("{strategy}, search built-in updates"),
            &root,
            "",
            dupa,
        );
    }
    // The same through depmod.d (-C) instead of a `depmod` block.
    let conf = w.file("conf/search.conf", "search built-in updates\n");
    let p = defaults_policy(&w, "search-order");
    assert_ok(
        "-C",
        &depmod(&root, &[&p], &["-C", &s(conf.parent().unwrap())]),
    );
    assert_updates_provider(
        "search-order, depmod.d search built-in updates",
        &root,
        "",
        false,
    );
    // As a `provider` rule.
    let rule = w.file("rule.kdl", "version 1\nprovider \"dup_*\" strategy=\"search-order\"\ndepmod {\n    search \"built-in\" \"updates\"\n}\n");
    assert_ok("rule", &depmod(&root, &[&rule], &[]));
    assert_updates_provider("provider strategy=search-order", &root, "", false);
}

/// `search-order` ties (both exporters in the kernel tree) go to the latest in
/// resolution order.
#[test]
fn search_order_ties_go_to_latest() {
    let w = Work::new();
    let p = defaults_policy(&w, "search-order");
    for (tree, order, want) in [("dup-export-ab", AB, "dupb"), ("dup-export-ba", BA, "dupa")] {
        let root = w.tree(tree);
        assert_ok(tree, &depmod(&root, &[&p], &[]));
        assert_dup_provider(tree, &root, order, want);
    }
}
