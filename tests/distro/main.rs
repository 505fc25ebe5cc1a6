//! modpolicy as a distribution's `depmod`: run through a link named `depmod`, kmod 34's
//! `-m/--moduledir`, the system policy layers and `modpolicy policy show`.
//!
//! - [`link`]: the binary run as `depmod` (a symlink) against kmod's `/usr/sbin/depmod`
//!   on identical copies of each fixture tree: same exit status, stdout, stderr and files,
//!   for good and bad command lines;
//! - [`moduledir`]: `--kmod 34 -m DIR` (absolute, relative, with `-o`) on a tree laid out
//!   as kmod 34 reads it, against our own run without `-m` on the usual layout, and the
//!   text artifacts against kmod 30's;
//! - [`system_policy`]: `BASEDIR/usr/lib/modpolicy/policy.d` and
//!   `BASEDIR/etc/modpolicy/policy.d` (masking, name order, `--policy` on top, a broken
//!   file stopping the run with nothing written), and `policy show`;
//! - [`docs`]: the committed man pages and completions are what `generate-docs` writes;
//! - [`package`]: the Debian maintainer scripts, in a private mount namespace;
//! - [`e2e`]: the Debian package built with `cargo deb`, end to end in a debootstrapped
//!   bookworm root with the real 6.1 kernel package (`tests/e2e/bookworm.sh`).
//!
//! `MODPOLICY_NO_CORPUS=1` skips the comparisons with kmod where it is missing.

#[path = "../support/mod.rs"]
mod support;

mod docs;
mod e2e;
mod link;
mod moduledir;
mod package;
mod system_policy;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::RunOutput;

/// Runs `prog` with `args` in the C locale.
pub fn run(prog: &Path, args: &[&str]) -> RunOutput {
    run_in(None, prog, args)
}

/// Runs `prog` with `args` in the C locale, in directory `cwd` if given.
pub fn run_in(cwd: Option<&Path>, prog: &Path, args: &[&str]) -> RunOutput {
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = Command::new(prog);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out = cmd
        .args(args)
        .env("LC_ALL", "C")
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", prog.display()));
    RunOutput {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Runs `modpolicy` with `args`.
pub fn modpolicy(args: &[&str]) -> RunOutput {
    run(&support::modpolicy_bin(), args)
}

/// A symlink named `depmod` to the modpolicy binary, in `dir`.
pub fn depmod_link(dir: &Path) -> PathBuf {
    link_as_depmod(dir, &support::modpolicy_bin())
}

/// A symlink named `depmod` to `target`, in `dir`.
pub fn link_as_depmod(dir: &Path, target: &Path) -> PathBuf {
    let link = dir.join("depmod");
    std::os::unix::fs::symlink(target, &link).expect("symlink");
    link
}

/// Every regular file under `dir`, by relative path, with its contents.
pub fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    fn walk(base: &Path, d: &Path, m: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                walk(base, &p, m);
            } else if ft.is_file() {
                let rel = p.strip_prefix(base).expect("under base");
                m.insert(rel.display().to_string(), std::fs::read(&p).expect("read"));
            }
        }
    }
    walk(dir, dir, &mut m);
    m
}
