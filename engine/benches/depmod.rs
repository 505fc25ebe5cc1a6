//! Benchmark: `modpolicy depmod` against kmod's `depmod` on the real Debian trees.
//!
//! Run with `cargo bench --bench depmod` (add `-- --runs N` for more runs). For each tree
//! it runs kmod's `/usr/sbin/depmod` and `modpolicy depmod` alternately on separate
//! copies (A B A B ..., after one warm-up each), measures every whole process (wall
//! time, user+sys CPU, peak resident memory from `wait4`), and prints medians and the
//! median of the per-pair ratios. Nothing is asserted: a benchmark reports, tests judge.
//!
//! Each tree is measured in two modes: plain (`depmod -b ROOT VERSION`), and with the
//! image's stub `System.map` and `-e` (`-F ROOT/boot/System.map-VERSION -e`), where both
//! print one warning per vmlinux import; stderr then goes to a file, as in a build log.
//! These runs are full runs (`--no-cache`).
//!
//! Then the module cache, each against kmod's full run in the same pairs: `cache, first
//! run` (the cache removed before each run: every module read and the cache written; its
//! cost over a `--no-cache` run is printed as `first-run overhead`, against the median of
//! the `--no-cache` rows above and, `paired`, against a `--no-cache` run on the same tree
//! just before each first run), `cache, nothing
//! changed` (in the steady state: the record written and, more than 2 s later, the
//! artifacts' identities settled in it by a re-run), `cache, 1 module replaced` (before each run, one module file is copied
//! and renamed over itself: a new inode and times, the same bytes, so it is read again
//! and found unchanged; not timed), `cache, 1 module changed` (before each run, that
//! module file gets the bytes of another module, a different one each time: new contents
//! every time, so a full run that reads one module file), and `fresh tree,
//! shipped cache` (a kernel package install: the shipped cache is written once with
//! `--write-shipped-cache`, then before each run the module directory is copied anew with
//! `cp -r` and the local cache removed, so that no identity matches and every module is
//! verified by its content hash; not timed).
//!
//! `-- --only TEXT` runs only the modes and scenarios whose label contains TEXT (e.g.
//! `--only 6.12`, `--only shipped`).
//!
//! The trees come from `tests/corpus/setup.sh` (which unpacks `../shared/corpus`). More
//! trees can be added with `MODPOLICY_BENCH_TREES=ROOT:VERSION[,ROOT:VERSION...]`, e.g. the
//! full Debian 6.1 image (4,022 modules):
//!
//! ```text
//! apt-get download linux-image-6.1.0-47-amd64-unsigned
//! dpkg-deb -x linux-image-6.1.0-47-amd64-unsigned_*.deb target/full61
//! MODPOLICY_BENCH_TREES=target/full61:6.1.0-47-amd64 cargo bench --bench depmod
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/mod.rs"]
mod common;

