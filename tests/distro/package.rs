//! The Debian package's maintainer scripts (`pkg/debian/`): `pkg/test-maintainer-scripts.sh`
//! runs configure, remove and purge against copies of this system's dpkg database and
//! `/usr` in a private mount namespace (the real `/usr/sbin/depmod`, the other suites'
//! oracle, is never diverted), and checks that kmod's depmod is diverted and runnable
//! while installed and back, with no diversion left, after removal and after purge.

use crate::support;

#[test]
fn maintainer_scripts_divert_and_restore_kmods_depmod() {
    let name = "maintainer_scripts_divert_and_restore_kmods_depmod";
    let usable = std::process::Command::new("unshare")
        .args(["--mount", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !usable || !std::path::Path::new("/var/lib/dpkg/status").exists() {
        support::skip(name, "needs root, unshare --mount and dpkg");
        return;
    }
    let script = support::repo_root().join("pkg/test-maintainer-scripts.sh");
    let out = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .expect("sh runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("maintainer scripts: 3 passed, 0 failed"),
        "{text}"
    );
    assert!(
        text.contains("diversion of /sbin/depmod to /usr/lib/modpolicy/kmod/depmod by modpolicy")
            || text.contains(
                "diversion of /usr/sbin/depmod to /usr/lib/modpolicy/kmod/depmod by modpolicy"
            ),
        "{text}"
    );
}
