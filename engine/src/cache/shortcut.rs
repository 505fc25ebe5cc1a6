//! The "nothing changed" shortcut: a record, beside a tree's module cache, of what one
//! `depmod` run's output depended on, what it wrote and what it printed, so that a re-run
//! that finds all of it unchanged prints the same and exits without reading the tree.
//!
//! A [`RunRecord`] holds:
//! - a **key**: every option and setting of the run, as bytes the caller composes (the
//!   command line's options, the kernel version, the paths, the working directory, the
//!   date, the modpolicy version); a re-run with another key does not use the record;
//! - the **watched paths**: each input file and directory, as [`observe`] sees it (the
//!   identity and metadata of the entry and, for a symbolic link, of its target; or the
//!   error `lstat` gives). A directory's modification and change times move whenever an
//!   entry is added, removed or renamed in it, so the walked directories stand for the
//!   set of module files, and each file's own times for its contents;
//! - the **output directory**: its device and inode and a hash of its entries' names in
//!   `readdir` order (the artifacts' names left out), since the run's own commit changes
//!   its times;
//! - **probes**: paths whose open result the output depends on (`modules.softdep` under
//!   `-E`), with the text it gave;
//! - the **artifacts** written: type, size, mode, owner and an XXH3-64 hash of the
//!   contents, all verified on a re-run (an artifact's times are too recent to trust when
//!   it is written: a later re-run that finds the contents unchanged and the times old
//!   enough *settles* the artifact's identity in the record, and from then on compares
//!   that instead of reading the contents; the same for the hashed files);
//! - the **images** of the module files (an XXH3-64 of what the loader read from each,
//!   [`super::image_hash`]) and the **listings** of the walked directories (a hash of
//!   their entries' names in `readdir` order): a module file whose identity changed but
//!   which, read again, gives the same image (a module reinstalled or rebuilt unchanged),
//!   and a directory whose times moved but whose entries are the same, change nothing in
//!   the output, so the re-run still holds (see [`RunRecord::check`]);
//! - the **output**: what the run wrote to its two streams, in order (it ended with
//!   exit status 0: only successful runs are recorded).
//!
//! Trust rests on change times, as the module cache's does: a watched identity is only
//! recorded when its change time is older than the start of the run by more than
//! [`super::RACY_WINDOW_NS`], which proves the file was not changed while the run read
//! it (any change, a rename included, sets the change time to the present). The caller
//! enforces that rule ([`RunRecord::trustworthy`]). The record is written atomically
//! (temporary and `rename`), checksummed, and any doubt reading it means a full run.

use super::{put_bytes, put_u64, FileId, Reader};
use rayon::prelude::*;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

/// The first bytes of a run record.
pub const MAGIC: &[u8; 8] = b"MPDRUN\0\0";
/// The record's layout; another one is ignored.
pub const FORMAT_VERSION: u32 = 2;
/// A record larger than this is not read.
pub const MAX_RECORD_SIZE: u64 = 256 << 20;

/// The record of the run that wrote the cache file `cache`: `CACHE.last-run`.
pub fn record_path(cache: &Path) -> PathBuf {
    let mut p = cache.as_os_str().to_owned();
    p.push(".last-run");
    PathBuf::from(p)
}

/// At most this many changed module files are read again by a check; with more (a tree
/// unpacked anew), a full run reads them through the module cache, which may know them
/// by their content hashes.
pub const MAX_REREAD: usize = 32;

/// What `lstat` (and `stat`, for a symbolic link) said about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not a symbolic link: its identity and metadata.
    Entry(FileId),
    /// A symbolic link: its own identity, and its target's (or the error `stat` gave).
    Link(FileId, Result<FileId, i32>),
    /// `lstat` failed with this `errno`.
    Fails(i32),
}

impl Seen {
    /// The identities in it (whose change times decide whether it can be trusted).
    pub fn ids(&self) -> impl Iterator<Item = &FileId> {
        let (a, b) = match self {
            Seen::Entry(i) => (Some(i), None),
            Seen::Link(l, t) => (Some(l), t.as_ref().ok()),
            Seen::Fails(_) => (None, None),
        };
        a.into_iter().chain(b)
    }
}

fn errno(e: rustix::io::Errno) -> i32 {
    e.raw_os_error()
}

/// Looks at `path` (see [`Seen`]).
pub fn observe(path: &Path) -> Seen {
    seen(rustix::fs::lstat(path), || rustix::fs::stat(path))
}

