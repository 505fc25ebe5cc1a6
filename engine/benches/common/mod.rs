//! What both benchmarks share: timing one whole child process and taking medians.
// Each benchmark includes this file and uses only part of it.
#![allow(dead_code)]

use std::process::Command;
use std::time::Instant;

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
