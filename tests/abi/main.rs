//! `modpolicy abi`, the ABI gate, on the real Module.symvers of four Debian kernel ABIs
//! (`corpus/abi/`: 6.1.0-47, 6.1.0-50, 6.1.0-57 and 6.12.118 amd64).
//!
//! - **Oracle**: for every ordered pair of ABIs, the changes are computed again by a
//!   plain shell comparison (`sort`, `join` and `awk` on the real files, in the test),
//!   and the gate's findings must agree with it code by code; the exit code is 1 exactly
//!   when a deny-level change exists.
//! - **Rules**: a policy tolerating whole subsystems makes the gate pass on every pair;
//!   a layered policy (an `abi-deny` for one subsystem before an `abi-tolerate` of CRC
//!   changes in all drivers) gives the verdicts first-match predicts, computed from the
//!   shell's change list with plain string tests.
//! - **Who is affected**: with the 6.1 cloud tree as `--consumers`, each changed symbol
//!   lists exactly the modules whose `__versions` name it, as kmod's
//!   `modprobe --dump-modversions` prints them.
//! - Every output format (JSON valid under the schema, SARIF under SARIF 2.1.0), bad
//!   input (exit 2, file and line named), rule lints.
//! - Module trees and build directories as sides: [`sides`].

#[path = "../support/mod.rs"]
mod support;

#[path = "../reports/schema.rs"]
mod schema;

mod sides;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The four ABIs, oldest first.
const ABIS: &[&str] = &[
    "6.1.0-47-amd64",
    "6.1.0-50-amd64",
    "6.1.0-57-amd64",
    "6.12.118+deb12-amd64",
];

/// The unpacked `abi/` directory of the corpus (set up by `tests/corpus/setup.sh`).
fn abi_dir(test: &str) -> Option<PathBuf> {
    support::corpus(test)?;
    let dest = match std::env::var_os("MODPOLICY_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => support::repo_root().join("target/corpus"),
    };
    let dir = dest.join("abi");
    for a in ABIS {
        let f = dir.join(format!("Module.symvers-{a}"));
        assert!(
            f.is_file(),
            "{} is missing after tests/corpus/setup.sh (the shared corpus needs abi/Module.symvers-{a}.xz)",
            f.display()
        );
    }
    Some(dir)
}

fn symvers(dir: &Path, abi: &str) -> String {
    dir.join(format!("Module.symvers-{abi}"))
        .display()
        .to_string()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn abi(args: &[&str]) -> Out {
    let o = Command::new(support::modpolicy_bin())
        .arg("abi")
        .args(args)
        .env("MODPOLICY_TODAY", "2026-06-01")
        .output()
        .expect("run modpolicy abi");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// One change as the shell comparison sees it: code, symbol, baseline module, new module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ShellChange {
    code: String,
    symbol: String,
    old_module: String,
    new_module: String,
}

/// Every change from `a` to `b`, by `sort`, `join` and `awk` on the files.
fn shell_changes(a: &str, b: &str) -> Vec<ShellChange> {
    const SCRIPT: &str = r#"
set -euo pipefail
export LC_ALL=C
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
key() { awk -F'\t' 'BEGIN { OFS = "\t" } { print $2, $1, $3, $4, $5 }' "$1" | sort -t"$(printf '\t')" -k1,1; }
key "$1" >"$T/a"; key "$2" >"$T/b"
TAB=$(printf '\t')
join -t"$TAB" -v1 -o 1.1,1.3 "$T/a" "$T/b" | awk -F'\t' '{ print "abi-export-removed\t" $1 "\t" $2 "\t" }'
join -t"$TAB" -v2 -o 2.1,2.2,2.3 "$T/a" "$T/b" | awk -F'\t' '{
    print "abi-export-added\t" $1 "\t\t" $3
    if ($2 == "0x00000000") print "abi-unversioned\t" $1 "\t\t" $3 }'
join -t"$TAB" -o 1.1,1.2,1.3,1.4,1.5,2.2,2.3,2.4,2.5 "$T/a" "$T/b" | awk -F'\t' '{
    m = $1 "\t" $3 "\t" $7
    z = ($2 == "0x00000000" || $6 == "0x00000000")
    if (!z && $2 != $6) print "abi-crc-changed\t" m
    if ($3 != $7) print "abi-export-moved\t" m
    g1 = ($4 ~ /_GPL/); g2 = ($8 ~ /_GPL/)
    if (!g1 && g2) print "abi-license-tightened\t" m
    if (g1 && !g2) print "abi-license-loosened\t" m
    if ($5 == "" && $9 != "") print "abi-namespace-added\t" m
    if ($5 != "" && $9 == "") print "abi-namespace-removed\t" m
    if ($5 != "" && $9 != "" && $5 != $9) print "abi-namespace-changed\t" m
    if (z) print "abi-unversioned\t" m }'
