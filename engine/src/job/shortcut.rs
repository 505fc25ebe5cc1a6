//! `depmod`'s "nothing changed" shortcut, on the job's side: what a run's output depends
//! on (gathered while it runs), the record written after a successful run, and the check
//! and replay of a re-run (the record itself is [`crate::cache::shortcut`]).
//!
//! A run with a module cache (not `-A`, `-n` or manual mode) first reads the record
//! beside the cache. When the record's key (every option and setting) is the run's, every
//! watched path is as recorded (or changed harmlessly: a module file that, read again,
//! gives the recorded image; a directory with the recorded entries), the output
//! directory holds the same entries and every artifact the same bytes, the run prints
//! what the recorded run printed and ends: nothing is walked, rendered or written, and
//! at most [`MAX_REREAD`] module files are read. A record whose identities can be
//! settled or brought up to date is written back. Otherwise the run is a full one, its
//! output captured on the way (a [`Tee`]), and writes a new record if it succeeded,
//! read at most [`MAX_REREAD`] module files (a first run's record is left to the next
//! run, keeping its cost off the first) and nothing it looked at changed within the
//! racy window of its start (see [`RunRecord::trustworthy`]). Anything uncertain means
//! no record, so a full run.
//!
//! Watched: the module files and every directory the walk read; the depmod.d files and
//! directories; the policy files (system layers' directories and entries, `--policy`
//! files and their includes, not the built-in policy, which is no file); `-F`/`-E`;
//! `modules.order`, `modules.builtin` and `modules.builtin.modinfo`; `modules.softdep`
//! of the module directory (libkmod parses it; under `-E` its open result is in a
//! message); the module cache file (by contents);
//! the modpolicy executable. A path that does not exist
//! is watched through its nearest existing ancestor (whose times move when it appears).
//! The output directory is watched by its entries (its own times move with every commit),
//! after checking that the walk, which read it, saw it unchanged.

use super::depmod::DepmodOptions;
use super::log::{Log, Sink};
use super::tree::{Rereads, Tree};
use crate::cache::shortcut::{
    listing_hash, observe, observe_all, Artifact, Checker, Hashed, OutDir, Output, RunRecord, Seen,
    Stream, Verdict, MAX_REREAD,
};
use crate::cache::{is_racy, FileId};
use crate::load::Hashing;
use crate::util::fs::{open_input_stat, Accept};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Output kept for a record at most: a run that prints more is not recorded.
const MAX_KEPT: usize = 64 << 20;

/// A run that may use or write a record.
pub struct Plan {
    key: Vec<u8>,
    record: PathBuf,
    cache_file: PathBuf,
    outdirname: String,
    run_start_ns: i128,
    /// How the run reads module files (to read a changed one again).
    limits: crate::load::Limits,
}

/// Now, in nanoseconds since the epoch.
fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// The plan for a run with these options, or `None` when the shortcut does not apply
/// (`-A`, `-n`, manual mode, `--no-cache`, no cache place, a bad version).
pub fn plan(args: &DepmodOptions, paths: Option<&super::depmod::RunPaths>) -> Option<Plan> {
    let run_start_ns = now_ns();
    let manual = !args.all && !args.modules.is_empty();
    if args.quick || args.show || manual {
        return None;
    }
    let p = paths?;
    let cache_file = p.cache_file.clone()?;
    let today = super::today();
    // SAFETY: umask has no preconditions; it is set back at once (nothing else runs yet).
    let umask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    let cwd = std::env::current_dir().ok();
    let key = format!(
        "modpolicy {} {}\n{args:?}\nversion={:?}\ndirname={:?}\noutdir={:?}\ncwd={cwd:?}\n\
         pwd={:?}\ntoday={today:?}\numask={umask:o}\ncache={cache_file:?}\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        p.kver,
        p.dirname,
        p.outdirname,
        std::env::var_os("PWD"),
    );
    Some(Plan {
        key: key.into_bytes(),
        record: crate::cache::shortcut::record_path(&cache_file),
        cache_file,
        outdirname: p.outdirname.clone(),
        run_start_ns,
        limits: super::depmod::limits(args),
    })
}

