//! The binary run through a link named `depmod` is kmod's `depmod`: the same exit status,
//! stdout, stderr (copy paths replaced) and files as `/usr/sbin/depmod` on identical
//! copies of each fixture tree, for good command lines and bad ones, and no other file
//! anywhere under BASEDIR.

use crate::support::{self, Pair, RunOutput, Tool, FIXTURE_VERSION};
use crate::{depmod_link, link_as_depmod, run, run_in};
use std::path::{Path, PathBuf};

/// Links named `depmod`, one to kmod's binary and one to ours, each in its own
/// directory: run as `./depmod` from there, both see the same `argv[0]`, which getopt's
/// messages start with.
struct Links {
    _dirs: [tempfile::TempDir; 2],
    kmod: PathBuf,
    ours: PathBuf,
}

impl Links {
    fn new() -> Links {
        let k = tempfile::tempdir().expect("tmp");
        let o = tempfile::tempdir().expect("tmp");
        link_as_depmod(k.path(), Path::new(support::KMOD_DEPMOD));
        depmod_link(o.path());
        Links {
            kmod: k.path().to_path_buf(),
            ours: o.path().to_path_buf(),
            _dirs: [k, o],
        }
    }
}

/// Runs kmod and the `depmod` link on the two copies of `pair` with `args` (`@ROOT@` is
/// the copy's root) and asserts they agree.
fn compare(pair: &Pair, links: &Links, args: &[&str], what: &str) {
    let outputs: Vec<RunOutput> = [(Tool::Kmod, &links.kmod), (Tool::Ours, &links.ours)]
        .into_iter()
        .map(|(t, dir)| {
            let root = pair.root(t);
            let root = root.to_str().expect("UTF-8");
            let a: Vec<String> = args.iter().map(|a| a.replace("@ROOT@", root)).collect();
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            run_in(Some(dir), Path::new("./depmod"), &a)
        })
        .collect();
    let [kmod, ours]: [RunOutput; 2] = outputs.try_into().expect("two runs");
    pair.compare(kmod, ours).assert_same(what);
    // Nothing anywhere else under BASEDIR either (no module cache in BASEDIR/var/cache:
    // mkinitramfs packs the whole BASEDIR it runs `depmod -b` on).
    assert_eq!(
        support::list_files(&pair.root(Tool::Kmod)),
        support::list_files(&pair.root(Tool::Ours)),
        "{what}: the files under the root differ"
    );
}

#[test]
fn depmod_link_is_kmod_on_every_fixture_tree() {
    let Some(_) = support::kmod("depmod_link_is_kmod_on_every_fixture_tree") else {
        return;
    };
    let links = Links::new();
    let trees = support::fixture_trees();
    let mut names: Vec<String> = std::fs::read_dir(&trees)
        .expect("fixture trees")
        .flatten()
        .filter(|e| e.path().join("lib/modules").join(FIXTURE_VERSION).is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "fixture trees: {names:?}");
    for name in &names {
        let src = trees.join(name);
        for args in [
            &["-b", "@ROOT@", FIXTURE_VERSION][..],
            &["-a", "-b", "@ROOT@", "-n", FIXTURE_VERSION],
            &[
                "--base=@ROOT@",
                "-aeE",
                "@ROOT@/Module.symvers",
                FIXTURE_VERSION,
            ],
            &["-A", "-b", "@ROOT@", "-w", FIXTURE_VERSION, "-v"],
        ] {
            let pair = Pair::new(&src, FIXTURE_VERSION);
            pair.substitute_tree_placeholder();
            compare(
                &pair,
                &links,
                args,
                &format!("depmod link, {name}, {args:?}"),
            );
        }
    }
}

#[test]
fn depmod_link_has_kmods_messages_and_exit_codes_for_bad_command_lines() {
    let Some(_) =
        support::kmod("depmod_link_has_kmods_messages_and_exit_codes_for_bad_command_lines")
    else {
        return;
    };
    let links = Links::new();
    let src = support::fixture_trees().join("dup-export-ab");
    for args in [
        &["-Z"][..],
        &["-b"],
        &["--bogus", "-b", "@ROOT@"],
        &["--s", "-b", "@ROOT@"],
        &["--all=1", "-b", "@ROOT@"],
        &["-V"],
        &["--version", "-Z"],
        &["-h"],
        &["--help"],
        &["--he", "-b", "@ROOT@"],
        &["-ah"],
        &["-h", "-Z"],
        &["-Z", "-h"],
        &["-u", "-h"],
        &["--help=x"],
        &["-b", "@ROOT@", "notaversion"],
        &["-b", "@ROOT@", "-P", "ab", FIXTURE_VERSION],
        &["-b", "@ROOT@", "-uqr", "-m", FIXTURE_VERSION],
        &["-b", "@ROOT@", "9.9.9-missing"],
        &[
            "-b",
            "@ROOT@",
            "-F",
            "@ROOT@/nonexistent.map",
            "-e",
            FIXTURE_VERSION,
        ],
    ] {
        let pair = Pair::new(&src, FIXTURE_VERSION);
        compare(&pair, &links, args, &format!("depmod link, {args:?}"));
    }
}

#[test]
fn only_a_link_named_depmod_is_depmod() {
    let bin = tempfile::tempdir().expect("tmp");
    let other = bin.path().join("depmod.not");
    std::os::unix::fs::symlink(support::modpolicy_bin(), &other).expect("symlink");
    // Not named `depmod`: modpolicy's own command line (a subcommand is needed).
    let out = run(&other, &["-V"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("modpolicy "));
    let link = depmod_link(bin.path());
    // getopt names the program as invoked, as kmod's does (`/usr/sbin/depmod: ...`).
    let out = run(&link, &["-Z"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr_text(),
        format!("{}: invalid option -- 'Z'\n", link.display())
    );
    let out = run(&link, &["-V"]);
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stdout,
        b"kmod version 30\n+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL\n"
    );
}

/// kmod 34's usage, as Debian's kmod 34.2 prints it (recorded from that binary: see
/// `tests/fixtures/kmod34/README.md`), for `--kmod 34 -h` through the link; and as
/// `modpolicy depmod`, `-h` is modpolicy's own help, which lists the options kmod lacks.
#[test]
fn help_is_kmods_through_the_link_and_modpolicys_otherwise() {
    let bin = tempfile::tempdir().expect("tmp");
    let link = depmod_link(bin.path());
    let recorded =
        std::fs::read_to_string(support::repo_root().join("tests/fixtures/kmod34/depmod-h.txt"))
            .expect("recorded kmod 34 usage");
    let dir = modpolicy::job::system::MODULE_DIRECTORY;
    let expected = recorded.replace("(default: /lib/modules)", &format!("(default: {dir})"));
    for args in [&["--kmod", "34", "-h"][..], &["--help", "--kmod=34"]] {
        let out = run(&link, args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr_text());
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr_text());
    }
    let out = crate::modpolicy(&["depmod", "-h"]);
    assert_eq!(out.code, Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--policy <FILE>"), "{text}");
    assert!(!text.contains("forced_version"), "{text}");
}
