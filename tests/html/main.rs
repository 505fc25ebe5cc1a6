//! `--format html`, driven in a real headless chromium over the DevTools protocol
//! (`cdp.rs`): the page loads from disk with no console error or exception, its rendered
//! summary counts, filtered rows and drawings agree with the engine's own `--format json`
//! output of the same run (and `modpolicy explain` for a symbol's exporters and
//! importers), and module strings holding HTML or script inject nothing.
//!
//! - `example_tree_report`: the bundled `examples/dup-export`; writes the screenshot
//!   `target/html-report.png` (`MODPOLICY_UPDATE_SCREENSHOT=1` also writes
//!   `docs/report.png`, the README's copy).
//! - `hostile_strings_cannot_inject`: the example's modules with their symbol names,
//!   a file name and a `.modinfo` description rewritten (same lengths) to `</script><!--`,
//!   `<i id=pwn1>x`, `"'><i id=p2>`, `<img src=x onerror=...>`: nothing runs, no element
//!   appears, and the text shows literally.
//! - `corpus_tree_report`: the Debian 6.1 cloud tree with a one-line `--symvers` (every
//!   vmlinux import undefined: 42,000 findings): loads, counts and filters; prints the
//!   file size and the load time.
//! - `abi_report`: `modpolicy abi` between two real Debian ABIs with the 6.1 tree as
//!   consumers: the changes by kind and their affected modules.
//!
//! Without chromium (`/usr/bin/chromium`, tests/deps.sh installs it) each test skips,
//! which fails it under CI=true.

#[path = "../support/mod.rs"]
mod support;

mod cdp;

use cdp::Browser;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs modpolicy with `args` from the repository's root (so a relative path is one a
/// reader of the README would type); returns stdout and the exit code.
fn run(args: &[&str]) -> (Vec<u8>, i32) {
    let out = Command::new(support::modpolicy_bin())
        .args(args)
        .current_dir(support::repo_root())
        .output()
        .expect("run modpolicy");
    (out.stdout, out.status.code().unwrap_or(-1))
}

/// The same run as HTML (written to `dir/name.html`) and as JSON.
fn report(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Value) {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--format", "html"]);
    let (html, code_html) = run(&a);
    let n = a.len();
    a[n - 1] = "json";
    let (json, code_json) = run(&a);
    assert_eq!(code_html, code_json, "exit codes of html and json differ");
    let path = dir.join(format!("{name}.html"));
    std::fs::write(&path, &html).unwrap();
    let v: Value = serde_json::from_slice(&json).expect("JSON report");
    (path, v)
}

fn browser(test: &str) -> Option<Browser> {
    match cdp::chromium() {
        Some(bin) => Some(Browser::launch(&bin, 1280, 900)),
        None => {
            support::skip(
                test,
                "chromium is not installed (apt-get install chromium; tests/deps.sh)",
            );
            None
        }
    }
}

/// Findings counted per code and state (`error`, `warning`, `tolerated`), as the JSON
/// report lists them.
fn json_counts(v: &Value) -> BTreeMap<String, [u64; 3]> {
    let mut m: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for f in v["findings"].as_array().unwrap() {
        let slot = if f["tolerated"] == true {
            2
        } else if f["severity"] == "error" {
            0
        } else {
            1
        };
        m.entry(f["code"].as_str().unwrap().to_string())
            .or_default()[slot] += 1;
    }
    m
}

/// Asserts the summary cards, the by-code table and the findings total.
fn assert_summary(b: &mut Browser, v: &Value) {
    let s = &v["summary"];
    for (id, key) in [
        ("sum-errors", "errors"),
        ("sum-warnings", "warnings"),
        ("sum-tolerated", "tolerated"),
    ] {
        let shown = b.eval(&format!("document.getElementById('{id}').textContent"));
        assert_eq!(shown, s[key].to_string(), "{id}");
    }
    let table = b.eval(
        "Array.from(document.querySelectorAll('#by-code tbody tr')).map(tr => \
         [tr.dataset.code].concat(Array.from(tr.children).slice(1).map(td => Number(td.textContent))))",
    );
    let shown: BTreeMap<String, [u64; 3]> = table
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            (
                r[0].as_str().unwrap().to_string(),
                [
                    r[1].as_u64().unwrap(),
                    r[2].as_u64().unwrap(),
                    r[3].as_u64().unwrap(),
                ],
            )
        })
        .collect();
    assert_eq!(shown, json_counts(v), "counts by code");
    let total = b.eval("Number(document.getElementById('f-total').textContent)");
    assert_eq!(total, v["findings"].as_array().unwrap().len());
}

