//! System policy layers: `BASEDIR/usr/lib/modpolicy/policy.d/*.kdl` (shipped) and
//! `BASEDIR/etc/modpolicy/policy.d/*.kdl` (the administrator's, masking shipped files of
//! the same name), in name order, `--policy` files above them; none → kmod's rules.
//!
//! The tree is `dup-export-ab`: `dupa` and `dupb` both export `dup_shared_fn` and
//! `modules.order` lists `dupa` first, so kmod's rule (the last in order) makes `dupb`
//! the provider and `first-in-order` makes it `dupa`.

use crate::support::{self, copy_tree, FIXTURE_VERSION};
use crate::{depmod_link, files, modpolicy, run};
use std::path::Path;

const V: &str = FIXTURE_VERSION;
const FIRST: &str = "version 1\ndefaults {\n    provider \"first-in-order\"\n}\n";
const LAST: &str = "version 1\ndefaults {\n    provider \"last-in-order\"\n}\n";

fn tree(dst: &Path) {
    copy_tree(&support::fixture_trees().join("dup-export-ab"), dst);
}

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The provider of `dup_shared_fn` in the written `modules.symbols`.
fn provider(root: &Path) -> String {
    let s = std::fs::read_to_string(root.join("lib/modules").join(V).join("modules.symbols"))
        .expect("modules.symbols written");
    s.lines()
        .find_map(|l| l.strip_prefix("alias symbol:dup_shared_fn "))
        .unwrap_or_else(|| panic!("no dup_shared_fn in {s}"))
        .to_string()
}

fn depmod(root: &Path, extra: &[&str]) -> support::RunOutput {
    let r = root.to_str().unwrap();
    let mut args = vec!["depmod", "-b", r];
    args.extend_from_slice(extra);
    args.push(V);
    modpolicy(&args)
}

#[track_caller]
fn ok(what: &str, out: &support::RunOutput) {
    assert_eq!(out.code, Some(0), "{what}: {}", out.stderr_text());
}

#[test]
fn system_layers_apply_in_name_order_and_etc_masks_usr_lib() {
    let t = tempfile::tempdir().unwrap();
    // No policy anywhere: kmod's rules.
    let r0 = t.path().join("none");
    tree(&r0);
    ok("none", &depmod(&r0, &[]));
    assert_eq!(provider(&r0), "dupb");

    // A shipped policy applies.
    let r1 = t.path().join("shipped");
    tree(&r1);
    put(&r1, "usr/lib/modpolicy/policy.d/50-distro.kdl", FIRST);
    ok("shipped", &depmod(&r1, &[]));
    assert_eq!(provider(&r1), "dupa");

    // The administrator's file of the same name masks it.
    let r2 = t.path().join("masked");
    tree(&r2);
    put(&r2, "usr/lib/modpolicy/policy.d/50-distro.kdl", FIRST);
    put(&r2, "etc/modpolicy/policy.d/50-distro.kdl", LAST);
    ok("masked", &depmod(&r2, &[]));
    assert_eq!(provider(&r2), "dupb");
    // ... and a link to /dev/null masks it with no layer of its own.
    std::fs::remove_file(r2.join("etc/modpolicy/policy.d/50-distro.kdl")).unwrap();
    std::os::unix::fs::symlink("/dev/null", r2.join("etc/modpolicy/policy.d/50-distro.kdl"))
        .unwrap();
    ok("masked by /dev/null", &depmod(&r2, &[]));
    assert_eq!(provider(&r2), "dupb");

    // Name order across both directories: the later name is the higher layer.
    let r3 = t.path().join("order");
    tree(&r3);
    put(&r3, "usr/lib/modpolicy/policy.d/90-late.kdl", FIRST);
    put(&r3, "etc/modpolicy/policy.d/10-early.kdl", LAST);
    ok("order", &depmod(&r3, &[]));
    assert_eq!(provider(&r3), "dupa");

    // --policy is above every system layer.
    let top = t.path().join("top.kdl");
    std::fs::write(&top, LAST).unwrap();
    ok(
        "--policy",
        &depmod(&r3, &["--policy", top.to_str().unwrap()]),
    );
    assert_eq!(provider(&r3), "dupb");

    // Run as `depmod`, the system policy applies too.
    let bin = tempfile::tempdir().unwrap();
    let link = depmod_link(bin.path());
    let r4 = t.path().join("link");
    tree(&r4);
    put(&r4, "usr/lib/modpolicy/policy.d/50-distro.kdl", FIRST);
    ok("link", &run(&link, &["-a", "-b", r4.to_str().unwrap(), V]));
    assert_eq!(provider(&r4), "dupa");
}

