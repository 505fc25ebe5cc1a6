//! Extended modversions (Linux 6.14+, `CONFIG_EXTENDED_MODVERSIONS`): a module's import
//! CRCs in `__version_ext_crcs` (32-bit values) and `__version_ext_names` (NUL-terminated
//! names, same order), with or without `__versions`.
//!
//! kmod reads only `__versions`, so the oracle is kmod on the original modules: the
//! `dup-export-ab` tree with `__versions` rewritten by `objcopy` into the extended tables
//! (alone, or beside the original table) must give `modpolicy depmod -e -E` exactly the
//! CRC warnings, exit status and artifacts kmod's `depmod` gives for the original tree.
//! `Module.symvers` is edited so that two vmlinux CRCs disagree with the modules'.

use super::support::{self, args, Pair, Tool, FIXTURE_VERSION};
use std::path::Path;
use std::process::Command;

/// The `(crc, name)` records of a 64-bit little-endian `__versions` section.
fn versions_records(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
    assert_eq!(bytes.len() % 64, 0, "__versions of 64-byte records");
    bytes
        .chunks_exact(64)
        .map(|r| {
            let crc = u64::from_le_bytes(r[..8].try_into().unwrap());
            let name = &r[8..];
            let end = name.iter().position(|&b| b == 0).unwrap();
            (u32::try_from(crc).unwrap(), name[..end].to_vec())
        })
        .collect()
}

fn objcopy(a: &[std::ffi::OsString]) {
    let st = Command::new("objcopy")
        .args(a)
        .status()
        .expect("objcopy runs (binutils, tests/deps.sh)");
    assert!(st.success(), "objcopy {a:?}");
}

/// Rewrites the `__versions` of `ko` into the extended tables; `keep_basic`: leave
/// `__versions` in place too.
fn to_extended(ko: &Path, keep_basic: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("versions");
    objcopy(&[
        "-O".into(),
        "binary".into(),
        "--only-section=__versions".into(),
        ko.into(),
        raw.clone().into(),
    ]);
    let recs = versions_records(&std::fs::read(&raw).unwrap());
    assert!(!recs.is_empty(), "{}: no __versions", ko.display());
    let (crcs, names) = (tmp.path().join("crcs"), tmp.path().join("names"));
    std::fs::write(
        &crcs,
        recs.iter()
            .flat_map(|(c, _)| c.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let mut n = Vec::new();
    for (_, name) in &recs {
        n.extend_from_slice(name);
        n.push(0);
    }
    std::fs::write(&names, n).unwrap();
    let add_crcs = format!("__version_ext_crcs={}", crcs.display());
    let add_names = format!("__version_ext_names={}", names.display());
    let mut a: Vec<std::ffi::OsString> = Vec::new();
    if !keep_basic {
        a.extend(["--remove-section".into(), "__versions".into()]);
    }
    a.extend([
        "--add-section".into(),
        add_crcs.into(),
        "--add-section".into(),
        add_names.into(),
        ko.into(),
    ]);
    objcopy(&a);
}

fn modules(moddir: &Path) -> Vec<std::path::PathBuf> {
    let d = moddir.join("kernel/drivers/dup");
    let mut v: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ko"))
        .collect();
    v.sort();
    v
}

fn text(b: &[u8], root: &Path) -> String {
    String::from_utf8_lossy(b).replace(root.to_str().unwrap(), "<ROOT>")
}

fn case(test: &str, keep_basic: bool) {
    if support::kmod(test).is_none() {
        return;
    }
    let pair = Pair::new(
        &support::fixture_trees().join("dup-export-ab"),
        FIXTURE_VERSION,
    );
    pair.each(|root: &Path| {
        let p = root.join("Module.symvers");
        let t = std::fs::read_to_string(&p).unwrap();
        // __fentry__ and module_layout now disagree with every module's record.
        let t = t.replace("0xbdfb6dbb\t__fentry__", "0x00000001\t__fentry__");
        let t = t.replace("0x160c03af\tmodule_layout", "0x00000002\tmodule_layout");
        std::fs::write(&p, t).unwrap();
    });
    let originals: Vec<Vec<u8>> = modules(&pair.moddir(Tool::Ours))
        .iter()
        .map(|k| std::fs::read(k).unwrap())
        .collect();
    for ko in modules(&pair.moddir(Tool::Ours)) {
        to_extended(&ko, keep_basic);
    }
    let a = args(&["-e", "-E", "@ROOT@/Module.symvers"]);
    let kmod = pair.run(Tool::Kmod, &a);
    let ours = pair.run(Tool::Ours, &a);
    let (kr, or) = (pair.root(Tool::Kmod), pair.root(Tool::Ours));
    let kerr = text(&kmod.stderr, &kr);
    assert!(
        kerr.contains("disagrees about version of symbol __fentry__")
            && kerr.contains("disagrees about version of symbol module_layout"),
        "{test}: kmod's warnings: {kerr}"
    );
    assert_eq!(
        (kmod.status(), text(&kmod.stdout, &kr), kerr),
        (
            ours.status(),
            text(&ours.stdout, &or),
            text(&ours.stderr, &or)
        ),
        "{test}: kmod on the original modules vs modpolicy on the extended ones"
    );
    // Every artifact the same (the modules themselves differ, on purpose).
    let (k, o) = (pair.snapshot(Tool::Kmod), pair.snapshot(Tool::Ours));
    let artifacts = |s: &std::collections::BTreeMap<String, Vec<u8>>| {
        s.iter()
            .filter(|(n, _)| !n.ends_with(".ko"))
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(artifacts(&k), artifacts(&o), "{test}: artifacts");
    // The rewrite did change the modules: the test is not comparing a tree with itself.
    for (ko, orig) in modules(&pair.moddir(Tool::Ours)).iter().zip(originals) {
        assert_ne!(std::fs::read(ko).unwrap(), orig, "{}", ko.display());
    }
}

#[test]
fn extended_modversions_alone_give_kmods_crc_warnings() {
    case("extended_modversions_alone_give_kmods_crc_warnings", false);
}

#[test]
fn extended_and_basic_modversions_give_kmods_crc_warnings() {
    case(
        "extended_and_basic_modversions_give_kmods_crc_warnings",
        true,
    );
}
