//! The module cache (`modpolicy depmod`'s record of what each module file says) never
//! changes what a run prints or writes.
//!
//! **Differential** (`differential_6_1`, `differential_6_12`): a subset of a real corpus
//! tree (every 4th module of the 6.1 `.ko` tree, of the 6.12 `.ko.xz` tree) is copied three
//! times: for kmod 30's `/usr/sbin/depmod`, for `modpolicy depmod --no-cache`, and for
//! `modpolicy depmod` with its cache (the default place, `BASEDIR/var/cache/modpolicy`).
//! Seeded random sequences of changes are applied to the three copies alike (a module
//! added, removed, replaced by another, swapped with another, renamed or moved to
//! `updates/`, touched, truncated, edited in place with its size and modification time
//! kept so that only its change time tells; `modules.order`, `modules.builtin`,
//! `modules.builtin.modinfo`, depmod.d, `-F`/`-E` and the `Module.symvers` given to `-E`
//! changed; `--kmod 34` and another policy for modpolicy), and after each change the three
//! runs are compared: exit status, stdout, stderr and every file under
//! `lib/modules/VERSION`, byte for byte (the copies' roots replaced by one placeholder).
//! kmod is the oracle where it applies (not under `--kmod 34` or another policy, where the
//! two modpolicy runs must still agree). Changes the "nothing changed" shortcut must
//! notice are among them (depmod.d touched, an artifact edited in place or removed, a
//! module added in a new directory, a line of the `-F` System.map removed, a system policy
//! layer added or removed), and after half of the steps, with nothing changed for longer
//! than the racy window, two more runs with the cache must print and write what the
//! `--no-cache` run did, the second through the shortcut (the binary says so in
//! `MODPOLICY_CACHE_REPORT`), so that the next step's change meets a record. At the end,
//! with nothing changed for longer than the cache's racy window, a run must take every
//! module from the cache (or the shortcut). Seeds:
//! `MODPOLICY_CACHE_SEEDS` (a count, default 2), steps per seed `MODPOLICY_CACHE_STEPS`
//! (default 12); a failure names its seed and step.
//!
//! **Faults** (`damaged_caches`, `unusable_cache_places`, `two_runs_at_once`,
//! `killed_runs`): a cache truncated, with a flipped byte, of another format, modpolicy
//! version, architecture or byte order, or a directory in its place, gives exactly one
//! warning, the same artifacts as a run without cache, and is rewritten (the next run is
//! silent and reads nothing); a cache directory that cannot be written (a regular file in
//! its place, a full tmpfs) costs nothing but speed: same output, no message, exit 0; two
//! runs at once, and runs killed at random moments, leave a cache the next run uses.

#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{corpus, describe_difference, kmod, list_files, KernelTree, KMOD_DEPMOD};

/// Reproducible randomness (splitmix64).
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
        (self.next() % n.max(1) as u64) as usize
    }
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Every module file under `dir`, relative to it, sorted.
fn modules_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = list_files(dir)
        .into_iter()
        .filter(|(n, k)| {
            *k == support::Entry::File && (n.ends_with(".ko") || n.ends_with(".ko.xz"))
        })
        .map(|(n, _)| n)
        .collect();
    v.sort();
    v
}

/// The three copies of one tree.
struct Trio {
    tmp: tempfile::TempDir,
    version: String,
    /// The corpus tree's module directory (the pool of modules to add from).
    source: PathBuf,
}

const COPIES: [&str; 3] = ["kmod", "plain", "cached"];

/// What one run printed and how it ended.
struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Trio {
    /// A root holding every `step`-th module of `tree` (with the tree's `modules.order`,
    /// `modules.builtin*`, stub `System.map`, `Module.symvers` and an empty depmod.d), in
    /// three copies.
    fn new(tree: &KernelTree, step: usize) -> Trio {
        let tmp = tempfile::Builder::new()
            .prefix("modpolicy-cache.")
            .tempdir()
            .expect("temporary directory");
        let source = tree.root.join("lib/modules").join(tree.version);
        let first = tmp.path().join(COPIES[0]);
        let moddir = first.join("lib/modules").join(tree.version);
        std::fs::create_dir_all(&moddir).unwrap();
        for f in [
            "modules.order",
            "modules.builtin",
            "modules.builtin.modinfo",
        ] {
            std::fs::copy(source.join(f), moddir.join(f)).unwrap();
        }
        for (i, m) in modules_in(&source).iter().enumerate() {
            if i % step == 0 {
                let to = moddir.join(m);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(source.join(m), &to).unwrap();
            }
        }
        let boot = first.join("boot");
        std::fs::create_dir_all(&boot).unwrap();
        let map = format!("System.map-{}", tree.version);
        std::fs::copy(tree.root.join("boot").join(&map), boot.join(&map)).unwrap();
        std::fs::copy(&tree.symvers, first.join("Module.symvers")).unwrap();
        std::fs::create_dir_all(first.join("etc/depmod.d")).unwrap();
        for c in &COPIES[1..] {
            support::copy_tree(&first, &tmp.path().join(c));
        }
        Trio {
            tmp,
            version: tree.version.to_string(),
            source,
        }
    }

    fn root(&self, copy: &str) -> PathBuf {
        self.tmp.path().join(copy)
    }

    fn moddir(&self, copy: &str) -> PathBuf {
        self.root(copy).join("lib/modules").join(&self.version)
    }

    /// Applies `f` to each copy's module directory.
    fn each(&self, f: impl Fn(&Path)) {
        for c in COPIES {
            f(&self.moddir(c));
        }
    }

    /// Runs `copy`'s tool: kmod for `kmod`, ours with `--no-cache` for `plain`, ours with
    /// its cache for `cached` (`extra` goes to ours only). `@ROOT@` in `args` is the root.
    fn run(&self, copy: &str, args: &[String], extra: &[String]) -> Out {
        self.run_in(copy, &self.root(copy), args, extra)
    }

    fn run_in(&self, copy: &str, root: &Path, args: &[String], extra: &[String]) -> Out {
        let root_s = root.to_str().expect("UTF-8 path");
        let mut cmd = if copy == "kmod" {
            Command::new(KMOD_DEPMOD)
        } else {
            let mut c = Command::new(support::modpolicy_bin());
            c.arg("depmod");
            if copy == "plain" {
                c.arg("--no-cache");
            }
            c.args(extra);
            c
        };
        cmd.arg("-b").arg(root_s);
        for a in args {
            cmd.arg(a.replace(support::ROOT_ARG, root_s));
        }
        cmd.arg(&self.version);
        cmd.env("LC_ALL", "C").env_remove("RUST_LOG");
        if copy == "cached" {
            // The binary appends `cached=N read=M` for each run (see `cache_report`).
            cmd.env("MODPOLICY_CACHE_REPORT", self.tmp.path().join("report"));
        }
        let o = cmd.output().expect("run depmod");
        Out {
            code: o.status.code(),
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }

    /// The differences between two copies' runs and module directories.
    fn differences(&self, a: (&str, &Out), b: (&str, &Out)) -> Vec<String> {
        let ra = self.root(a.0);
        let rb = self.root(b.0);
        let roots = Some((
            ra.to_str().unwrap().as_bytes(),
            rb.to_str().unwrap().as_bytes(),
        ));
        let mut d = Vec::new();
        if a.1.code != b.1.code {
            d.push(format!("exit status: {:?} vs {:?}", a.1.code, b.1.code));
        }
        d.extend(describe_difference(
            "stdout",
            &a.1.stdout,
            &b.1.stdout,
            roots,
        ));
        d.extend(describe_difference(
            "stderr",
            &a.1.stderr,
            &b.1.stderr,
            roots,
        ));
        let (da, db) = (self.moddir(a.0), self.moddir(b.0));
        let (fa, fb) = (list_files(&da), list_files(&db));
        if fa.keys().ne(fb.keys()) {
            d.push(format!(
                "file sets differ: {:?} vs {:?}",
                fa.keys()
                    .filter(|k| !fb.contains_key(*k))
                    .collect::<Vec<_>>(),
                fb.keys()
                    .filter(|k| !fa.contains_key(*k))
                    .collect::<Vec<_>>()
            ));
        }
        for (name, kind) in &fa {
            if *kind == support::Entry::File && fb.get(name) == Some(kind) {
                let x = std::fs::read(da.join(name)).unwrap();
                let y = std::fs::read(db.join(name)).unwrap();
                d.extend(describe_difference(name, &x, &y, roots));
            }
        }
        d
    }
}

/// How many module files the last run of the `cached` copy took from its cache, read by
/// asking the binary itself (`MODPOLICY_CACHE_REPORT`).
fn cache_report(path: &Path) -> (usize, usize) {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let line = s.lines().last().unwrap_or("");
    let num = |k: &str| -> usize {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (num("cached="), num("read="))
}

/// Sets a file's modification time (and so its change time to now).
fn set_mtime(p: &Path, sec: i64, nsec: i64) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        },
    ];
    // SAFETY: a valid C string and two timespecs.
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    assert_eq!(r, 0, "utimensat {}", p.display());
}

