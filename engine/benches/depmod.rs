//! Benchmark: `modpolicy depmod` against kmod's `depmod` on the real Debian trees.
//!
//! Run with `cargo bench --bench depmod` (add `-- --runs N` for more runs). For each tree
//! it runs kmod's `/usr/sbin/depmod` and `modpolicy depmod` alternately on separate
//! copies (A B A B ..., after one warm-up each), measures every whole process (wall
//! time, user+sys CPU, peak resident memory from `wait4`), and prints medians and the
//! median of the per-pair ratios. Nothing is asserted: a benchmark reports, tests judge.
//!
//! The trees come from `tests/corpus/setup.sh` (which unpacks `../shared/corpus`).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/mod.rs"]
mod common;

use common::{median, run, Sample};

fn copy_tree(src: &Path, dst: &Path) {
    let _ = std::fs::remove_dir_all(dst);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -a {} {}", src.display(), dst.display());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let ok = Command::new("bash")
        .arg(repo.join("tests/corpus/setup.sh"))
        .status()
        .expect("bash")
        .success();
    assert!(ok, "tests/corpus/setup.sh failed");
    let corpus = std::env::var_os("MODPOLICY_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/corpus"));
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_modpolicy"));
    let kmod = PathBuf::from("/usr/sbin/depmod");
    assert!(
        kmod.exists(),
        "kmod's depmod is not installed (apt-get install kmod)"
    );
    let work = tempfile::tempdir().expect("tempdir");

    println!("modpolicy depmod vs kmod depmod: {runs} runs each, alternating, after one warm-up");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>8}",
        "tree / mode",
        "kmod wall",
        "ours wall",
        "kmod cpu",
        "ours cpu",
        "kmod MiB",
        "ours MiB",
        "speedup"
    );
    let trees = [
        ("6.1 cloud, 1121 .ko", "image-6.1", "6.1.0-47-cloud-amd64"),
        (
            "6.12 cloud, 1138 .ko.xz",
            "image-6.12",
            "6.12.107+deb12-cloud-amd64",
        ),
    ];
    for (label, dir, ver) in trees {
        let src = corpus.join(dir);
        let a = work.path().join(format!("{dir}-kmod"));
        let b = work.path().join(format!("{dir}-ours"));
        copy_tree(&src, &a);
        copy_tree(&src, &b);
        let kmod_cmd: Vec<String> = vec![
            kmod.display().to_string(),
            "-b".into(),
            a.display().to_string(),
            ver.into(),
        ];
        let our_cmd: Vec<String> = vec![
            ours.display().to_string(),
            "depmod".into(),
            "-b".into(),
            b.display().to_string(),
            ver.into(),
        ];
        run(&kmod_cmd);
        run(&our_cmd);
        let (mut ks, mut os, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let k = run(&kmod_cmd);
            let o = run(&our_cmd);
            ratios.push(k.wall / o.wall);
            ks.push(k);
            os.push(o);
        }
        let m = |v: &[Sample], f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
        println!(
            "{:<34} {:>9.4}s {:>9.4}s {:>9.4}s {:>9.4}s {:>9.1} {:>9.1} {:>7.2}x",
            label,
            m(&ks, |s| s.wall),
            m(&os, |s| s.wall),
            m(&ks, |s| s.cpu),
            m(&os, |s| s.cpu),
            m(&ks, |s| s.rss_mib),
            m(&os, |s| s.rss_mib),
            median(ratios)
        );
    }
    println!(
        "speedup = median over pairs of kmod wall / modpolicy wall; MiB = peak resident memory"
    );
}
