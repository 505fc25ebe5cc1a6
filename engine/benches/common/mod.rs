//! What the benchmarks share: the command line's `--runs`, the repository and the
//! unpacked corpus, timing one whole child process, alternating two commands, medians.
// Each benchmark includes this file and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// `--NAME N` from the benchmark's command line (`cargo bench --bench B -- --runs 3`),
/// else `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// `--NAME TEXT` from the benchmark's command line, else the empty string.
pub fn text_arg(name: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_default()
}

/// How many timed runs: `--runs N`, else `default`.
pub fn runs(default: usize) -> usize {
    arg("--runs", default)
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ is inside the repository")
        .to_path_buf()
}

/// The unpacked corpus (`MODPOLICY_CORPUS_DIR`, else `target/corpus`), without setting
/// it up.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("MODPOLICY_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/corpus"))
}

/// Runs `tests/corpus/setup.sh` (instant once done) and returns [`corpus_dir`].
pub fn setup_corpus() -> PathBuf {
    let ok = Command::new("bash")
        .arg(repo_root().join("tests/corpus/setup.sh"))
        .status()
        .expect("bash")
        .success();
    assert!(ok, "tests/corpus/setup.sh failed");
    corpus_dir()
}

/// The samples of two commands run alternately, and each pair's ratio of wall times
/// (first / second).
#[derive(Default)]
pub struct Pairs {
    /// The first command's runs.
    pub first: Vec<Sample>,
    /// The second command's runs.
    pub second: Vec<Sample>,
    /// `first.wall / second.wall` of each pair.
    pub ratios: Vec<f64>,
}

/// Runs `first` then `second`, `runs` times (no warm-up: the caller's).
pub fn alternate(
    runs: usize,
    mut first: impl FnMut() -> Sample,
    mut second: impl FnMut() -> Sample,
) -> Pairs {
    let mut p = Pairs::default();
    for _ in 0..runs {
        let a = first();
        let b = second();
        p.ratios.push(a.wall / b.wall);
        p.first.push(a);
        p.second.push(b);
    }
    p
}

/// CPU seconds this thread has used (`CLOCK_THREAD_CPUTIME_ID`): an in-process
/// measure that a loaded machine does not inflate, as it does wall time.
pub fn thread_cpu() -> f64 {
    // SAFETY: timespec is plain data; clock_gettime fills it.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// The median of one measure (`|s| s.wall`, `|s| s.cpu`, `|s| s.rss_mib`) of `v`.
pub fn med(v: &[Sample], f: fn(&Sample) -> f64) -> f64 {
    median(v.iter().map(f).collect())
}

/// One finished run of a command.
pub struct Sample {
    /// Wall-clock seconds from spawn to exit.
    pub wall: f64,
    /// User plus system CPU seconds of the child.
    pub cpu: f64,
    /// Peak resident memory of the child, MiB.
    pub rss_mib: f64,
}

/// Runs `cmd` (output discarded) and measures it with `wait4`.
pub fn run(cmd: &[String]) -> Sample {
    run_to(cmd, None)
}

/// Like [`run`], with stderr going to the file `stderr` (truncated first) when given: a
/// package build's log is a file or a pipe, where each write costs what `/dev/null` hides.
pub fn run_to(cmd: &[String], stderr: Option<&std::path::Path>) -> Sample {
    let err = match stderr {
        Some(p) => std::process::Stdio::from(
            std::fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        ),
        None => std::process::Stdio::null(),
    };
    let start = Instant::now();
    let child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", cmd[0]));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it for our child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting on our own child pid with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(r, pid, "wait4 failed");
    // Already reaped by wait4: dropping `child` must not wait again.
    std::mem::forget(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Sample {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        rss_mib: ru.ru_maxrss as f64 / 1024.0,
    }
}

/// The median of `v` (mean of the two middle values for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
