//! The other two kinds of side: an installed module tree (`lib/modules/VERSION`, with
//! vmlinux's exports from the kernel's `Module.symvers`, as depmod's `-E` reads it) and
//! a build directory holding `modules.order` (as `check` reads it).
//!
//! - **A side equals its own `Module.symvers`**: each 6.12 test-module build directory
//!   against the `Module.symvers` the real modpost wrote for it; each 6.1 fixture tree
//!   against its build's `Module.symvers` (module paths moved to where the tree installs
//!   them); the Debian 6.1 and 6.12 cloud trees against their headers' `Module.symvers`:
//!   no change, every export in both.
//! - **A tree agrees with its `Module.symvers`** against another ABI: the 6.1 cloud tree
//!   against the 6.1 generic ABI finds exactly what the cloud `Module.symvers` finds, and
//!   every one of those changes is explained by the two flavours' configurations.
//! - **Edited modules**: copies of a fixture tree where one export's CRC, licence or
//!   namespace was changed or an export removed, each edit confirmed by binutils'
//!   `readelf` or kmod's `depmod`, give exactly that change.
//! - `--symbol` on every side kind, and bad input on every side kind (exit 2, named).

use super::{abi, abi_dir, findings, json, symvers, Out, ABIS};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    super::support::repo_root().join("tests/fixtures")
}

/// The one-line verdict and counts of a comparison that found nothing.
fn no_change(base: &str, new: &str, n: usize) -> String {
    format!(
        "modpolicy abi: 0 error(s), 0 warning(s), 0 tolerated\n\
         modpolicy abi: {n} exports in {base}, {n} in {new}, {n} in both\n"
    )
}

/// How many distinct names a `Module.symvers` exports.
fn names_in(symvers: &Path) -> usize {
    let text = std::fs::read_to_string(symvers).unwrap();
    text.lines()
        .filter_map(|l| l.split('\t').nth(1))
        .collect::<BTreeSet<_>>()
        .len()
}

fn assert_no_change(out: &Out, base: &str, new: &str, n: usize) {
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, no_change(base, new, n).as_str(), ""),
        "{base} vs {new}"
    );
}

#[test]
fn build_dirs_equal_the_module_symvers_modpost_wrote() {
    let objs = fixtures().join("modpost-objs-6.12");
    let mut compared = 0;
    for e in std::fs::read_dir(&objs).unwrap() {
        let dir = e.unwrap().path();
        let build = dir.file_name().unwrap().to_string_lossy().into_owned();
        let sv = fixtures().join(format!("modpost-6.12/{build}.Module.symvers"));
        // modpost writes Module.symvers for the builds it accepted; some export nothing.
        let Ok(text) = std::fs::read_to_string(&sv) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let (d, s) = (dir.display().to_string(), sv.display().to_string());
        let n = names_in(&sv);
        assert_no_change(&abi(&["--format", "text", &d, &s]), &d, &s, n);
        assert_no_change(&abi(&["--format", "text", &s, &d]), &s, &d, n);
        compared += 1;
    }
    // composite, cycle, dup-export, namespaces.
    assert_eq!(compared, 4);
}

/// Every `.ko` under `dir`, by file stem: its path relative to `moddir`.
fn modules_by_stem(moddir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![moddir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ko") {
                let rel = p.strip_prefix(moddir).unwrap().display().to_string();
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                assert!(out.insert(stem, rel).is_none(), "one module per name");
            }
        }
    }
    out
}