"#;
    let o = Command::new("bash")
        .args(["-c", SCRIPT, "shell-abi", a, b])
        .output()
        .expect("bash");
    assert!(
        o.status.success(),
        "shell comparison failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut v: Vec<ShellChange> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l:?}");
            ShellChange {
                code: f[0].into(),
                symbol: f[1].into(),
                old_module: f[2].into(),
                new_module: f[3].into(),
            }
        })
        .collect();
    v.sort();
    v
}

/// The default level of each `abi-*` code, as docs/codes.md states it.
fn denied_by_default(code: &str) -> bool {
    matches!(
        code,
        "abi-export-removed"
            | "abi-crc-changed"
            | "abi-export-moved"
            | "abi-license-tightened"
            | "abi-namespace-added"
            | "abi-namespace-changed"
    )
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            &out.stdout[..out.stdout.len().min(500)]
        )
    })
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings")
}

/// `(code, symbol)` of every finding with an `abi-*` code, sorted.
fn abi_findings(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = findings(v)
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("abi-"))
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["symbol"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pairs() -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    for a in ABIS {
        for b in ABIS {
            if a != b {
                v.push((*a, *b));
            }
        }
    }
    v
}

#[test]
fn every_pair_agrees_with_a_join_of_the_files() {
    let Some(dir) = abi_dir("every_pair_agrees_with_a_join_of_the_files") else {
        return;
    };
    let mut seen_removed = 0;
    for (a, b) in pairs() {
        let (fa, fb) = (symvers(&dir, a), symvers(&dir, b));
        let want = shell_changes(&fa, &fb);
        let out = abi(&["--format", "json", &fa, &fb]);
        let v = json(&out);
        schema::assert_json_valid(&v);
        let mut want_pairs: Vec<(String, String)> = want
            .iter()
            .map(|c| (c.code.clone(), c.symbol.clone()))
            .collect();
        want_pairs.sort();
        let got = abi_findings(&v);
        if got != want_pairs {
            let extra: Vec<_> = got
                .iter()
                .filter(|x| !want_pairs.contains(x))
                .take(5)
                .collect();
            let missing: Vec<_> = want_pairs
                .iter()
                .filter(|x| !got.contains(x))
                .take(5)
                .collect();
            panic!(
                "{a} -> {b}: {} findings, the shell finds {}; extra {extra:?}, missing {missing:?}",
                got.len(),
                want_pairs.len()
            );
        }
        let denied = want.iter().filter(|c| denied_by_default(&c.code)).count();
        assert_eq!(
            v["summary"]["errors"].as_u64(),
            Some(denied as u64),
            "{a} -> {b}"
        );
        assert_eq!(
            out.code,
            if denied > 0 { 1 } else { 0 },
            "{a} -> {b}: {}",
            out.stderr
        );
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &want {
            *by_code.entry(&c.code).or_default() += 1;
        }
        eprintln!("{a} -> {b}: {by_code:?}");
        seen_removed += by_code.get("abi-export-removed").copied().unwrap_or(0);
        if a.starts_with("6.1.0") && b.starts_with("6.1.0") {
            let crc = by_code.get("abi-crc-changed").copied().unwrap_or(0);
            assert!(
                crc > 1000,
                "{a} -> {b}: successive 6.1 ABIs change thousands of CRCs, the shell found {crc}"
            );
        }
    }
    assert!(seen_removed > 0, "the corpus pairs remove exports");
}

