//! `depmod { search override exclude external }` (README, "`depmod`"): the settings of
//! depmod.d with the same meaning, depmod.d not read when a policy has a `depmod` block,
//! and `modpolicy policy import-depmod-conf`, whose output gives the same artifacts as
//! the depmod.d it came from, byte for byte, and as kmod 30 with that depmod.d.

use crate::support::{self, args, describe_difference, Pair, Tool, FIXTURE_VERSION};
use crate::*;
use std::path::Path;

const CONF_TREES: &[&str] = &[
    "depmod-conf-default",
    "depmod-conf-exclude",
    "depmod-conf-external",
    "depmod-conf-override",
    "depmod-conf-search",
];

/// The `depmod` block equivalent to each tree's `etc/depmod.d`, written by hand from the
/// README's table. `@TREE@` is the copy's root.
fn hand_written(tree: &str) -> &'static str {
    match tree {
        "depmod-conf-default" => "depmod {\n    search \"updates\"\n}\n",
        "depmod-conf-search" => "depmod {\n    search \"extra\" \"updates\" \"built-in\"\n}\n",
        "depmod-conf-override" => {
            r#"depmod {
    search "updates" "built-in"
    override "prio" "vendor" kernel="*"
    override "prio" "extra" kernel="5\\.10\\..*"
}
"#
        }
        "depmod-conf-exclude" => "depmod {\n    search \"updates\" \"extra\" \"built-in\"\n    exclude \"updates\" \"brokenmod.ko\"\n}\n",
        "depmod-conf-external" => {
            r#"depmod {
    search "external" "updates" "built-in"
    external "@TREE@/opt/external" kernel="6\\.1\\.0-.*"
}
"#
        }
        _ => unreachable!(),
    }
}

/// kmod 30's `modules.dep` for each tree (README, `depmod-conf-*`); `@TREE@` is the root.
fn expected_dep(tree: &str) -> Vec<&'static str> {
    match tree {
        "depmod-conf-default" => vec![
            "kernel/drivers/prio/priouser.ko: updates/prio.ko",
            "kernel/drivers/prio/brokenmod.ko: updates/prio.ko",
            "updates/prio.ko:",
        ],
        "depmod-conf-search" => vec![
            "kernel/drivers/prio/priouser.ko: extra/prio.ko",
            "kernel/drivers/prio/brokenmod.ko: extra/prio.ko",
            "extra/prio.ko:",
        ],
        "depmod-conf-override" => vec![
            "kernel/drivers/prio/priouser.ko: vendor/prio.ko",
            "kernel/drivers/prio/brokenmod.ko: vendor/prio.ko",
            "vendor/prio.ko:",
        ],
        "depmod-conf-exclude" => vec![
            "kernel/drivers/prio/priouser.ko: extra/prio.ko",
            "extra/prio.ko:",
        ],
        "depmod-conf-external" => vec![
            "kernel/drivers/prio/priouser.ko: @TREE@/opt/external/prio/prio.ko",
            "kernel/drivers/prio/brokenmod.ko: @TREE@/opt/external/prio/prio.ko",
            "@TREE@/opt/external/prio/prio.ko:",
        ],
        _ => unreachable!(),
    }
}

/// Replaces `@TREE@` in `<root>/etc/depmod.d/*.conf` by `root`.
fn substitute(root: &Path) {
    for e in std::fs::read_dir(root.join("etc/depmod.d"))
        .expect("etc/depmod.d")
        .flatten()
    {
        let t = std::fs::read_to_string(e.path()).expect("conf");
        std::fs::write(e.path(), t.replace("@TREE@", &s(root))).expect("write conf");
    }
}

/// Every difference between the artifacts of two copies (root paths normalised).
fn differences(a: &Path, b: &Path) -> Vec<String> {
    let (sa, sb) = (snapshot(a), snapshot(b));
    let mut out = Vec::new();
    if sa.keys().ne(sb.keys()) {
        out.push(format!(
            "file sets differ: {:?} vs {:?}",
            sa.keys().collect::<Vec<_>>(),
            sb.keys().collect::<Vec<_>>()
        ));
    }
    let (ra, rb) = (s(a), s(b));
    for (name, da) in &sa {
        if let Some(db) = sb.get(name) {
            if let Some(d) = describe_difference(name, da, db, Some((ra.as_bytes(), rb.as_bytes())))
            {
                out.push(d);
            }
        }
    }
    out
}