/// Sets a filter control's value as a person would (an `input` event), returns the
/// count the page shows and the rows it drew (the visible window of them).
fn filter(b: &mut Browser, id: &str, value: &str) -> (u64, u64) {
    let r = b.eval(&format!(
        "(() => {{ const e = document.getElementById({id:?}); e.value = {value:?}; \
         e.dispatchEvent(new Event('input', {{bubbles: true}})); \
         return [Number(document.getElementById('f-count').textContent), \
                 document.querySelectorAll('#f-body .vrow').length]; }})()"
    ));
    (r[0].as_u64().unwrap(), r[1].as_u64().unwrap())
}

/// The rows drawn: each row's cells' text.
fn drawn_rows(b: &mut Browser) -> Vec<Vec<String>> {
    let r = b.eval(
        "Array.from(document.querySelectorAll('#f-body .vrow')).sort((a, b) => \
         parseFloat(a.style.top) - parseFloat(b.style.top)).map(r => \
         Array.from(r.children).map(c => c.textContent))",
    );
    serde_json::from_value(r).unwrap()
}

/// The labels of the drawing's nodes by kind (`exporter`, `importer`, `symbol`, ...).
fn drawing(b: &mut Browser) -> BTreeMap<String, Vec<String>> {
    let r = b.eval(
        "Array.from(document.querySelectorAll('#g-box svg g.node')).map(g => [g.dataset.kind, g.dataset.label, g.querySelector('text').textContent])",
    );
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in r.as_array().unwrap() {
        let label = n[1].as_str().unwrap().to_string();
        let text = n[2].as_str().unwrap();
        assert!(
            label.starts_with(text.trim_end_matches('\u{2026}')),
            "node text {text:?} is not its label {label:?}"
        );
        m.entry(n[0].as_str().unwrap().to_string())
            .or_default()
            .push(label);
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

/// `modpolicy explain`'s exporters and importers of `symbol` (module names, sorted).
fn explained(root: &str, version: &str, symbol: &str) -> (Vec<String>, Vec<String>) {
    let (out, code) = run(&["explain", "-b", root, version, symbol]);
    assert_eq!(code, 0, "explain {symbol}");
    let text = String::from_utf8(out).unwrap();
    let mut section = "";
    let (mut exp, mut imp) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("exported by") {
            section = "e";
        } else if t.starts_with("imported by") {
            section = "i";
        } else if line.starts_with("    ") && !t.is_empty() {
            let name = t.split(" (").next().unwrap().split("  [").next().unwrap();
            match section {
                "e" => exp.push(name.to_string()),
                "i" => imp.push(name.to_string()),
                _ => {}
            }
        } else if line.starts_with("  ") {
            section = "";
        }
    }
    exp.sort();
    imp.sort();
    (exp, imp)
}

fn assert_no_errors(b: &Browser, what: &str) {
    let e = b.errors();
    assert!(e.is_empty(), "{what}: console errors or exceptions: {e:#?}");
}

#[test]
fn example_tree_report() {
    let Some(mut b) = browser("example_tree_report") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Relative to the repository's root, as the README's example runs it (the path shows
    // in the summary, and so in the committed screenshot).
    let root_s = "examples/dup-export".to_string();
    let (page, v) = report(
        tmp.path(),
        "example",
        &["check", "-b", &root_s, "6.1.0-test"],
    );
    let text = std::fs::read_to_string(&page).unwrap();
    for banned in [
        "http://",
        "https://",
        "src=\"",
        "href=\"http",
        "<link",
        "@import",
    ] {
        let allowed = banned == "http://" && text.matches("http://").count() == 1;
        assert!(
            !text.contains(banned) || allowed,
            "the page refers to something outside it: {banned}"
        );
    }
    b.open(&page);
    assert_summary(&mut b, &v);

    // Each code's filter leaves exactly its findings.
    let counts = json_counts(&v);
    for (code, n) in &counts {
        let (shown, drawn) = filter(&mut b, "f-code", code);
        assert_eq!(shown, n.iter().sum::<u64>(), "rows of {code}");
        assert_eq!(drawn, shown, "rows drawn for {code}");
        for row in drawn_rows(&mut b) {
            assert_eq!(&row[1], code);
        }
    }
    filter(&mut b, "f-code", "");
    // Level and module filters.
    let want = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["tolerated"] == false && f["severity"] == "warning")
        .count() as u64;
    assert_eq!(filter(&mut b, "f-level", "warning").0, want);
    filter(&mut b, "f-level", "");
    let want = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["module"].as_str().is_some_and(|m| m.contains("dupuser")))
        .count() as u64;
    assert_eq!(filter(&mut b, "f-module", "dupuser").0, want);
    filter(&mut b, "f-module", "");
    // Sorting by module: the rows come in module order.
    b.eval("document.querySelector('#f-head [data-col=module]').click()");
    let modules: Vec<String> = drawn_rows(&mut b)
        .into_iter()
        .map(|r| r[2].clone())
        .collect();
    let mut sorted = modules.clone();
    sorted.sort();
    assert_eq!(modules, sorted);

    // The contested symbol: its card, then its drawing, against `explain`.
    let (exporters, importers) = explained(&root_s, "6.1.0-test", "dup_shared_fn");
    assert_eq!(exporters, ["dupa", "dupb"]);
    let card = b.eval(
        "Array.from(document.querySelectorAll('#c-list .sym')).map(s => [s.dataset.symbol, \
         Array.from(s.querySelectorAll('li.exporter')).map(li => li.firstChild.textContent), \
         s.querySelector('li.chosen').firstChild.textContent, s.querySelector('.rule').textContent])",
    );
    assert_eq!(card.as_array().unwrap().len(), 1, "{card}");
    assert_eq!(card[0][0], "dup_shared_fn");
    let mut shown: Vec<String> = serde_json::from_value(card[0][1].clone()).unwrap();
    shown.sort();
    assert_eq!(shown, exporters);
    assert_eq!(
        card[0][2], "dupa",
        "kmod's rule: the exporter later in modules.order"
    );
    assert!(card[0][3].as_str().unwrap().contains("last-in-order"));
    b.eval("document.querySelector('#c-list .sym h3 .link').click()");
    let d = drawing(&mut b);
    assert_eq!(d["symbol"], ["dup_shared_fn"]);
    assert_eq!(d["exporter"], exporters);
    assert_eq!(d["importer"], importers);
    // A node of the drawing opens that module's: its dependencies and users.
    b.eval("Array.from(document.querySelectorAll('#g-box g.node')).find(g => g.dataset.label === 'dupuser').dispatchEvent(new MouseEvent('click', {bubbles: true}))");
    let d = drawing(&mut b);
    assert_eq!(d["module"], ["dupuser"]);
    assert_eq!(d["dependency"], ["dupa"]);
    assert!(!d.contains_key("user"));

    b.eval("window.scrollTo(0, 0); document.getElementById('c-list').querySelector('.link').click(); window.scrollTo(0, 0)");
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
    let out = support::repo_root().join("target/html-report.png");
    std::fs::write(&out, &png).unwrap();
    if std::env::var_os("MODPOLICY_UPDATE_SCREENSHOT").is_some() {
        std::fs::write(support::repo_root().join("docs/report.png"), &png).unwrap();
    }
    assert_no_errors(&b, "example tree");
}