use common::{alternate, med, median, run_to};
use modpolicy::load::walk::{is_module_file, Extensions};

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
    let runs = common::runs(10);
    let only = common::text_arg("--only");
    let corpus = common::setup_corpus();
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_modpolicy"));
    let kmod = PathBuf::from("/usr/sbin/depmod");
    assert!(
        kmod.exists(),
        "kmod's depmod is not installed (apt-get install kmod)"
    );
    let work = tempfile::tempdir().expect("tempdir");

    println!("modpolicy depmod vs kmod depmod: {runs} runs each, alternating, after one warm-up");
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>8}",
        "tree / mode",
        "kmod wall",
        "ours wall",
        "kmod cpu",
        "ours cpu",
        "kmod MiB",
        "ours MiB",
        "speedup"
    );
    let mut trees: Vec<(String, PathBuf, String)> = vec![
        (
            "6.1 cloud, 1121 .ko".into(),
            corpus.join("image-6.1"),
            "6.1.0-47-cloud-amd64".into(),
        ),
        (
            "6.12 cloud, 1138 .ko.xz".into(),
            corpus.join("image-6.12"),
            "6.12.107+deb12-cloud-amd64".into(),
        ),
    ];
    for t in std::env::var("MODPOLICY_BENCH_TREES")
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
    {
        let (root, ver) = t
            .rsplit_once(':')
            .expect("MODPOLICY_BENCH_TREES entries are ROOT:VERSION");
        let n = count_modules(&Path::new(root).join("lib/modules").join(ver));
        trees.push((format!("{ver}, {n} modules"), root.into(), ver.into()));
    }
    for (i, (label, src, ver)) in trees.iter().enumerate() {
        let a = work.path().join(format!("{i}-kmod"));
        let b = work.path().join(format!("{i}-ours"));
        copy_tree(src, &a);
        copy_tree(src, &b);
        // The copies are fresh dirty pages: have them written out now, so the kernel's
        // writeback does not run during (and slow down) the timed runs.
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
        let map = |root: &Path| {
            root.join("boot")
                .join(format!("System.map-{ver}"))
                .display()
                .to_string()
        };
        let modes: [(&str, Vec<String>, Vec<String>); 2] = [
            ("", Vec::new(), vec!["--no-cache".into()]),
            (
                " -F stub -e",
                vec!["-F".into(), map(&a), "-e".into()],
                vec!["--no-cache".into(), "-F".into(), map(&b), "-e".into()],
            ),
        ];
        let mut no_cache_wall = 0.0;
        for (mode, kmod_extra, our_extra) in modes {
            let wanted = format!("{label}{mode}").contains(&only)
                || (mode.is_empty() && format!("{label} cache, first run").contains(&only));
            if !wanted {
                continue;
            }
            let kmod_cmd: Vec<String> = [kmod.display().to_string(), "-b".into()]
                .into_iter()
                .chain([a.display().to_string()])
                .chain(kmod_extra)
                .chain([ver.clone()])
                .collect();
            let our_cmd: Vec<String> = [ours.display().to_string(), "depmod".into(), "-b".into()]
                .into_iter()
                .chain([b.display().to_string()])
                .chain(our_extra)
                .chain([ver.clone()])
                .collect();
            let log = (!mode.is_empty()).then(|| work.path().join("stderr.log"));
            let log = log.as_deref();
            run_to(&kmod_cmd, log);
            run_to(&our_cmd, log);
            let p = alternate(runs, || run_to(&kmod_cmd, log), || run_to(&our_cmd, log));
            if mode.is_empty() {
                no_cache_wall = med(&p.second, |s| s.wall);
            }
            print_row(&format!("{label}{mode}"), p);
        }
        cache_modes(
            label,
            &kmod,
            &ours,
            &a,
            &b,
            ver,
            runs,
            no_cache_wall,
            work.path(),
            &only,
        );
    }
    println!(
        "speedup = median over pairs of kmod wall / modpolicy wall; MiB = peak resident memory"
    );
}

/// One row of the table: kmod's runs (`first`) against ours (`second`).
fn print_row(label: &str, p: common::Pairs) {
    println!(
        "{:<46} {:>9.4}s {:>9.4}s {:>9.4}s {:>9.4}s {:>9.1} {:>9.1} {:>7.2}x",
        label,
        med(&p.first, |s| s.wall),
        med(&p.second, |s| s.wall),
        med(&p.first, |s| s.cpu),
        med(&p.second, |s| s.cpu),
        med(&p.first, |s| s.rss_mib),
        med(&p.second, |s| s.rss_mib),
        median(p.ratios)
    );
}