/// What `modules.softdep`'s open gives, as kmod's `Invalid symbol version` message names
/// it (see `tree::kmod_errno_before_symvers`).
fn softdep_probe(p: &Path) -> String {
    super::tree::open_result(p)
}

impl Plan {
    /// If the record holds, prints its output through `log`'s sink and returns `true`.
    pub fn replay(&self, log: &Log<'_>, rereads: &mut Rereads) -> bool {
        let rec = crate::util::timed("shortcut read", || RunRecord::read(&self.record));
        let Some(rec) = rec.filter(|r| r.key == self.key) else {
            return false;
        };
        let limits = &self.limits;
        // Each module file read again is kept for the full run, should the check fail.
        let kept = Mutex::new(Rereads::default());
        let image_hash = |p: &Path| {
            let (file, st) = open_input_stat(p, Accept::Regular).ok()?;
            let r =
                crate::load::read_module_file_hashed(file, limits, Hashing::Compressed, &|_, _| {
                    None
                });
            let image = r.image.ok()?;
            let hash = crate::cache::image_hash(&image);
            if let Some(path) = p.to_str() {
                let id = FileId::from_stat(&st);
                let mut k = kept.lock().unwrap_or_else(|e| e.into_inner());
                k.insert(path.to_string(), (id, r.hash, image));
            }
            Some(hash)
        };
        let checker = Checker {
            probe: &softdep_probe,
            image_hash: &image_hash,
            now_ns: now_ns(),
        };
        let reread = match crate::util::timed("shortcut check", || rec.check(&checker)) {
            Verdict::Changed => {
                tracing::debug!("shortcut: something changed");
                *rereads = kept.into_inner().unwrap_or_else(|e| e.into_inner());
                return false;
            }
            Verdict::Holds { refreshed, reread } => {
                // Identities settled or brought up to date: the next check is cheaper.
                if let Some(Err(e)) = refreshed.map(|r| r.write(&self.record)) {
                    tracing::info!("run record {} not refreshed: {e}", self.record.display());
                }
                reread
            }
        };
        log.flush();
        let sink = log.sink();
        for (s, b) in &rec.output {
            match s {
                Stream::Stderr => sink.stderr(b),
                Stream::Stdout => sink.stdout(b),
            }
        }
        tracing::debug!(modules = rec.modules, reread, elapsed = ?super::elapsed(), "shortcut: nothing changed");
        if let Some(p) = std::env::var_os("MODPOLICY_CACHE_REPORT") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(p)
            {
                let cached = rec.modules.saturating_sub(reread as u64);
                let _ = writeln!(f, "cached={cached} read={reread} shortcut");
            }
        }
        true
    }

    /// After a successful full run: writes the record of what it saw, wrote and printed,
    /// if all of it can be trusted. A failure costs only speed.
    pub fn record(&self, seen: Observed, output: Option<Output>) {
        if seen.read_many {
            // A first run, or a tree unpacked anew: the record's cost (every input looked
            // at again, every image hashed) is kept off it; the next run, which finds the
            // module files in the cache, writes it.
            tracing::debug!("no run record: more than {MAX_REREAD} module files were read");
            return;
        }
        if seen.racy_modules {
            // The usual case right after a module is installed: its identity, taken
            // before it was read, is too recent to stand for its contents (the load's clock
            // started after the record's, so it is too recent for the record as well).
            tracing::debug!("no run record: a module file changed too recently");
            return;
        }
        let r = crate::util::timed("shortcut record", || self.build(seen, output));
        match r {
            Ok(rec) => {
                if let Err(e) = rec.write(&self.record) {
                    tracing::info!("run record {} not written: {e}", self.record.display());
                }
            }
            Err(why) => {
                tracing::debug!("no run record: {why}");
                // An older record stays: it describes another state, which it checks.
            }
        }
    }

    fn build(&self, seen: Observed, output: Option<Output>) -> Result<RunRecord, &'static str> {
        let output = output.ok_or("too much output")?;
        if seen.unsure {
            return Err("the walk or the module cache reported a problem");
        }
        let pre = seen.pre.ok_or("the output directory was not looked at")?;
        let out_path = PathBuf::from(&self.outdirname);
        let out_st = rustix::fs::stat(&out_path).map_err(|_| "no output directory")?;
        let is_out = |id: &FileId| id.dev == out_st.st_dev && id.ino == out_st.st_ino;

        // The walked directories' listings as the walk read them (listed again where it
        // could not read an entry): a change after the walk shows in the identities
        // observed below (too recent to record).
        let listings: Vec<(PathBuf, u64)> = seen
            .walked_dirs
            .par_iter()
            .map(|d| {
                let path = PathBuf::from(&d.path);
                let h = match d.listing {
                    Some(h) => h,
                    None => listing_hash(&path, &[])?,
                };
                Ok((path, h))
            })
            .collect::<std::io::Result<_>>()
            .map_err(|_| "a walked directory cannot be listed")?;
        let mut paths = seen.watched;
        if let Ok(exe) = std::fs::read_link("/proc/self/exe") {
            paths.push(exe);
        } else {
            return Err("the executable cannot be named");
        }
        // Every input is looked at, then none may have changed too recently (a module
        // file changed just before the run was caught earlier, in `record`): the output
        // directory is judged apart, below.
        let start = self.run_start_ns;
        let now = observe_all(&paths);
        let watched: Option<Vec<(PathBuf, Seen)>> = paths
            .into_iter()
            .zip(now)
            .map(|(p, s)| {
                let racy = matches!(s, Seen::Link(_, Err(_)))
                    || s.ids().any(|id| !is_out(id) && is_racy(id, start));
                (!racy).then_some((p, s))
            })
            .collect();
        let mut watched = watched.ok_or("an input changed too recently")?;
        // A path that is missing is watched through its nearest existing ancestor.
        let mut extra = Vec::new();
        for (p, s) in &watched {
            if let Seen::Fails(e) = s {
                if *e != libc::ENOENT && *e != libc::ENOTDIR {
                    return Err("a watched path fails oddly");
                }
                let mut a = p.as_path();
                loop {
                    a = match a.parent() {
                        Some(x) if x.as_os_str().is_empty() => Path::new("."),
                        Some(x) => x,
                        None => return Err("a missing path has no existing ancestor"),
                    };
                    let s = observe(a);
                    if !matches!(s, Seen::Fails(_)) {
                        extra.push((a.to_path_buf(), s));
                        break;
                    }
                }
            }
        }
        watched.extend(extra);
        // The output directory itself is watched by its entries instead (its times move
        // with every commit); if the walk read it, it must not have changed meanwhile.
        let mut walked_out = false;
        watched.retain(|(_, s)| {
            let out = s.ids().any(is_out);
            walked_out |= out;
            !out
        });
        watched.sort_by(|a, b| a.0.cmp(&b.0));
        watched.dedup_by(|a, b| a.0 == b.0);
        // By index in `watched`; the output directory is judged by its own listing
        // (artifacts left out), and is not in `watched`.
        let index = |v: Vec<(PathBuf, u64)>| -> Vec<(u32, u64)> {
            let mut v: Vec<(u32, u64)> = v
                .into_iter()
                .filter_map(|(p, h)| {
                    let i = watched.binary_search_by(|(q, _)| q.cmp(&p)).ok()?;
                    Some((i as u32, h))
                })
                .collect();
            v.sort_unstable();
            v.dedup_by_key(|e| e.0);
            v
        };
        let listings = index(listings);
        let images = index(seen.images);
        let record = RunRecord {
            key: self.key.clone(),
            watched,
            out_dir: OutDir {
                path: out_path.clone(),
                dev: out_st.st_dev,
                ino: out_st.st_ino,
                listing: 0,
            },
            probes: pre.probes,
            hashed: Vec::new(),
            images,
            listings,
            artifacts: seen.artifacts,
            output,
            modules: seen.modules,
        };
        if !record.trustworthy(self.run_start_ns) {
            return Err("an input changed too recently");
        }
        let (path, size, hash) = sound_cache(&self.cache_file).ok_or("no sound module cache")?;
        let record = RunRecord {
            hashed: vec![Hashed {
                path,
                size,
                hash,
                settled: None,
            }],
            ..record
        };
        let names = record.artifact_names();
        let filtered = |v: &[Vec<u8>]| -> Vec<Vec<u8>> {
            v.iter()
                .filter(|n| !names.iter().any(|a| a.as_bytes() == n.as_slice()))
                .cloned()
                .collect()
        };
        let pre_names = pre
            .names
            .ok_or("the output directory could not be listed")?;
        let post = list_names(&out_path).map_err(|_| "the output directory cannot be listed")?;
        if filtered(&pre_names) != filtered(&post) {
            return Err("the output directory's entries changed");
        }
        if walked_out {
            // Nothing in it changed between the run's start and the listing above.
            let same = pre
                .dir
                .ids()
                .any(|id| is_out(id) && !is_racy(id, self.run_start_ns));
            if !same {
                return Err("the output directory changed too recently");
            }
        }
        let listing = listing_hash(&out_path, &names).map_err(|_| "listing")?;
        Ok(RunRecord {
            out_dir: OutDir {
                listing,
                ..record.out_dir
            },
            ..record
        })
    }
}

