//! WebAssembly plugins, end to end through `modpolicy check`.
//!
//! - **Sandbox**: each failure mode with a purpose-built bad plugin in WAT
//!   (`tests/plugins/wat/`, no wasm toolchain needed): trap, fuel, deadline, memory
//!   (growth and initial size), stack, forbidden and WASI imports, a mistyped `log`,
//!   malformed output, an invalid level, output over the cap or outside memory, an
//!   allocation failure, another ABI version, a missing export, garbage bytes, a 64-bit
//!   memory, compiling past `timeout-ms`, a sha256
//!   mismatch and a missing file. Each becomes `plugin-failed`/`plugin-refused` naming
//!   the plugin and the reason; the run goes on; the policy decides the level.
//! - **Findings**: a well-behaved WAT plugin's finding in every output format, levelled by
//!   `severity`, tolerated by `allow-finding`, overridden on the command line; the same
//!   plugin twice gives identical output; the compiled-module cache is used on the
//!   second run and a damaged cache entry is recompiled.
//! - **Examples** (`plugins/examples/`, built by `plugins/build.sh` into
//!   `target/plugins/`): each on real modules (fixture trees built with the real kbuild,
//!   and the Debian 6.1 corpus), loaded through the `policy.kdl` beside it.

#[path = "../support/mod.rs"]
mod support;

use modpolicy::plugin::host::sha256_hex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Out {
    let mut c = Command::new(support::modpolicy_bin());
    c.args(args)
        .current_dir(support::repo_root())
        .env("LC_ALL", "C")
        .env("MODPOLICY_TODAY", "2026-01-01")
        .env_remove("RUST_LOG");
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("modpolicy runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn wat(name: &str) -> PathBuf {
    support::repo_root().join("tests/plugins/wat").join(name)
}

/// A clean fixture tree (no finding under the default policy).
fn clean_tree() -> String {
    support::fixture_trees()
        .join("dup-export-ab/lib/modules/6.1.0-test")
        .display()
        .to_string()
}

/// A policy declaring `plugins` (name, file, extra settings), written in a temp dir.
fn policy(dir: &Path, plugins: &[(&str, &Path, &str)], extra: &str) -> PathBuf {
    let mut text = String::from("version 1\n");
    for (name, file, settings) in plugins {
        let sha = sha256_hex(&std::fs::read(file).unwrap_or_default());
        text.push_str(&format!(
            "plugin \"{name}\" {{\n    path \"{}\"\n    sha256 \"{sha}\"\n{settings}\n}}\n",
            file.display()
        ));
    }
    text.push_str(extra);
    let p = dir.join("policy.kdl");
    std::fs::write(&p, text).unwrap();
    p
}

fn check_json(policy: &Path, tree: &str, extra: &[&str]) -> (Out, Value) {
    let p = policy.display().to_string();
    let mut args = vec![
        "check",
        "--no-plugin-cache",
        "--format",
        "json",
        "--policy",
        &p,
    ];
    args.extend_from_slice(extra);
    args.push(tree);
    let out = run(&args, &[]);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("json: {e}\n{}\n{}", out.stdout, out.stderr));
    (out, v)
}

fn findings(v: &Value) -> Vec<&Value> {
    v["findings"].as_array().unwrap().iter().collect()
}

/// The one finding about plugin `name`.
fn about<'a>(v: &'a Value, name: &str) -> &'a Value {
    let f: Vec<&Value> = findings(v)
        .into_iter()
        .filter(|f| f["plugin"]["name"] == name)
        .collect();
    assert_eq!(f.len(), 1, "one finding about {name}: {v:#}");
    f[0]
}

