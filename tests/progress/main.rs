//! The progress bar: drawn on stderr when it is a terminal (a pseudo-terminal here,
//! `openpty`), never when stderr is a pipe, never for kmod's `depmod` unless asked.
//!
//! No test depends on timing: `MODPOLICY_PROGRESS_DELAY_MS=0` makes the bar appear at
//! once (the default waits a second, so fast runs never flash one), and a delay of a
//! minute stands for a run too short to show one.
//!
//! - on a terminal, `check` and `depmod --progress` draw the bar (its phase named), and
//!   the lines the run prints while it is drawn reach the terminal whole;
//! - on a terminal, `depmod` without `--progress` (as `modpolicy depmod` and through a
//!   link named `depmod`) prints exactly what kmod's `depmod` prints on a terminal;
//! - `TERM=dumb`, `--no-progress` and a run shorter than the delay draw nothing;
//!   `NO_COLOR` draws the bar without colours;
//! - with stderr a pipe, stdout and stderr are byte for byte those of `--no-progress`.

#[path = "../support/mod.rs"]
mod support;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{copy_tree, FIXTURE_VERSION};

const V: &str = FIXTURE_VERSION;

/// What a run under a pseudo-terminal printed.
struct PtyRun {
    code: Option<i32>,
    /// stdout (a pipe).
    stdout: Vec<u8>,
    /// What reached the terminal: stderr, with the terminal's `\r\n` for `\n`.
    terminal: Vec<u8>,
}

impl PtyRun {
    fn terminal_text(&self) -> String {
        String::from_utf8_lossy(&self.terminal).into_owned()
    }
}

/// Runs `prog args` with stderr on a fresh 100x30 pseudo-terminal and stdout a pipe,
/// with `env` set (and `NO_COLOR`, `MODPOLICY_PROGRESS_DELAY_MS` removed first).
fn run_pty(prog: &Path, args: &[&str], env: &[(&str, &str)]) -> PtyRun {
    let (mut master, slave) = openpty();
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .env("LC_ALL", "C")
        .env("TERM", "xterm")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("MODPOLICY_PROGRESS_DELAY_MS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", prog.display()));
    // The parent's copy of the terminal's slave side is gone with `cmd`: reading the
    // master ends (EIO) once the child has closed its own.
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        all
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait");
    let terminal = reader.join().expect("reader");
    PtyRun {
        code: status.code(),
        stdout,
        terminal,
    }
}