/// What an `lstat` result says, with `follow` (the `stat` of the same path) asked only
/// for a symbolic link.
fn seen(
    lstat: rustix::io::Result<rustix::fs::Stat>,
    follow: impl FnOnce() -> rustix::io::Result<rustix::fs::Stat>,
) -> Seen {
    match lstat {
        Err(e) => Seen::Fails(errno(e)),
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink =>
        {
            Seen::Link(
                FileId::from_stat(&st),
                follow().map(|t| FileId::from_stat(&t)).map_err(errno),
            )
        }
        Ok(st) => Seen::Entry(FileId::from_stat(&st)),
    }
}

/// The entries of `watched` that [`observe`] no longer sees as recorded, by index, with
/// what it sees now. Each path is `lstat`ed relative to its parent directory, opened once
/// for all its entries (one short lookup each instead of a walk down the whole path), or
/// on its own when it has no plain last component; only the changed ones are kept (no
/// copy of the whole list is made: this runs on every re-run).
pub fn observe_changed(watched: &[(PathBuf, Seen)]) -> Vec<(usize, Seen)> {
    observe_where(watched.len(), &|i| &watched[i].0, &|i, now| {
        *now != watched[i].1
    })
}

/// What [`observe`] sees of each of `paths`, in order, looked at as [`observe_changed`]
/// does (relative to each parent directory, opened once for all its entries).
pub fn observe_all(paths: &[PathBuf]) -> Vec<Seen> {
    observe_where(paths.len(), &|i| &paths[i], &|_, _| true)
        .into_iter()
        .map(|(_, s)| s)
        .collect()
}

/// What [`observe`] sees of the paths `path(0..n)` that `keep`, by index, in order.
fn observe_where<'p>(
    n: usize,
    path: &(dyn Fn(usize) -> &'p Path + Sync),
    keep: &(dyn Fn(usize, &Seen) -> bool + Sync),
) -> Vec<(usize, Seen)> {
    use rustix::fs::{AtFlags, Mode, OFlags};
    let mut groups: rustc_hash::FxHashMap<&Path, Vec<usize>> = Default::default();
    let mut alone = Vec::new();
    for i in 0..n {
        let p = path(i);
        match (p.parent(), p.file_name()) {
            // Only when the path ends in exactly that name (no `/` or `/.` after it).
            (Some(d), Some(n))
                if !d.as_os_str().is_empty()
                    && p.as_os_str().as_bytes().ends_with(n.as_bytes()) =>
            {
                groups.entry(d).or_default().push(i)
            }
            _ => alone.push(i),
        }
    }
    let at = |dir: &rustix::fd::OwnedFd, name: &OsStr| -> Seen {
        seen(
            rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW),
            || rustix::fs::statat(dir, name, AtFlags::empty()),
        )
    };
    let groups: Vec<(&Path, Vec<usize>)> = groups.into_iter().collect();
    let mut kept: Vec<(usize, Seen)> = groups
        .par_iter()
        .flat_map_iter(|(d, idx)| {
            let dir = rustix::fs::open(
                *d,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
            idx.iter()
                .filter_map(|&i| {
                    let p = path(i);
                    let now = match (&dir, p.file_name()) {
                        (Ok(dir), Some(n)) => at(dir, n),
                        _ => observe(p),
                    };
                    keep(i, &now).then_some((i, now))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    kept.extend(alone.into_iter().filter_map(|i| {
        let now = observe(path(i));
        keep(i, &now).then_some((i, now))
    }));
    kept.sort_unstable_by_key(|e| e.0);
    kept
}

/// Hashes the names of `dir`'s entries, in `readdir` order, leaving out `skip`: equal
/// hashes mean the same entries in the same order (what a walk depends on).
pub fn listing_hash(dir: &Path, skip: &[String]) -> io::Result<u64> {
    let mut h = crate::load::walk::ListingHash::default();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name();
        let b = name.as_bytes();
        if skip.iter().any(|s| s.as_bytes() == b) {
            continue;
        }
        h.add(b);
    }
    Ok(h.finish())
}

/// An artifact as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Its name in the output directory.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// `st_mode` (type and permissions).
    pub mode: u32,
    /// `st_uid`.
    pub uid: u32,
    /// `st_gid`.
    pub gid: u32,
    /// XXH3-64 of its contents.
    pub hash: u64,
    /// Its identity once a re-run found the contents unchanged and the identity older
    /// than the racy window: from then on, an equal identity stands for the contents.
    pub settled: Option<FileId>,
}

/// Whether a file still is as recorded: `None` if it changed; otherwise the identity to
/// settle in the record, if there is a new one to trust.
type Held = Option<Option<FileId>>;

impl Artifact {
    /// Whether `dir/name` is still this artifact, contents included (see [`Held`]).
    fn holds(&self, dir: &Path, now_ns: i128) -> Held {
        let p = dir.join(&self.name);
        let st = rustix::fs::lstat(&p).ok()?;
        if st.st_size as u64 != self.size
            || st.st_mode != self.mode
            || st.st_uid != self.uid
            || st.st_gid != self.gid
        {
            return None;
        }
        verify(&p, &st, self.settled, self.size, self.hash, now_ns)
    }

    /// Describes `dir/name`, written with `contents` (`None` if it cannot be `lstat`ed).
    pub fn written(dir: &Path, name: &str, contents: &[u8]) -> Option<Artifact> {
        let st = rustix::fs::lstat(dir.join(name)).ok()?;
        Some(Artifact {
            name: name.to_string(),
            size: contents.len() as u64,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            hash: xxh3_64(contents),
            settled: None,
        })
    }
}

/// After `p`'s contents were verified with `lstat` identity `id` taken before: `id`, if
/// it is older than the racy window and `p` still has it (so that the contents read are
/// the ones it stands for).
fn settle(p: &Path, id: FileId, now_ns: i128) -> Option<FileId> {
    let again = rustix::fs::lstat(p).ok().map(|st| FileId::from_stat(&st));
    (!super::is_racy(&id, now_ns) && again == Some(id)).then_some(id)
}

/// Whether the file `p`, `lstat`ed as `st`, still has the recorded contents (`size`
/// bytes hashing to `hash`): by its settled identity if it has it, else by reading it
/// (see [`Held`]).
fn verify(
    p: &Path,
    st: &rustix::fs::Stat,
    settled: Option<FileId>,
    size: u64,
    hash: u64,
    now_ns: i128,
) -> Held {
    let id = FileId::from_stat(st);
    if settled == Some(id) {
        return Some(None);
    }
    (content_hash(p, size)? == hash).then_some(())?;
    Some(settle(p, id, now_ns))
}

/// A file checked by its contents (see [`RunRecord::hashed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Its path.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// XXH3-64 of its contents.
    pub hash: u64,
    /// Its settled identity (see [`Artifact::settled`]).
    pub settled: Option<FileId>,
}

impl Hashed {
    fn holds(&self, now_ns: i128) -> Held {
        let st = rustix::fs::lstat(&self.path).ok()?;
        verify(&self.path, &st, self.settled, self.size, self.hash, now_ns)
    }
}

/// What a re-run's check needs besides the record.
pub struct Checker<'a> {
    /// The open result of a probed path, as text.
    pub probe: &'a (dyn Fn(&Path) -> String + Sync),
    /// The [`super::image_hash`] of the module file at a path, read again as the run
    /// would read it; `None` if it cannot be read.
    pub image_hash: &'a (dyn Fn(&Path) -> Option<u64> + Sync),
    /// When the check started, in nanoseconds since the epoch (for the racy window).
    pub now_ns: i128,
}