/// The racy window of the cache, plus a margin: files changed more recently are read again.
fn wait_out_racy_window() {
    std::thread::sleep(std::time::Duration::from_millis(2100));
}

/// One random change, applied to the three copies alike; returns its description and
/// how the runs of this step differ from plain kmod runs.
fn change(t: &Trio, rng: &mut Rng, st: &mut State) -> String {
    let mods = modules_in(&t.moddir("kmod"));
    let pick = |rng: &mut Rng| mods[rng.below(mods.len())].clone();
    let pool = modules_in(&t.source);
    const ARTIFACTS: [&str; 5] = [
        "modules.dep",
        "modules.alias",
        "modules.symbols.bin",
        "modules.dep.bin",
        "modules.softdep",
    ];
    match rng.below(24) {
        0 => {
            let m = pool[rng.below(pool.len())].clone();
            t.each(|d| {
                let to = d.join(&m);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(t.source.join(&m), &to).unwrap();
            });
            format!("add {m}")
        }
        1 if mods.len() > 10 => {
            let m = pick(rng);
            t.each(|d| std::fs::remove_file(d.join(&m)).unwrap());
            format!("remove {m}")
        }
        2 => {
            let m = pick(rng);
            let by = pool[rng.below(pool.len())].clone();
            t.each(|d| {
                let data = std::fs::read(t.source.join(&by)).unwrap();
                std::fs::write(d.join(&m), data).unwrap();
            });
            format!("replace {m} by the contents of {by}")
        }
        3 if mods.len() > 1 => {
            let (a, b) = (pick(rng), pick(rng));
            t.each(|d| {
                let tmp = d.join("swap.tmp");
                std::fs::rename(d.join(&a), &tmp).unwrap();
                std::fs::rename(d.join(&b), d.join(&a)).unwrap();
                std::fs::rename(&tmp, d.join(&b)).unwrap();
            });
            format!("swap {a} and {b}")
        }
        4 => {
            let m = pick(rng);
            let (dir, base) = m.rsplit_once('/').unwrap_or(("", &m));
            let to = if rng.below(2) == 0 {
                format!("updates/{base}")
            } else {
                format!("{dir}/x{base}")
            };
            t.each(|d| {
                std::fs::create_dir_all(d.join(&to).parent().unwrap()).unwrap();
                std::fs::rename(d.join(&m), d.join(&to)).unwrap();
            });
            format!("rename {m} to {to}")
        }
        5 => {
            let m = pick(rng);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.each(|d| set_mtime(&d.join(&m), now.as_secs() as i64, now.subsec_nanos() as i64));
            format!("touch {m}")
        }
        6 => {
            let m = pick(rng);
            let len = std::fs::metadata(t.moddir("kmod").join(&m)).unwrap().len();
            let cut = rng.next() % len.max(1);
            t.each(|d| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join(&m))
                    .unwrap();
                f.set_len(cut).unwrap();
            });
            format!("truncate {m} to {cut} bytes")
        }
        7 | 8 => {
            // In place, same size, same modification time: only the change time differs.
            let m = pick(rng);
            let data = std::fs::read(t.moddir("kmod").join(&m)).unwrap();
            if data.is_empty() {
                return format!("edit {m}: empty, left alone");
            }
            // Mostly inside .modinfo-like text (a letter), else anywhere.
            let letters: Vec<usize> = data
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_lowercase())
                .map(|(i, _)| i)
                .collect();
            let at = if !letters.is_empty() && rng.below(4) != 0 {
                letters[rng.below(letters.len())]
            } else {
                rng.below(data.len())
            };
            let by = if data[at].is_ascii_lowercase() {
                if data[at] == b'z' {
                    b'a'
                } else {
                    data[at] + 1
                }
            } else {
                data[at] ^ 0x20
            };
            t.each(|d| {
                use std::os::unix::fs::{FileExt, MetadataExt};
                let p = d.join(&m);
                let md = std::fs::metadata(&p).unwrap();
                let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
                f.write_all_at(&[by], at as u64).unwrap();
                drop(f);
                set_mtime(&p, md.mtime(), md.mtime_nsec());
            });
            format!("edit {m} in place at {at} (size and mtime kept)")
        }
        9 => {
            let order =
                std::fs::read_to_string(t.moddir("kmod").join("modules.order")).unwrap_or_default();
            let mut lines: Vec<&str> = order.lines().collect();
            let what = match rng.below(4) {
                0 if !lines.is_empty() => {
                    let i = rng.below(lines.len());
                    lines.remove(i);
                    "a line removed"
                }
                1 if lines.len() > 2 => {
                    let i = rng.below(lines.len() - 1);
                    let j = i + 1 + rng.below((lines.len() - i - 1).min(200));
                    lines[i..=j].reverse();
                    "a range reversed"
                }
                2 if !lines.is_empty() => {
                    let l = lines[rng.below(lines.len())];
                    lines.insert(rng.below(lines.len()), l);
                    "a line duplicated"
                }
                _ => {
                    lines.reverse();
                    "reversed"
                }
            };
            let mut s = lines.join("\n");
            s.push('\n');
            t.each(|d| std::fs::write(d.join("modules.order"), &s).unwrap());
            format!("modules.order: {what}")
        }
        10 => {
            let which = if rng.below(2) == 0 {
                "modules.builtin"
            } else {
                "modules.builtin.modinfo"
            };
            let cur = std::fs::read(t.moddir("kmod").join(which)).unwrap_or_default();
            let sep = if which == "modules.builtin" { b'\n' } else { 0 };
            let parts: Vec<&[u8]> = cur.split(|&b| b == sep).collect();
            let new: Vec<u8> = if parts.len() > 2 && rng.below(3) != 0 {
                let drop_at = rng.below(parts.len() - 1);
                let mut v = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    if i != drop_at {
                        v.extend_from_slice(p);
                        if i + 1 < parts.len() {
                            v.push(sep);
                        }
                    }
                }
                v
            } else {
                std::fs::read(t.source.join(which)).unwrap()
            };
            t.each(|d| std::fs::write(d.join(which), &new).unwrap());
            format!("{which}: changed")
        }
        11 => {
            let m = pick(rng);
            let name = m
                .rsplit('/')
                .next()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .to_string();
            let conf = match rng.below(3) {
                0 => "search updates built-in\n".to_string(),
                1 => format!("override {name} * updates\n"),
                _ => String::new(),
            };
            for c in COPIES {
                std::fs::write(t.root(c).join("etc/depmod.d/test.conf"), &conf).unwrap();
            }
            format!("depmod.d: {conf:?}")
        }
        12 => {
            st.symbols = rng.below(3);
            format!(
                "vmlinux symbols: {}",
                ["none", "-F stub -e", "-E -e"][st.symbols]
            )
        }
        13 => {
            // A CRC in the Module.symvers that -E reads.
            let p = t.root("kmod").join("Module.symvers");
            let s = std::fs::read_to_string(&p).unwrap();
            let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
            let i = rng.below(lines.len());
            if lines[i].starts_with("0x") {
                let digit = if &lines[i][2..3] == "0" { "1" } else { "0" };
                lines[i].replace_range(2..3, digit);
            }
            let mut s = lines.join("\n");
            s.push('\n');
            for c in COPIES {
                std::fs::write(t.root(c).join("Module.symvers"), &s).unwrap();
            }
            format!("Module.symvers line {} changed", i + 1)
        }
        14 => {
            st.kmod34 = !st.kmod34;
            if !st.kmod34 {
                // kmod 30 neither writes nor removes it.
                t.each(|d| {
                    let _ = std::fs::remove_file(d.join("modules.weakdep"));
                });
            }
            format!("--kmod 34: {}", st.kmod34)
        }
        15 => {
            st.policy = !st.policy;
            format!("policy first-in-order: {}", st.policy)
        }
        16 => {
            // A kernel package reinstalled: a shipped cache written from the `cached`
            // copy's tree (as a package build would), then every copy's module directory
            // unpacked anew (new inodes and change times), the shipped cache in each.
            ship(t);
            "tree reinstalled with a shipped cache".to_string()
        }
        17 => {
            // The same contents, a new change time (or a new, empty file).
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            for c in COPIES {
                let p = t.root(c).join("etc/depmod.d/test.conf");
                if p.exists() {
                    set_mtime(&p, now.as_secs() as i64, now.subsec_nanos() as i64);
                } else {
                    std::fs::write(&p, "").unwrap();
                }
            }
            "depmod.d/test.conf touched".to_string()
        }
        18 => {
            // In place, size and modification time kept.
            let a = ARTIFACTS[rng.below(ARTIFACTS.len())];
            let at = rng.next();
            t.each(|d| {
                use std::os::unix::fs::{FileExt, MetadataExt};
                let p = d.join(a);
                let Ok(md) = std::fs::metadata(&p) else {
                    return;
                };
                if md.len() == 0 {
                    return;
                }
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&p)
                    .unwrap();
                let mut b = [0u8];
                let off = at % md.len();
                f.read_exact_at(&mut b, off).unwrap();
                f.write_all_at(&[b[0] ^ 0x41], off).unwrap();
                drop(f);
                set_mtime(&p, md.mtime(), md.mtime_nsec());
            });
            format!("artifact {a} edited in place")
        }
        19 => {
            let a = ARTIFACTS[rng.below(ARTIFACTS.len())];
            t.each(|d| {
                let _ = std::fs::remove_file(d.join(a));
            });
            format!("artifact {a} removed")
        }
        20 => {
            let m = pool[rng.below(pool.len())].clone();
            let base = m.rsplit('/').next().unwrap().to_string();
            let to = format!("kernel/new{}/{base}", rng.below(1000));
            t.each(|d| {
                let p = d.join(&to);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::copy(t.source.join(&m), &p).unwrap();
            });
            format!("add {to} (a new directory)")
        }
        21 => {
            // A line of the System.map that -F reads.
            let name = format!("boot/System.map-{}", t.version);
            let s = std::fs::read_to_string(t.root("kmod").join(&name)).unwrap();
            let mut lines: Vec<&str> = s.lines().collect();
            let what = if lines.is_empty() {
                "empty".to_string()
            } else {
                let i = rng.below(lines.len());
                lines.remove(i);
                format!("line {} removed", i + 1)
            };
            let mut s = lines.join("\n");
            s.push('\n');
            for c in COPIES {
                std::fs::write(t.root(c).join(&name), &s).unwrap();
            }
            format!("System.map: {what}")
        }
        22 => {
            // A system policy layer, for modpolicy only.
            st.sys_policy = !st.sys_policy;
            let policy = support::repo_root().join("policies/first-in-order.kdl");
            for c in &COPIES[1..] {
                let dir = t.root(c).join("etc/modpolicy/policy.d");
                let p = dir.join("50-first.kdl");
                if st.sys_policy {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::copy(&policy, &p).unwrap();
                } else {
                    std::fs::remove_file(&p).unwrap();
                }
            }
            format!("system policy layer first-in-order: {}", st.sys_policy)
        }
        _ => "nothing".to_string(),
    }
}