/// A pseudo-terminal of 100 columns and 30 rows: (master, slave).
fn openpty() -> (std::fs::File, OwnedFd) {
    let (mut m, mut s) = (-1, -1);
    let ws = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into `m` and `s`; the other pointers are
    // null (no name) or point to a valid winsize.
    let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe { (std::fs::File::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

/// Runs `prog args` with stdout and stderr pipes and `env`: (code, stdout, stderr).
fn run_pipe(prog: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .env("LC_ALL", "C")
        .env("TERM", "xterm")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    (out.status.code(), out.stdout, out.stderr)
}

/// A copy of fixture tree `name` in a fresh directory: (guard, root).
fn tree(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tmp");
    let root = t.path().join("root");
    copy_tree(&support::fixture_trees().join(name), &root);
    (t, root)
}

const AT_ONCE: (&str, &str) = ("MODPOLICY_PROGRESS_DELAY_MS", "0");

/// The text every bar of a tree load shows.
const READING: &str = "reading modules of 6.1.0-test";

#[test]
fn check_draws_a_bar_on_a_terminal_and_keeps_lines_whole() {
    let (_t, root) = tree("diag");
    let dir = root.join("lib/modules").join(V);
    let dir = dir.to_str().unwrap();
    let bin = support::modpolicy_bin();
    let bar = run_pty(&bin, &["check", "--format", "modpost", dir], &[AT_ONCE]);
    let text = bar.terminal_text();
    assert!(text.contains(READING), "no bar on the terminal: {text:?}");
    // The note printed while the bar is drawn reaches the terminal as one whole line.
    assert!(
        text.contains(
            "modpolicy check: note: no --symvers: vmlinux's exports are unknown, undefined symbols are not checked\r\n"
        ),
        "{text:?}"
    );
    // stdout is what it is without the bar.
    let plain = run_pty(
        &bin,
        &["check", "--format", "modpost", "--no-progress", dir],
        &[AT_ONCE],
    );
    assert_eq!(bar.code, plain.code);
    assert_eq!(bar.stdout, plain.stdout);
    assert!(
        !plain.terminal_text().contains(READING),
        "--no-progress drew a bar"
    );
    assert!(!bar.stdout.is_empty(), "check printed no finding on `diag`");
}

#[test]
fn no_bar_for_dumb_terminals_or_short_runs_and_no_colour_under_no_color() {
    let (_t, root) = tree("diag");
    let dir = root.join("lib/modules").join(V);
    let dir = dir.to_str().unwrap();
    let bin = support::modpolicy_bin();
    let args = ["check", "--format", "modpost", dir];
    let dumb = run_pty(&bin, &args, &[AT_ONCE, ("TERM", "dumb")]);
    assert!(
        !dumb.terminal_text().contains(READING),
        "TERM=dumb drew a bar"
    );
    // A run shorter than the delay never shows the bar.
    let short = run_pty(&bin, &args, &[("MODPOLICY_PROGRESS_DELAY_MS", "60000")]);
    assert!(
        !short.terminal_text().contains(READING),
        "a short run drew a bar"
    );
    // Colours (SGR sequences: ESC [ ... m) only without NO_COLOR.
    let sgr = |t: &[u8]| {
        t.windows(2).enumerate().any(|(i, w)| {
            w == b"\x1b["
                && t[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == b';')
                    .count()
                    > 0
                && t[i + 2..]
                    .iter()
                    .find(|c| !(c.is_ascii_digit() || **c == b';'))
                    == Some(&b'm')
        })
    };
    let plain = run_pty(&bin, &args, &[AT_ONCE, ("NO_COLOR", "1")]);
    assert!(
        plain.terminal_text().contains(READING),
        "NO_COLOR drew no bar"
    );
    assert!(
        !sgr(&plain.terminal),
        "colours under NO_COLOR: {:?}",
        plain.terminal_text()
    );
    let coloured = run_pty(&bin, &args, &[AT_ONCE]);
    assert!(
        sgr(&coloured.terminal),
        "no colour: {:?}",
        coloured.terminal_text()
    );
}

#[test]
fn depmod_draws_a_bar_only_when_asked() {
    let (_t, root) = tree("diag");
    let r = root.to_str().unwrap();
    let bin = support::modpolicy_bin();
    let args = [
        "depmod",
        "-b",
        r,
        "-e",
        "-E",
        &format!("{r}/Module.symvers"),
        V,
    ];
    let asked: Vec<&str> = args[..1]
        .iter()
        .copied()
        .chain(["--progress"])
        .chain(args[1..].iter().copied())
        .collect();
    let out = run_pty(&bin, &asked, &[AT_ONCE]);
    assert_eq!(out.code, Some(0), "{}", out.terminal_text());
    let text = out.terminal_text();
    assert!(text.contains(READING), "no bar with --progress: {text:?}");
    // kmod's warning, printed while the bar is drawn, is whole.
    assert!(
        text.contains("depmod: WARNING: ") && text.contains("modpolicy_nobody_exports_this\r\n"),
        "{text:?}"
    );
    let out = run_pty(&bin, &args, &[AT_ONCE]);
    assert!(
        !out.terminal_text().contains(READING),
        "a bar without --progress"
    );
}

/// Without `--progress`, on a terminal, `depmod` (as `modpolicy depmod` and through a
/// link named `depmod`) prints what kmod's depmod prints there, byte for byte.
#[test]
fn depmod_on_a_terminal_is_kmods_output() {
    let Some(kmod) = support::kmod("depmod_on_a_terminal_is_kmods_output") else {
        return;
    };
    let bin = support::modpolicy_bin();
    let links = tempfile::tempdir().expect("tmp");
    let link = links.path().join("depmod");
    std::os::unix::fs::symlink(&bin, &link).expect("symlink");
    for (name, extra) in [
        ("diag", &["-e", "-E", "@ROOT@/Module.symvers"][..]),
        ("cycle", &[][..]),
        ("devices", &["-n"][..]),
    ] {
        let run = |prog: &Path, sub: Option<&str>| {
            let (_t, root) = tree(name);
            let r = root.to_str().unwrap().to_string();
            let mut args: Vec<String> = sub.iter().map(|s| s.to_string()).collect();
            args.extend(["-b".to_string(), r.clone()]);
            args.extend(extra.iter().map(|a| a.replace("@ROOT@", &r)));
            args.push(V.to_string());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_pty(prog, &args, &[AT_ONCE]);
            let clean = |b: &[u8]| support::replace_bytes(b, r.as_bytes(), b"<ROOT>");
            (out.code, clean(&out.stdout), clean(&out.terminal))
        };
        let theirs = run(kmod, None);
        assert!(
            !theirs.2.is_empty() || name == "devices",
            "{name}: kmod printed nothing"
        );
        for (what, ours) in [
            ("modpolicy depmod", run(&bin, Some("depmod"))),
            ("depmod link", run(&link, None)),
        ] {
            assert_eq!(ours.0, theirs.0, "{name}, {what}: exit status");
            assert_eq!(
                String::from_utf8_lossy(&ours.2),
                String::from_utf8_lossy(&theirs.2),
                "{name}, {what}: terminal"
            );
            assert!(ours.1 == theirs.1, "{name}, {what}: stdout differs");
        }
    }
}

/// With stderr a pipe, nothing changes: the same bytes as `--no-progress` (and as
/// without `--progress` for depmod), even with the bar asked to appear at once.
#[test]
fn with_stderr_a_pipe_the_output_is_unchanged() {
    let bin = support::modpolicy_bin();
    let (_t, root) = tree("diag");
    let dir = root.join("lib/modules").join(V);
    let dir = dir.to_str().unwrap();
    let with = run_pipe(&bin, &["check", "--format", "modpost", dir], &[AT_ONCE]);
    let without = run_pipe(
        &bin,
        &["check", "--format", "modpost", "--no-progress", dir],
        &[AT_ONCE],
    );
    assert_eq!(with, without, "check");
    assert!(!with.2.is_empty(), "check printed no note on stderr");
    for extra in [&[][..], &["-n"][..]] {
        let runs: Vec<_> = [true, false]
            .into_iter()
            .map(|progress| {
                let (_t, root) = tree("diag");
                let r = root.to_str().unwrap().to_string();
                let symvers = format!("{r}/Module.symvers");
                let mut args = vec!["depmod"];
                if progress {
                    args.push("--progress");
                }
                args.extend(["-b", &r, "-e", "-E", &symvers]);
                args.extend_from_slice(extra);
                args.push(V);
                let (code, out, err) = run_pipe(&bin, &args, &[AT_ONCE]);
                let clean = |b: &[u8]| support::replace_bytes(b, r.as_bytes(), b"<ROOT>");
                (code, clean(&out), clean(&err))
            })
            .collect();
        assert_eq!(runs[0], runs[1], "depmod {extra:?}");
        assert!(!runs[0].2.is_empty(), "depmod printed no warning");
    }
}