/// Every failure mode: (WAT file, settings, code, text the message must contain).
const FAILURES: &[(&str, &str, &str, &str)] = &[
    (
        "trap.wat",
        "",
        "plugin-failed",
        "trapped: wasm `unreachable` instruction executed",
    ),
    (
        "spin.wat",
        "fuel 1000000",
        "plugin-failed",
        "ran out of fuel (its budget is 1000000 units)",
    ),
    (
        "spin.wat",
        "fuel 1000000000000\ntimeout-ms 200",
        "plugin-failed",
        "did not finish within its 200 ms deadline",
    ),
    (
        "grow.wat",
        "memory \"4MiB\"",
        "plugin-failed",
        "exceeded its memory limit of 4194304 bytes",
    ),
    (
        "huge-memory.wat",
        "memory \"64MiB\"",
        "plugin-failed",
        "exceeded its memory limit of 67108864 bytes",
    ),
    (
        "recurse.wat",
        "stack \"256KiB\"",
        "plugin-failed",
        "overflowed its stack (the cap is 262144 bytes)",
    ),
    (
        "forbidden-import.wat",
        "",
        "plugin-refused",
        "imports `env::system`, which the host does not provide",
    ),
    (
        "wasi-import.wat",
        "",
        "plugin-refused",
        "imports `wasi_snapshot_preview1::fd_write`",
    ),
    (
        "bad-log-signature.wat",
        "",
        "plugin-refused",
        "incompatible import type for `modpolicy::log`",
    ),
    (
        "malformed.wat",
        "",
        "plugin-failed",
        "returned malformed output: line 1: unknown record `this is not a finding`",
    ),
    (
        "bad-level.wat",
        "",
        "plugin-failed",
        "returned malformed output: line 1: invalid level `fatal`",
    ),
    (
        "big-output.wat",
        "max-output \"1KiB\"",
        "plugin-failed",
        "returned 60000 bytes of output, more than its limit of 1024 bytes",
    ),
    (
        "out-of-bounds.wat",
        "",
        "plugin-failed",
        "returned output outside its memory",
    ),
    ("alloc-fails.wat", "", "plugin-failed", "could not allocate"),
    (
        "abi-2.wat",
        "",
        "plugin-refused",
        "speaks plugin ABI version 2; this modpolicy speaks version 1",
    ),
    (
        "no-check.wat",
        "",
        "plugin-refused",
        "does not export `modpolicy_check`",
    ),
    (
        "memory64.wat",
        "",
        "plugin-refused",
        "its memory `memory` is a 64-bit memory (memory64); a plugin is a wasm32 module",
    ),
    (
        "garbage.wasm",
        "",
        "plugin-refused",
        "not a valid WebAssembly module",
    ),
];

#[test]
fn every_failure_mode_is_contained_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let count = wat("count.wat");
    for (file, settings, code, text) in FAILURES {
        // The bad plugin first, a good one after it: the run must go on.
        let p = policy(
            dir.path(),
            &[("bad", &wat(file), settings), ("count", &count, "")],
            "",
        );
        let (out, v) = check_json(&p, &clean_tree(), &[]);
        let f = about(&v, "bad");
        assert_eq!(f["code"], *code, "{file}: {f:#}");
        let msg = f["message"].as_str().unwrap();
        assert!(msg.starts_with("plugin bad "), "{file}: {msg}");
        assert!(
            msg.contains(text),
            "{file}: `{msg}` should contain `{text}`"
        );
        assert_eq!(f["level"], "deny", "{file}");
        assert_eq!(
            f["rule"]["kind"], "plugin",
            "{file}: the plugin is the deciding rule"
        );
        assert_eq!(out.code, 1, "{file}: a deny failure fails the run");
        let good = about(&v, "count");
        assert_eq!(good["code"], "count/modules", "{file}: the run went on");
    }
}