/// Top-level directories of `Module.symvers` paths, and vmlinux: every exporter.
const SUBSYSTEMS: &str = r#"version 1
abi-tolerate {
    modules "vmlinux" "arch/*" "block/*" "crypto/*" "drivers/*" "fs/*" "lib/*" "mm/*" "net/*" "sound/*" "virt/*"
    reason "a new point release: every subsystem is rebuilt, no external module is supported"
    owner "kernel-team@example.org"
}
"#;

fn write_policy(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, text).unwrap();
    let s = p.display().to_string();
    (d, s)
}

#[test]
fn a_policy_tolerating_whole_subsystems_passes_every_pair() {
    let Some(dir) = abi_dir("a_policy_tolerating_whole_subsystems_passes_every_pair") else {
        return;
    };
    let (_d, policy) = write_policy("subsystems.kdl", SUBSYSTEMS);
    for (a, b) in pairs() {
        let (fa, fb) = (symvers(&dir, a), symvers(&dir, b));
        let want = shell_changes(&fa, &fb);
        let out = abi(&["--policy", &policy, "--format", "json", &fa, &fb]);
        assert_eq!(out.code, 0, "{a} -> {b}: the gate passes: {}", out.stderr);
        let v = json(&out);
        assert_eq!(v["summary"]["errors"].as_u64(), Some(0));
        assert_eq!(
            v["summary"]["tolerated"].as_u64(),
            Some(want.len() as u64),
            "{a} -> {b}: every change is tolerated"
        );
        let f = findings(&v)
            .iter()
            .find(|f| f["tolerated"] == true)
            .expect("a tolerated finding");
        assert_eq!(f["rule"]["kind"], "abi-tolerate");
        assert_eq!(f["rule"]["line"], 2);
        assert!(f["rule"]["reason"]
            .as_str()
            .unwrap()
            .contains("point release"));
    }
}

#[test]
fn first_match_wins_across_layers() {
    let Some(dir) = abi_dir("first_match_wins_across_layers") else {
        return;
    };
    // The distribution's layer tolerates CRC changes in every driver; the flavour's layer
    // (higher, so tried first) denies any change in drivers/gpu.
    let (d, base) = write_policy(
        "distro.kdl",
        "version 1\nabi-tolerate {\n    modules \"drivers/*\"\n    changes \"crc-changed\"\n    reason \"drivers are rebuilt together\"\n}\n",
    );
    let flavour = d.path().join("flavour.kdl");
    std::fs::write(
        &flavour,
        "version 1\ninclude \"distro.kdl\"\nabi-deny {\n    modules \"drivers/gpu/*\"\n    reason \"the GPU ABI is supported\"\n}\n",
    )
    .unwrap();
    let _ = base;
    for (a, b) in [(ABIS[0], ABIS[1]), (ABIS[1], ABIS[2]), (ABIS[2], ABIS[3])] {
        let (fa, fb) = (symvers(&dir, a), symvers(&dir, b));
        let want = shell_changes(&fa, &fb);
        let in_dir =
            |c: &ShellChange, p: &str| c.old_module.starts_with(p) || c.new_module.starts_with(p);
        let (mut errors, mut tolerated) = (0, 0);
        for c in &want {
            if in_dir(c, "drivers/gpu/") {
                errors += 1;
            } else if in_dir(c, "drivers/") && c.code == "abi-crc-changed" {
                tolerated += 1;
            } else if denied_by_default(&c.code) {
                errors += 1;
            }
        }
        let out = abi(&[
            "--policy",
            &flavour.display().to_string(),
            "--format",
            "json",
            &fa,
            &fb,
        ]);
        let v = json(&out);
        assert_eq!(v["summary"]["errors"].as_u64(), Some(errors), "{a} -> {b}");
        assert_eq!(
            v["summary"]["tolerated"].as_u64(),
            Some(tolerated),
            "{a} -> {b}"
        );
        assert!(tolerated > 0 && errors > 0, "{a} -> {b}: both rules apply");
        assert_eq!(out.code, 1);
        let gpu = findings(&v)
            .iter()
            .find(|f| {
                f["module"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("drivers/gpu/"))
            })
            .expect("a drivers/gpu change");
        assert_eq!(gpu["rule"]["kind"], "abi-deny");
        assert_eq!(gpu["level"], "deny");
    }
}

/// Module name of a `.ko` path, as the kernel names it.
fn modname(path: &Path) -> String {
    let f = path.file_name().unwrap().to_string_lossy();
    f.split('.').next().unwrap().replace('-', "_")
}

