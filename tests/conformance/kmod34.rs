//! `modpolicy depmod --kmod 34`, for which there is no oracle on this machine, checked
//! against kmod 30's output on the same tree:
//!
//! (a) every text artifact is byte-identical to kmod 30's (kmod 34 changed only the
//!     `.bin` layout and added `modules.weakdep`);
//! (b) every `.bin`, read back with `modpolicy::index::read_all`, holds the same keys and
//!     values (with priorities) as kmod 30's `.bin` read back the same way;
//! (c) `modules.weakdep` exists and starts with kmod 34's header line.

use crate::support::{self, describe_difference, list_files, Entry, Pair, RunOutput, Tool};
use modpolicy::index::{read_all, ReadEntry};
use std::path::Path;

const WEAKDEP_HEADER: &str = "# Weak dependencies extracted from modules themselves.\n";

fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Describes the first difference between two read-back indexes.
fn index_difference(name: &str, kmod: &[ReadEntry], ours: &[ReadEntry]) -> Option<String> {
    if kmod == ours {
        return None;
    }
    let i = kmod
        .iter()
        .zip(ours)
        .position(|(a, b)| a != b)
        .unwrap_or(kmod.len().min(ours.len()));
    let entry = |e: Option<&ReadEntry>| match e {
        None => "<no more keys>".to_string(),
        Some((k, vals)) => {
            let v: Vec<String> = vals
                .iter()
                .map(|(p, v)| format!("{p}:{}", show(v)))
                .collect();
            format!("{} => [{}]", show(k), v.join(", "))
        }
    };
    Some(format!(
        "{name}: read back, kmod 30 has {} keys and ours (--kmod 34) {}; first difference at key #{i}\n    kmod: {}\n    ours: {}",
        kmod.len(),
        ours.len(),
        entry(kmod.get(i)),
        entry(ours.get(i)),
    ))
}

/// Runs kmod 30 and `modpolicy depmod --kmod 34` on copies of `src` and returns every
/// difference beyond the expected ones (`.bin` layout, `modules.weakdep`).
fn compare_with_kmod30(src: &Path, version: &str) -> (Pair, Vec<String>) {
    let pair = Pair::new(src, version);
    let kmod: RunOutput = pair.run(Tool::Kmod, &[]);
    let ours: RunOutput = pair.run(Tool::Ours, &support::args(&["--kmod", "34"]));
    let kroot = pair.root(Tool::Kmod);
    let oroot = pair.root(Tool::Ours);
    let roots = Some((
        kroot.to_str().expect("UTF-8").as_bytes(),
        oroot.to_str().expect("UTF-8").as_bytes(),
    ));
    let mut diffs = Vec::new();
    if kmod.code != ours.code {
        diffs.push(format!(
            "status: kmod {}, ours {}",
            kmod.status(),
            ours.status()
        ));
    }
    diffs.extend(describe_difference(
        "stdout",
        &kmod.stdout,
        &ours.stdout,
        roots,
    ));
    diffs.extend(describe_difference(
        "stderr",
        &kmod.stderr,
        &ours.stderr,
        roots,
    ));

    let kdir = pair.moddir(Tool::Kmod);
    let odir = pair.moddir(Tool::Ours);
    let kfiles = list_files(&kdir);
    let mut ofiles = list_files(&odir);
    if ofiles.remove("modules.weakdep").is_none() {
        diffs.push("ours wrote no modules.weakdep".into());
    }
    if kfiles != ofiles {
        diffs.push(format!(
            "file sets differ (besides modules.weakdep): kmod 30 {:?}, ours {:?}",
            kfiles
                .keys()
                .filter(|k| !ofiles.contains_key(*k))
                .collect::<Vec<_>>(),
            ofiles
                .keys()
                .filter(|k| !kfiles.contains_key(*k))
                .collect::<Vec<_>>()
        ));
    }
    let mut bins = 0;
    for (name, kind) in &kfiles {
        if *kind != Entry::File || !ofiles.contains_key(name) {
            continue;
        }
        let a = std::fs::read(kdir.join(name)).expect("read");
        let b = std::fs::read(odir.join(name)).expect("read");
        if name.ends_with(".bin") {
            bins += 1;
            let ra = read_all(&a).unwrap_or_else(|e| panic!("kmod 30's {name} unreadable: {e}"));
            match read_all(&b) {
                Ok(rb) => diffs.extend(index_difference(name, &ra, &rb)),
                Err(e) => diffs.push(format!("our {name} cannot be read back: {e}")),
            }
        } else {
            diffs.extend(describe_difference(name, &a, &b, roots));
        }
    }
    assert!(bins >= 5, "kmod 30 wrote only {bins} .bin files");
    (pair, diffs)
}

fn assert_no_diffs(test: &str, diffs: &[String]) {
    assert!(
        diffs.is_empty(),
        "{test}: --kmod 34 differs from kmod 30 where it should not:\n- {}",
        diffs.join("\n- ")
    );
}

fn weakdep(pair: &Pair) -> String {
    std::fs::read_to_string(pair.moddir(Tool::Ours).join("modules.weakdep"))
        .expect("ours wrote modules.weakdep")
}

#[test]
fn kmod34_corpus_6_1() {
    let test = "kmod34_corpus_6_1";
    let Some(c) = support::corpus(test) else {
        return;
    };
    if support::kmod(test).is_none() {
        return;
    }
    let (pair, diffs) = compare_with_kmod30(&c.v6_1.root, c.v6_1.version);
    assert_no_diffs(test, &diffs);
    let w = weakdep(&pair);
    assert!(
        w.starts_with(WEAKDEP_HEADER),
        "{test}: modules.weakdep does not start with the header: {w:?}"
    );
}

/// The `devices` tree has a module with `MODULE_INFO(weakdep, "somemod")`.
#[test]
fn kmod34_tree_devices() {
    let test = "kmod34_tree_devices";
    if support::kmod(test).is_none() {
        return;
    }
    let (pair, diffs) = compare_with_kmod30(
        &support::fixture_trees().join("devices"),
        support::FIXTURE_VERSION,
    );
    assert_no_diffs(test, &diffs);
    assert_eq!(
        weakdep(&pair),
        format!("{WEAKDEP_HEADER}weakdep softdep somemod\n"),
        "{test}: modules.weakdep"
    );
}