/// How a re-run's check ended.
#[derive(Debug)]
pub enum Verdict {
    /// Something the output depends on changed: a full run.
    Changed,
    /// The output would be the recorded one. `refreshed`: the record with identities
    /// settled or brought up to date, to write back (so that the next check is cheaper).
    Holds {
        /// The record to write back, if anything in it can be updated.
        refreshed: Option<Box<RunRecord>>,
        /// How many module files were read again (and gave their recorded images).
        reread: usize,
    },
}

/// The output directory as the run left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDir {
    /// Its path.
    pub path: PathBuf,
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// [`listing_hash`] of it, the artifacts' names left out.
    pub listing: u64,
}

/// Which stream a piece of output went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard error (messages).
    Stderr,
    /// Standard output (`-v` lines).
    Stdout,
}

/// What a run printed: each stretch of bytes and the stream it went to, in order.
pub type Output = Vec<(Stream, Vec<u8>)>;

/// One run's record (see the module's header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's options and settings.
    pub key: Vec<u8>,
    /// Each input path and what it was.
    pub watched: Vec<(PathBuf, Seen)>,
    /// The output directory.
    pub out_dir: OutDir,
    /// Paths whose open result the output depends on, with that result's text.
    pub probes: Vec<(PathBuf, String)>,
    /// Files checked by their contents (the module cache, whose damage a full run would
    /// report).
    pub hashed: Vec<Hashed>,
    /// The image hash of each module file read without error, by its index in
    /// `watched`, in increasing order.
    pub images: Vec<(u32, u64)>,
    /// The listing hash (all names, `readdir` order) of each walked directory but the
    /// output directory, by its index in `watched`, in increasing order.
    pub listings: Vec<(u32, u64)>,
    /// The artifacts written.
    pub artifacts: Vec<Artifact>,
    /// What the run printed, in order.
    pub output: Output,
    /// How many module files the run took into account (for diagnostics).
    pub modules: u64,
}

