//! Layering (README, "Layering"): each `--policy FILE` is a layer above the previous
//! ones, a file's `include`s are lower layers than the file; rules are consulted from
//! the top layer down (first match applies), settings come from the top-most layer that
//! sets them, `depmod` searches from the top-most layer with one while overrides,
//! excludes and externals accumulate.

use crate::*;

const PREFER_DUPA: &str =
    "version 1\nprovider \"dup_shared_fn\" {\n    prefer \"dupa\"\n    reason \"base\"\n}\n";
const PREFER_DUPB: &str =
    "version 1\nprovider \"dup_*\" {\n    prefer \"dupb\"\n    reason \"site\"\n}\n";

#[test]
fn later_policy_flag_is_the_higher_layer_for_rules() {
    let w = Work::new();
    let a = w.file("a.kdl", PREFER_DUPA);
    let b = w.file("b.kdl", PREFER_DUPB);
    let root = w.tree_as("dup-export-ab", "ab1");
    assert_ok("a then b", &depmod(&root, &[&a, &b], &[]));
    assert_dup_provider("--policy a --policy b", &root, AB, "dupb");
    let root = w.tree_as("dup-export-ab", "ab2");
    assert_ok("b then a", &depmod(&root, &[&b, &a], &[]));
    assert_dup_provider("--policy b --policy a", &root, AB, "dupa");
}

#[test]
fn include_is_a_lower_layer_than_the_including_file() {
    let w = Work::new();
    w.file("inc/base.kdl", PREFER_DUPA);
    let site = w.file(
        "inc/site.kdl",
        &format!(
            "version 1\ninclude \"base.kdl\"\n{}",
            &PREFER_DUPB["version 1\n".len()..]
        ),
    );
    let root = w.tree_as("dup-export-ab", "ab1");
    assert_ok("site", &depmod(&root, &[&site], &[]));
    assert_dup_provider("site includes base: site's rule wins", &root, AB, "dupb");

    // The including file's rule names only dupa_only_fn: base's rule decides dup_shared_fn.
    let narrow = w.file(
        "inc/narrow.kdl",
        "version 1\ninclude \"base.kdl\"\nprovider \"dupa_only_fn\" strategy=\"last-in-order\"\n",
    );
    let root = w.tree_as("dup-export-ab", "ab2");
    assert_ok("narrow", &depmod(&root, &[&narrow], &[]));
    assert_dup_provider(
        "included rule applies where the includer has none",
        &root,
        AB,
        "dupa",
    );

    // Includes are loaded before the file itself, and above earlier --policy files:
    // `--policy top --policy site` puts base (included by site) above top.
    let top = w.file(
        "top.kdl",
        "version 1\nprovider \"dup_shared_fn\" strategy=\"last-in-order\"\n",
    );
    let root = w.tree_as("dup-export-ab", "ab3");
    assert_ok("top narrow", &depmod(&root, &[&top, &narrow], &[]));
    assert_dup_provider(
        "base (via narrow) is above the first --policy",
        &root,
        AB,
        "dupa",
    );
    let root = w.tree_as("dup-export-ab", "ab4");
    assert_ok("narrow top", &depmod(&root, &[&narrow, &top], &[]));
    assert_dup_provider(
        "the last --policy is above narrow and base",
        &root,
        AB,
        "dupb",
    );
}

/// Within one layer, the first matching rule in file order applies.
#[test]
fn first_matching_rule_in_file_order() {
    let w = Work::new();
    let p = w.file(
        "order.kdl",
        "version 1\nprovider \"dup_shared_fn\" {\n    prefer \"dupa\"\n}\nprovider \"dup_*\" {\n    prefer \"dupb\"\n}\n",
    );
    let root = w.tree("dup-export-ab");
    assert_ok("order", &depmod(&root, &[&p], &[]));
    assert_dup_provider("first rule in the file", &root, AB, "dupa");
}