#[test]
fn fixture_trees_equal_their_builds_module_symvers() {
    for (tree, build) in [("namespaces", "namespaces"), ("cycle", "cycle")] {
        let moddir = fixtures().join(format!("trees/{tree}/lib/modules/6.1.0-test"));
        let installed = modules_by_stem(&moddir);
        // The real modpost's records, each module's path moved from the build directory
        // to where the tree installs it, in Module.symvers' spelling.
        let text =
            std::fs::read_to_string(fixtures().join(format!("modpost/{build}.Module.symvers")))
                .unwrap();
        let prefix = format!("/tmp/modpolicy-kbuild/{build}/");
        let moved: String = text
            .lines()
            .map(|l| {
                let mut f: Vec<String> = l.split('\t').map(str::to_string).collect();
                let stem = f[2].strip_prefix(&prefix).expect("built in the build dir");
                let rel = &installed[stem];
                f[2] = rel
                    .strip_prefix("kernel/")
                    .unwrap_or(rel)
                    .trim_end_matches(".ko")
                    .to_string();
                f.join("\t") + "\n"
            })
            .collect();
        let d = tempfile::tempdir().unwrap();
        let sv = d.path().join("Module.symvers");
        std::fs::write(&sv, &moved).unwrap();
        let (t, s) = (moddir.display().to_string(), sv.display().to_string());
        let n = names_in(&sv);
        assert!(n >= 3, "{tree}");
        assert_no_change(&abi(&["--format", "text", &t, &s]), &t, &s, n);
        // Unmoved, every export is reported moved, and only that.
        let orig = fixtures()
            .join(format!("modpost/{build}.Module.symvers"))
            .display()
            .to_string();
        let v = json(&abi(&["--format", "json", &t, &orig]));
        let codes: BTreeSet<&str> = findings(&v)
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, BTreeSet::from(["abi-export-moved"]), "{tree}");
        assert_eq!(findings(&v).len(), n, "{tree}");
    }
}

#[test]
fn corpus_trees_equal_their_module_symvers() {
    let Some(c) = super::support::corpus("corpus_trees_equal_their_module_symvers") else {
        return;
    };
    for k in [&c.v6_1, &c.v6_12] {
        let tree = k.root.join("lib/modules").join(k.version);
        let (t, s) = (tree.display().to_string(), k.symvers.display().to_string());
        let n = names_in(&k.symvers);
        assert!(n > 14000, "{s}: {n}");
        let out = abi(&["--format", "text", "--baseline-kernel", &s, &t, &s]);
        assert_no_change(&out, &t, &s, n);
        let out = abi(&["--format", "text", "--new-kernel", &s, &s, &t]);
        assert_no_change(&out, &s, &t, n);
    }
}

/// `(code, symbol, level, message)` of every finding.
fn all_findings(v: &Value) -> Vec<(String, String, String, String)> {
    findings(v)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("code"), s("symbol"), s("level"), s("message"))
        })
        .collect()
}

/// The Kconfig option that builds each module the two flavours build differently
/// (from the `obj-$(CONFIG_...)` line of the module's Makefile in Linux 6.1).
const OPTION_OF: &[(&str, &str)] = &[
    ("drivers/nvme/host/nvme-core", "NVME_CORE"),
    ("fs/jbd2/jbd2", "JBD2"),
    ("fs/mbcache", "FS_MBCACHE"),
    ("block/t10-pi", "BLK_DEV_INTEGRITY_T10"),
    ("lib/crc16", "CRC16"),
    ("lib/crc64", "CRC64"),
    ("lib/crc64-rocksoft", "CRC64_ROCKSOFT"),
    ("lib/crc-t10dif", "CRC_T10DIF"),
    ("crypto/crct10dif_common", "CRYPTO_CRCT10DIF"),
    (
        "drivers/firmware/google/coreboot_table",
        "GOOGLE_COREBOOT_TABLE",
    ),
    ("drivers/mfd/mfd-core", "MFD_CORE"),
    ("arch/x86/platform/intel/iosf_mbi", "IOSF_MBI"),
    ("lib/math/rational", "RATIONAL"),
];