/// The run options a sequence has reached.
#[derive(Default)]
struct State {
    /// 0: none, 1: `-F` stub `-e`, 2: `-E` `-e`.
    symbols: usize,
    kmod34: bool,
    policy: bool,
    /// A system policy layer (`BASEDIR/etc/modpolicy/policy.d`) for modpolicy.
    sys_policy: bool,
}

fn differential(test: &str, tree: impl Fn(&support::Corpus) -> &KernelTree) {
    let (Some(c), Some(_)) = (corpus(test), kmod(test)) else {
        return;
    };
    let tree = tree(c);
    let seeds = env_num("MODPOLICY_CACHE_SEEDS", 2);
    let steps = env_num("MODPOLICY_CACHE_STEPS", 12);
    let policy = support::repo_root().join("policies/first-in-order.kdl");
    for seed in 0..seeds as u64 {
        let t = Trio::new(tree, 4);
        let report = t.tmp.path().join("report");
        let mut rng = Rng(seed ^ 0x5eed_cafe ^ (tree.version.len() as u64) << 32);
        let mut st = State::default();
        // The first run writes the cache once the copies are out of the racy window.
        wait_out_racy_window();
        let mut log = Vec::new();
        for step in 0..=steps {
            let what = if step == 0 {
                "first run".to_string()
            } else {
                change(&t, &mut rng, &mut st)
            };
            log.push(what.clone());
            let mut args: Vec<String> = vec!["-C".into(), "@ROOT@/etc/depmod.d".into()];
            match st.symbols {
                1 => args.extend([
                    "-F".into(),
                    format!("@ROOT@/boot/System.map-{}", t.version),
                    "-e".into(),
                ]),
                2 => args.extend(["-E".into(), "@ROOT@/Module.symvers".into(), "-e".into()]),
                _ => {}
            }
            let mut extra: Vec<String> = Vec::new();
            if st.kmod34 {
                extra.extend(["--kmod".into(), "34".into()]);
            }
            if st.policy {
                extra.extend(["--policy".into(), policy.display().to_string()]);
            }
            let k = t.run("kmod", &args, &[]);
            let p = t.run("plain", &args, &extra);
            let q = t.run("cached", &args, &extra);
            let mut diffs = t.differences(("plain", &p), ("cached", &q));
            if !st.kmod34 && !st.policy && !st.sys_policy {
                diffs.extend(
                    t.differences(("kmod", &k), ("plain", &p))
                        .into_iter()
                        .map(|d| format!("kmod vs modpolicy: {d}")),
                );
            }
            assert!(
                diffs.is_empty(),
                "{test}: seed {seed}, step {step} ({what}); steps so far: {log:?}\n{}",
                diffs.join("\n")
            );
            // Often, nothing changes for longer than the racy window: the next run
            // records its inputs, the one after that must print the same and take the
            // shortcut (and the next change, above, must be noticed).
            if rng.below(2) == 0 {
                wait_out_racy_window();
                let r1 = t.run("cached", &args, &extra);
                let r2 = t.run("cached", &args, &extra);
                let mut diffs = t.differences(("plain", &p), ("cached", &r1));
                diffs.extend(t.differences(("plain", &p), ("cached", &r2)));
                let last = std::fs::read_to_string(&report).unwrap_or_default();
                let last = last.lines().last().unwrap_or("");
                if p.code == Some(0) && !last.ends_with(" shortcut") {
                    diffs.push(format!(
                        "a re-run with nothing changed did not take the shortcut: {last}"
                    ));
                }
                assert!(
                    diffs.is_empty(),
                    "{test}: seed {seed}, no-op re-runs after step {step} ({what}); steps so \
                     far: {log:?}\n{}",
                    diffs.join("\n")
                );
                log.push("no-op re-runs".into());
            }
        }
        // Nothing changed for longer than the racy window: every readable module from the cache.
        wait_out_racy_window();
        let args: Vec<String> = vec!["-C".into(), "@ROOT@/etc/depmod.d".into()];
        let _ = t.run("cached", &args, &[]);
        let q = t.run("cached", &args, &[]);
        let p = t.run("plain", &args, &[]);
        let diffs = t.differences(("plain", &p), ("cached", &q));
        assert!(
            diffs.is_empty(),
            "{test}: seed {seed}, final run\n{}",
            diffs.join("\n")
        );
        let (cached, read) = cache_report(&report);
        let shortcut = std::fs::read_to_string(&report)
            .unwrap_or_default()
            .lines()
            .last()
            .is_some_and(|l| l.ends_with(" shortcut"));
        let unreadable = String::from_utf8_lossy(&p.stderr)
            .matches("failed to load symbols")
            .count();
        assert!(
            cached > 0 && (read == unreadable || shortcut && read == 0),
            "{test}: seed {seed}: the last run took {cached} modules from the cache and read \
             {read}; expected every readable one from the cache ({unreadable} unreadable)"
        );
    }
}