/// The module cache file's size and hash, if it is whole (its own checksum holds): a
/// damaged one must not be recorded, or a re-run would not report it.
fn sound_cache(p: &Path) -> Option<(PathBuf, u64, u64)> {
    use crate::util::fs::{open_input, read_limited, Accept};
    let bytes = open_input(p, Accept::Regular)
        .and_then(|f| read_limited(f, "module cache", crate::cache::MAX_CACHE_SIZE))
        .ok()?;
    let body = bytes.len().checked_sub(8)?;
    let sum = u64::from_ne_bytes(bytes[body..].try_into().ok()?);
    let whole =
        bytes.starts_with(crate::cache::MAGIC) && xxhash_rust::xxh3::xxh3_64(&bytes[..body]) == sum;
    whole.then(|| {
        (
            p.to_path_buf(),
            bytes.len() as u64,
            xxhash_rust::xxh3::xxh3_64(&bytes),
        )
    })
}

fn list_names(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    use std::os::unix::ffi::OsStrExt;
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        v.push(e?.file_name().as_bytes().to_vec());
    }
    Ok(v)
}

/// What the output directory was before anything was staged in it.
struct Pre {
    dir: Seen,
    names: Option<Vec<Vec<u8>>>,
    probes: Vec<(PathBuf, String)>,
}