#[test]
fn a_tree_against_another_flavour_agrees_with_its_module_symvers() {
    let Some(dir) = abi_dir("a_tree_against_another_flavour_agrees_with_its_module_symvers") else {
        return;
    };
    let c = super::support::corpus("a_tree_against_another_flavour").unwrap();
    let k = &c.v6_1;
    let tree = k.root.join("lib/modules").join(k.version);
    let (t, s) = (tree.display().to_string(), k.symvers.display().to_string());
    // The generic flavour of the same kernel release as the cloud tree.
    assert!(k.version.starts_with("6.1.0-47-"));
    let generic = symvers(&dir, ABIS[0]);
    let by_tree = json(&abi(&[
        "--format",
        "json",
        "--baseline-kernel",
        &s,
        &t,
        &generic,
    ]));
    let by_symvers = json(&abi(&["--format", "json", &s, &generic]));
    let found = all_findings(&by_tree);
    assert_eq!(found, all_findings(&by_symvers));
    // Each change, explained by the cloud kernel's configuration.
    let config = std::fs::read_to_string(k.root.join(format!("boot/config-{}", k.version)))
        .expect("the image's config");
    let set = |opt: &str| -> Option<String> {
        config
            .lines()
            .find_map(|l| l.strip_prefix(&format!("CONFIG_{opt}=")))
            .map(str::to_string)
    };
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for (code, sym, _, msg) in &found {
        *by_code.entry(code).or_default() += 1;
        match code.as_str() {
            // Built in one flavour (vmlinux), a module in the other: the cloud kernel
            // builds it in when its option is `y`, as a module when `m`.
            "abi-export-moved" => {
                let (from, to) = msg
                    .split_once(" moved from ")
                    .and_then(|(_, r)| r.split_once(" to "))
                    .unwrap();
                let (module, want) = match (from, to) {
                    ("vmlinux", m) => (m, "y"),
                    (m, "vmlinux") => (m, "m"),
                    _ => panic!("{sym}: moved between two modules: {msg}"),
                };
                let opt = OPTION_OF
                    .iter()
                    .find(|(m, _)| *m == module)
                    .unwrap_or_else(|| panic!("{sym}: no option known for {module}"))
                    .1;
                assert_eq!(set(opt).as_deref(), Some(want), "{sym}: CONFIG_{opt}");
            }
            // The cloud kernel alone enables the InfiniBand LSM hooks.
            "abi-export-removed" => {
                assert!(sym.contains("_security") || sym.starts_with("security_ib_"));
                assert_eq!(set("SECURITY_INFINIBAND").as_deref(), Some("y"));
            }
            // Drivers the cloud flavour does not build, and CRCs of structures whose
            // layout depends on options: nothing to check one by one.
            "abi-export-added" | "abi-crc-changed" => {}
            _ => panic!("a flavour does not change licences or namespaces: {msg}"),
        }
    }
    assert_eq!(by_code.get("abi-export-removed"), Some(&5), "{by_code:?}");
    assert_eq!(by_code.get("abi-export-moved"), Some(&170), "{by_code:?}");
    assert!(by_code["abi-export-added"] > 10000, "{by_code:?}");
    assert!(by_code["abi-crc-changed"] > 9000, "{by_code:?}");
}

/// A copy of the `namespaces` fixture tree (root, module directory).
fn namespaces_copy(tmp: &Path) -> (PathBuf, PathBuf) {
    let root = tmp.join("tree");
    super::support::copy_tree(&fixtures().join("trees/namespaces"), &root);
    let moddir = root.join("lib/modules/6.1.0-test");
    (root, moddir)
}

/// Replaces the one occurrence of `from` in `file` by `to` (the same length).
fn patch_once(file: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut data = std::fs::read(file).unwrap();
    let at: Vec<usize> = (0..data.len())
        .filter(|&i| data[i..].starts_with(from))
        .collect();
    assert_eq!(at.len(), 1, "{}: {from:?}", file.display());
    data[at[0]..at[0] + to.len()].copy_from_slice(to);
    std::fs::write(file, data).unwrap();
}