#[test]
fn sha256_mismatch_and_missing_files_refuse_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let sha = sha256_hex(b"something else");
    let text = format!(
        "version 1\nplugin \"count\" {{\n    path \"{}\"\n    sha256 \"{sha}\"\n}}\n\
         plugin \"nofile\" {{\n    path \"missing.wasm\"\n    sha256 \"{sha}\"\n}}\n\
         plugin \"nodata\" {{\n    path \"{}\"\n    sha256 \"{}\"\n    files \"no-such-baseline\"\n}}\n",
        wat("count.wat").display(),
        wat("count.wat").display(),
        sha256_hex(&std::fs::read(wat("count.wat")).unwrap()),
    );
    let p = dir.path().join("policy.kdl");
    std::fs::write(&p, text).unwrap();
    let (out, v) = check_json(&p, &clean_tree(), &[]);
    assert_eq!(out.code, 1);
    let f = about(&v, "count");
    assert_eq!(f["code"], "plugin-refused");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("but the policy requires {sha}")),
        "{f:#}"
    );
    let f = about(&v, "nofile");
    assert_eq!(f["code"], "plugin-refused");
    let missing = dir.path().join("missing.wasm").display().to_string();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot read {missing}")),
        "{f:#}: paths are relative to the policy"
    );
    let f = about(&v, "nodata");
    assert!(
        f["message"].as_str().unwrap().contains("no-such-baseline"),
        "{f:#}"
    );
}

#[test]
fn the_policy_decides_whether_a_failure_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // on-failure on the plugin
    let p = policy(
        dir.path(),
        &[("bad", &wat("trap.wat"), "on-failure \"warn\"")],
        "",
    );
    let (out, v) = check_json(&p, &clean_tree(), &[]);
    assert_eq!(about(&v, "bad")["level"], "warn");
    assert_eq!(out.code, 0, "a warn-level failure does not fail the run");
    // severity for the code
    let p = policy(
        dir.path(),
        &[("bad", &wat("trap.wat"), "")],
        "severity {\n    plugin-failed \"warn\"\n}\n",
    );
    let (out, v) = check_json(&p, &clean_tree(), &[]);
    let f = about(&v, "bad");
    assert_eq!(
        (f["level"].as_str(), f["rule"]["kind"].as_str()),
        (Some("warn"), Some("severity"))
    );
    assert_eq!(out.code, 0);
    // and the command line
    let (out, v) = check_json(&p, &clean_tree(), &["--deny", "plugin-failed"]);
    assert_eq!(about(&v, "bad")["level"], "deny");
    assert_eq!(out.code, 1);
}