/// Replaces `from` by `to` (same length) everywhere in `file`.
fn rewrite(file: &Path, pairs: &[(&str, &str)]) {
    let mut data = std::fs::read(file).unwrap();
    for (from, to) in pairs {
        assert_eq!(from.len(), to.len(), "{to:?} must be as long as {from:?}");
        let before = data.clone();
        data = support::replace_bytes(&data, from.as_bytes(), to.as_bytes());
        assert_ne!(before, data, "{from:?} not in {}", file.display());
    }
    std::fs::write(file, data).unwrap();
}

#[test]
fn hostile_strings_cannot_inject() {
    let Some(mut b) = browser("hostile_strings_cannot_inject") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    support::copy_tree(&support::repo_root().join("examples/dup-export"), &root);
    let dup = root.join("lib/modules/6.1.0-test/kernel/drivers/dup");
    const SHARED: &str = "</script><!--";
    const A_ONLY: &str = "<i id=pwn1>x";
    const B_ONLY: &str = "\"'><i id=p2>";
    let desc_from = "modpolicy test: first exporter of dup_shared_fn";
    let payload = "<img src=x onerror=\"window.pwned=3\"></script>";
    let desc_to = format!("{payload:<47}");
    rewrite(
        &dup.join("dupa.ko"),
        &[(desc_from, &desc_to), ("dupa_only_fn", A_ONLY)],
    );
    rewrite(&dup.join("dupb.ko"), &[("dupb_only_fn", B_ONLY)]);
    for m in ["dupa.ko", "dupb.ko", "dupuser.ko"] {
        rewrite(&dup.join(m), &[("dup_shared_fn", SHARED)]);
    }
    // A module whose file name (so its name) is markup.
    // (No `.`: a module name ends at the first one.)
    const EVIL: &str = "<img src=x onerror=pwned=1>";
    std::fs::rename(dup.join("dupuser.ko"), dup.join(format!("{EVIL}.ko"))).unwrap();
    let root_s = root.display().to_string();
    let (page, v) = report(
        tmp.path(),
        "hostile",
        &["check", "-b", &root_s, "6.1.0-test"],
    );
    let text = std::fs::read_to_string(&page).unwrap();
    for s in [SHARED, A_ONLY, B_ONLY, EVIL, payload] {
        assert!(!text.contains(s), "{s:?} is in the page unescaped");
    }
    b.open(&page);
    let injected = b.eval(
        "[typeof window.pwned, document.getElementById('pwn1') === null, \
         document.getElementById('p2') === null, document.querySelectorAll('img').length, \
         document.querySelectorAll('i').length, document.querySelectorAll('script').length]",
    );
    assert_eq!(
        injected,
        serde_json::json!(["undefined", true, true, 0, 0, 4]),
        "something was injected"
    );
    assert_summary(&mut b, &v);
    // The contested symbol's name, shown literally.
    let names = b.eval(
        "Array.from(document.querySelectorAll('#c-list .sym h3 .link')).map(e => e.textContent)",
    );
    assert_eq!(names, serde_json::json!([SHARED]));
    // Findings about the markup module, filtered by its name, as JSON lists them.
    let want = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["module"].as_str().is_some_and(|m| m.contains("<img")))
        .count() as u64;
    assert!(want > 0, "no finding names the markup module: {v}");
    assert_eq!(filter(&mut b, "f-module", "<img src").0, want);
    assert!(drawn_rows(&mut b).iter().all(|r| r[2] == EVIL));
    filter(&mut b, "f-module", "");
    let want = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["symbol"].as_str().is_some_and(|s| s.contains(SHARED))
                || f["message"].as_str().unwrap().contains(SHARED)
        })
        .count() as u64;
    assert_eq!(filter(&mut b, "f-text", SHARED).0, want);
    // Its drawing, and a module's with the markup description.
    b.eval("document.querySelector('#c-list .sym h3 .link').click()");
    let d = drawing(&mut b);
    assert_eq!(d["symbol"], [SHARED]);
    assert_eq!(d["importer"], [EVIL]);
    b.eval("window.modpolicyReport.draw(0, 'dupa')");
    let status = b.eval("document.getElementById('g-status').textContent");
    assert!(
        status.as_str().unwrap().contains(desc_to.trim_end()),
        "{status}"
    );
    b.eval(&format!("window.modpolicyReport.draw(0, {EVIL:?})"));
    assert_eq!(drawing(&mut b)["module"], [EVIL]);
    let injected = b.eval("[typeof window.pwned, document.querySelectorAll('img, i').length]");
    assert_eq!(injected, serde_json::json!(["undefined", 0]));
    assert_no_errors(&b, "hostile tree");
}