fn readelf(args: &[&str], file: &Path) -> String {
    let o = Command::new("readelf")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The section index `readelf -s` shows for symbol `name`.
fn symbol_section(file: &Path, name: &str) -> String {
    readelf(&["-sW"], file)
        .lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .and_then(|l| l.split_whitespace().nth(6).map(str::to_string))
        .unwrap_or_else(|| panic!("{name} not in {}", file.display()))
}

/// Sets `st_shndx` of the ELF64 little-endian symbol named `name` to `shndx`.
fn set_symbol_section(file: &Path, name: &str, shndx: u16) {
    let mut d = std::fs::read(file).unwrap();
    let u16_at = |d: &[u8], o: usize| u16::from_le_bytes(d[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |d: &[u8], o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |d: &[u8], o: usize| u64::from_le_bytes(d[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shnum) = (u64_at(&d, 0x28), u16_at(&d, 0x3c));
    let sh = |i: usize| shoff + i * 64;
    let symtab = (0..shnum)
        .find(|&i| u32_at(&d, sh(i) + 4) == 2) // SHT_SYMTAB
        .unwrap();
    let (off, size) = (u64_at(&d, sh(symtab) + 0x18), u64_at(&d, sh(symtab) + 0x20));
    let strtab = u64_at(&d, sh(u32_at(&d, sh(symtab) + 0x28)) + 0x18);
    let sym = (0..size / 24)
        .map(|k| off + k * 24)
        .find(|&s| {
            let n = strtab + u32_at(&d, s);
            d[n..].starts_with(name.as_bytes()) && d[n + name.len()] == 0
        })
        .unwrap();
    d[sym + 6..sym + 8].copy_from_slice(&shndx.to_le_bytes());
    std::fs::write(file, d).unwrap();
}

/// `(code, symbol, message)` of the `abi-*` findings between the fixture tree and `new`.
fn changes_to(new: &Path) -> (i32, Vec<(String, String, String)>) {
    let base = fixtures().join("trees/namespaces/lib/modules/6.1.0-test");
    let out = abi(&[
        "--format",
        "json",
        &base.display().to_string(),
        &new.display().to_string(),
    ]);
    let v = json(&out);
    let got = findings(&v)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("code"), s("symbol"), s("message"))
        })
        .collect();
    (out.code, got)
}

fn one(code: &str, sym: &str, msg: &str) -> Vec<(String, String, String)> {
    vec![(code.into(), sym.into(), msg.into())]
}

/// The modules of `moddir` whose `__versions` name `sym`, as kmod's
/// `modprobe --dump-modversions` prints them, sorted.
fn importers_of(moddir: &Path, sym: &str) -> Vec<String> {
    let mut out: Vec<String> = modules_by_stem(moddir)
        .into_iter()
        .filter(|(_, rel)| {
            let o = Command::new("/sbin/modprobe")
                .arg("--dump-modversions")
                .arg(moddir.join(rel))
                .output()
                .expect("modprobe --dump-modversions");
            assert!(o.status.success(), "{rel}");
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split('\t').nth(1) == Some(sym))
        })
        .map(|(stem, _)| stem)
        .collect();
    out.sort();
    out
}

/// How a finding's message ends for a symbol imported by `users`.
fn affected(users: &[String]) -> String {
    if users.is_empty() {
        "; no module imports it".to_string()
    } else {
        format!(
            "; {} module(s) import it and must be rebuilt: {}",
            users.len(),
            users.join(", ")
        )
    }
}