/// What a full run gathers for its record.
#[derive(Default)]
pub struct Observed {
    pre: Option<Pre>,
    watched: Vec<PathBuf>,
    walked_dirs: Vec<crate::load::walk::WalkedDir>,
    images: Vec<(PathBuf, u64)>,
    artifacts: Vec<Artifact>,
    modules: u64,
    unsure: bool,
    read_many: bool,
    racy_modules: bool,
}

impl Observed {
    /// Before the first artifact is staged (everything is read by now): the output
    /// directory's state and the probes.
    pub fn before_staging(&mut self, outdirname: &str, dirname: &str, symvers: bool) {
        let out = Path::new(outdirname);
        let probes = if symvers {
            let p = PathBuf::from(format!("{dirname}/modules.softdep"));
            let r = softdep_probe(&p);
            vec![(p, r)]
        } else {
            Vec::new()
        };
        self.pre = Some(Pre {
            dir: observe(out),
            names: list_names(out).ok(),
            probes,
        });
    }

    /// Once the artifacts are committed: every input path, and each artifact as written.
    #[allow(clippy::too_many_arguments)]
    pub fn after_commit(
        &mut self,
        args: &DepmodOptions,
        tree: &Tree,
        policy: &crate::policy::Policy,
        outdirname: &str,
        files: &[(&str, Vec<u8>)],
    ) {
        let dirname = &tree.dirname;
        self.unsure |= tree.inputs.walk_problems || tree.inputs.cache_problem;
        self.read_many = tree.inputs.modules_read > MAX_REREAD;
        // A module file changed too recently stops the record (see `Plan::record`):
        // nothing more is gathered for it.
        self.racy_modules = tree.inputs.racy_modules;
        if self.read_many || self.racy_modules {
            return;
        }
        self.walked_dirs = tree.inputs.walked_dirs.clone();
        let w = &mut self.watched;
        w.extend(self.walked_dirs.iter().map(|d| PathBuf::from(&d.path)));
        w.extend(
            tree.graph
                .modules
                .iter()
                .map(|m| PathBuf::from(&m.source.path)),
        );
        let images = tree
            .graph
            .modules
            .par_iter()
            .filter(|m| m.error.is_none())
            .map(|m| {
                (
                    PathBuf::from(&m.source.path),
                    crate::cache::image_hash(&m.image),
                )
            })
            .collect();
        self.images = images;
        self.modules = tree.graph.modules.len() as u64;
        let with_entries = |w: &mut Vec<PathBuf>, p: &Path| {
            w.push(p.to_path_buf());
            if let Ok(rd) = std::fs::read_dir(p) {
                w.extend(rd.flatten().map(|e| e.path()));
            }
        };
        for c in &tree.inputs.config {
            with_entries(w, c);
        }
        let base = args.basedir.as_deref().unwrap_or("").trim_end_matches('/');
        for d in [
            super::system::SHIPPED_POLICY_DIR,
            super::system::ADMIN_POLICY_DIR,
        ] {
            with_entries(w, Path::new(&format!("{base}{d}")));
        }
        w.extend(
            policy
                .sources
                .files
                .iter()
                .filter(|f| !f.in_memory)
                .map(|f| f.path.clone()),
        );
        w.extend(args.filesyms.iter().cloned());
        w.extend(args.symvers.iter().cloned());
        for f in [
            "modules.order",
            "modules.builtin",
            "modules.builtin.modinfo",
        ] {
            w.push(PathBuf::from(format!("{dirname}/{f}")));
        }
        if *dirname != outdirname {
            // libkmod parses it (its bad lines are reported); under -E its open result is
            // in a message. In the output directory it is an artifact, checked as such.
            w.push(PathBuf::from(format!("{dirname}/modules.softdep")));
        }
        let out = Path::new(outdirname);
        for (name, contents) in files {
            match Artifact::written(out, name, contents) {
                Some(a) => self.artifacts.push(a),
                None => self.unsure = true,
            }
        }
    }
}