#[test]
fn differential_6_1() {
    differential("differential_6_1", |c| &c.v6_1);
}

#[test]
fn differential_6_12() {
    differential("differential_6_12", |c| &c.v6_12);
}

// --- shipped caches ------------------------------------------------------------------

/// The shipped cache's name in the module directory.
const SHIPPED: &str = "modules.modpolicy-cache";

/// Writes the shipped cache of the `cached` copy's tree (`--write-shipped-cache -n`: no
/// artifact written), puts it in every copy's module directory, and reinstalls each
/// module directory (see [`reinstall`]).
fn ship(t: &Trio) {
    let out = t.run(
        "cached",
        &[],
        &["--write-shipped-cache".into(), "-n".into()],
    );
    assert!(
        out.code == Some(0) || out.code == Some(1),
        "--write-shipped-cache: {:?}\n{}",
        out.code,
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped = std::fs::read(t.moddir("cached").join(SHIPPED)).expect("shipped cache written");
    for c in COPIES {
        std::fs::write(t.moddir(c).join(SHIPPED), &shipped).unwrap();
        reinstall(&t.moddir(c));
    }
}

/// Copies `dir` with `cp -r` (nothing preserved: new inodes, modification and change
/// times, as a package's unpacking gives) and puts the copy in its place.
fn reinstall(dir: &Path) {
    let new = dir.with_extension("new");
    let ok = Command::new("cp")
        .arg("-r")
        .arg(dir)
        .arg(&new)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -r {}", dir.display());
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::rename(&new, dir).unwrap();
}

/// Removes the `cached` copy's "nothing changed" record (`*.last-run` beside its module
/// cache), if there is one, so that its next run is a full one.
fn forget_last_run(t: &Trio) {
    let dir = t.root("cached").join("var/cache/modpolicy");
    let mut removed = 0;
    for e in std::fs::read_dir(&dir).expect("the module cache's directory") {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".last-run") {
            std::fs::remove_file(&p).unwrap();
            removed += 1;
        }
    }
    assert!(removed <= 1, "one record at most in {}", dir.display());
}