#[test]
fn edited_modules_give_the_change_made() {
    let ns = "kernel/drivers/ns";
    // Who must be rebuilt: the importers kmod reads from each module's `__versions`.
    let moddir = fixtures().join("trees/namespaces/lib/modules/6.1.0-test");
    let users = |sym: &str| affected(&importers_of(&moddir, sym));
    assert_eq!(importers_of(&moddir, "ns_fn"), ["nsbad", "nsuser"]);

    // The CRC of ns_fn in `__kcrctab_gpl`, as readelf dumps it.
    let d = tempfile::tempdir().unwrap();
    let (_, m) = namespaces_copy(d.path());
    let prov = m.join(ns).join("nsprov.ko");
    patch_once(
        &prov,
        &0x7d468d24u32.to_le_bytes(),
        &0x12345678u32.to_le_bytes(),
    );
    assert!(readelf(&["-x", "__kcrctab_gpl"], &prov).contains("0x00000000 78563412"));
    let (code, got) = changes_to(&m);
    assert_eq!(
        got,
        one(
            "abi-crc-changed",
            "ns_fn",
            &format!(
                "the CRC of ns_fn (drivers/ns/nsprov) changed: 0x7d468d24 -> 0x12345678{}",
                users("ns_fn")
            )
        )
    );
    assert_eq!(code, 1);

    // nsprov_plain_fn's `__ksymtab_` label moved to `__ksymtab_gpl`.
    let d = tempfile::tempdir().unwrap();
    let (_, m) = namespaces_copy(d.path());
    let prov = m.join(ns).join("nsprov.ko");
    let sections = readelf(&["-SW"], &prov);
    // `  [11] __ksymtab_gpl     PROGBITS ...`
    let index_of = |name: &str| -> u16 {
        sections
            .lines()
            .filter_map(|l| l.split_once(']'))
            .find(|(_, rest)| rest.split_whitespace().next() == Some(name))
            .and_then(|(i, _)| i.trim_start_matches([' ', '[']).parse().ok())
            .unwrap_or_else(|| panic!("no section {name}"))
    };
    let gpl = index_of("__ksymtab_gpl");
    assert_eq!(
        symbol_section(&prov, "__ksymtab_nsprov_plain_fn"),
        index_of("__ksymtab").to_string()
    );
    set_symbol_section(&prov, "__ksymtab_nsprov_plain_fn", gpl);
    assert_eq!(
        symbol_section(&prov, "__ksymtab_nsprov_plain_fn"),
        gpl.to_string()
    );
    let (code, got) = changes_to(&m);
    assert_eq!(
        got,
        one(
            "abi-license-tightened",
            "nsprov_plain_fn",
            &format!(
                "nsprov_plain_fn (drivers/ns/nsprov) became GPL-only: EXPORT_SYMBOL -> EXPORT_SYMBOL_GPL{}",
                users("nsprov_plain_fn")
            )
        )
    );
    assert_eq!(code, 1);

    // ns_plain_fn's namespace, in `__ksymtab_strings`.
    let d = tempfile::tempdir().unwrap();
    let (_, m) = namespaces_copy(d.path());
    let prov = m.join(ns).join("nsprov.ko");
    patch_once(&prov, b"TEST_NS2\0", b"TEST_NS3\0");
    assert!(readelf(&["-p", "__ksymtab_strings"], &prov).contains("TEST_NS3"));
    let (code, got) = changes_to(&m);
    assert_eq!(
        got,
        one(
            "abi-namespace-changed",
            "ns_plain_fn",
            &format!(
                "ns_plain_fn (drivers/ns/nsprov) moved from namespace TEST_NS2 to TEST_NS3{}",
                users("ns_plain_fn")
            )
        )
    );
    assert_eq!(code, 1);

    // nsprov_plain_fn's `__crc_` symbol renamed: kmod's depmod no longer lists it.
    let d = tempfile::tempdir().unwrap();
    let (root, m) = namespaces_copy(d.path());
    let prov = m.join(ns).join("nsprov.ko");
    patch_once(
        &prov,
        b"\0__crc_nsprov_plain_fn\0",
        b"\0__crX_nsprov_plain_fn\0",
    );
    if let Some(kmod) = super::support::kmod("edited_modules_give_the_change_made") {
        let st = Command::new(kmod)
            .arg("-b")
            .arg(&root)
            .arg("6.1.0-test")
            .status()
            .unwrap();
        assert!(st.success());
        let symbols = std::fs::read_to_string(m.join("modules.symbols")).unwrap();
        assert!(
            symbols.contains("alias symbol:ns_plain_fn nsprov\n"),
            "{symbols}"
        );
        assert!(!symbols.contains("nsprov_plain_fn"), "{symbols}");
    }
    let (code, got) = changes_to(&m);
    assert_eq!(
        got,
        one(
            "abi-export-removed",
            "nsprov_plain_fn",
            &format!(
                "nsprov_plain_fn (drivers/ns/nsprov) is no longer exported{}",
                users("nsprov_plain_fn")
            )
        )
    );
    assert_eq!(code, 1);
}