/// A sink that passes everything on and keeps a copy, in order, for the record.
pub struct Tee<'a> {
    inner: &'a dyn Sink,
    kept: Mutex<Option<(usize, Output)>>,
}

impl<'a> Tee<'a> {
    /// A tee in front of `inner`.
    pub fn new(inner: &'a dyn Sink) -> Tee<'a> {
        Tee {
            inner,
            kept: Mutex::new(Some((0, Vec::new()))),
        }
    }

    fn keep(&self, s: Stream, b: &[u8]) {
        let mut k = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((n, v)) = k.as_mut() {
            *n += b.len();
            if *n > MAX_KEPT {
                *k = None;
            } else {
                match v.last_mut() {
                    Some((last, bytes)) if *last == s => bytes.extend_from_slice(b),
                    _ => v.push((s, b.to_vec())),
                }
            }
        }
    }

    /// What was kept (`None`: too much).
    pub fn into_kept(self) -> Option<Output> {
        self.kept
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .map(|(_, v)| v)
    }
}

impl Sink for Tee<'_> {
    fn stderr(&self, bytes: &[u8]) {
        self.inner.stderr(bytes);
        self.keep(Stream::Stderr, bytes);
    }
    fn stdout(&self, bytes: &[u8]) {
        self.inner.stdout(bytes);
        self.keep(Stream::Stdout, bytes);
    }
}