impl RunRecord {
    /// Whether every watched identity changed before `run_start_ns` by more than the
    /// racy window (so that nothing watched changed while the run read it), and no
    /// watched path has a target `stat` could not resolve.
    pub fn trustworthy(&self, run_start_ns: i128) -> bool {
        self.watched.iter().all(|(_, s)| {
            !matches!(s, Seen::Link(_, Err(_)))
                && s.ids().all(|id| !super::is_racy(id, run_start_ns))
        })
    }

    /// Whether a re-run's output would be the recorded one: the output directory's
    /// identity and entries, each probe (through `c.probe`), the hashed files and every
    /// artifact's contents as recorded, and every watched path as recorded, or changed
    /// in a way that changes nothing: a module file that, read again
    /// (`c.image_hash`), gives the recorded image, and a walked directory whose entries
    /// are the recorded ones (each seen with the same identity before and after).
    pub fn check(&self, c: &Checker<'_>) -> Verdict {
        let out = &self.out_dir;
        let dir_ok = rustix::fs::stat(&out.path)
            .is_ok_and(|st| st.st_dev == out.dev && st.st_ino == out.ino)
            && listing_hash(&out.path, &self.artifact_names()).is_ok_and(|h| h == out.listing);
        if !dir_ok || !self.probes.iter().all(|(p, r)| (c.probe)(p) == *r) {
            tracing::trace!(dir_ok, "shortcut: the output directory or a probe changed");
            return Verdict::Changed;
        }
        // The watched paths that changed, and whether each changed harmlessly (with the
        // new identity to record, if it can be trusted).
        let changed = observe_changed(&self.watched);
        let changed_modules = changed
            .iter()
            .filter(|(i, _)| {
                self.images
                    .binary_search_by_key(&(*i as u32), |(j, _)| *j)
                    .is_ok()
            })
            .count();
        if changed_modules > MAX_REREAD {
            tracing::trace!(changed_modules, "shortcut: too many module files changed");
            return Verdict::Changed;
        }
        let reread = std::sync::atomic::AtomicUsize::new(0);
        let watched: Option<Vec<(usize, Option<Seen>)>> = changed
            .into_par_iter()
            .map(|(i, now)| {
                let (p, s) = &self.watched[i];
                let harmless = self.harmless(i as u32, p, s, now, c, &reread);
                if !harmless {
                    tracing::trace!(path = %p.display(), "shortcut: changed");
                }
                harmless.then(|| {
                    let settled = now.ids().all(|id| !super::is_racy(id, c.now_ns));
                    (i, settled.then_some(now))
                })
            })
            .collect();
        let Some(watched) = watched else {
            return Verdict::Changed;
        };
        let hashed: Option<Vec<Option<FileId>>> =
            self.hashed.iter().map(|h| h.holds(c.now_ns)).collect();
        let Some(hashed) = hashed else {
            tracing::trace!("shortcut: the module cache changed");
            return Verdict::Changed;
        };
        let artifacts: Option<Vec<Option<FileId>>> = self
            .artifacts
            .iter()
            .map(|a| a.holds(&out.path, c.now_ns))
            .collect();
        let Some(artifacts) = artifacts else {
            tracing::trace!("shortcut: an artifact changed");
            return Verdict::Changed;
        };
        let changed = watched.iter().any(|w| w.1.is_some())
            || hashed.iter().any(Option::is_some)
            || artifacts.iter().any(Option::is_some);
        let refreshed = changed.then(|| {
            let mut r = self.clone();
            for (i, new) in watched {
                if let Some(new) = new {
                    r.watched[i].1 = new;
                }
            }
            for (h, new) in r.hashed.iter_mut().zip(hashed) {
                h.settled = new.or(h.settled);
            }
            for (a, new) in r.artifacts.iter_mut().zip(artifacts) {
                a.settled = new.or(a.settled);
            }
            Box::new(r)
        });
        Verdict::Holds {
            refreshed,
            reread: reread.into_inner(),
        }
    }

