//! `modpolicy check`'s machine-readable reports (`--format json`, `--format sarif`).
//!
//! - **Streaming**: 160,000 plugin findings (16 copies of a plugin returning 155,344, 4 MiB
//!   of output, from
//!   `tests/reports/many-findings.wat`) are written in full, and the peak RSS of a JSON or
//!   SARIF run stays within a few MiB of the `--format modpost` run of the same findings
//!   (the findings themselves): the reports are serialized one finding at a time, with
//!   no value tree of the whole report (which took 950 MiB for JSON and 2.9 GiB for
//!   SARIF). The modpost run itself stays bounded: plugins run a few at a time and each
//!   keeps at most `MAX_FINDINGS_PER_PLUGIN` decoded findings.
//! - **Schemas**: plugin findings, a plugin failure, tolerated findings and paths that
//!   need percent-encoding (a space, a colon) give JSON valid under
//!   `docs/modpolicy-check.schema.json` and SARIF valid under the OASIS SARIF 2.1.0
//!   schema, with formats checked (see `schema.rs`, shared with the `check` suite).

#[path = "../support/mod.rs"]
mod support;

mod schema;

use modpolicy::plugin::host::sha256_hex;
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How many findings `many-findings.wat` returns.
const MANY: usize = 155_344;
/// How many copies of it the streaming test declares: a plugin's findings are capped at
/// `MAX_FINDINGS_PER_PLUGIN` (the rest become one `findings-dropped` finding), so the
/// report's 160,000 findings come from 16 plugins.
const COPIES: usize = 16;

/// A policy declaring `plugins` (name, file), then `extra`, written as `dir/policy.kdl`.
fn policy(dir: &Path, plugins: &[(&str, &Path)], extra: &str) -> PathBuf {
    let mut text = String::from("version 1\n");
    for (name, file) in plugins {
        let sha = sha256_hex(&std::fs::read(file).expect("plugin file"));
        text.push_str(&format!(
            "plugin \"{name}\" {{\n    path \"{}\"\n    sha256 \"{sha}\"\n}}\n",
            file.display()
        ));
    }
    text.push_str(extra);
    let p = dir.join("policy.kdl");
    std::fs::write(&p, text).unwrap();
    p
}

fn tree(name: &str) -> PathBuf {
    support::fixture_trees().join(name)
}

fn moddir(root: &Path) -> PathBuf {
    root.join("lib/modules").join(support::FIXTURE_VERSION)
}

/// Runs `modpolicy check ARGS` with stdout into `out`; returns the exit code and the
/// peak resident set size of the process, KiB (`wait4`'s `ru_maxrss`).
fn check_rss(args: &[&str], out: &Path) -> (i32, u64) {
    let child = Command::new(support::modpolicy_bin())
        .arg("check")
        .args(args)
        .current_dir(support::repo_root())
        .env("LC_ALL", "C")
        .env("MODPOLICY_TODAY", "2026-01-01")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(File::create(out).expect("output file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("modpolicy runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we spawned and have not
    // waited for (`Child` is dropped without waiting).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    assert!(
        libc::WIFEXITED(status),
        "modpolicy did not exit: {status:#x}"
    );
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64)
}

/// Lines of `path` containing `needle`, read as a stream.
fn count_lines(path: &Path, needle: &str) -> usize {
    BufReader::new(File::open(path).unwrap())
        .lines()
        .map(|l| l.unwrap())
        .filter(|l| l.contains(needle))
        .count()
}

/// Whether `path` ends as a pretty-printed JSON document does (`}\n`).
fn ends_document(path: &Path) -> bool {
    let data = std::fs::read(path).unwrap();
    data.ends_with(b"}\n")
}

#[test]
fn reports_stream_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let wat = support::repo_root().join("tests/reports/many-findings.wat");
    let names: Vec<String> = (0..COPIES).map(|i| format!("many{i}")).collect();
    let plugins: Vec<(&str, &Path)> = names.iter().map(|n| (n.as_str(), wat.as_path())).collect();
    let p = policy(dir.path(), &plugins, "");
    let kept = modpolicy::plugin::MAX_FINDINGS_PER_PLUGIN.min(MANY) * COPIES;
    assert!(
        kept >= 150_000,
        "{kept} findings are too few to measure streaming"
    );
    let p = p.to_str().unwrap();
    let t = moddir(&tree("dup-export-ab"));
    let t = t.to_str().unwrap();
    let run = |format: &str| {
        let out = dir.path().join(format!("out.{format}"));
        let (code, rss) = check_rss(
            &["--no-plugin-cache", "--format", format, "--policy", p, t],
            &out,
        );
        assert_eq!(code, 0, "--format {format}");
        (out, rss)
    };
    // The findings themselves: modpost's lines are a small string.
    let (modpost, base) = run("modpost");
    assert_eq!(count_lines(&modpost, "/many] many"), kept);
    let (json, json_rss) = run("json");
    assert!(ends_document(&json));
    assert_eq!(count_lines(&json, "/many\","), kept);
    let (sarif, sarif_rss) = run("sarif");
    assert!(ends_document(&sarif));
    let results = BufReader::new(File::open(&sarif).unwrap())
        .lines()
        .map(|l| l.unwrap())
        .filter(|l| l.contains("\"ruleId\": \"many") && l.contains("/many\""))
        .count();
    assert_eq!(results, kept);
    // Measured (2 processors): modpost 204-212 MiB, JSON and SARIF within 4 MiB of it
    // (before streaming: JSON 952 MiB, SARIF 2.9 GiB). 32 MiB leaves room for buffers and
    // allocator noise, and is far below what one value tree per finding takes (5 KiB a
    // finding in JSON).
    let slack = 32 << 10;
    eprintln!("peak RSS, KiB: modpost {base}, json {json_rss}, sarif {sarif_rss}");
    // The plugins' phase is bounded too: a few plugins run at once and each keeps at most
    // `MAX_FINDINGS_PER_PLUGIN` decoded findings. When all 16 ran at once, each decoding
    // its 155,344 findings before the cut, the modpost run peaked at 618-661 MiB.
    assert!(
        base <= 384 << 10,
        "--format modpost peaked at {base} KiB: the plugins' memory is not bounded"
    );
    assert!(
        json_rss <= base + slack,
        "--format json peaked at {json_rss} KiB, modpost at {base} KiB"
    );
    assert!(
        sarif_rss <= base + slack,
        "--format sarif peaked at {sarif_rss} KiB, modpost at {base} KiB"
    );
}

