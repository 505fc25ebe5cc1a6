//! The committed man pages (`docs/man/*.1`) and completions (`completions/`) are what
//! `modpolicy generate-docs` writes from the clap definitions now; the hand-written
//! `modpolicy-policy(5)` is there.

use crate::{files, modpolicy, support};

#[test]
fn committed_man_pages_and_completions_are_up_to_date() {
    let t = tempfile::tempdir().expect("tmp");
    let out = modpolicy(&["generate-docs", t.path().to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    let repo = support::repo_root();
    for dir in ["docs/man", "completions"] {
        let fresh = files(&t.path().join(dir));
        let mut committed = files(&repo.join(dir));
        if dir == "docs/man" {
            let policy5 = committed.remove("modpolicy-policy.5");
            assert!(
                policy5.is_some_and(|p| p.starts_with(b".\\\"")),
                "modpolicy-policy.5"
            );
        }
        assert!(fresh.len() >= 3, "{dir}: {:?}", fresh.keys());
        let names =
            |m: &std::collections::BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&fresh),
            "{dir}: files differ; run `modpolicy generate-docs .` at the repository root"
        );
        for (name, data) in &fresh {
            assert!(
                committed.get(name) == Some(data),
                "{dir}/{name} is out of date; run `modpolicy generate-docs .` at the repository root"
            );
        }
    }
    // One page per command and subcommand, the hidden generator excepted.
    let man = files(&t.path().join("docs/man"));
    for page in [
        "modpolicy.1",
        "modpolicy-depmod.1",
        "modpolicy-check.1",
        "modpolicy-policy-show.1",
    ] {
        assert!(man.contains_key(page), "{page}: {:?}", man.keys());
    }
    assert!(
        !man.keys().any(|k| k.contains("generate-docs")),
        "{:?}",
        man.keys()
    );
    let comp = files(&t.path().join("completions"));
    for f in ["modpolicy.bash", "_modpolicy", "modpolicy.fish"] {
        assert!(comp.contains_key(f), "{f}: {:?}", comp.keys());
    }
}