#[test]
fn a_broken_system_policy_stops_the_run_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("broken");
    tree(&root);
    // Artifacts of an earlier run stay as they were.
    ok("first run", &depmod(&root, &[]));
    let before = files(&root);
    put(
        &root,
        "etc/modpolicy/policy.d/20-site.kdl",
        "version 1\ndefaults {\n    provider \"no-such-strategy\"\n}\n",
    );
    let after_put = files(&root);
    let out = depmod(&root, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.contains("etc/modpolicy/policy.d/20-site.kdl:3:"),
        "{err}"
    );
    assert!(err.contains("problem(s) in the policy"), "{err}");
    assert_eq!(files(&root), after_put, "a broken policy changed files");
    assert_eq!(after_put.len(), before.len() + 1);
    // Unparseable KDL is named with its line as well.
    put(
        &root,
        "etc/modpolicy/policy.d/20-site.kdl",
        "version 1\nprovider {\n",
    );
    let out = depmod(&root, &[]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr_text().contains("20-site.kdl:"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn policy_show_lists_the_effective_layers() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("show");
    std::fs::create_dir_all(&root).unwrap();
    let r = root.to_str().unwrap();
    let out = modpolicy(&["policy", "show", "-b", r]);
    ok("show, none", &out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("built-in: policies/kmod.kdl"), "{text}");

    put(&root, "usr/lib/modpolicy/policy.d/50-distro.kdl", FIRST);
    put(&root, "usr/lib/modpolicy/policy.d/60-masked.kdl", FIRST);
    put(&root, "etc/modpolicy/policy.d/60-masked.kdl", "");
    put(
        &root,
        "etc/modpolicy/policy.d/70-site.kdl",
        "version 1\ninclude \"../inc/base.kdl\"\n",
    );
    put(&root, "etc/modpolicy/inc/base.kdl", LAST);
    let top = t.path().join("top.kdl");
    std::fs::write(&top, LAST).unwrap();
    let out = modpolicy(&["policy", "show", "-b", r, "--policy", top.to_str().unwrap()]);
    ok("show", &out);
    let text = String::from_utf8_lossy(&out.stdout).replace(r, "<ROOT>");
    let text = text.replace(t.path().to_str().unwrap(), "<TMP>");
    assert_eq!(
        text,
        "layer 1: <ROOT>/usr/lib/modpolicy/policy.d/50-distro.kdl (system, shipped)\n\
         layer 2: <ROOT>/etc/modpolicy/policy.d/70-site.kdl (system, administrator)\n\
         \x20 includes <ROOT>/etc/modpolicy/policy.d/../inc/base.kdl\n\
         layer 3: <TMP>/top.kdl (--policy)\n\
         masked: <ROOT>/usr/lib/modpolicy/policy.d/60-masked.kdl (by <ROOT>/etc/modpolicy/policy.d/60-masked.kdl)\n"
    );
}

/// `check` judges an installed tree under the system layers of its root, as that
/// system's `depmod` does (`-b ROOT VERSION` or `ROOT/lib/modules/VERSION`);
/// `--no-system-policy` reads only `--policy`, and `policy show` prints both sets.
#[test]
fn check_reads_the_system_layers_of_the_trees_root() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("check");
    // `diag`: `nodesc` has no description (`missing-description`, a warning by default).
    copy_tree(&support::fixture_trees().join("diag"), &root);
    let r = root.to_str().unwrap();
    let dir = root.join("lib/modules").join(V);
    let dir = dir.to_str().unwrap();
    let check = |extra: &[&str], inputs: &[&str]| {
        let mut args = vec!["check", "--format", "modpost", "--no-progress"];
        args.extend_from_slice(extra);
        args.extend_from_slice(inputs);
        modpolicy(&args)
    };
    // No system layer: `missing-description` is at its default level.
    let none = check(&[], &[dir]);
    ok("check, no system policy", &none);
    let nodesc = "missing MODULE_DESCRIPTION() in drivers/diag/nodesc.o";
    assert!(String::from_utf8_lossy(&none.stdout).contains(nodesc));
    put(
        &root,
        "etc/modpolicy/policy.d/50-site.kdl",
        "version 1\nseverity {\n    missing-description \"deny\"\n}\n",
    );
    for inputs in [&[dir][..], &["-b", r, V]] {
        let out = check(&[], inputs);
        assert_eq!(out.code, Some(1), "{inputs:?}: {}", out.stderr_text());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("ERROR: modpost: {nodesc}")),
            "{inputs:?}: {text}"
        );
        let off = check(&["--no-system-policy"], inputs);
        assert_eq!(off.code, none.code, "{inputs:?}: {}", off.stderr_text());
        assert_eq!(off.stdout, none.stdout, "{inputs:?}");
    }
    // --policy stays above the system layers.
    let top = t.path().join("top.kdl");
    std::fs::write(
        &top,
        "version 1\nseverity {\n    missing-description \"warn\"\n}\n",
    )
    .unwrap();
    let out = check(&["--policy", top.to_str().unwrap()], &[dir]);
    ok("check, --policy above the system layer", &out);
    // policy show prints what check reads, with and without the system layers.
    let shown = |extra: &[&str]| {
        let mut args = vec!["policy", "show", "-b", r];
        args.extend_from_slice(extra);
        let out = modpolicy(&args);
        ok("policy show", &out);
        String::from_utf8_lossy(&out.stdout).replace(r, "<ROOT>")
    };
    assert_eq!(
        shown(&[]),
        "layer 1: <ROOT>/etc/modpolicy/policy.d/50-site.kdl (system, administrator)\n"
    );
    assert!(
        shown(&["--no-system-policy"]).starts_with("built-in:"),
        "{}",
        shown(&["--no-system-policy"])
    );
    // A broken system layer stops check as it stops depmod, naming file and line.
    put(
        &root,
        "etc/modpolicy/policy.d/50-site.kdl",
        "version 1\nseverity {\n",
    );
    let out = check(&[], &[dir]);
    assert_eq!(out.code, Some(2), "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains("50-site.kdl:"),
        "{}",
        out.stderr_text()
    );
}