/// The module cache's scenarios on one tree (see the header), each against kmod's full
/// run, alternating.
#[allow(clippy::too_many_arguments)]
fn cache_modes(
    label: &str,
    kmod: &Path,
    ours: &Path,
    a: &Path,
    b: &Path,
    ver: &str,
    runs: usize,
    no_cache_wall: f64,
    work: &Path,
    only: &str,
) {
    let cache_dir = work.join("cache");
    let kmod_cmd: Vec<String> = vec![
        kmod.display().to_string(),
        "-b".into(),
        a.display().to_string(),
        ver.into(),
    ];
    let our_cmd: Vec<String> = vec![
        ours.display().to_string(),
        "depmod".into(),
        "--cache".into(),
        cache_dir.display().to_string(),
        "-b".into(),
        b.display().to_string(),
        ver.into(),
    ];
    let mut no_cache_cmd = our_cmd.clone();
    no_cache_cmd.splice(2..4, ["--no-cache".to_string()]);
    let moddir = b.join("lib/modules").join(ver);
    let mut mods = Vec::new();
    let mut stack = vec![moddir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_module_file(&p, Extensions { gzip: true }) {
                mods.push(p);
            }
        }
    }
    mods.sort();
    // A module of middling size, reinstalled: a new inode, the same contents.
    let replaced = mods[mods.len() / 2].clone();
    let reinstall = || {
        let tmp = replaced.with_extension("bench-tmp");
        std::fs::copy(&replaced, &tmp).expect("copy module");
        std::fs::rename(&tmp, &replaced).expect("rename module");
    };
    // A module changed: before each run its path holds the bytes of another module (the
    // next ones in path order, a different one each time, never its own again: back to
    // the recorded state, the "nothing changed" check would find it unchanged), so that
    // every run finds one module file with new contents (a full run that reads it). Its
    // own bytes are put back after the scenario.
    let original = std::fs::read(&replaced).expect("read module");
    let others: Vec<&PathBuf> = mods.iter().skip(mods.len() / 2 + 1).collect();
    let turn = std::cell::Cell::new(0usize);
    let put = |bytes: &[u8]| {
        let tmp = replaced.with_extension("bench-tmp");
        std::fs::write(&tmp, bytes).expect("write");
        std::fs::rename(&tmp, &replaced).expect("rename module");
    };
    let change = || {
        let other = others[turn.get() % others.len()];
        turn.set(turn.get() + 1);
        put(&std::fs::read(other).expect("read module"));
    };
    let clear = || {
        let _ = std::fs::remove_dir_all(&cache_dir);
    };
    // A package install: the module directory unpacked anew (new inodes and times), the
    // shipped cache in it, no local cache.
    let fresh_install = || {
        let new = moddir.with_extension("new");
        let ok = Command::new("cp")
            .arg("-r")
            .arg(&moddir)
            .arg(&new)
            .status()
            .expect("cp")
            .success();
        assert!(ok, "cp -r {}", moddir.display());
        std::fs::remove_dir_all(&moddir).expect("remove the module directory");
        std::fs::rename(&new, &moddir).expect("rename the module directory");
        clear();
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
    };
    // Files changed within 2 s of a run are not recorded (the racy window).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let scenarios: [(&str, &dyn Fn()); 5] = [
        ("cache, first run (writes it)", &clear),
        ("cache, nothing changed", &|| {}),
        ("cache, 1 module replaced", &reinstall),
        ("cache, 1 module changed", &change),
        ("fresh tree, shipped cache", &fresh_install),
    ];
    for (name, prep) in scenarios {
        if !format!("{label} {name}").contains(only) {
            continue;
        }
        if name.contains("shipped") {
            // Written once, as a package build would (`-n`: no artifact).
            let mut ship = our_cmd.clone();
            ship.insert(2, "--write-shipped-cache".into());
            ship.insert(3, "-n".into());
            run_to(&ship, None);
            assert!(
                moddir.join("modules.modpolicy-cache").is_file(),
                "--write-shipped-cache wrote nothing"
            );
        }
        prep();
        run_to(&our_cmd, None);
        run_to(&kmod_cmd, None);
        if name.contains("nothing") {
            // The warm-up ran within the racy window of the last replacement: this run
            // records; the next, out of the racy window of the artifacts it wrote,
            // settles their identities (the steady state of a tree left alone).
            std::thread::sleep(std::time::Duration::from_millis(2100));
            run_to(&our_cmd, None);
            std::thread::sleep(std::time::Duration::from_millis(2100));
            run_to(&our_cmd, None);
        }
        // For the first run: a `--no-cache` run just before each one, on the same tree,
        // so that its overhead is measured pair by pair (same machine state).
        let paired = std::cell::RefCell::new(Vec::new());
        let p = alternate(
            runs,
            || run_to(&kmod_cmd, None),
            || {
                if name.contains("first") {
                    let nc = run_to(&no_cache_cmd, None);
                    prep();
                    let first = run_to(&our_cmd, None);
                    paired.borrow_mut().push(first.wall / nc.wall);
                    return first;
                }
                prep();
                run_to(&our_cmd, None)
            },
        );
        if name.contains("module changed") {
            // The module's own bytes back, for the scenarios after this one.
            put(&original);
        }
        let ours_wall = med(&p.second, |s| s.wall);
        print_row(&format!("{label} {name}"), p);
        if name.contains("first") {
            if no_cache_wall > 0.0 {
                println!(
                    "{:<46} {:>+9.1}% (median first run / median --no-cache run above)",
                    format!("{label} first-run overhead"),
                    (ours_wall / no_cache_wall - 1.0) * 100.0
                );
            }
            println!(
                "{:<46} {:>+9.1}% (median of first run / --no-cache run just before it)",
                format!("{label} first-run overhead, paired"),
                (median(paired.into_inner()) - 1.0) * 100.0
            );
        }
    }
    if let Ok(m) = std::fs::metadata(moddir.join("modules.modpolicy-cache")) {
        println!(
            "{:<46} {:>9.2} MiB",
            format!("{label} shipped cache size"),
            m.len() as f64 / (1 << 20) as f64
        );
    }
    let size: u64 = std::fs::read_dir(&cache_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{:<46} {:>9.2} MiB",
        format!("{label} cache size"),
        size as f64 / (1 << 20) as f64
    );
}

/// How many module files (`.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`) are under `dir`.
fn count_modules(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_module_file(&p, Extensions { gzip: true }) {
                n += 1;
            }
        }
    }
    n
}