#[test]
fn plugin_findings_in_every_format_under_policy() {
    let dir = tempfile::tempdir().unwrap();
    let count = wat("count.wat");
    let tree = support::fixture_trees()
        .join("namespaces/lib/modules/6.1.0-test")
        .display()
        .to_string();
    let p = policy(dir.path(), &[("count", &count, "")], "");
    let (out, v) = check_json(&p, &tree, &[]);
    let f = about(&v, "count");
    assert_eq!(f["code"], "count/modules");
    assert_eq!(
        f["message"], "modules seen: 4",
        "the plugin saw the tree's four modules"
    );
    assert_eq!(f["level"], "warn", "the plugin's own level");
    assert_eq!(f["plugin"]["code"], "modules");
    assert_eq!(f["rule"]["kind"], "plugin");
    assert_eq!(f["rule"]["line"], 2);
    assert_eq!(out.code, 1, "nsbad's missing namespace import is an error");

    let pp = p.display().to_string();
    let o = run(
        &[
            "check",
            "--no-plugin-cache",
            "--format",
            "modpost",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    assert!(
        o.stdout
            .contains("WARNING: modpolicy: [count/modules] modules seen: 4\n"),
        "{}",
        o.stdout
    );
    let o = run(
        &[
            "check",
            "--no-plugin-cache",
            "--format",
            "human",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    assert!(
        o.stdout.contains("count/modules") && o.stdout.contains("modules seen: 4"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("reported by plugin count"),
        "{}",
        o.stdout
    );
    let o = run(
        &[
            "check",
            "--no-plugin-cache",
            "--format",
            "sarif",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    let s: Value = serde_json::from_str(&o.stdout).unwrap();
    let run0 = &s["runs"][0];
    let res: Vec<&Value> = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "count/modules")
        .collect();
    assert_eq!(res.len(), 1, "{s:#}");
    let idx = res[0]["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run0["tool"]["driver"]["rules"][idx]["id"], "count/modules");
    assert_eq!(res[0]["properties"]["plugin"], "count");

    // severity for the plugin's code
    let p = policy(
        dir.path(),
        &[("count", &count, "")],
        "severity {\n    \"count/modules\" \"deny\"\n}\n",
    );
    let (_, v) = check_json(&p, &clean_tree(), &[]);
    let f = about(&v, "count");
    assert_eq!(
        (f["level"].as_str(), f["rule"]["kind"].as_str()),
        (Some("deny"), Some("severity"))
    );
    assert_eq!(v["summary"]["errors"], 1);
    // an allow-finding entry tolerates it
    let p = policy(
        dir.path(),
        &[("count", &count, "")],
        "severity {\n    \"count/modules\" \"deny\"\n}\nallow-finding \"count/*\" {\n    reason \"counting is informative\"\n}\n",
    );
    let (out, v) = check_json(&p, &clean_tree(), &[]);
    let f = about(&v, "count");
    assert_eq!(f["tolerated"], true);
    assert_eq!(f["rule"]["kind"], "allow-finding");
    assert_eq!(f["rule"]["reason"], "counting is informative");
    assert_eq!(out.code, 0);
    // ... but not for other modules when it names some
    let p = policy(
        dir.path(),
        &[("count", &count, "")],
        "allow-finding \"count/modules\" {\n    modules \"dupa\"\n    reason \"x\"\n}\n",
    );
    let (_, v) = check_json(&p, &clean_tree(), &[]);
    assert_eq!(
        about(&v, "count")["tolerated"],
        false,
        "the finding names no module"
    );
    // the command line
    let p = policy(dir.path(), &[("count", &count, "")], "");
    let (_, v) = check_json(&p, &clean_tree(), &["--allow", "count/modules"]);
    assert!(findings(&v).iter().all(|f| f["plugin"].is_null()), "{v:#}");
    let (out, v) = check_json(&p, &clean_tree(), &["--deny", "count/modules"]);
    assert_eq!(about(&v, "count")["rule"]["file"], "<command line>");
    assert_eq!(out.code, 1);
}

#[test]
fn the_same_plugin_twice_gives_identical_findings() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), &[("count", &wat("count.wat"), "")], "");
    let pp = p.display().to_string();
    let tree = clean_tree();
    let a = run(
        &[
            "check",
            "--no-plugin-cache",
            "--format",
            "json",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    let b = run(
        &[
            "check",
            "--no-plugin-cache",
            "--format",
            "json",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    assert!(a.stdout.contains("count/modules"));
    assert_eq!(a.stdout, b.stdout);
    // and fuel is deterministic: the same budget stops the same spin at the same point
    let p = policy(dir.path(), &[("s", &wat("spin.wat"), "fuel 5000000")], "");
    let (_, x) = check_json(&p, &tree, &[]);
    let (_, y) = check_json(&p, &tree, &[]);
    assert_eq!(x, y);
}

#[test]
fn compiled_plugins_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let p = policy(dir.path(), &[("count", &wat("count.wat"), "")], "");
    let pp = p.display().to_string();
    let cc = cache.display().to_string();
    let tree = clean_tree();
    let args = [
        "-v",
        "check",
        "--plugin-cache",
        &cc,
        "--format",
        "json",
        "--policy",
        &pp,
        &tree,
    ];
    let first = run(&args, &[]);
    assert!(first.stderr.contains("(Miss)"), "{}", first.stderr);
    let entries: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let second = run(&args, &[]);
    assert!(second.stderr.contains("(Hit)"), "{}", second.stderr);
    assert_eq!(first.stdout, second.stdout);
    // a damaged entry is not trusted: recompiled, same result
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&entries[0], &bytes).unwrap();
    let third = run(&args, &[]);
    assert!(third.stderr.contains("(Miss)"), "{}", third.stderr);
    assert_eq!(first.stdout, third.stdout);
    // the environment names the cache too
    let env_cache = dir.path().join("env-cache");
    let ec = env_cache.display().to_string();
    let o = run(
        &["check", "--format", "json", "--policy", &pp, &tree],
        &[("MODPOLICY_PLUGIN_CACHE", &ec)],
    );
    assert_eq!(o.code, 0);
    assert_eq!(std::fs::read_dir(&env_cache).unwrap().count(), 1);
}

#[test]
fn plugin_declarations_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.kdl");
    std::fs::write(
        &p,
        "version 1\nplugin \"x\" {\n    path \"a.wasm\"\n    sha256 \"abc\"\n    memroy \"1MiB\"\n    fuel \"lots\"\n}\nplugin \"Bad/Name\" { path \"a\"; sha256 \"a\" }\nplugin \"y\" { sha256 \"0000000000000000000000000000000000000000000000000000000000000000\" }\n",
    )
    .unwrap();
    let pp = p.display().to_string();
    let o = run(&["check", "--policy", &pp, &clean_tree()], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    for want in [
        "`sha256` must be 64 hex digits",
        "unknown setting `memroy` in `plugin`",
        "did you mean `memory`?",
        "`fuel` must be a positive integer",
        "plugin name `Bad/Name`",
        "`path` is missing",
    ] {
        assert!(
            o.stderr.contains(want),
            "missing `{want}` in:\n{}",
            o.stderr
        );
    }
}

// ---- the examples, built by plugins/build.sh ----

fn example(name: &str) -> (PathBuf, String) {
    let wasm = support::repo_root().join(format!("target/plugins/{name}.wasm"));
    assert!(
        wasm.is_file(),
        "{} is missing: run plugins/build.sh first (tests/run.sh does)",
        wasm.display()
    );
    let policy = support::repo_root().join(format!("plugins/examples/{name}/policy.kdl"));
    let text = std::fs::read_to_string(&policy).unwrap();
    let sha = sha256_hex(&std::fs::read(&wasm).unwrap());
    assert!(
        text.contains(&sha),
        "{} does not name the sha256 of {} ({sha}): run plugins/build.sh --update-hashes",
        policy.display(),
        wasm.display()
    );
    (policy, sha)
}

/// Copies a fixture tree, moving `moves` (relative module paths) to new places.
fn arranged_tree(dir: &Path, from: &str, moves: &[(&str, &str)]) -> String {
    let src = support::fixture_trees().join(from);
    let dst = dir.join("tree");
    support::copy_tree(&src, &dst);
    let m = dst.join("lib/modules/6.1.0-test");
    for (a, b) in moves {
        std::fs::create_dir_all(m.join(b).parent().unwrap()).unwrap();
        std::fs::rename(m.join(a), m.join(b)).unwrap();
    }
    m.display().to_string()
}

#[test]
fn example_staging_namespace_on_real_modules() {
    let (policy, _) = example("staging-namespace");
    let dir = tempfile::tempdir().unwrap();
    // nsprov exports with a namespace, dupa-like modules without: move both into staging.
    let tree = arranged_tree(
        dir.path(),
        "namespaces",
        &[
            (
                "kernel/drivers/ns/nsprov.ko",
                "kernel/drivers/staging/ns/nsprov.ko",
            ),
            (
                "kernel/drivers/ns/nsunneeded.ko",
                "kernel/drivers/staging/ns/nsunneeded.ko",
            ),
        ],
    );
    let (_, v) = check_json(&policy, &tree, &[]);
    let ours: Vec<&Value> = findings(&v)
        .into_iter()
        .filter(|f| f["plugin"]["name"] == "staging-namespace")
        .collect();
    // What the modules really export, read by the host's own ELF reader.
    let mut want = Vec::new();
    for m in ["nsprov", "nsunneeded"] {
        let img = modpolicy::load::elf::parse(
            &std::fs::read(Path::new(&tree).join(format!("kernel/drivers/staging/ns/{m}.ko")))
                .unwrap(),
        )
        .unwrap();
        for e in img
            .exports
            .iter()
            .filter(|e| e.namespace.as_deref().unwrap_or("").is_empty())
        {
            want.push(format!("{m}:{}", e.name));
        }
    }
    let got: Vec<String> = ours
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["module"].as_str().unwrap(),
                f["symbol"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!want.is_empty(), "the fixture has un-namespaced exports");
    assert_eq!(got, want);
    for f in &ours {
        assert_eq!(f["code"], "staging-namespace/missing-namespace");
        assert_eq!(f["level"], "deny");
    }
    // Outside staging, nothing.
    let plain = support::fixture_trees()
        .join("namespaces/lib/modules/6.1.0-test")
        .display()
        .to_string();
    let (_, v) = check_json(&policy, &plain, &[]);
    assert!(findings(&v).iter().all(|f| f["plugin"].is_null()), "{v:#}");
}

#[test]
fn example_kabi_moved_on_the_61_corpus() {
    let (example_policy, sha) = example("kabi-moved");
    // The example's own baseline on a fixture tree.
    let ns = support::fixture_trees().join("namespaces");
    let tree = ns.join("lib/modules/6.1.0-test").display().to_string();
    let sv = ns.join("Module.symvers").display().to_string();
    let (out, v) = check_json(&example_policy, &tree, &["--symvers", &sv]);
    let f = about(&v, "kabi");
    assert_eq!(f["code"], "kabi/moved-to-module");
    assert_eq!(
        (f["module"].as_str(), f["symbol"].as_str()),
        (Some("nsprov"), Some("ns_fn"))
    );
    assert_eq!(out.code, 1);

    let Some(corpus) = support::corpus("example_kabi_moved_on_the_61_corpus") else {
        return;
    };
    // A baseline in which two symbols that 6.1 modules export were vmlinux's, and one
    // vmlinux symbol had another CRC.
    let text = std::fs::read_to_string(&corpus.v6_1.symvers).unwrap();
    let mut moved = Vec::new();
    let mut changed = None;
    let mut baseline = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 4 && f[2] != "vmlinux" && moved.len() < 2 && f[2].starts_with("drivers/") {
            moved.push((
                f[1].to_string(),
                f[2].rsplit('/').next().unwrap().replace('-', "_"),
            ));
            baseline.push_str(&format!("{}\t{}\tvmlinux\t{}\n", f[0], f[1], f[3]));
        } else if f.len() >= 4 && f[2] == "vmlinux" && changed.is_none() {
            changed = Some(f[1].to_string());
            baseline.push_str(&format!("0xdeadbeef\t{}\tvmlinux\t{}\n", f[1], f[3]));
        } else {
            baseline.push_str(line);
            baseline.push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("baseline.symvers");
    std::fs::write(&base, baseline).unwrap();
    let wasm = support::repo_root().join("target/plugins/kabi-moved.wasm");
    let p = dir.path().join("policy.kdl");
    std::fs::write(
        &p,
        format!(
            "version 1\nplugin \"kabi\" {{\n    path \"{}\"\n    sha256 \"{sha}\"\n    files \"baseline.symvers\"\n}}\n",
            wasm.display()
        ),
    )
    .unwrap();
    let tree = corpus
        .v6_1
        .root
        .join(format!("lib/modules/{}", corpus.v6_1.version))
        .display()
        .to_string();
    let sv = corpus.v6_1.symvers.display().to_string();
    let (_, v) = check_json(&p, &tree, &["--symvers", &sv]);
    let mut got: Vec<(String, String, String)> = findings(&v)
        .into_iter()
        .filter(|f| f["plugin"]["name"] == "kabi")
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["symbol"].as_str().unwrap_or("").to_string(),
                f["module"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String)> = moved
        .iter()
        .map(|(s, m)| ("kabi/moved-to-module".to_string(), s.clone(), m.clone()))
        .collect();
    want.push(("kabi/crc-changed".into(), changed.unwrap(), String::new()));
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn example_export_prefix_on_real_modules() {
    let (policy, _) = example("export-prefix");
    let dir = tempfile::tempdir().unwrap();
    let tree = support::fixture_trees()
        .join("namespaces/lib/modules/6.1.0-test")
        .display()
        .to_string();
    let dup = support::fixture_trees()
        .join("dup-export-ab/lib/modules/6.1.0-test")
        .display()
        .to_string();
    let (_, v) = check_json(&policy, &tree, &[]);
    let mut got: Vec<String> = findings(&v)
        .into_iter()
        .filter(|f| f["plugin"]["name"] == "export-prefix")
        .map(|f| {
            format!(
                "{}:{}",
                f["module"].as_str().unwrap(),
                f["symbol"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    // The oracle: the modules' real exports, read by the host's ELF reader.
    let mut want = Vec::new();
    for entry in walk(Path::new(&tree)) {
        let name = entry
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('-', "_");
        let img = modpolicy::load::elf::parse(&std::fs::read(&entry).unwrap()).unwrap();
        for e in &img.exports {
            if !e.name.starts_with(&format!("{name}_")) && !e.name.starts_with("__") {
                want.push(format!("{name}:{}", e.name));
            }
        }
    }
    want.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // The example's allow-finding tolerates the dup modules.
    let (out, v) = check_json(&policy, &dup, &[]);
    let ours: Vec<&Value> = findings(&v)
        .into_iter()
        .filter(|f| f["plugin"]["name"] == "export-prefix")
        .collect();
    assert!(!ours.is_empty());
    assert!(
        ours.iter()
            .all(|f| f["tolerated"] == true && f["rule"]["kind"] == "allow-finding"),
        "{v:#}"
    );
    assert_eq!(out.code, 0);
    let _ = dir;
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "ko") {
            v.push(p);
        }
    }
    v
}

#[test]
fn scaffolded_plugins_build_and_pass_their_tests() {
    if std::env::var_os("MODPOLICY_NO_WASM_TOOLCHAIN").is_some() {
        support::skip(
            "scaffolded_plugins_build_and_pass_their_tests",
            "MODPOLICY_NO_WASM_TOOLCHAIN is set: the scaffolds need clang, wasm-ld and Debian's rustc (tests/deps.sh)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for lang in ["c", "rust"] {
        let name = format!("my-{lang}-check");
        let target = dir.path().join(&name);
        let t = target.display().to_string();
        let o = run(&["plugin", "new", &name, "--lang", lang, "--dir", &t], &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let status = Command::new("sh")
            .arg("test.sh")
            .current_dir(&target)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{lang}: test.sh failed:\n{}\n{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        );
        // The generated policy loads the built plugin, on real modules.
        let diag = support::fixture_trees()
            .join("diag/lib/modules/6.1.0-test")
            .display()
            .to_string();
        let (_, v) = check_json(&target.join("policy.kdl"), &diag, &[]);
        let ours: Vec<&Value> = findings(&v)
            .into_iter()
            .filter(|f| f["plugin"]["name"] == name.as_str())
            .collect();
        assert_eq!(ours.len(), 1, "{lang}: {v:#}");
        assert_eq!(ours[0]["code"], format!("{name}/no-description"));
        assert_eq!(ours[0]["module"], "nodesc");
    }
}

/// A plugin reporting 20,000 findings: the first `MAX_FINDINGS_PER_PLUGIN` (10,000) are
/// kept, and one more finding of the plugin says how many were dropped.
#[test]
fn findings_per_plugin_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), &[("many", &wat("many-findings.wat"), "")], "");
    let (out, v) = check_json(&p, &clean_tree(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fs: Vec<&Value> = findings(&v)
        .into_iter()
        .filter(|f| f["plugin"]["name"] == "many")
        .collect();
    let max = modpolicy::plugin::MAX_FINDINGS_PER_PLUGIN;
    assert_eq!(fs.len(), max + 1, "{}", out.stderr);
    let dropped: Vec<&&Value> = fs
        .iter()
        .filter(|f| f["plugin"]["code"] == "findings-dropped")
        .collect();
    assert_eq!(dropped.len(), 1);
    let last = dropped[0];
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("10000 more findings were dropped"),
        "{last:#}"
    );
}

/// A `memory` limit above the 4 GiB wasm32 can address is refused, with the reason.
#[test]
fn memory_above_what_wasm32_addresses_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(
        dir.path(),
        &[("count", &wat("count.wat"), "    memory \"8GiB\"")],
        "",
    );
    let (_, v) = check_json(&p, &clean_tree(), &[]);
    let f = about(&v, "count");
    assert_eq!(f["code"], "plugin-refused", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("more than the 4294967296 bytes (4 GiB) a wasm32 plugin can address"),
        "{f:#}"
    );
}

/// A module defining more functions than `MAX_FUNCTIONS` is refused before compiling
/// (200,000 took 20 s and 1.25 GB to compile).
/// A module of `n` empty functions `() -> ()`, nothing exported.
fn many_functions(n: u64) -> Vec<u8> {
    fn leb(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len() as u64, out);
        out.extend_from_slice(body);
    }
    let mut w = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 0], &mut w); // one type: () -> ()
    let mut funcs = Vec::new();
    leb(n, &mut funcs);
    funcs.extend(std::iter::repeat_n(0u8, n as usize));
    section(3, &funcs, &mut w);
    let mut code = Vec::new();
    leb(n, &mut code);
    for _ in 0..n {
        code.extend_from_slice(&[2, 0, 0x0b]); // size 2: no locals, end
    }
    section(10, &code, &mut w);
    w
}

#[test]
fn too_many_functions_are_refused_before_compiling() {
    let n = modpolicy::plugin::host::MAX_FUNCTIONS + 1;
    let w = many_functions(n);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many-functions.wasm");
    std::fs::write(&file, &w).unwrap();
    let p = policy(dir.path(), &[("funcs", &file, "")], "");
    let t0 = std::time::Instant::now();
    let (_, v) = check_json(&p, &clean_tree(), &[]);
    let f = about(&v, "funcs");
    assert_eq!(f["code"], "plugin-refused", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("defines {n} functions, more than the limit")),
        "{f:#}"
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(20));
}

/// A module whose compilation takes longer than its `timeout-ms` is refused, naming the
/// limit, and the run goes on (the deadline covers compiling, not only running): 40,000
/// empty functions (within `MAX_FUNCTIONS`) take seconds to compile, the limit is 20 ms.
#[test]
fn compiling_past_the_time_limit_is_refused() {
    let n: u64 = 40_000;
    assert!(n <= modpolicy::plugin::host::MAX_FUNCTIONS);
    let w = many_functions(n);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slow-to-compile.wasm");
    std::fs::write(&file, &w).unwrap();
    let p = policy(
        dir.path(),
        &[
            ("slow", &file, "    timeout-ms 20"),
            ("count", &wat("count.wat"), ""),
        ],
        "",
    );
    let t0 = std::time::Instant::now();
    let (out, v) = check_json(&p, &clean_tree(), &[]);
    let f = about(&v, "slow");
    assert_eq!(f["code"], "plugin-refused", "{f:#}");
    assert_eq!(
        f["message"].as_str().unwrap(),
        "plugin slow was not run: compiling it took longer than its time limit of 20 ms",
        "{f:#}"
    );
    assert_eq!(
        about(&v, "count")["code"],
        "count/modules",
        "the run went on"
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(t0.elapsed() < std::time::Duration::from_secs(20));
}

/// A cache directory others may write to (world-writable, like /tmp) is not used:
/// nothing is stored in it and nothing in it is removed; the run goes on.
#[test]
fn shared_cache_directory_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("shared");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = cache.join(format!(".tmp-{}-x", std::process::id()));
    std::fs::write(&planted, b"someone else's").unwrap();
    let p = policy(dir.path(), &[("count", &wat("count.wat"), "")], "");
    let (pp, cc, tree) = (
        p.display().to_string(),
        cache.display().to_string(),
        clean_tree(),
    );
    let o = run(
        &[
            "check",
            "--plugin-cache",
            &cc,
            "--format",
            "json",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![planted.file_name().unwrap().to_string_lossy().into_owned()]
    );
    assert_eq!(std::fs::read(&planted).unwrap(), b"someone else's");
    // A new cache directory is created for the user alone.
    let fresh = dir.path().join("fresh/cache");
    let fc = fresh.display().to_string();
    let o = run(
        &[
            "check",
            "--plugin-cache",
            &fc,
            "--format",
            "json",
            "--policy",
            &pp,
            &tree,
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert_eq!(std::fs::read_dir(&fresh).unwrap().count(), 1);
}