/// A hand-written `depmod` block gives what the tree's depmod.d gives.
#[test]
fn depmod_block_equals_depmod_d() {
    let w = Work::new();
    for tree in CONF_TREES {
        // Equal-length names, so that root paths normalise to the same length.
        let pol = w.tree_as(tree, &format!("pol-{tree}"));
        let cfg = w.tree_as(tree, &format!("cfg-{tree}"));
        substitute(&cfg);
        let policy = w.file(
            &format!("{tree}.kdl"),
            &format!(
                "version 1\n{}",
                hand_written(tree).replace("@TREE@", &s(&pol))
            ),
        );
        let err = assert_ok(tree, &depmod(&pol, &[&policy], &["-C", "/nonexistent"]));
        assert_eq!(err, "", "{tree}");
        assert_ok(
            tree,
            &depmod(&cfg, &[], &["-C", &s(&cfg.join("etc/depmod.d"))]),
        );
        let want: String = expected_dep(tree)
            .iter()
            .map(|l| format!("{}\n", l.replace("@TREE@", &s(&pol))))
            .collect();
        assert_eq!(
            artifact(&pol, "modules.dep"),
            want,
            "{tree}: modules.dep under the policy"
        );
        let d = differences(&cfg, &pol);
        assert!(
            d.is_empty(),
            "{tree}: the depmod block and depmod.d differ:\n{}",
            d.join("\n")
        );
    }
}

/// "When any layer of a policy has a `depmod` block, `depmod.d` is **not** read".
#[test]
fn depmod_d_is_ignored_when_the_policy_has_a_depmod_block() {
    let w = Work::new();
    let conf = |root: &Path| s(&root.join("etc/depmod.d"));
    // depmod-conf-search's depmod.d says `search extra updates built-in`: extra wins.
    let root = w.tree_as("depmod-conf-search", "none");
    let p = w.file("none.kdl", "version 1\n");
    assert_ok("no block", &depmod(&root, &[&p], &["-C", &conf(&root)]));
    assert_eq!(
        artifact(&root, "modules.dep"),
        lines(&expected_dep("depmod-conf-search"))
    );

    let updates_dep = lines(&expected_dep("depmod-conf-default"));
    // A block with another search list: the policy's list.
    let root = w.tree_as("depmod-conf-search", "search");
    let p = w.file(
        "search.kdl",
        "version 1\ndepmod {\n    search \"updates\" \"built-in\"\n}\n",
    );
    assert_ok("search block", &depmod(&root, &[&p], &["-C", &conf(&root)]));
    assert_eq!(
        artifact(&root, "modules.dep"),
        updates_dep,
        "the policy's search list"
    );

    // A block without `search`: the default list `updates`, not depmod.d's.
    let root = w.tree_as("depmod-conf-search", "exclude");
    let p = w.file(
        "exclude.kdl",
        "version 1\ndepmod {\n    exclude \"nothing-by-this-name\"\n}\n",
    );
    assert_ok(
        "exclude block",
        &depmod(&root, &[&p], &["-C", &conf(&root)]),
    );
    assert_eq!(
        artifact(&root, "modules.dep"),
        updates_dep,
        "default search list"
    );

    // An empty block in a lower layer is enough.
    let root = w.tree_as("depmod-conf-search", "lower");
    let empty = w.file("empty.kdl", "version 1\ndepmod {\n}\n");
    let top = w.file(
        "top.kdl",
        "version 1\ndefaults {\n    provider \"last-in-order\"\n}\n",
    );
    assert_ok(
        "empty block",
        &depmod(&root, &[&empty, &top], &["-C", &conf(&root)]),
    );
    assert_eq!(
        artifact(&root, "modules.dep"),
        updates_dep,
        "empty depmod block in a lower layer"
    );
}

fn lines(v: &[&str]) -> String {
    v.iter().map(|l| format!("{l}\n")).collect()
}

