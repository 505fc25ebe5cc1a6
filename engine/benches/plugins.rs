//! Benchmark: the cost of WebAssembly plugins in `modpolicy check` on the Debian 6.1 tree.
//!
//! Run with `cargo bench --bench plugins` (add `-- --runs N`), after `plugins/build.sh`.
//! Three configurations, each a whole `modpolicy check --format json` process over
//! `lib/modules/6.1.0-47-cloud-amd64` with the kernel's `Module.symvers`:
//! - **none**: no plugin (the default policy);
//! - **cold**: the three example plugins, compiled afresh (`--no-plugin-cache`);
//! - **warm**: the same plugins, loaded from a populated compiled-module cache.
//!
//! Runs alternate (none, cold, warm, ...) after one warm-up each, and the report prints
//! medians of wall and CPU time and the ratios to **none**. Nothing is asserted.

use std::path::{Path, PathBuf};

// Peak memory (`Sample::rss_mib`) is reported by the depmod benchmark only.
#[path = "common/mod.rs"]
mod common;

use common::{median, run};

fn main() {
    let runs = common::runs(7);
    let root = common::repo_root();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_modpolicy"));
    let corpus = common::corpus_dir();
    let tree = corpus.join("image-6.1/lib/modules/6.1.0-47-cloud-amd64");
    let symvers =
        corpus.join("headers-6.1/usr/src/linux-headers-6.1.0-47-cloud-amd64/Module.symvers");
    if !tree.is_dir() || !symvers.is_file() {
        eprintln!("the 6.1 corpus is not unpacked: run tests/corpus/setup.sh");
        std::process::exit(1);
    }
    let examples = ["staging-namespace", "kabi-moved", "export-prefix"];
    for e in examples {
        if !root.join(format!("target/plugins/{e}.wasm")).is_file() {
            eprintln!("target/plugins/{e}.wasm is missing: run plugins/build.sh");
            std::process::exit(1);
        }
    }
    let cache = std::env::temp_dir().join(format!("modpolicy-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let s = |p: &Path| p.display().to_string();
    let base = vec![
        s(&bin),
        "check".to_string(),
        "--format".into(),
        "json".into(),
        "--symvers".into(),
        s(&symvers),
    ];
    let mut with = base.clone();
    for e in examples {
        with.push("--policy".into());
        with.push(s(&root.join(format!("plugins/examples/{e}/policy.kdl"))));
    }
    let none = [base.clone(), vec!["--no-plugin-cache".into(), s(&tree)]].concat();
    let cold = [with.clone(), vec!["--no-plugin-cache".into(), s(&tree)]].concat();
    let warm = [with, vec!["--plugin-cache".into(), s(&cache), s(&tree)]].concat();
    let configs = [("none", &none), ("cold", &cold), ("warm", &warm)];
    let mut samples: Vec<Vec<common::Sample>> = (0..3).map(|_| Vec::new()).collect();
    for (_, c) in &configs {
        run(c); // warm-up (and fills the cache for `warm`)
    }
    for _ in 0..runs {
        for (i, (_, c)) in configs.iter().enumerate() {
            samples[i].push(run(c));
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
    let walls: Vec<f64> = samples
        .iter()
        .map(|v| median(v.iter().map(|x| x.wall).collect()))
        .collect();
    let cpus: Vec<f64> = samples
        .iter()
        .map(|v| median(v.iter().map(|x| x.cpu).collect()))
        .collect();
    println!(
        "modpolicy check on the Debian 6.1 tree ({} runs each; the 3 example plugins)",
        runs
    );
    println!(
        "{:<6} {:>10} {:>10} {:>12}",
        "", "wall ms", "cpu ms", "wall / none"
    );
    for (i, (name, _)) in configs.iter().enumerate() {
        println!(
            "{:<6} {:>10.1} {:>10.1} {:>12.2}",
            name,
            walls[i] * 1e3,
            cpus[i] * 1e3,
            walls[i] / walls[0]
        );
    }
    println!(
        "plugin overhead: cold {:+.1} ms, warm {:+.1} ms; cache saves {:.1} ms per run",
        (walls[1] - walls[0]) * 1e3,
        (walls[2] - walls[0]) * 1e3,
        (walls[1] - walls[2]) * 1e3
    );
}