/// Every run after a package install: the three copies' runs agree (kmod's included),
/// with the `cached` copy's warnings about the module cache left out and counted.
fn compare_all(t: &Trio, what: &str) -> usize {
    compare_all_stderr(t, what).0
}

/// [`compare_all`], with the `cached` run's stderr.
fn compare_all_stderr(t: &Trio, what: &str) -> (usize, String) {
    let k = t.run("kmod", &[], &[]);
    let p = t.run("plain", &[], &[]);
    let q = t.run("cached", &[], &[]);
    let text = String::from_utf8_lossy(&q.stderr).into_owned();
    let (rest, warnings) = without_warnings(&q.stderr);
    let q = Out {
        code: q.code,
        stdout: q.stdout,
        stderr: rest,
    };
    let mut d = t.differences(("plain", &p), ("cached", &q));
    d.extend(
        t.differences(("kmod", &k), ("plain", &p))
            .into_iter()
            .map(|d| format!("kmod vs modpolicy: {d}")),
    );
    assert!(d.is_empty(), "{what}:\n{}", d.join("\n"));
    (warnings, text)
}

/// A fresh tree with a shipped cache: every module verified by its content hash (none
/// decoded), the artifacts kmod's; then the local cache takes over (content, then
/// identity); a module edited after shipping (same size) is read again.
fn shipped_cache(test: &str, tree: impl Fn(&support::Corpus) -> &KernelTree) {
    let (Some(c), Some(_)) = (corpus(test), kmod(test)) else {
        return;
    };
    let t = Trio::new(tree(c), 8);
    let report = t.tmp.path().join("report");
    ship(&t);
    let n = modules_in(&t.moddir("cached")).len();
    assert_eq!(compare_all(&t, "first run on the new tree"), 0);
    assert_eq!(
        cache_report(&report),
        (n, 0),
        "{test}: every module from the shipped cache"
    );
    let line = std::fs::read_to_string(&report).unwrap();
    assert!(
        line.trim_end().ends_with(&format!("verified={n}")),
        "{test}: verified by content: {line}"
    );
    // The local cache was written (files within the racy window: by content only), then
    // with the identities trusted.
    wait_out_racy_window();
    assert_eq!(compare_all(&t, "second run"), 0);
    assert_eq!(cache_report(&report), (n, 0), "{test}: second run");
    // Nothing changed since the second run, so the third would replay it through the
    // "nothing changed" shortcut: without its record, the run reads the cache.
    forget_last_run(&t);
    assert_eq!(compare_all(&t, "third run"), 0);
    let line = std::fs::read_to_string(&report).unwrap();
    assert!(
        line.trim_end()
            .ends_with(&format!("cached={n} read=0 verified=0")),
        "{test}: the third run by identity: {line}"
    );

    // Shipped again; then one module changed in place after shipping (one byte, size kept).
    ship(&t);
    let mods = modules_in(&t.moddir("kmod"));
    let m = &mods[mods.len() / 2];
    let data = std::fs::read(t.moddir("kmod").join(m)).unwrap();
    // A letter of its `.modinfo` (uncompressed: still a valid module, other aliases), or
    // a byte of the compressed stream.
    let at = data
        .windows(6)
        .position(|w| w == b"alias=")
        .map(|i| i + 6)
        .unwrap_or(data.len() / 2);
    let by = if data[at].is_ascii_lowercase() {
        if data[at] == b'z' {
            b'a'
        } else {
            data[at] + 1
        }
    } else {
        data[at] ^ 0x55
    };
    for c in COPIES {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(t.moddir(c).join(m))
            .unwrap();
        f.write_all_at(&[by], at as u64).unwrap();
    }
    assert_eq!(compare_all(&t, &format!("{m} edited after shipping")), 0);
    let (cached, read) = cache_report(&report);
    assert_eq!(
        (cached, read),
        (n - 1, 1),
        "{test}: only the edited module {m} is read"
    );
}

#[test]
fn shipped_cache_6_1() {
    shipped_cache("shipped_cache_6_1", |c| &c.v6_1);
}

#[test]
fn shipped_cache_6_12() {
    shipped_cache("shipped_cache_6_12", |c| &c.v6_12);
}

/// A shipped cache that is damaged or foreign: one warning each run (it is never
/// rewritten: the package owns it), every module read, the artifacts kmod's.
#[test]
fn damaged_shipped_caches() {
    let test = "damaged_shipped_caches";
    let (Some(c), Some(_)) = (corpus(test), kmod(test)) else {
        return;
    };
    let t = Trio::new(&c.v6_12, 16);
    let report = t.tmp.path().join("report");
    ship(&t);
    let good = std::fs::read(t.moddir("cached").join(SHIPPED)).unwrap();
    let n = modules_in(&t.moddir("cached")).len();
    // A local cache in its place: sound, but not a shipped one.
    let local = {
        let _ = t.run("cached", &[], &[]);
        let f = cache_file(&t, "cached");
        let b = std::fs::read(&f).unwrap();
        std::fs::remove_dir_all(t.root("cached").join("var/cache")).unwrap();
        b
    };
    let mut cases = damaged_versions(&good);
    cases.push(("a local cache", local, "not a shipped cache"));
    for (what, bytes, reason) in cases {
        for c in COPIES {
            std::fs::write(t.moddir(c).join(SHIPPED), &bytes).unwrap();
            reinstall(&t.moddir(c));
        }
        // No local cache: the shipped one is asked for every module.
        let _ = std::fs::remove_dir_all(t.root("cached").join("var/cache"));
        let (warnings, text) = compare_all_stderr(&t, what);
        assert_eq!(warnings, 1, "{what}: one warning:\n{text}");
        assert!(
            text.contains(reason) && text.contains(SHIPPED),
            "{what}: the warning names the shipped cache and says why ({reason}):\n{text}"
        );
        assert_eq!(cache_report(&report), (0, n), "{what}: every module read");
        assert_eq!(
            std::fs::read(t.moddir("cached").join(SHIPPED)).unwrap(),
            bytes,
            "{what}: the shipped cache is never rewritten"
        );
    }
    // A directory in its place.
    for c in COPIES {
        let p = t.moddir(c).join(SHIPPED);
        std::fs::remove_file(&p).unwrap();
        std::fs::create_dir(&p).unwrap();
    }
    let _ = std::fs::remove_dir_all(t.root("cached").join("var/cache"));
    reinstall(&t.moddir("cached"));
    assert_eq!(compare_all(&t, "a directory in its place"), 1);
}

