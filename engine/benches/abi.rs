//! Benchmark: the ABI gate on two full Debian `Module.symvers` (6.1.0-47 and 6.1.0-50
//! amd64, about 24,600 exports each, 18,000 CRC changes), against a plain shell
//! comparison a distribution would otherwise script (`sort` + `join` + `awk`).
//!
//! Run with `cargo bench --bench abi` (add `-- --runs N`). Measured, alternating, after
//! one warm-up each:
//!
//! - `modpolicy abi --policy P --format text OLD NEW` as a whole process, with a policy of
//!   subsystem and symbol rules (every change classified by a rule);
//! - the shell comparison as a whole process: both files keyed by symbol and sorted,
//!   joined, removed/added/CRC-changed/moved exports printed;
//! - in process, the library's comparison alone ([`modpolicy::job::abi::compare`] on
//!   sides already read) and reading plus comparing, in wall and in this thread's CPU
//!   time (which a loaded machine does not inflate).
//!
//! Medians are printed with the ratio shell / modpolicy. Nothing is asserted: a benchmark
//! reports, tests judge. The files come from `tests/corpus/setup.sh` (`abi/`).

use std::time::Instant;

#[path = "common/mod.rs"]
mod common;

use common::{alternate, med, median, run};

const SHELL: &str = r#"
export LC_ALL=C
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
TAB=$(printf '\t')
key() { awk -F'\t' 'BEGIN { OFS = "\t" } { print $2, $1, $3, $4, $5 }' "$1" | sort -t"$TAB" -k1,1; }
key "$1" >"$T/a"; key "$2" >"$T/b"
join -t"$TAB" -v1 "$T/a" "$T/b" | awk -F'\t' '{ print "removed", $1 }'
join -t"$TAB" -v2 "$T/a" "$T/b" | awk -F'\t' '{ print "added", $1 }'
join -t"$TAB" "$T/a" "$T/b" | awk -F'\t' '$2 != $6 { print "crc", $1 } $3 != $7 { print "moved", $1 }'
"#;

const POLICY: &str = r#"version 1
abi-deny "nvme_*" "scsi_*" {
    reason "storage ABI"
}
abi-tolerate {
    modules "drivers/gpu/*" "sound/*" "drivers/staging/*" "drivers/net/wireless/*"
    reason "rebuilt together"
}
abi-tolerate {
    namespaces "IWLWIFI" "CXL" "I915_GVT"
    reason "driver-internal namespaces"
}
abi-tolerate "kvm_*" "drm_*" "snd_*" {
    changes "crc-changed"
    reason "symbol families rebuilt together"
}
abi-tolerate {
    modules "vmlinux" "arch/*" "fs/*" "net/*" "lib/*" "crypto/*" "block/*" "mm/*" "virt/*"
    changes "crc-changed" "export-removed"
    reason "core rebuilt"
}
"#;

fn main() {
    let runs = common::runs(11);
    let corpus = common::setup_corpus();
    let old = corpus.join("abi/Module.symvers-6.1.0-47-amd64");
    let new = corpus.join("abi/Module.symvers-6.1.0-50-amd64");
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("abi.kdl");
    std::fs::write(&policy, POLICY).expect("write policy");
    let ours: Vec<String> = vec![
        env!("CARGO_BIN_EXE_modpolicy").into(),
        "abi".into(),
        "--policy".into(),
        policy.display().to_string(),
        "--format".into(),
        "text".into(),
        old.display().to_string(),
        new.display().to_string(),
    ];
    let shell: Vec<String> = vec![
        "bash".into(),
        "-c".into(),
        SHELL.into(),
        "abi-shell".into(),
        old.display().to_string(),
        new.display().to_string(),
    ];
    run(&ours);
    run(&shell);
    // Pairs of (shell, ours): each ratio is shell / modpolicy.
    let p = alternate(runs, || run(&shell), || run(&ours));
    println!(
        "abi 6.1.0-47 -> 6.1.0-50, {runs} runs: modpolicy abi (5 rules, text) {:.1} ms wall, {:.1} ms cpu, {:.1} MiB; shell join {:.1} ms wall, {:.1} ms cpu; shell/modpolicy {:.2}x",
        med(&p.second, |s| s.wall) * 1e3,
        med(&p.second, |s| s.cpu) * 1e3,
        med(&p.second, |s| s.rss_mib),
        med(&p.first, |s| s.wall) * 1e3,
        med(&p.first, |s| s.cpu) * 1e3,
        median(p.ratios)
    );
    // In process: reading both files, and the comparison with rules alone.
    let pol = modpolicy::policy::load(std::slice::from_ref(&policy), "").expect("policy");
    // Wall and this thread's CPU time of each part.
    let (mut read, mut cmp) = (vec![], vec![]);
    let (mut read_cpu, mut cmp_cpu) = (vec![], vec![]);
    let mut n = 0;
    for _ in 0..runs {
        let (t, c) = (Instant::now(), common::thread_cpu());
        let s_old = modpolicy::abi::side::read_symvers(&old).expect("old");
        let s_new = modpolicy::abi::side::read_symvers(&new).expect("new");
        read.push(t.elapsed().as_secs_f64());
        read_cpu.push(common::thread_cpu() - c);
        let (t, c) = (Instant::now(), common::thread_cpu());
        let (f, _) = modpolicy::job::abi::compare(
            &pol,
            &s_old,
            &s_new,
            &Default::default(),
            &Default::default(),
            None,
        );
        cmp.push(t.elapsed().as_secs_f64());
        cmp_cpu.push(common::thread_cpu() - c);
        n = f.len();
    }
    let (r, c, rc, cc) = (median(read), median(cmp), median(read_cpu), median(cmp_cpu));
    println!(
        "in process (wall / cpu): read both Module.symvers {:.1} / {:.1} ms, compare + classify ({n} findings) {:.1} / {:.1} ms, total {:.1} / {:.1} ms",
        r * 1e3,
        rc * 1e3,
        c * 1e3,
        cc * 1e3,
        (r + c) * 1e3,
        (rc + cc) * 1e3
    );
}
