//! kmod 34's `-m/--moduledir DIR` (`--kmod 34`): modules under `BASEDIR/DIR/VERSION`, an
//! absolute DIR as it is and a relative one under BASEDIR as well (kmod 34's testsuite:
//! `-m /foobar` reads `ROOT/foobar/VERSION`, `-m foobar2` reads `ROOT/foobar2/VERSION`);
//! with `-o OUTDIR` the artifacts go to `OUTDIR/DIR/VERSION`.
//!
//! There is no kmod 34 here: each run on a tree laid out for `-m` must write exactly
//! what our own `--kmod 34` run without `-m` writes on the usual `lib/modules` layout of
//! the same tree, and the text artifacts must be kmod 30's (run on that layout).

use crate::support::{self, copy_tree, FIXTURE_VERSION};
use crate::{files, modpolicy, run};
use std::path::Path;

const V: &str = FIXTURE_VERSION;

/// A copy of fixture `tree` in `dst` with `lib/modules` moved to `moduledir` (relative
/// to `dst`).
fn relayout(tree: &str, dst: &Path, moduledir: &str) {
    copy_tree(&support::fixture_trees().join(tree), dst);
    let to = dst.join(moduledir);
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::fs::rename(dst.join("lib/modules"), &to).expect("move lib/modules");
}

#[track_caller]
fn ok(what: &str, out: &support::RunOutput) {
    assert_eq!(out.code, Some(0), "{what}: {}", out.stderr_text());
}

#[test]
fn moduledir_reads_and_writes_where_kmod_34_does() {
    for tree in [
        "dup-export-ab",
        "depmod-conf-search",
        "devices",
        "namespaces",
    ] {
        let t = tempfile::tempdir().expect("tmp");
        // Ours, --kmod 34, usual layout: the reference.
        let plain = t.path().join("plain");
        copy_tree(&support::fixture_trees().join(tree), &plain);
        let p = plain.to_str().unwrap();
        ok(tree, &modpolicy(&["depmod", "--kmod", "34", "-b", p, V]));
        let want = files(&plain.join("lib/modules").join(V));
        assert!(
            want.contains_key("modules.dep.bin"),
            "{tree}: {:?}",
            want.keys()
        );

        for (arg, layout) in [
            ("/foobar", "foobar"),
            ("foobar2", "foobar2"),
            ("/usr/lib/modules", "usr/lib/modules"),
            ("/lib/modules", "lib/modules"),
        ] {
            let root = t.path().join(format!("m-{}", layout.replace('/', "_")));
            relayout(tree, &root, layout);
            let r = root.to_str().unwrap();
            for args in [
                vec!["depmod", "--kmod", "34", "-b", r, "-m", arg, V],
                vec![
                    "depmod",
                    "--kmod=34",
                    &format!("--moduledir={arg}"),
                    "--basedir",
                    r,
                    V,
                ],
            ] {
                ok(&format!("{tree} {args:?}"), &modpolicy(&args));
                assert_eq!(
                    files(&root.join(layout).join(V)),
                    want,
                    "{tree}: {args:?} wrote other files than the run without -m"
                );
            }
            assert!(!root.join("lib/modules").exists() || layout == "lib/modules");
        }

        // -o with -m: read from BASEDIR/DIR/VERSION, written to OUTDIR/DIR/VERSION only.
        let root = t.path().join("with-outdir");
        relayout(tree, &root, "foobar");
        let before = files(&root);
        let out = t.path().join("out");
        let (r, o) = (root.to_str().unwrap(), out.to_str().unwrap());
        ok(
            tree,
            &modpolicy(&[
                "depmod", "--kmod", "34", "-b", r, "-m", "/foobar", "-o", o, V,
            ]),
        );
        assert_eq!(files(&root), before, "{tree}: -o wrote into the input tree");
        let written = files(&out.join("foobar").join(V));
        let generated: std::collections::BTreeMap<_, _> = want
            .iter()
            .filter(|(k, _)| {
                k.starts_with("modules.") && !before.contains_key(&format!("foobar/{V}/{k}"))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(written, generated, "{tree}: -m with -o");
    }
}

#[test]
fn moduledir_text_artifacts_are_kmod_30s() {
    let Some(_) = support::kmod("moduledir_text_artifacts_are_kmod_30s") else {
        return;
    };
    let t = tempfile::tempdir().expect("tmp");
    for tree in ["dup-export-ab", "devices"] {
        let k = t.path().join(format!("kmod-{tree}"));
        copy_tree(&support::fixture_trees().join(tree), &k);
        let kout = run(
            Path::new(support::KMOD_DEPMOD),
            &["-b", k.to_str().unwrap(), V],
        );
        ok(tree, &kout);
        let o = t.path().join(format!("ours-{tree}"));
        relayout(tree, &o, "usr/lib/modules");
        let oout = modpolicy(&[
            "depmod",
            "--kmod",
            "34",
            "-b",
            o.to_str().unwrap(),
            "-m",
            "/usr/lib/modules",
            V,
        ]);
        ok(tree, &oout);
        assert_eq!(oout.stdout, kout.stdout, "{tree}");
        let kf = files(&k.join("lib/modules").join(V));
        let of = files(&o.join("usr/lib/modules").join(V));
        for (name, data) in &kf {
            if name.ends_with(".bin") {
                assert!(of.contains_key(name), "{tree}: {name} missing");
            } else {
                assert_eq!(
                    of.get(name),
                    Some(data),
                    "{tree}: {name} differs from kmod 30's"
                );
            }
        }
    }
}

#[test]
fn version_shows_the_module_directory() {
    let out = modpolicy(&["--version"]);
    ok("--version", &out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "module directory: {}\n",
            modpolicy::job::system::MODULE_DIRECTORY
        )),
        "{text}"
    );
    assert!(
        text.starts_with(&format!("modpolicy {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}