// --- faults -------------------------------------------------------------------------

/// The one cache file of a copy (under `BASEDIR/var/cache/modpolicy`).
fn cache_file(t: &Trio, copy: &str) -> PathBuf {
    let dir = t.root(copy).join("var/cache/modpolicy");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cache"))
        .collect();
    assert_eq!(files.len(), 1, "one cache in {}: {files:?}", dir.display());
    files.into_iter().next().unwrap()
}

const WARNING: &str = "modpolicy: warning: module cache ";

/// stderr without the cache's warning lines, and how many there were.
fn without_warnings(stderr: &[u8]) -> (Vec<u8>, usize) {
    let s = String::from_utf8_lossy(stderr);
    let n = s.lines().filter(|l| l.starts_with(WARNING)).count();
    let rest: String = s
        .lines()
        .filter(|l| !l.starts_with(WARNING))
        .map(|l| format!("{l}\n"))
        .collect();
    (rest.into_bytes(), n)
}

/// A small tree (every 12th module of the 6.1 corpus) with its cache written and out of
/// the racy window, and the `--no-cache` run's output to compare with.
fn small_trio(test: &str) -> Option<(Trio, Out)> {
    let c = corpus(test)?;
    kmod(test)?;
    let t = Trio::new(&c.v6_1, 12);
    wait_out_racy_window();
    let plain = t.run("plain", &[], &[]);
    assert_eq!(
        plain.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let first = t.run("cached", &[], &[]);
    assert!(t
        .differences(("plain", &plain), ("cached", &first))
        .is_empty());
    Some((t, plain))
}

/// The last line of the `cached` copy's report (`MODPOLICY_CACHE_REPORT`).
fn last_report(t: &Trio) -> String {
    let s = std::fs::read_to_string(t.tmp.path().join("report")).unwrap_or_default();
    s.lines().last().unwrap_or("").to_string()
}

/// Runs the `cached` copy, checks that its output and module directory are those of the
/// `plain` run `plain` (`what` names the step in a failure), and returns its report line.
fn cached_as_plain(t: &Trio, what: &str, plain: &Out) -> String {
    let q = t.run("cached", &[], &[]);
    let d = t.differences(("plain", plain), ("cached", &q));
    assert!(d.is_empty(), "{what}:\n{}", d.join("\n"));
    last_report(t)
}

/// Copies `p` beside itself and renames the copy over it: the same bytes, a new inode
/// and new times (a package reinstalling the file).
fn copy_over_itself(p: &Path) {
    let tmp = p.with_extension("tmp");
    std::fs::copy(p, &tmp).unwrap();
    std::fs::rename(&tmp, p).unwrap();
}

/// The "nothing changed" shortcut survives changes that change nothing: a module file
/// reinstalled with the same bytes or touched is read again and gives what it gave
/// (`read=1 shortcut`), and the run's working directory may change (nothing in it is an
/// input); after the racy window the record is brought up to date (`read=0`). A module
/// file replaced by another module's bytes, and a new file in a module directory, are
/// changes: full runs, whose output is the `--no-cache` run's.
#[test]
fn unchanged_reinstalls_keep_the_shortcut() {
    let Some((t, plain)) = small_trio("unchanged_reinstalls_keep_the_shortcut") else {
        return;
    };
    let n = modules_in(&t.moddir("cached")).len();
    let same = |what: &str, plain: &Out| cached_as_plain(&t, what, plain);
    // The first cached run wrote the cache; the next one (cache unchanged, nothing
    // changed within the racy window) the record.
    wait_out_racy_window();
    same("record", &plain);
    assert_eq!(
        same("nothing changed", &plain),
        format!("cached={n} read=0 shortcut")
    );
    let mods = modules_in(&t.moddir("cached"));
    let m = &mods[mods.len() / 2];
    t.each(|d| copy_over_itself(&d.join(m)));
    let want = format!("cached={} read=1 shortcut", n - 1);
    assert_eq!(same(&format!("{m} reinstalled"), &plain), want);
    set_mtime(&t.moddir("cached").join(m), 1_000_000_000, 5);
    set_mtime(&t.moddir("plain").join(m), 1_000_000_000, 5);
    assert_eq!(same(&format!("{m} touched"), &plain), want);
    // Out of the racy window, the record is brought up to date: nothing is read again.
    wait_out_racy_window();
    assert_eq!(same("brought up to date", &plain), want);
    assert_eq!(
        same("up to date", &plain),
        format!("cached={n} read=0 shortcut")
    );
    // Another working directory (another key: a full run, which writes the module cache
    // or the record), then a file created in it.
    let cwd = t.tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let in_cwd = || {
        let o = Command::new(support::modpolicy_bin())
            .current_dir(&cwd)
            .env_remove("PWD")
            .env("MODPOLICY_CACHE_REPORT", t.tmp.path().join("report"))
            .arg("depmod")
            .arg("-b")
            .arg(t.root("cached"))
            .arg(&t.version)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        last_report(&t)
    };
    in_cwd();
    wait_out_racy_window();
    in_cwd();
    assert!(in_cwd().ends_with(" shortcut"), "from another directory");
    std::fs::write(cwd.join("new-file"), b"").unwrap();
    assert!(
        in_cwd().ends_with(" shortcut"),
        "a new file in the working directory is not an input"
    );
    wait_out_racy_window();
    same("back in the first directory", &plain);
    // Another module's bytes: a full run, as the plain one.
    let other = &mods[mods.len() / 2 + 1];
    t.each(|d| {
        std::fs::copy(d.join(other), d.join(m).with_extension("tmp")).unwrap();
        std::fs::rename(d.join(m).with_extension("tmp"), d.join(m)).unwrap();
    });
    let plain = t.run("plain", &[], &[]);
    let r = same(&format!("{m} replaced by {other}"), &plain);
    assert!(!r.ends_with(" shortcut"), "{m} replaced by {other}: {r}");
    // A new file in a module directory (not a module): a full run. (First the module
    // cache takes the replaced module, then a run records.)
    wait_out_racy_window();
    same("cache again", &plain);
    wait_out_racy_window();
    same("record again", &plain);
    assert!(same("nothing changed again", &plain).ends_with(" shortcut"));
    t.each(|d| std::fs::write(d.join(m).with_extension("txt"), b"").unwrap());
    let plain = t.run("plain", &[], &[]);
    let r = same("a new file beside a module", &plain);
    assert!(!r.ends_with(" shortcut"), "a new file beside {m}: {r}");
}

/// The module cache file's identity (inode and modification time): a rewrite (through
/// a temporary and `rename`) changes it.
fn cache_identity(t: &Trio) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(cache_file(t, "cached")).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

/// A module file replaced just before a run (within the racy window, as when a package
/// or DKMS installs a module and runs depmod at once): a full run whose output is the
/// `--no-cache` run's; it reads that module (once: the image the "nothing changed" check
/// read is taken) and neither rewrites the module cache nor writes a record (the new identity is too recent to stand for the contents). The next
/// run, out of the window, reads it again, rewrites the cache and records, and the one
/// after takes the shortcut. More than 32 module files changed within the window
/// (a tree unpacked anew) are cached at once.
#[test]
fn a_module_changed_just_before_a_run() {
    let Some((t, plain)) = small_trio("a_module_changed_just_before_a_run") else {
        return;
    };
    let mods = modules_in(&t.moddir("cached"));
    let n = mods.len();
    let same = |what: &str, plain: &Out| cached_as_plain(&t, what, plain);
    wait_out_racy_window();
    same("record", &plain);
    assert!(same("nothing changed", &plain).ends_with(" shortcut"));
    let cache = cache_identity(&t);
    let (m, other) = (&mods[n / 2], &mods[n / 2 + 1]);
    t.each(|d| {
        std::fs::copy(d.join(other), d.join(m).with_extension("tmp")).unwrap();
        std::fs::rename(d.join(m).with_extension("tmp"), d.join(m)).unwrap();
    });
    let plain = t.run("plain", &[], &[]);
    // The check read it (to compare with the recorded image) and the run takes that.
    let read_one = format!("cached={} read=1 verified=0 reused=1", n - 1);
    assert_eq!(same(&format!("{m} just replaced"), &plain), read_one);
    assert_eq!(cache_identity(&t), cache, "the cache was rewritten");
    // Still no record for this state: the next run is a full one, which caches it and
    // records.
    wait_out_racy_window();
    assert_eq!(same("out of the window", &plain), read_one);
    let rewritten = cache_identity(&t);
    assert_ne!(rewritten, cache, "the cache was not rewritten");
    assert_eq!(
        same("recorded", &plain),
        format!("cached={n} read=0 shortcut")
    );
    // 40 module files reinstalled at once (the same bytes, new identities): cached at
    // once, with their identities left untrusted.
    t.each(|d| {
        mods.iter()
            .take(40)
            .for_each(|m| copy_over_itself(&d.join(m)))
    });
    let r = same("40 modules reinstalled", &plain);
    assert!(r.ends_with(" read=40 verified=0"), "{r}");
    assert_ne!(cache_identity(&t), rewritten, "the cache was not rewritten");
}

/// Damaged versions of the sound cache file `good`, each with what it is and a word of
/// the one warning a run prints for it.
fn damaged_versions(good: &[u8]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let resum = |mut b: Vec<u8>| {
        let n = b.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&b[..n]);
        b[n..].copy_from_slice(&sum.to_ne_bytes());
        b
    };
    let mut other_format = good.to_vec();
    other_format[8] ^= 0x7f;
    let mut byte_order = good.to_vec();
    byte_order[12..16].reverse();
    let mut flipped = good.to_vec();
    flipped[good.len() / 3] ^= 1;
    vec![
        (
            "truncated (a killed writer)",
            good[..good.len() / 2].to_vec(),
            "truncated",
        ),
        ("empty", Vec::new(), "not a modpolicy module cache"),
        ("a byte flipped", flipped, "bad checksum"),
        ("another format", resum(other_format), "format"),
        ("another byte order", byte_order, "byte order"),
        (
            "another architecture",
            with_header_field(good, 0, b"riscv64"),
            "riscv64",
        ),
        (
            "another modpolicy version",
            with_header_field(good, 1, b"0.0.1-old"),
            "0.0.1-old",
        ),
        (
            "not a cache",
            b"hello, world\n".to_vec(),
            "not a modpolicy module cache",
        ),
    ]
}