/// The corpus trees' reports with a one-line symbol file (every vmlinux import is an
/// undefined symbol): size, load time, counts and a filter.
#[test]
fn corpus_tree_report() {
    let Some(corpus) = support::corpus("corpus_tree_report") else {
        return;
    };
    let Some(mut b) = browser("corpus_tree_report") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let stub = tmp.path().join("stub.symvers");
    std::fs::write(&stub, "0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n").unwrap();
    let stub_s = stub.display().to_string();
    for (name, t) in [("6.1", &corpus.v6_1), ("6.12", &corpus.v6_12)] {
        let dir = t.root.join("lib/modules").join(t.version);
        let dir_s = dir.display().to_string();
        for (label, args) in [
            ("plain", vec!["check", dir_s.as_str()]),
            ("stub symvers", vec!["check", "--symvers", &stub_s, &dir_s]),
        ] {
            if name == "6.12" && label == "plain" {
                continue;
            }
            let (page, v) = report(tmp.path(), &format!("{name}-{}", label.len()), &args);
            let size = std::fs::metadata(&page).unwrap().len();
            let ms = b.open(&page);
            eprintln!(
                "{name} {label}: {} findings, {:.1} MiB, rendered {ms:.0} ms after navigation",
                v["findings"].as_array().unwrap().len(),
                size as f64 / 1048576.0
            );
            assert_summary(&mut b, &v);
            let t0 = std::time::Instant::now();
            for (code, n) in json_counts(&v) {
                assert_eq!(filter(&mut b, "f-code", &code).0, n.iter().sum::<u64>());
            }
            eprintln!(
                "  {} code filters in {:.0} ms",
                json_counts(&v).len(),
                t0.elapsed().as_secs_f64() * 1000.0
            );
            filter(&mut b, "f-code", "");
            let contested = b.eval("Number(document.getElementById('c-count').textContent)");
            assert!(contested.as_u64().is_some());
            assert_no_errors(&b, name);
        }
    }
}