#[test]
fn changed_symbols_list_the_modules_that_import_them() {
    let Some(dir) = abi_dir("changed_symbols_list_the_modules_that_import_them") else {
        return;
    };
    let corpus = support::corpus("changed_symbols_list_the_modules_that_import_them").unwrap();
    let tree = corpus
        .v6_1
        .root
        .join("lib/modules")
        .join(corpus.v6_1.version);
    // The oracle: kmod's own reading of each module's __versions.
    let mut importers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kos = Vec::new();
    let mut stack = vec![tree.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ko") {
                kos.push(p);
            }
        }
    }
    assert!(kos.len() > 1000);
    for chunk in kos.chunks(200) {
        for ko in chunk {
            let o = Command::new("/sbin/modprobe")
                .arg("--dump-modversions")
                .arg(ko)
                .output()
                .expect("modprobe --dump-modversions");
            assert!(o.status.success(), "{}", ko.display());
            for l in String::from_utf8_lossy(&o.stdout).lines() {
                if let Some((_, sym)) = l.split_once('\t') {
                    importers
                        .entry(sym.to_string())
                        .or_default()
                        .push(modname(ko));
                }
            }
        }
    }
    let (fa, fb) = (symvers(&dir, ABIS[0]), symvers(&dir, ABIS[1]));
    let tree_arg = tree.display().to_string();
    let out = abi(&["--consumers", &tree_arg, "--format", "json", &fa, &fb]);
    let v = json(&out);
    let mut checked = 0;
    for f in findings(&v) {
        let code = f["code"].as_str().unwrap();
        if !matches!(code, "abi-crc-changed" | "abi-export-removed") {
            continue;
        }
        let sym = f["symbol"].as_str().unwrap();
        let msg = f["message"].as_str().unwrap();
        let mut want = importers.get(sym).cloned().unwrap_or_default();
        want.sort();
        want.dedup();
        let got: Vec<String> = match msg.split_once("must be rebuilt: ") {
            Some((_, list)) => list
                .split(", ")
                .map(|m| m.split(" (").next().unwrap().to_string())
                .collect(),
            None => {
                assert!(msg.ends_with("no module imports it"), "{msg}");
                Vec::new()
            }
        };
        assert_eq!(got, want, "{sym}: {msg}");
        if !want.is_empty() {
            assert!(msg.contains(&format!("({tree_arg})")), "{msg}");
            checked += 1;
        }
    }
    assert!(
        checked > 100,
        "only {checked} changed symbols have importers"
    );
}

#[test]
fn every_format_and_the_rule_lints() {
    let Some(dir) = abi_dir("every_format_and_the_rule_lints") else {
        return;
    };
    let (fa, fb) = (symvers(&dir, ABIS[0]), symvers(&dir, ABIS[1]));
    let (_d, policy) = write_policy(
        "p.kdl",
        "version 1\n\
         abi-tolerate \"ip6_dst_lookup_tunnel\" \"ip_route_output_tunnel\" {\n    changes \"export-removed\"\n    reason \"replaced by udp_tunnel*_dst_lookup\"\n}\n\
         abi-tolerate \"ip6_dst_lookup_tunnel\" {\n    changes \"export-removed\"\n    reason \"shadowed by the rule above\"\n}\n\
         abi-deny \"no_such_symbol_anywhere\"\n\
         abi-tolerate {\n    modules \"drivers/*\"\n    reason \"old\"\n    expires \"2026-01-01\"\n}\n\
         severity {\n    abi-export-added \"allow\"\n}\n",
    );
    let out = abi(&["--policy", &policy, "--format", "json", &fa, &fb]);
    let v = json(&out);
    schema::assert_json_valid(&v);
    let codes: Vec<&str> = findings(&v)
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.contains(&"abi-export-added"),
        "severity allow hides them"
    );
    let lints: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|c| !c.starts_with("abi-"))
        .collect();
    // One each: the shadowed rule is not also reported as unmatched.
    assert_eq!(lints, ["shadowed-rule", "unmatched-rule", "expired-rule"]);
    let removed: Vec<&Value> = findings(&v)
        .iter()
        .filter(|f| f["code"] == "abi-export-removed")
        .collect();
    let tolerated: Vec<&str> = removed
        .iter()
        .filter(|f| f["tolerated"] == true)
        .map(|f| f["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(
        tolerated,
        ["ip6_dst_lookup_tunnel", "ip_route_output_tunnel"]
    );
    // SARIF, text and human on the same run.
    let out = abi(&["--policy", &policy, "--format", "sarif", &fa, &fb]);
    let s: Value = serde_json::from_str(&out.stdout).unwrap();
    schema::assert_sarif_valid(&s);
    let out = abi(&["--policy", &policy, "--format", "text", &fa, &fb]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("tolerated: abi-export-removed: ip_route_output_tunnel (vmlinux) is no longer exported [tolerated by ")),
        "{}",
        &out.stdout[..2000.min(out.stdout.len())]
    );
    assert!(out.stdout.contains("\nmodpolicy abi: "));
    // `policy lint` sees the shadowed and the expired rule without any ABI.
    let o = Command::new(support::modpolicy_bin())
        .args(["policy", "lint", &policy])
        .env("MODPOLICY_TODAY", "2026-06-01")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("[shadowed-rule]") && err.contains("[expired-rule]"),
        "{err}"
    );
    assert!(!err.contains("[unmatched-rule]"), "{err}");
}