/// Rewrites a cache file's header field (`arch` or `version`, the short strings after
/// magic, format and byte-order mark) and fixes its checksum, as another build would
/// have written it.
fn with_header_field(bytes: &[u8], field: usize, value: &[u8]) -> Vec<u8> {
    let body = &bytes[..bytes.len() - 8];
    let mut pos = 16;
    for _ in 0..field {
        pos += 1 + body[pos] as usize;
    }
    let mut out = body[..pos].to_vec();
    out.push(value.len() as u8);
    out.extend_from_slice(value);
    out.extend_from_slice(&body[pos + 1 + body[pos] as usize..]);
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_ne_bytes());
    out
}

#[test]
fn damaged_caches() {
    let Some((t, plain)) = small_trio("damaged_caches") else {
        return;
    };
    let path = cache_file(&t, "cached");
    let good = std::fs::read(&path).unwrap();
    let cases = damaged_versions(&good);
    let report = t.tmp.path().join("report");
    for (what, bytes, reason) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let out = t.run("cached", &[], &[]);
        let (rest, n) = without_warnings(&out.stderr);
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(n, 1, "{what}: one warning expected:\n{text}");
        assert!(
            text.contains(reason),
            "{what}: the warning says why ({reason}):\n{text}"
        );
        let cleaned = Out {
            code: out.code,
            stdout: out.stdout,
            stderr: rest,
        };
        let d = t.differences(("plain", &plain), ("cached", &cleaned));
        assert!(d.is_empty(), "{what}:\n{}", d.join("\n"));
        // Rewritten: the next run is silent and reads nothing.
        let again = t.run("cached", &[], &[]);
        let d = t.differences(("plain", &plain), ("cached", &again));
        assert!(d.is_empty(), "{what}, next run:\n{}", d.join("\n"));
        let (cached, read) = cache_report(&report);
        assert!(
            cached > 0 && read == 0,
            "{what}: next run cached={cached} read={read}"
        );
    }
    // A directory where the cache should be: unreadable, one warning, and the run is fine.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("x"), b"x").unwrap();
    let out = t.run("cached", &[], &[]);
    let (rest, n) = without_warnings(&out.stderr);
    assert_eq!(n, 1, "{}", String::from_utf8_lossy(&out.stderr));
    let cleaned = Out {
        code: out.code,
        stdout: out.stdout,
        stderr: rest,
    };
    let d = t.differences(("plain", &plain), ("cached", &cleaned));
    assert!(
        d.is_empty(),
        "directory in place of the cache:\n{}",
        d.join("\n")
    );
}