/// "Settings (`defaults`, each `severity` code): the top-most layer that sets one wins",
/// each setting on its own.
#[test]
fn settings_come_from_the_topmost_layer_that_sets_them() {
    let w = Work::new();
    let first = w.file("first.kdl", "version 1\ndefaults {\n    provider \"first-in-order\"\n}\nseverity {\n    duplicate-export \"deny\"\n}\n");
    let last = w.file(
        "last.kdl",
        "version 1\ndefaults {\n    provider \"last-in-order\"\n}\n",
    );
    let warn = w.file(
        "warn.kdl",
        "version 1\nseverity {\n    duplicate-export \"warn\"\n}\n",
    );
    let winner_only = w.file(
        "winner.kdl",
        "version 1\ndefaults {\n    vmlinux-winner \"module\"\n}\n",
    );

    // defaults: top-most wins.
    let root = w.tree_as("dup-export-ab", "ab1");
    let err = assert_ok(
        "first last warn",
        &depmod(&root, &[&first, &last, &warn], &[]),
    );
    assert_dup_provider("last.kdl above first.kdl", &root, AB, "dupb");
    assert_eq!(
        finding_lines(&err),
        vec![dup_finding(
            "warning",
            AB,
            "dupb",
            Some(format!("{}:3", s(&warn)))
        )]
    );

    let root = w.tree_as("dup-export-ab", "ab2");
    let err = assert_ok(
        "last first warn",
        &depmod(&root, &[&last, &first, &warn], &[]),
    );
    assert_dup_provider("first.kdl above last.kdl", &root, AB, "dupa");
    assert_eq!(
        finding_lines(&err),
        vec![dup_finding(
            "warning",
            AB,
            "dupa",
            Some(format!("{}:3", s(&warn)))
        )]
    );

    // first.kdl's severity (deny) above warn.kdl's: the run fails.
    let root = w.tree_as("dup-export-ab", "ab4");
    let out = depmod(&root, &[&warn, &first, &winner_only], &[]);
    let err = assert_fails("warn first winner", &out);
    assert_eq!(
        finding_lines(&err),
        vec![
            dup_finding("error", AB, "dupa", Some(format!("{}:6", s(&first)))),
            denied_line(1)
        ]
    );
    let root = w.tree_as("dup-export-ab", "ab5");
    let err = assert_ok(
        "first winner warn",
        &depmod(&root, &[&first, &winner_only, &warn], &[]),
    );
    assert_dup_provider(
        "first.kdl's provider default survives winner.kdl",
        &root,
        AB,
        "dupa",
    );
    assert_eq!(
        finding_lines(&err),
        vec![dup_finding(
            "warning",
            AB,
            "dupa",
            Some(format!("{}:3", s(&warn)))
        )]
    );
}

/// The same through `include`: the including file's settings beat the included one's.
#[test]
fn include_settings_precedence() {
    let w = Work::new();
    w.file("base.kdl", "version 1\ndefaults {\n    provider \"first-in-order\"\n}\nseverity {\n    duplicate-export \"deny\"\n}\n");
    let site = w.file(
        "site.kdl",
        "version 1\ninclude \"base.kdl\"\nseverity {\n    duplicate-export \"allow\"\n}\n",
    );
    let root = w.tree("dup-export-ab");
    let err = assert_ok("site", &depmod(&root, &[&site], &[]));
    assert_dup_provider("base's defaults, site's severity", &root, AB, "dupa");
    assert_eq!(finding_lines(&err), Vec::<String>::new());
}

/// `depmod` blocks across layers: `search` from the top-most layer that has one;
/// `override` accumulates (an override in a lower layer still applies).
#[test]
fn depmod_blocks_across_layers() {
    let w = Work::new();
    let base = w.file(
        "base.kdl",
        "version 1\ndepmod {\n    search \"extra\" \"updates\" \"built-in\"\n}\n",
    );
    let top = w.file(
        "top.kdl",
        "version 1\ndepmod {\n    search \"updates\" \"built-in\"\n}\n",
    );
    let ovr = w.file(
        "ovr.kdl",
        "version 1\ndepmod {\n    override \"prio\" \"vendor\" kernel=\"*\"\n}\n",
    );
    let prio_dep = |winner: &str| {
        vec![
            format!("kernel/drivers/prio/priouser.ko: {winner}"),
            format!("kernel/drivers/prio/brokenmod.ko: {winner}"),
            format!("{winner}:"),
        ]
    };
    let check = |name: &str, policies: &[&std::path::Path], winner: &str| {
        let root = w.tree_as("depmod-conf-default", name);
        assert_ok(name, &depmod(&root, policies, &[]));
        assert_eq!(
            artifact(&root, "modules.dep"),
            prio_dep(winner)
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            "{name}: modules.dep"
        );
    };
    check("base-top", &[&base, &top], "updates/prio.ko");
    check("top-base", &[&top, &base], "extra/prio.ko");
    check("ovr-top", &[&ovr, &top], "vendor/prio.ko");
    check("top-ovr", &[&top, &ovr], "vendor/prio.ko");
}
