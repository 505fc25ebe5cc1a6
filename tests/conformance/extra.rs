//! Conformance on trees outside the shared corpus, named by the person running the tests:
//! `MODPOLICY_CONFORMANCE_TREES=ROOT:VERSION[,ROOT:VERSION...]` (each ROOT a `-b` root
//! holding `lib/modules/VERSION`). For example the full Debian 6.1 kernel (4,022 modules):
//!
//! ```text
//! apt-get download linux-image-6.1.0-47-amd64-unsigned
//! dpkg-deb -x linux-image-6.1.0-47-amd64-unsigned_*.deb "$PWD/full61"
//! MODPOLICY_CONFORMANCE_TREES="$PWD/full61:6.1.0-47-amd64" \
//!     cargo test --release --test conformance extra
//! ```
//!
//! Each tree is compared plain, with `-n`, and, when `ROOT/boot/System.map-VERSION`
//! exists, with `-F` that map and `-e`. Without the variable the test has nothing to
//! check and records a skip (`support::skip`; `tests/ci-skips.txt` lets CI go without it).

use crate::support::{self, args, Pair};
use std::path::Path;

#[test]
fn extra_trees() {
    let Ok(spec) = std::env::var("MODPOLICY_CONFORMANCE_TREES") else {
        support::skip(
            "extra_trees",
            "MODPOLICY_CONFORMANCE_TREES is not set: no extra tree to compare",
        );
        return;
    };
    if support::kmod("extra_trees").is_none() {
        return;
    }
    for entry in spec.split(',').filter(|e| !e.is_empty()) {
        let (root, version) = entry.rsplit_once(':').unwrap_or_else(|| {
            panic!("MODPOLICY_CONFORMANCE_TREES entry `{entry}` is not ROOT:VERSION")
        });
        let root = Path::new(root);
        assert!(
            root.join("lib/modules").join(version).is_dir(),
            "{}: no lib/modules/{version}",
            root.display()
        );
        let pair = Pair::new(root, version);
        let map = format!("boot/System.map-{version}");
        let mut modes = vec![Vec::new(), args(&["-n"])];
        if root.join(&map).is_file() {
            // Each tool reads the map inside its own copy.
            modes.push(vec![
                "-F".into(),
                format!("{}/{map}", support::ROOT_ARG),
                "-e".into(),
            ]);
        }
        for mode in modes {
            let what = format!("{} {version} {mode:?}", root.display());
            let cmp = pair.run_both(&mode);
            cmp.assert_same(&what);
            assert_eq!(cmp.kmod.code, Some(0), "{what}: kmod failed");
            eprintln!("extra_trees: {what}: identical");
        }
    }
}
