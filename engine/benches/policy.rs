//! Benchmark: loading and linting a policy of 100,000 `provider` rules.
//!
//! Run with `cargo bench --bench policy` (add `-- --rules N` for another size). The
//! policy (about 6 MB of KDL) is generated in memory; the report prints the time to load
//! it (guard, KDL parse, decode, merge), to prepare a `PolicyEngine`, to choose the
//! provider of 10,000 symbols, and to run the lints, with the number of rules tried or
//! compared (which grows linearly with the rules, not with their square). Nothing is
//! asserted; `tests/hardening` has the test.

use modpolicy::policy::engine::PolicyEngine;
use modpolicy::policy::model::Date;
use std::fmt::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rules: usize = args
        .iter()
        .position(|a| a == "--rules")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let mut text = String::from("version 1\n");
    for i in 0..rules {
        let _ = writeln!(
            text,
            "provider \"sym_{i}_*\" \"other_{i}\" {{\n    prefer \"updates/**\" \"mod_{i}\"\n    reason \"rule {i}\"\n}}"
        );
    }
    let t = Instant::now();
    let policy = modpolicy::policy::load_str("bench.kdl", &text, "6.1.0").expect("valid policy");
    let load = t.elapsed();
    let t = Instant::now();
    let engine = PolicyEngine::new(&policy, Date::today(), Vec::new());
    let prepare = t.elapsed();
    let t = Instant::now();
    let mut matched = 0;
    for i in 0..10_000 {
        let sym = format!("sym_{}_x", i * (rules / 10_000).max(1));
        matched += usize::from(engine.first_provider_rule(&sym).is_some());
    }
    let choose = t.elapsed();
    let t = Instant::now();
    let lints = engine.lints();
    let lint = t.elapsed();
    println!(
        "policy: {rules} rules, {} bytes: load {:.3} s, prepare {:.3} s, 10,000 lookups {:.3} s ({matched} matched), lints {:.3} s ({} findings), {} rules tried",
        text.len(),
        load.as_secs_f64(),
        prepare.as_secs_f64(),
        choose.as_secs_f64(),
        lint.as_secs_f64(),
        lints.len(),
        engine.rules_tried()
    );
}