    /// Whether watched path `p`, recorded as `was` and now `now`, changed in a way that
    /// changes nothing in the output (see [`RunRecord::check`]).
    fn harmless(
        &self,
        i: u32,
        p: &Path,
        was: &Seen,
        now: Seen,
        c: &Checker<'_>,
        reread: &std::sync::atomic::AtomicUsize,
    ) -> bool {
        // Only plain entries, before and after: a symbolic link is judged by identity.
        if !matches!((was, now), (Seen::Entry(_), Seen::Entry(_))) {
            return false;
        }
        let find = |v: &[(u32, u64)]| v.binary_search_by_key(&i, |(j, _)| *j).ok().map(|k| v[k].1);
        let same = if let Some(h) = find(&self.images) {
            reread.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (c.image_hash)(p) == Some(h)
        } else if let Some(h) = find(&self.listings) {
            listing_hash(p, &[]).is_ok_and(|l| l == h)
        } else {
            false
        };
        same && observe(p) == now
    }

    /// The artifacts' names.
    pub fn artifact_names(&self) -> Vec<String> {
        self.artifacts.iter().map(|a| a.name.clone()).collect()
    }

    /// The record as bytes, with a trailing XXH3-64 checksum.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(64 + self.watched.len() * 128);
        o.extend_from_slice(MAGIC);
        o.extend_from_slice(&FORMAT_VERSION.to_ne_bytes());
        put_bytes(&mut o, &self.key);
        let d = &self.out_dir;
        put_bytes(&mut o, d.path.as_os_str().as_bytes());
        put_u64(&mut o, d.dev);
        put_u64(&mut o, d.ino);
        put_u64(&mut o, d.listing);
        put_u64(&mut o, self.watched.len() as u64);
        for (p, s) in &self.watched {
            put_bytes(&mut o, p.as_os_str().as_bytes());
            match s {
                Seen::Entry(i) => {
                    o.push(0);
                    put_id(&mut o, i);
                }
                Seen::Link(l, Ok(t)) => {
                    o.push(1);
                    put_id(&mut o, l);
                    put_id(&mut o, t);
                }
                Seen::Link(l, Err(e)) => {
                    o.push(2);
                    put_id(&mut o, l);
                    o.extend_from_slice(&e.to_ne_bytes());
                }
                Seen::Fails(e) => {
                    o.push(3);
                    o.extend_from_slice(&e.to_ne_bytes());
                }
            }
        }
        put_u64(&mut o, self.probes.len() as u64);
        for (p, r) in &self.probes {
            put_bytes(&mut o, p.as_os_str().as_bytes());
            put_bytes(&mut o, r.as_bytes());
        }
        put_u64(&mut o, self.hashed.len() as u64);
        for h in &self.hashed {
            put_bytes(&mut o, h.path.as_os_str().as_bytes());
            put_u64(&mut o, h.size);
            put_u64(&mut o, h.hash);
            put_settled(&mut o, &h.settled);
        }
        for v in [&self.images, &self.listings] {
            put_u64(&mut o, v.len() as u64);
            for (i, h) in v {
                o.extend_from_slice(&i.to_ne_bytes());
                put_u64(&mut o, *h);
            }
        }
        put_u64(&mut o, self.artifacts.len() as u64);
        for a in &self.artifacts {
            put_bytes(&mut o, a.name.as_bytes());
            put_u64(&mut o, a.size);
            o.extend_from_slice(&a.mode.to_ne_bytes());
            o.extend_from_slice(&a.uid.to_ne_bytes());
            o.extend_from_slice(&a.gid.to_ne_bytes());
            put_u64(&mut o, a.hash);
            put_settled(&mut o, &a.settled);
        }
        put_u64(&mut o, self.modules);
        put_u64(&mut o, self.output.len() as u64);
        for (s, b) in &self.output {
            o.push(matches!(s, Stream::Stdout) as u8);
            put_bytes(&mut o, b);
        }
        let sum = xxh3_64(&o);
        o.extend_from_slice(&sum.to_ne_bytes());
        o
    }

    /// Reads a record's bytes; `None` for anything but a whole record of this format.
    pub fn decode(bytes: &[u8]) -> Option<RunRecord> {
        let body = bytes.len().checked_sub(8)?;
        let sum = u64::from_ne_bytes(bytes[body..].try_into().ok()?);
        if bytes.len() < MAGIC.len() + 4
            || &bytes[..MAGIC.len()] != MAGIC
            || xxh3_64(&bytes[..body]) != sum
        {
            return None;
        }
        let mut r = Reader {
            b: &bytes[..body],
            pos: MAGIC.len(),
        };
        if r.u32()? != FORMAT_VERSION {
            return None;
        }
        let path = |r: &mut Reader<'_>| -> Option<PathBuf> {
            Some(PathBuf::from(OsStr::from_bytes(r.bytes()?)))
        };
        let key = r.bytes()?.to_vec();
        let out_dir = OutDir {
            path: path(&mut r)?,
            dev: r.u64()?,
            ino: r.u64()?,
            listing: r.u64()?,
        };
        // Counts are bounded by what the bytes can hold before anything is reserved.
        let count = |r: &mut Reader<'_>| -> Option<usize> {
            let n = r.u64()?;
            (n <= r.b.len() as u64).then_some(n as usize)
        };
        let n = count(&mut r)?;
        let mut watched = Vec::with_capacity(n);
        for _ in 0..n {
            let p = path(&mut r)?;
            let s = match r.u8()? {
                0 => Seen::Entry(get_id(&mut r)?),
                1 => Seen::Link(get_id(&mut r)?, Ok(get_id(&mut r)?)),
                2 => Seen::Link(get_id(&mut r)?, Err(r.u32()? as i32)),
                3 => Seen::Fails(r.u32()? as i32),
                _ => return None,
            };
            watched.push((p, s));
        }
        let n = count(&mut r)?;
        let mut probes = Vec::with_capacity(n);
        for _ in 0..n {
            let p = path(&mut r)?;
            let t = String::from_utf8(r.bytes()?.to_vec()).ok()?;
            probes.push((p, t));
        }
        let n = count(&mut r)?;
        let mut hashed = Vec::with_capacity(n);
        for _ in 0..n {
            hashed.push(Hashed {
                path: path(&mut r)?,
                size: r.u64()?,
                hash: r.u64()?,
                settled: get_settled(&mut r)?,
            });
        }
        let n_watched = watched.len();
        let mut sorted = || -> Option<Vec<(u32, u64)>> {
            let n = count(&mut r)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push((r.u32()?, r.u64()?));
            }
            // Looked up by binary search: out of order, or past `watched`, is damage.
            let ordered = v.windows(2).all(|w| w[0].0 < w[1].0);
            (ordered && v.last().is_none_or(|l| (l.0 as usize) < n_watched)).then_some(v)
        };
        let images = sorted()?;
        let listings = sorted()?;
        let n = count(&mut r)?;
        let mut artifacts = Vec::with_capacity(n);
        for _ in 0..n {
            artifacts.push(Artifact {
                name: String::from_utf8(r.bytes()?.to_vec()).ok()?,
                size: r.u64()?,
                mode: r.u32()?,
                uid: r.u32()?,
                gid: r.u32()?,
                hash: r.u64()?,
                settled: get_settled(&mut r)?,
            });
        }
        let modules = r.u64()?;
        let n = count(&mut r)?;
        let mut output = Vec::with_capacity(n);
        for _ in 0..n {
            let s = match r.u8()? {
                0 => Stream::Stderr,
                1 => Stream::Stdout,
                _ => return None,
            };
            output.push((s, r.bytes()?.to_vec()));
        }
        (r.pos == r.b.len()).then_some(RunRecord {
            key,
            watched,
            out_dir,
            probes,
            hashed,
            images,
            listings,
            artifacts,
            output,
            modules,
        })
    }

    /// Reads the record at `path`: `None` if there is none or it is not whole.
    pub fn read(path: &Path) -> Option<RunRecord> {
        use crate::util::fs::{open_input, read_limited, Accept};
        let bytes = open_input(path, Accept::Regular)
            .and_then(|f| read_limited(f, "run record", MAX_RECORD_SIZE))
            .ok()?;
        RunRecord::decode(&bytes)
    }

    /// Writes the record to `path` atomically (a temporary, then `rename`).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        super::write_file(path, &self.encode())
    }
}