#[test]
fn human_output_on_a_small_pair() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.symvers");
    let b = d.path().join("b.symvers");
    std::fs::write(&a, "0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tbar\tdrivers/x/y\tEXPORT_SYMBOL\t\n").unwrap();
    std::fs::write(&b, "0x00000009\tfoo\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x00000002\tbar\tdrivers/x/z\tEXPORT_SYMBOL\tNS\n").unwrap();
    let out = abi(&[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for code in [
        "abi-crc-changed",
        "abi-license-tightened",
        "abi-export-moved",
        "abi-namespace-added",
    ] {
        assert!(out.stdout.contains(code), "{code}: {}", out.stdout);
    }
    assert!(
        out.stdout
            .contains("modpolicy abi: 4 error(s), 0 warning(s), 0 tolerated"),
        "{}",
        out.stdout
    );
    // The same files, the other way round: loosened and removed namespace are warnings.
    let out = abi(&["--format", "text", b.to_str().unwrap(), a.to_str().unwrap()]);
    assert!(
        out.stdout
            .contains("warning: abi-license-loosened: foo (vmlinux)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("warning: abi-namespace-removed: bar (drivers/x/y) left namespace NS"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_input_is_named_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.symvers");
    let bad = d.path().join("bad.symvers");
    std::fs::write(&good, "0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n").unwrap();
    std::fs::write(&bad, "0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tbar\tvmlinux\tEXPORT_SYMBOL\t\nzz\tbaz\n").unwrap();
    let out = abi(&[good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!("{}:3: ", bad.display())),
        "{}",
        out.stderr
    );
    let missing = d.path().join("missing.symvers");
    let out = abi(&[missing.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(&format!("cannot read {}", missing.display())),
        "{}",
        out.stderr
    );
    let (_p, policy) = write_policy(
        "bad.kdl",
        "version 1\nabi-tolerate \"x\" {\n    changes \"crc\"\n}\n",
    );
    let out = abi(&[
        "--policy",
        &policy,
        good.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unknown ABI change `crc`") && out.stderr.contains("needs a `reason`"),
        "{}",
        out.stderr
    );
}

#[test]
fn imported_kabi_severities_give_first_match_verdicts() {
    let Some(dir) = abi_dir("imported_kabi_severities_give_first_match_verdicts") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let sev = d.path().join("severities");
    std::fs::write(
        &sev,
        "# kABI severities, SUSE's format\n\
         nvme_*\t\t\tFAIL\n\
         drivers/gpu/*\t\tFAIL   # the GPU ABI is supported\n\
         drivers/*\t\tPASS\n\
         SYMBOL ip_*\t\tPASS\n\
         vmlinux\t\t\tPASS\n\
         sound/*\t\t\tPASS\n",
    )
    .unwrap();
    let o = Command::new(support::modpolicy_bin())
        .args(["policy", "import-kabi-rules"])
        .arg(&sev)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let policy = d.path().join("imported.kdl");
    std::fs::write(&policy, &o.stdout).unwrap();
    let policy = policy.display().to_string();
    // The verdict the severities file gives a change: the first matching line.
    let verdict = |c: &ShellChange| -> Option<bool> {
        let module = |p: &str| c.old_module.starts_with(p) || c.new_module.starts_with(p);
        let is = |m: &str| c.old_module == m || c.new_module == m;
        if c.symbol.starts_with("nvme_") || module("drivers/gpu/") {
            Some(false)
        } else if module("drivers/")
            || c.symbol.starts_with("ip_")
            || is("vmlinux")
            || module("sound/")
        {
            Some(true)
        } else {
            None
        }
    };
    for (a, b) in [(ABIS[0], ABIS[1]), (ABIS[2], ABIS[3])] {
        let (fa, fb) = (symvers(&dir, a), symvers(&dir, b));
        let want = shell_changes(&fa, &fb);
        let errors = want
            .iter()
            .filter(|c| match verdict(c) {
                Some(pass) => !pass,
                None => denied_by_default(&c.code),
            })
            .count();
        let tolerated = want.iter().filter(|c| verdict(c) == Some(true)).count();
        let out = abi(&["--policy", &policy, "--format", "json", &fa, &fb]);
        let v = json(&out);
        assert_eq!(
            v["summary"]["errors"].as_u64(),
            Some(errors as u64),
            "{a} -> {b}"
        );
        assert_eq!(
            v["summary"]["tolerated"].as_u64(),
            Some(tolerated as u64),
            "{a} -> {b}"
        );
        assert!(errors > 0 && tolerated > 0);
        assert_eq!(out.code, 1);
        let f = findings(&v)
            .iter()
            .find(|f| f["tolerated"] == true)
            .unwrap();
        assert!(
            f["rule"]["reason"]
                .as_str()
                .unwrap()
                .contains("severities:"),
            "{f}"
        );
    }
    // A malformed line: exit 2, file and line named.
    std::fs::write(&sev, "ok_sym PASS\nbad_sym MAYBE\n").unwrap();
    let o = Command::new(support::modpolicy_bin())
        .args(["policy", "import-kabi-rules"])
        .arg(&sev)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:2: unknown verdict `MAYBE`", sev.display())),
        "{err}"
    );
}

#[test]
fn one_symbol_explained() {
    let Some(dir) = abi_dir("one_symbol_explained") else {
        return;
    };
    let (fa, fb) = (symvers(&dir, ABIS[0]), symvers(&dir, ABIS[1]));
    // The records, as the files have them.
    let line_of = |f: &str, sym: &str| -> (usize, Vec<String>) {
        let text = std::fs::read_to_string(f).unwrap();
        text.lines()
            .enumerate()
            .find(|(_, l)| l.split('\t').nth(1) == Some(sym))
            .map(|(i, l)| (i + 1, l.split('\t').map(str::to_string).collect()))
            .unwrap()
    };
    let (n, rec) = line_of(&fa, "ip_route_output_tunnel");
    let out = abi(&[
        "--format",
        "text",
        "--symbol",
        "ip_route_output_tunnel",
        &fa,
        &fb,
    ]);
    assert_eq!(out.code, 1);
    let finding_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("error: ") || l.starts_with("warning: "))
        .collect();
    assert_eq!(
        finding_lines,
        ["error: abi-export-removed: ip_route_output_tunnel (vmlinux) is no longer exported"]
    );
    let want = format!(
        "symbol ip_route_output_tunnel\n  baseline: {} {} crc {} (line {n})\n  new:      not exported\n  changes:  abi-export-removed (deny)\n",
        rec[2], rec[3], rec[0]
    );
    assert!(
        out.stdout.contains(&want),
        "{}\nwanted:\n{want}",
        out.stdout
    );
    // A symbol whose CRC changed, with its new line.
    let (n_new, new_rec) = line_of(&fb, "I_BDEV");
    let out = abi(&["--format", "text", "--symbol", "I_BDEV", &fa, &fb]);
    assert!(
        out.stdout.contains(&format!(
            "  new:      vmlinux {} crc {} (line {n_new})\n  changes:  abi-crc-changed (deny)\n",
            new_rec[3], new_rec[0]
        )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("unmatched-rule"));
}
