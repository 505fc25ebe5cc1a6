//! The Debian package end to end (`tests/e2e/bookworm.sh`): `cargo deb` packs the binary
//! under test, and the script installs it in a throwaway Debian bookworm root (debootstrap,
//! cached), installs the real 6.1 cloud kernel package whose postinst runs our `depmod`,
//! compares every artifact with kmod's depmod on an identical copy, builds and installs an
//! out-of-tree module as DKMS does, lets a system policy pick a provider, and purges the
//! package to show kmod's `depmod` back. Needs root, `unshare`, `debootstrap`, `cargo deb`
//! and (the first time) the Debian archive; `tests/deps.sh` and `.ci/run` install them.

use crate::support;
use std::path::Path;
use std::process::Command;

fn have(prog: &str, arg: &str) -> bool {
    Command::new(prog)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn debian_package_end_to_end_in_bookworm() {
    let name = "debian_package_end_to_end_in_bookworm";
    let Some(corpus) = support::corpus(name) else {
        return;
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let missing: Vec<&str> = [
        (
            "root (chroot, mount)",
            Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| o.stdout.trim_ascii() == b"0"),
        ),
        (
            "unshare --mount",
            Command::new("unshare")
                .args(["--mount", "true"])
                .status()
                .is_ok_and(|s| s.success()),
        ),
        ("debootstrap", have("debootstrap", "--version")),
        (
            "cargo-deb (cargo install cargo-deb --locked)",
            Command::new(&cargo)
                .args(["deb", "--version"])
                .output()
                .is_ok_and(|o| o.status.success()),
        ),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(what, _)| what)
    .collect();
    if !missing.is_empty() {
        support::skip(name, &format!("needs {}", missing.join(", ")));
        return;
    }

    // The package, from the binary these tests run (its profile's directory).
    let bin = support::modpolicy_bin();
    let profile_dir = bin
        .parent()
        .and_then(Path::file_name)
        .and_then(|s| s.to_str())
        .expect("the binary's directory");
    let profile = if profile_dir == "debug" {
        "dev"
    } else {
        profile_dir
    };
    let out = tempfile::tempdir().expect("tempdir");
    let deb = out.path().join("modpolicy.deb");
    let built = Command::new(&cargo)
        .current_dir(support::repo_root())
        .args([
            "deb",
            "-p",
            "modpolicy",
            "--no-build",
            "--fast",
            "--no-dbgsym",
            "--strip",
        ])
        .args(["--profile", profile])
        .arg("-o")
        .arg(&deb)
        .output()
        .expect("cargo deb runs");
    assert!(
        built.status.success() && deb.is_file(),
        "cargo deb -p modpolicy --no-build failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );

    let script = support::repo_root().join("tests/e2e/bookworm.sh");
    let shared = corpus.shared.parent().expect("corpus/ has a parent");
    let run = Command::new("bash")
        .arg(&script)
        .arg(&deb)
        .env("MODPOLICY_SHARED", shared)
        .output()
        .expect("bash runs");
    let text =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{}:\n{text}", script.display());
    assert!(
        text.lines()
            .any(|l| l.starts_with("e2e: ") && l.contains(" passed, 0 failed")),
        "{text}"
    );
    for step in [
        "postinst ran modpolicy's depmod",
        "kernel postinst: all",
        "modprobe --show-depends resolves it",
        "not updates/dkms/e2ecrc.ko",
        "dpkg --purge: no diversion",
    ] {
        assert!(text.contains(step), "no '{step}' in:\n{text}");
    }
    // The script's own log, for whoever runs the test with --nocapture.
    println!("{text}");
}