/// XXH3-64 of the regular file `p`, if it has `size` bytes (read up to one more).
pub fn content_hash(p: &Path, size: u64) -> Option<u64> {
    use crate::util::fs::{open_input, read_limited, Accept};
    let bytes = open_input(p, Accept::Regular)
        .and_then(|f| read_limited(f, "file", size.saturating_add(1)))
        .ok()?;
    (bytes.len() as u64 == size).then(|| xxh3_64(&bytes))
}

fn put_id(o: &mut Vec<u8>, id: &FileId) {
    put_u64(o, id.dev);
    put_u64(o, id.ino);
    put_u64(o, id.size);
    super::put_i128(o, id.mtime_ns);
    super::put_i128(o, id.ctime_ns);
}

fn put_settled(o: &mut Vec<u8>, id: &Option<FileId>) {
    match id {
        Some(id) => {
            o.push(1);
            put_id(o, id);
        }
        None => o.push(0),
    }
}

fn get_settled(r: &mut Reader<'_>) -> Option<Option<FileId>> {
    match r.u8()? {
        0 => Some(None),
        1 => Some(Some(get_id(r)?)),
        _ => None,
    }
}

fn get_id(r: &mut Reader<'_>) -> Option<FileId> {
    Some(FileId {
        dev: r.u64()?,
        ino: r.u64()?,
        size: r.u64()?,
        mtime_ns: r.i128()?,
        ctime_ns: r.i128()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RunRecord {
        /// Whether the world still is as recorded (see [`RunRecord::check`]), with no
        /// module file read again.
        fn holds(&self, probe: &(dyn Fn(&Path) -> String + Sync)) -> bool {
            let c = Checker {
                probe,
                image_hash: &|_| None,
                // Nothing is old enough to settle.
                now_ns: 0,
            };
            matches!(self.check(&c), Verdict::Holds { .. })
        }
    }

    fn record(dir: &Path) -> RunRecord {
        let input = dir.join("input");
        std::fs::write(&input, b"in").unwrap();
        std::fs::write(dir.join("modules.dep"), b"dep").unwrap();
        let names = vec!["modules.dep".to_string()];
        let st = rustix::fs::stat(dir).unwrap();
        RunRecord {
            key: b"key".to_vec(),
            watched: vec![
                (input.clone(), observe(&input)),
                (dir.join("missing"), observe(&dir.join("missing"))),
            ],
            out_dir: OutDir {
                path: dir.to_path_buf(),
                dev: st.st_dev,
                ino: st.st_ino,
                listing: listing_hash(dir, &names).unwrap(),
            },
            probes: vec![(dir.join("p"), "Success".into())],
            hashed: vec![Hashed {
                path: input.clone(),
                size: 2,
                hash: xxh3_64(b"in"),
                settled: None,
            }],
            images: vec![(0, 1)],
            listings: vec![(1, 3)],
            artifacts: vec![Artifact::written(dir, "modules.dep", b"dep").unwrap()],
            output: vec![
                (Stream::Stderr, b"warning\n".to_vec()),
                (Stream::Stdout, b"x\n".to_vec()),
            ],
            modules: 7,
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let t = tempfile::tempdir().unwrap();
        let r = record(t.path());
        let bytes = r.encode();
        assert_eq!(RunRecord::decode(&bytes), Some(r));
        for cut in 0..bytes.len() {
            assert!(RunRecord::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 4;
            assert!(RunRecord::decode(&b).is_none(), "byte {i}");
        }
    }

    #[test]
    fn holds_until_anything_changes() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let r = record(d);
        let ok = |_: &Path| "Success".to_string();
        assert!(r.holds(&ok));
        assert!(!r.holds(&|_: &Path| "No such file or directory".to_string()));
        // An artifact edited in place with its size kept.
        std::fs::write(d.join("modules.dep"), b"deq").unwrap();
        assert!(!r.holds(&ok));
        let r = record(d);
        // A new entry in the output directory.
        std::fs::write(d.join("new.ko"), b"").unwrap();
        assert!(!r.holds(&ok));
        let r = record(d);
        // A watched path that appears.
        std::fs::write(d.join("missing"), b"").unwrap();
        assert!(!r.holds(&ok));
        let r = record(d);
        // A watched file rewritten (a new change time).
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(d.join("input"), b"in").unwrap();
        assert!(!r.holds(&ok));
        let r = record(d);
        std::fs::remove_file(d.join("modules.dep")).unwrap();
        assert!(!r.holds(&ok));
    }

    /// A record of a module file `m/a.ko` (image hash 7) in the walked directory `m`.
    fn module_record(d: &Path) -> RunRecord {
        let m = d.join("m");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("a.ko"), b"module").unwrap();
        let mut r = record(d);
        r.watched = vec![
            (m.clone(), observe(&m)),
            (m.join("a.ko"), observe(&m.join("a.ko"))),
        ];
        r.listings = vec![(0, listing_hash(&m, &[]).unwrap())];
        r.images = vec![(1, 7)];
        r
    }

    #[test]
    fn harmless_changes_hold_and_settle() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let m = d.join("m");
        let ok = |_: &Path| "Success".to_string();
        let image = |p: &Path| {
            std::fs::read(p)
                .ok()
                .map(|b| if b == b"module" { 7 } else { 8 })
        };
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i128
        };
        let check = |r: &RunRecord, now_ns: i128| {
            r.check(&Checker {
                probe: &ok,
                image_hash: &image,
                now_ns,
            })
        };
        let r = module_record(d);
        assert!(matches!(
            check(&r, now()),
            Verdict::Holds {
                refreshed: None,
                ..
            }
        ));
        // Reinstalled: a new inode and times, the same image, the directory's times moved.
        std::fs::write(m.join("tmp"), b"module").unwrap();
        std::fs::rename(m.join("tmp"), m.join("a.ko")).unwrap();
        assert!(
            !r.holds(&ok),
            "without reading it again, a change is a change"
        );
        // Recent: holds, nothing to settle yet.
        assert!(matches!(
            check(&r, now()),
            Verdict::Holds {
                refreshed: None,
                reread: 1
            }
        ));
        // Later: the new identities and the artifact's and hashed file's are settled.
        let Verdict::Holds {
            refreshed: Some(r2),
            ..
        } = check(&r, now() + 60_000_000_000)
        else {
            panic!("expected a refreshed record");
        };
        assert_eq!(r2.watched[0].1, observe(&m));
        assert_eq!(r2.watched[1].1, observe(&m.join("a.ko")));
        assert!(r2.artifacts[0].settled.is_some() && r2.hashed[0].settled.is_some());
        assert!(
            r2.holds(&ok),
            "the refreshed record holds by identity alone"
        );
        assert_eq!(RunRecord::decode(&r2.encode()), Some(*r2.clone()));
        // Another image: changed.
        std::fs::write(m.join("a.ko"), b"other!").unwrap();
        assert!(matches!(check(&r2, now()), Verdict::Changed));
        // A new entry in a walked directory: changed, whatever it is.
        let r = module_record(d);
        std::fs::write(m.join("b.txt"), b"").unwrap();
        assert!(matches!(check(&r, now()), Verdict::Changed));
        // An entry added and removed again: the same listing.
        std::fs::remove_file(m.join("b.txt")).unwrap();
        let r = module_record(d);
        std::fs::write(m.join("c.txt"), b"").unwrap();
        std::fs::remove_file(m.join("c.txt")).unwrap();
        assert!(matches!(check(&r, now()), Verdict::Holds { .. }));
        // A settled artifact edited (new times): read, and found changed.
        std::fs::write(d.join("modules.dep"), b"deq").unwrap();
        assert!(matches!(check(&r2, now()), Verdict::Changed));
        // A module file replaced by a symbolic link to the same bytes: judged by identity.
        let r = module_record(d);
        std::fs::write(d.join("elsewhere"), b"module").unwrap();
        std::fs::remove_file(m.join("a.ko")).unwrap();
        std::os::unix::fs::symlink(d.join("elsewhere"), m.join("a.ko")).unwrap();
        assert!(matches!(check(&r, now()), Verdict::Changed));
    }

    #[test]
    fn observe_changed_and_observe_all_agree_with_observe() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir(d.join("dir")).unwrap();
        std::fs::write(d.join("dir/f"), b"x").unwrap();
        std::os::unix::fs::symlink(d.join("dir"), d.join("link")).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        let paths: Vec<PathBuf> = [
            "dir",
            "dir/f",
            "dir/",
            "dir/.",
            "link",
            "link/",
            "link/f",
            "dangling",
            "missing",
            "missing/f",
            "dir/f/g",
            "",
        ]
        .iter()
        .map(|p| d.join(p))
        .chain([
            PathBuf::from("."),
            PathBuf::from("/"),
            PathBuf::from("relative"),
        ])
        .collect();
        // Recorded as `observe` sees them: nothing changed.
        let recorded: Vec<(PathBuf, Seen)> =
            paths.iter().map(|p| (p.clone(), observe(p))).collect();
        assert_eq!(observe_changed(&recorded), vec![]);
        // Recorded as something else: each is reported, with what `observe` sees.
        let wrong: Vec<(PathBuf, Seen)> = paths
            .iter()
            .map(|p| (p.clone(), Seen::Fails(libc::EPERM)))
            .collect();
        let want: Vec<(usize, Seen)> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (i, observe(p)))
            .collect();
        assert_eq!(observe_changed(&wrong), want);
        // All of them, in order, as `observe` sees them.
        let all: Vec<Seen> = want.into_iter().map(|(_, s)| s).collect();
        assert_eq!(observe_all(&paths), all);
    }

    #[test]
    fn recent_changes_are_not_trusted() {
        let t = tempfile::tempdir().unwrap();
        let r = record(t.path());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        assert!(!r.trustworthy(now));
        assert!(r.trustworthy(now + 60_000_000_000));
    }
}
