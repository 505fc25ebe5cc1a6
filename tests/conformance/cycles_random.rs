//! A seeded random differential on dependency cycles: random module graphs made of real
//! modules (`cycles-loops`: kmod's `detect-loop` shape, 4 cycles over 9 modules; and
//! `cycles-ring`: a ring of 6 with two chords), compared with kmod 30.
//!
//! Each case keeps a random subset of the 17 modules (a removed module's exports become
//! unknown symbols, so its cycles break and others shrink), lists a random prefix of a
//! random permutation of them in `modules.order` (the rest keep kmod's hash order, after
//! the listed ones), and runs both tools plain or with `-e -E`. Where kmod finishes, exit
//! status, stdout, stderr (every `Cycle detected` line, so which module starts each
//! reported cycle) and every file must be identical. On some graphs kmod 30 itself fails
//! an assertion or reports cycles for ever (each run here is bounded in time and output):
//! there ours must finish, exit 1, report the cycles kmod reported first (or say that
//! its report is cut short, before the first, on graphs it finds too entangled), and
//! write nothing. The seed is fixed, so the cases are the same on every run;
//! `MODPOLICY_CYCLES_SEED=N` tries others, `MODPOLICY_CYCLES_CASES=N` more of them.

use crate::support::{self, args, list_files, Pair, RunOutput, Tool, FIXTURE_VERSION};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run may take, and how much it may print (kmod's endless reports grow
/// by megabytes a second).
const RUN_TIME: Duration = Duration::from_secs(10);
const RUN_OUTPUT_BLOCKS: u32 = 8192; // `ulimit -f` 1 KiB blocks: 8 MiB

/// Runs `tool` on `root` like `support::run_tool`, with its output in files (bounded by
/// `ulimit -f`: past it, SIGXFSZ ends the run) and killed after [`RUN_TIME`]. Returns the
/// output and whether it was stopped.
fn run_bounded(tool: Tool, root: &Path, a: &[String]) -> (RunOutput, bool) {
    use std::os::unix::process::ExitStatusExt;
    let root_s = root.to_str().expect("UTF-8 path");
    let (out_p, err_p) = (root.with_extension("stdout"), root.with_extension("stderr"));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -f {RUN_OUTPUT_BLOCKS}; exec \"$@\""))
        .arg("sh");
    match tool {
        Tool::Kmod => cmd.arg("/usr/sbin/depmod"),
        Tool::Ours => cmd.arg(support::modpolicy_bin()).arg("depmod"),
    };
    cmd.arg("-b").arg(root_s);
    for x in a {
        cmd.arg(x.replace("@ROOT@", root_s));
    }
    cmd.arg(FIXTURE_VERSION)
        .env("LC_ALL", "C")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_p).expect("stdout file"))
        .stderr(std::fs::File::create(&err_p).expect("stderr file"));
    let mut child = cmd.spawn().expect("run");
    let start = Instant::now();
    let (status, stopped) = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break (st, st.signal() == Some(libc_sigxfsz()));
        }
        if start.elapsed() > RUN_TIME {
            let _ = child.kill();
            break (child.wait().expect("wait after kill"), true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = RunOutput {
        code: status.code(),
        signal: status.signal(),
        stdout: std::fs::read(&out_p).unwrap_or_default(),
        stderr: std::fs::read(&err_p).unwrap_or_default(),
    };
    (out, stopped)
}

/// SIGXFSZ on Linux (x86, arm and most others).
fn libc_sigxfsz() -> i32 {
    25
}

/// Every module of the `cycles-mixed` tree.
const MODULES: &[&str] = &[
    "mod_loop_a",
    "mod_loop_b",
    "mod_loop_c",
    "mod_loop_d",
    "mod_loop_e",
    "mod_loop_f",
    "mod_loop_g",
    "mod_loop_h",
    "mod_loop_i",
    "mod_loop_j",
    "mod_loop_k",
    "mod_ring_1",
    "mod_ring_2",
    "mod_ring_3",
    "mod_ring_4",
    "mod_ring_5",
    "mod_ring_6",
];

/// splitmix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_cycle_graphs_match_kmod() {
    let test = "random_cycle_graphs_match_kmod";
    if support::kmod(test).is_none() {
        return;
    }
    // Both shapes in one tree: cycles-loops with cycles-ring's modules added.
    let both = tempfile::tempdir().expect("tmp");
    let src = both.path().join("root");
    support::copy_tree(&support::fixture_trees().join("cycles-loops"), &src);
    let ring = support::fixture_trees()
        .join("cycles-ring/lib/modules")
        .join(FIXTURE_VERSION)
        .join("kernel/drivers/cycles");
    let dir = src
        .join("lib/modules")
        .join(FIXTURE_VERSION)
        .join("kernel/drivers/cycles");
    for e in std::fs::read_dir(&ring).expect("cycles-ring").flatten() {
        std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy a ring module");
    }
    let seed = env_u64("MODPOLICY_CYCLES_SEED", 0x6379_636c_6573);
    let cases = env_u64("MODPOLICY_CYCLES_CASES", 40) as usize;
    let mut rng = Rng(seed);
    let (mut failed, mut kmod_failed) = (0, 0);
    for case in 0..cases {
        let mut kept: Vec<&str> = MODULES
            .iter()
            .copied()
            .filter(|_| rng.below(5) != 0)
            .collect();
        for i in (1..kept.len()).rev() {
            let j = rng.below(i + 1);
            kept.swap(i, j);
        }
        let listed = kept.len() - rng.below(kept.len().min(4) + 1);
        let symvers = rng.below(2) == 1;
        let pair = Pair::new(&src, FIXTURE_VERSION);
        pair.each(|root| {
            let dir = root.join("lib/modules").join(FIXTURE_VERSION);
            for m in MODULES.iter().filter(|m| !kept.contains(m)) {
                let ko = dir.join(format!("kernel/drivers/cycles/{m}.ko"));
                std::fs::remove_file(&ko).unwrap_or_else(|e| panic!("{}: {e}", ko.display()));
            }
            let order: String = kept[..listed]
                .iter()
                .map(|m| format!("kernel/drivers/cycles/{m}.ko\n"))
                .collect();
            std::fs::write(dir.join("modules.order"), order).expect("modules.order");
        });
        let a = if symvers {
            args(&["-e", "-E", "@ROOT@/Module.symvers"])
        } else {
            Vec::new()
        };
        let what = format!(
            "{test}: seed {seed:#x} case {case}: modules.order {:?}, unlisted {:?}, args {a:?}",
            &kept[..listed],
            &kept[listed..]
        );
        let (kmod, kmod_stopped) = run_bounded(Tool::Kmod, &pair.root(Tool::Kmod), &a);
        let (ours, ours_stopped) = run_bounded(Tool::Ours, &pair.root(Tool::Ours), &a);
        assert!(
            !ours_stopped,
            "{what}: ours did not finish ({})",
            ours.status()
        );
        if kmod_stopped || kmod.signal.is_some() {
            // kmod aborts or reports for ever: ours reports the cycles and writes nothing.
            kmod_failed += 1;
            let err = ours.stderr_text();
            assert_eq!(ours.code, Some(1), "{what}: ours: {err}");
            assert!(
                err.contains("depmod: ERROR: Cycle detected: ")
                    || err.contains("cycle report cut short"),
                "{what}: {err}"
            );
            let k = kmod.stderr_text();
            let k = k.replace(pair.root(Tool::Kmod).to_str().unwrap(), "<ROOT>");
            let o = err.replace(pair.root(Tool::Ours).to_str().unwrap(), "<ROOT>");
            // Every line kmod finished before it failed is ours too, in order.
            let done: Vec<&str> = k
                .lines()
                .filter(|l| l.starts_with("depmod: ERROR: Cycle detected: "))
                .collect();
            let complete = if k.ends_with('\n') {
                done.len()
            } else {
                done.len().saturating_sub(1)
            };
            let ours_lines: Vec<&str> = o
                .lines()
                .filter(|l| l.starts_with("depmod: ERROR: Cycle detected: "))
                .collect();
            let n = complete.min(ours_lines.len());
            assert_eq!(
                &ours_lines[..n],
                &done[..n],
                "{what}: the first cycles differ"
            );
            let src_files = list_files(&src.join("lib/modules").join(FIXTURE_VERSION));
            let ours_files = list_files(&pair.moddir(Tool::Ours));
            assert!(
                ours_files
                    .keys()
                    .all(|f| src_files.contains_key(f) || f == "modules.order"),
                "{what}: ours wrote files although it failed"
            );
            continue;
        }
        if kmod.code == Some(1) {
            failed += 1;
        }
        pair.compare(kmod, ours).assert_same(&what);
    }
    // The cases must exercise cycle reports kmod finishes, not only sorted trees.
    eprintln!(
        "{test}: {cases} cases, {failed} with cycles kmod reports, {kmod_failed} where kmod fails"
    );
    assert!(
        failed * 3 >= cases,
        "{test}: only {failed} of {cases} cases had cycles kmod reports"
    );
}