#[test]
fn abi_report() {
    let Some(corpus) = support::corpus("abi_report") else {
        return;
    };
    let Some(mut b) = browser("abi_report") else {
        return;
    };
    let abi = match std::env::var_os("MODPOLICY_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => support::repo_root().join("target/corpus"),
    }
    .join("abi");
    let tmp = tempfile::tempdir().unwrap();
    let base = abi
        .join("Module.symvers-6.1.0-47-amd64")
        .display()
        .to_string();
    let new = abi
        .join("Module.symvers-6.1.0-50-amd64")
        .display()
        .to_string();
    let consumers = corpus
        .v6_1
        .root
        .join("lib/modules")
        .join(corpus.v6_1.version)
        .display()
        .to_string();
    let (page, v) = report(
        tmp.path(),
        "abi",
        &["abi", "--consumers", &consumers, &base, &new],
    );
    let ms = b.open(&page);
    eprintln!(
        "abi: {} findings, {:.1} MiB, rendered {ms:.0} ms",
        v["findings"].as_array().unwrap().len(),
        std::fs::metadata(&page).unwrap().len() as f64 / 1048576.0
    );
    assert_summary(&mut b, &v);
    // Changes by kind: count, and the modules affected, from the JSON messages
    // ("N module(s) import it and must be rebuilt: a, b (TREE), ...").
    let kinds = b.eval(
        "Array.from(document.querySelectorAll('#abi-kinds tbody tr')).map(tr => \
         [tr.dataset.code, Number(tr.children[1].textContent), parseInt(tr.children[4].textContent)])",
    );
    let mut want: BTreeMap<String, (u64, std::collections::BTreeSet<String>)> = BTreeMap::new();
    for f in v["findings"].as_array().unwrap() {
        let code = f["code"].as_str().unwrap();
        if !code.starts_with("abi-") || f["symbol"].is_null() {
            continue;
        }
        let e = want.entry(code.to_string()).or_default();
        e.0 += 1;
        let msg = f["message"].as_str().unwrap();
        if let Some(i) = msg.find("must be rebuilt: ") {
            for m in msg[i + "must be rebuilt: ".len()..].split(", ") {
                e.1.insert(m.to_string());
            }
        }
    }
    let shown: BTreeMap<String, (u64, u64)> = kinds
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                (r[1].as_u64().unwrap(), r[2].as_u64().unwrap()),
            )
        })
        .collect();
    let want: BTreeMap<String, (u64, u64)> = want
        .into_iter()
        .map(|(k, (n, m))| (k, (n, m.len() as u64)))
        .collect();
    assert_eq!(shown, want);
    let (n, _) = filter(&mut b, "f-code", "abi-crc-changed");
    assert_eq!(n, shown["abi-crc-changed"].0);
    // A changed symbol's drawing: its exporter and the modules that import it.
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("must be rebuilt: "))
        .expect("a change with importers");
    let sym = f["symbol"].as_str().unwrap();
    b.eval(&format!("window.modpolicyReport.draw(0, {sym:?})"));
    let d = drawing(&mut b);
    let msg = f["message"].as_str().unwrap();
    let mut users: Vec<String> = msg[msg.find("must be rebuilt: ").unwrap() + 17..]
        .split(", ")
        .map(str::to_string)
        .collect();
    users.sort();
    if users.len() <= 30 {
        assert_eq!(d["importer"], users);
    }
    assert_eq!(d["symbol"], [sym]);
    assert_no_errors(&b, "abi");
}