#[test]
fn plugin_and_tolerated_findings_and_odd_paths_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    // A directory whose path needs percent-encoding in a URI.
    let odd = dir.path().join("a b:c%");
    std::fs::create_dir(&odd).unwrap();
    let root = odd.join("tree");
    support::copy_tree(&tree("dup-export-ab"), &root);
    let wat = support::repo_root().join("tests/plugins/wat");
    let p = policy(
        &odd,
        &[
            ("count", &wat.join("count.wat")),
            ("trap", &wat.join("trap.wat")),
        ],
        "allow-finding \"count/*\" {\n    reason \"counting is informative\"\n}\n",
    );
    let t = moddir(&root);
    let args = |format: &'static str| {
        vec![
            "--no-plugin-cache".to_string(),
            "--format".into(),
            format.into(),
            "--policy".into(),
            p.display().to_string(),
            t.display().to_string(),
        ]
    };
    let run = |format: &'static str| -> Value {
        let out = Command::new(support::modpolicy_bin())
            .arg("check")
            .args(args(format))
            .current_dir(support::repo_root())
            .env("MODPOLICY_TODAY", "2026-01-01")
            .output()
            .unwrap();
        // plugin-failed is deny by default: exit 1.
        assert_eq!(out.status.code(), Some(1), "{format}");
        serde_json::from_slice(&out.stdout).expect("a JSON document")
    };

    let v = run("json");
    schema::assert_json_valid(&v);
    let fs = v["findings"].as_array().unwrap();
    let count = fs.iter().find(|f| f["code"] == "count/modules").unwrap();
    assert_eq!(count["tolerated"], true);
    assert_eq!(count["plugin"]["code"], "modules");
    let trap = fs.iter().find(|f| f["code"] == "plugin-failed").unwrap();
    assert_eq!(trap["plugin"]["name"], "trap");
    assert!(trap["plugin"]["code"].is_null());
    assert!(fs
        .iter()
        .any(|f| f["code"] == "duplicate-export" && f["tolerated"] == true));

    let s = run("sarif");
    schema::assert_sarif_valid(&s);
    let run0 = &s["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run0["results"].as_array().unwrap();
    let count = results
        .iter()
        .find(|r| r["ruleId"] == "count/modules")
        .unwrap();
    let rule = &rules[count["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "count/modules");
    assert_eq!(rule["properties"]["plugin"], "count");
    assert_eq!(
        count["suppressions"][0]["justification"],
        "counting is informative"
    );
    // The tolerating rule is in the policy under the odd directory: a file: URI,
    // percent-encoded.
    let policy_uri = count["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        policy_uri.starts_with("file:///") && policy_uri.ends_with("/a%20b%3Ac%25/policy.kdl"),
        "{policy_uri}"
    );
    let dup = results
        .iter()
        .find(|r| r["ruleId"] == "duplicate-export")
        .unwrap();
    assert!(
        dup["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .contains("/a%20b%3Ac%25/tree/lib/modules/")
    );
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "plugin-failed" && r["properties"]["plugin"] == "trap"));

    // The validation is not vacuous: formats are checked. A raw space in a URI (as
    // written before URIs were encoded), a relative `helpUri` (SARIF wants an absolute
    // one), a missing `message` and an unknown level are each refused.
    let bad: [fn(&mut Value); 4] = [
        |v| {
            v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"] = Value::from("file:///tmp/a b/x.ko")
        },
        |v| {
            v["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] =
                Value::from("docs/codes.md#duplicate-export")
        },
        |v| {
            v["runs"][0]["results"][0]
                .as_object_mut()
                .unwrap()
                .remove("message");
        },
        |v| v["runs"][0]["results"][0]["level"] = Value::from("fatal"),
    ];
    for (i, f) in bad.iter().enumerate() {
        let mut v = s.clone();
        f(&mut v);
        assert!(
            !schema::sarif_errors(&v).is_empty(),
            "mutation {i} was accepted"
        );
    }
}