#[test]
fn unusable_cache_places() {
    let Some((t, plain)) = small_trio("unusable_cache_places") else {
        return;
    };
    // A regular file where the cache directory should be: nothing can be written there.
    let file = t.tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let extra = vec![
        "--cache".to_string(),
        file.join("sub").display().to_string(),
    ];
    for _ in 0..2 {
        let out = t.run("cached", &[], &extra);
        let d = t.differences(("plain", &plain), ("cached", &out));
        assert!(
            d.is_empty(),
            "cache directory under a file:\n{}",
            d.join("\n")
        );
    }
    // A full file system (a tmpfs of 64 KiB, filled): the cache does not fit.
    let mnt = t.tmp.path().join("full");
    std::fs::create_dir(&mnt).unwrap();
    let m = mnt.display().to_string();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", &m])
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        support::skip(
            "unusable_cache_places",
            "mounting a tmpfs is not allowed (not root)",
        );
        return;
    }
    let _ = std::fs::write(mnt.join("filler"), vec![0u8; 64 << 10]);
    let extra = vec!["--cache".to_string(), m.clone()];
    let out = t.run("cached", &[], &extra);
    let listed: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let _ = Command::new("umount").arg("-l").arg(&m).status();
    let d = t.differences(("plain", &plain), ("cached", &out));
    assert!(d.is_empty(), "full cache file system:\n{}", d.join("\n"));
    assert_eq!(
        listed.len(),
        1,
        "only the filler, no temporary left: {listed:?}"
    );
}

#[test]
fn two_runs_at_once() {
    let Some((t, plain)) = small_trio("two_runs_at_once") else {
        return;
    };
    let root = t.root("cached");
    // Change a module so that both runs write the cache.
    for round in 0..6 {
        let m = &modules_in(&t.moddir("cached"))[round];
        set_mtime(&t.moddir("cached").join(m), 1_000_000 + round as i64, 0);
        set_mtime(&t.moddir("plain").join(m), 1_000_000 + round as i64, 0);
        let p = t.run("plain", &[], &[]);
        let spawn = || {
            Command::new(support::modpolicy_bin())
                .arg("depmod")
                .arg("-b")
                .arg(&root)
                .arg(&t.version)
                .env("LC_ALL", "C")
                .output()
                .expect("run")
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(spawn);
            let b = s.spawn(spawn);
            (a.join().unwrap(), b.join().unwrap())
        });
        for o in [a, b] {
            let out = Out {
                code: o.status.code(),
                stdout: o.stdout,
                stderr: o.stderr,
            };
            let d = t.differences(("plain", &p), ("cached", &out));
            assert!(d.is_empty(), "round {round}:\n{}", d.join("\n"));
        }
    }
    // The cache left is whole: the next run is silent and equals a run without cache.
    let out = t.run("cached", &[], &[]);
    let p = t.run("plain", &[], &[]);
    assert!(t.differences(("plain", &p), ("cached", &out)).is_empty());
    let _ = plain;
}

#[test]
fn killed_runs() {
    let Some((t, _)) = small_trio("killed_runs") else {
        return;
    };
    let root = t.root("cached");
    let mut rng = Rng(42);
    for round in 0..12 {
        // A change, so that the run writes the cache.
        let mods = modules_in(&t.moddir("cached"));
        let m = &mods[rng.below(mods.len())];
        for c in ["cached", "plain"] {
            set_mtime(&t.moddir(c).join(m), 2_000_000 + round, 0);
        }
        let mut child = Command::new(support::modpolicy_bin())
            .arg("depmod")
            .arg("-b")
            .arg(&root)
            .arg(&t.version)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_micros(rng.next() % 60_000));
        let _ = child.kill();
        let _ = child.wait();
        // The next run: the same output as without cache, and no warning (the cache file
        // is only ever replaced whole).
        let p = t.run("plain", &[], &[]);
        let out = t.run("cached", &[], &[]);
        let d = t.differences(("plain", &p), ("cached", &out));
        assert!(
            d.is_empty(),
            "after a kill in round {round}:\n{}",
            d.join("\n")
        );
    }
    let dir = t.root("cached").join("var/cache/modpolicy");
    let temps: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(
        temps.is_empty(),
        "temporaries of killed runs left: {temps:?}"
    );
}

// --- -A -------------------------------------------------------------------------------

/// `-A`: kmod 30 compares whole seconds (a module changed later in the same second as
/// `modules.dep` counts as older: nothing is done), kmod 34 (`--kmod 34`) nanoseconds.
/// A stale `modules.dep` (its text replaced, its time kept) shows whether a run rewrote it.
#[test]
fn quick_mode_compares_seconds_then_nanoseconds() {
    let Some((t, _)) = small_trio("quick_mode_compares_seconds_then_nanoseconds") else {
        return;
    };
    let k = t.run("kmod", &[], &[]);
    assert_eq!(k.code, Some(0));
    let module = modules_in(&t.moddir("kmod"))[0].clone();
    // (module time past modules.dep's, in ns; rewritten by kmod 30?, by kmod 34?)
    // Later than every module file's time (they were copied just now).
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 100_000;
    for (later_ns, by30, by34) in [
        (0i64, false, false),
        (400_000_000, false, true),
        (1_000_000_000, true, true),
    ] {
        for c in COPIES {
            let d = t.moddir(c);
            std::fs::write(d.join("modules.dep"), b"stale\n").unwrap();
            set_mtime(&d.join("modules.dep"), base, 100_000_000);
            set_mtime(
                &d.join(&module),
                base + (100_000_000 + later_ns) / 1_000_000_000,
                (100_000_000 + later_ns) % 1_000_000_000,
            );
        }
        let args = vec!["-A".to_string()];
        let k = t.run("kmod", &args, &[]);
        let p = t.run("plain", &args, &[]);
        let q = t.run("cached", &args, &["--kmod".to_string(), "34".to_string()]);
        let d = t.differences(("kmod", &k), ("plain", &p));
        let stale = |c: &str| std::fs::read(t.moddir(c).join("modules.dep")).unwrap() == b"stale\n";
        assert!(
            d.is_empty(),
            "-A, module {later_ns} ns later:\n{}",
            d.join("\n")
        );
        assert_eq!(
            !stale("kmod"),
            by30,
            "kmod 30 with the module {later_ns} ns later"
        );
        assert_eq!(
            !stale("plain"),
            by30,
            "ours with the module {later_ns} ns later"
        );
        assert_eq!(
            !stale("cached"),
            by34,
            "--kmod 34 with the module {later_ns} ns later"
        );
        assert_eq!(q.code, Some(0));
    }
}