/// `kernel=` on `override`/`external` is a regular expression on the kernel version,
/// searched (not anchored) as kmod's `regexec` does: `6\.1` matches `6.1.0-test`.
#[test]
fn kernel_patterns_select_overrides() {
    let w = Work::new();
    for (i, (kernel, winner)) in [
        (r#""*""#, "extra"),
        (r#""6\\.1\\.0-test""#, "extra"),
        (r#""6\\.1\\..*""#, "extra"),
        (r#""5\\.10\\..*""#, "updates"),
        (r#""^5""#, "updates"),
        (r#""6\\.1""#, "extra"),
        (r#""test$""#, "extra"),
    ]
    .into_iter()
    .enumerate()
    {
        let p = w.file(
            &format!("k{i}.kdl"),
            &format!("version 1\ndepmod {{\n    override \"prio\" \"extra\" kernel={kernel}\n}}\n"),
        );
        let root = w.tree_as("depmod-conf-default", &format!("k{i}"));
        assert_ok(kernel, &depmod(&root, &[&p], &[]));
        let want = vec![
            format!("kernel/drivers/prio/priouser.ko: {winner}/prio.ko"),
            format!("kernel/drivers/prio/brokenmod.ko: {winner}/prio.ko"),
            format!("{winner}/prio.ko:"),
        ];
        assert_eq!(
            artifact(&root, "modules.dep"),
            lines(&strs(&want)),
            "kernel={kernel}"
        );
    }
}

/// `policy import-depmod-conf DIR > x.kdl`, then `depmod --policy x.kdl -C /nonexistent`:
/// byte-identical to `depmod -C DIR` (ours) and to kmod 30's `depmod -C DIR`.
fn import_check(tree: &str) {
    let test = format!("import_depmod_conf {tree}");
    let src = support::fixture_trees().join(tree);
    let conf_args = args(&["-C", "@ROOT@/etc/depmod.d"]);

    // Ours with the imported policy vs ours with depmod.d.
    let w = Work::new();
    let pol = w.tree_as(tree, "pol");
    let cfg = w.tree_as(tree, "cfg");
    substitute(&pol);
    substitute(&cfg);
    let out = run(&[
        "policy".into(),
        "import-depmod-conf".into(),
        s(&pol.join("etc/depmod.d")),
    ]);
    assert_ok(&test, &out);
    assert!(
        out.stderr.is_empty(),
        "{test}: import printed {}",
        out.stderr_text()
    );
    let kdl = w.file("x.kdl", &String::from_utf8(out.stdout).expect("UTF-8"));
    let err = assert_ok(&test, &depmod(&pol, &[&kdl], &["-C", "/nonexistent"]));
    assert_eq!(err, "", "{test}");
    assert_ok(
        &test,
        &depmod(&cfg, &[], &["-C", &s(&cfg.join("etc/depmod.d"))]),
    );
    let want: String = expected_dep(tree)
        .iter()
        .map(|l| format!("{}\n", l.replace("@TREE@", &s(&pol))))
        .collect();
    assert_eq!(artifact(&pol, "modules.dep"), want, "{test}: modules.dep");
    let d = differences(&cfg, &pol);
    assert!(
        d.is_empty(),
        "{test}: imported policy and depmod.d differ:\n{}",
        d.join("\n")
    );

    // kmod 30 with depmod.d vs ours with the imported policy.
    if support::kmod(&test).is_none() {
        return;
    }
    let pair = Pair::new(&src, FIXTURE_VERSION);
    pair.substitute_tree_placeholder();
    let out = run(&[
        "policy".into(),
        "import-depmod-conf".into(),
        s(&pair.root(Tool::Ours).join("etc/depmod.d")),
    ]);
    assert_ok(&test, &out);
    let kdl = pair.tmp().join("x.kdl");
    std::fs::write(&kdl, &out.stdout).expect("write x.kdl");
    let kmod = pair.run(Tool::Kmod, &conf_args);
    let ours = pair.run(
        Tool::Ours,
        &args(&["--policy", &s(&kdl), "-C", "/nonexistent"]),
    );
    let cmp = pair.compare(kmod, ours);
    cmp.assert_same(&test);
    assert_eq!(cmp.kmod.code, Some(0), "{test}: kmod failed");
}

#[test]
fn import_depmod_conf_default() {
    import_check("depmod-conf-default");
}

#[test]
fn import_depmod_conf_exclude() {
    import_check("depmod-conf-exclude");
}

#[test]
fn import_depmod_conf_external() {
    import_check("depmod-conf-external");
}

#[test]
fn import_depmod_conf_override() {
    import_check("depmod-conf-override");
}

#[test]
fn import_depmod_conf_search() {
    import_check("depmod-conf-search");
}

/// The import names the file and line each setting came from.
#[test]
fn import_depmod_conf_names_origins() {
    let dir = support::fixture_trees().join("depmod-conf-override/etc/depmod.d");
    let out = run(&["policy".into(), "import-depmod-conf".into(), s(&dir)]);
    assert_ok("import", &out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (file, line, node) in [
        ("10-search.conf", 1, "search"),
        ("20-override.conf", 2, "override"),
        ("20-override.conf", 4, "override"),
    ] {
        let comment = format!("// {}:{line}", s(&dir.join(file)));
        let at = text
            .find(&comment)
            .unwrap_or_else(|| panic!("no {comment:?} in:\n{text}"));
        let next = text[at..].lines().nth(1).unwrap_or_default().trim_start();
        assert!(
            next.starts_with(node),
            "{comment} is not followed by `{node}`:\n{text}"
        );
    }
}