#[test]
fn one_symbol_explained_on_every_side_kind() {
    let tree = fixtures().join("trees/namespaces/lib/modules/6.1.0-test");
    let build = fixtures().join("modpost-objs-6.12/namespaces");
    let sv61 = fixtures().join("modpost/namespaces.Module.symvers");
    let (t, b, s) = (
        tree.display().to_string(),
        build.display().to_string(),
        sv61.display().to_string(),
    );
    // The records modpost wrote for ns_fn, in 6.1 and 6.12.
    let record = |f: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(f).unwrap();
        let l = text.lines().find(|l| l.contains("\tns_fn\t")).unwrap();
        l.split('\t').map(str::to_string).collect()
    };
    let r61 = record(&sv61);
    let r612 = record(&fixtures().join("modpost-6.12/namespaces.Module.symvers"));
    // `explain` on the tree names the importers the gate must name.
    let o = Command::new(super::support::modpolicy_bin())
        .args(["explain", "-b"])
        .arg(fixtures().join("trees/namespaces"))
        .args(["6.1.0-test", "ns_fn"])
        .output()
        .unwrap();
    let explained = String::from_utf8_lossy(&o.stdout);
    let mut users: Vec<&str> = explained
        .split_once("  imported by (")
        .expect("explain lists importers")
        .1
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    users.sort();
    // kmod agrees: the modules whose `__versions` name ns_fn.
    assert_eq!(users, importers_of(&tree, "ns_fn"));
    let users = format!("imported by ({}): {}", users.len(), users.join(", "));
    // Symvers -> tree: the record's line, then the tree's (no line: read from a module).
    let out = abi(&["--format", "text", "--symbol", "ns_fn", &s, &t]);
    let want = format!(
        "symbol ns_fn\n  baseline: {} {} crc {} namespace {} (line 1)\n  new:      drivers/ns/nsprov {} crc {} namespace {}\n  changes:  abi-export-moved (deny)\n  {users}\n",
        r61[2], r61[3], r61[0], r61[4], r61[3], r61[0], r61[4]
    );
    assert!(
        out.stdout.contains(&want),
        "{}\nwanted:\n{want}",
        out.stdout
    );
    assert_eq!(out.code, 1);
    // Tree -> build directory: the 6.12 objects' record, importers from the build (its
    // modules.order has no nsbad).
    let out = abi(&["--format", "text", "--symbol", "ns_fn", &t, &b]);
    let want = format!(
        "symbol ns_fn\n  baseline: drivers/ns/nsprov {} crc {} namespace {}\n  new:      {} {} crc {} namespace {}\n  changes:  abi-export-moved (deny)\n  imported by (1): nsuser\n",
        r61[3], r61[0], r61[4], r612[2], r612[3], r612[0], r612[4]
    );
    assert!(
        out.stdout.contains(&want),
        "{}\nwanted:\n{want}",
        out.stdout
    );
    // Build directory -> its own Module.symvers: no change.
    let sv612 = fixtures()
        .join("modpost-6.12/namespaces.Module.symvers")
        .display()
        .to_string();
    let out = abi(&["--format", "text", "--symbol", "ns_fn", &b, &sv612]);
    assert!(
        out.stdout
            .contains("  changes:  none\n  imported by (0): \n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.code, 0);
}

fn assert_bad(out: &Out, needle: &str) {
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(needle),
        "wanted {needle:?}: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn bad_input_on_every_side_kind() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    let sv = fixtures()
        .join("modpost-6.12/namespaces.Module.symvers")
        .display()
        .to_string();
    let tree = fixtures()
        .join("trees/namespaces/lib/modules/6.1.0-test")
        .display()
        .to_string();
    // A tree that does not exist.
    let missing = p("nowhere/lib/modules/6.1.0-test");
    assert_bad(
        &abi(&[&missing, &sv]),
        &format!("cannot read {missing}: No such file or directory"),
    );
    // A tree without modules.
    std::fs::create_dir_all(d.path().join("empty/lib/modules/1.0")).unwrap();
    let empty = p("empty/lib/modules/1.0");
    assert_bad(
        &abi(&[&sv, &empty]),
        &format!("{empty}: no modules to compare"),
    );
    // A build directory whose modules.order lists nothing.
    std::fs::create_dir(d.path().join("build")).unwrap();
    std::fs::write(d.path().join("build/modules.order"), "").unwrap();
    assert_bad(
        &abi(&[&p("build"), &sv]),
        &format!(
            "{}: no modules to compare: its modules.order lists no module",
            p("build")
        ),
    );
    // A build directory naming an object that is not there.
    std::fs::write(d.path().join("build/modules.order"), "gone.o\n").unwrap();
    let out = abi(&[&p("build"), &sv]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("gone"), "{}", out.stderr);
    // A directory that is neither.
    std::fs::create_dir(d.path().join("plain")).unwrap();
    assert_bad(
        &abi(&[&sv, &p("plain")]),
        "neither an installed module tree (lib/modules/VERSION) nor a build directory",
    );
    // The kernel's Module.symvers of a tree: missing, or with a malformed line.
    assert_bad(
        &abi(&["--baseline-kernel", &p("no.symvers"), &tree, &sv]),
        &format!("cannot read {}", p("no.symvers")),
    );
    std::fs::write(
        d.path().join("bad.symvers"),
        "0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x1\tbar\n",
    )
    .unwrap();
    assert_bad(
        &abi(&["--new-kernel", &p("bad.symvers"), &sv, &tree]),
        &format!("{}:2: ", p("bad.symvers")),
    );
    // A consumer that does not exist, or is a Module.symvers.
    assert_bad(
        &abi(&["--consumers", &p("nowhere"), &sv, &sv]),
        &format!("{}: no such directory", p("nowhere")),
    );
    assert_bad(
        &abi(&["--consumers", &sv, &sv, &sv]),
        "a consumer must be a module tree",
    );
}
