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
//!   contents, all verified on a re-run (an artifact's times are always too recent to
//!   trust);
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
pub const FORMAT_VERSION: u32 = 1;
/// A record larger than this is not read.
pub const MAX_RECORD_SIZE: u64 = 256 << 20;

/// The record of the run that wrote the cache file `cache`: `CACHE.last-run`.
pub fn record_path(cache: &Path) -> PathBuf {
    let mut p = cache.as_os_str().to_owned();
    p.push(".last-run");
    PathBuf::from(p)
}

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
    match rustix::fs::lstat(path) {
        Err(e) => Seen::Fails(errno(e)),
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink =>
        {
            Seen::Link(
                FileId::from_stat(&st),
                rustix::fs::stat(path)
                    .map(|t| FileId::from_stat(&t))
                    .map_err(errno),
            )
        }
        Ok(st) => Seen::Entry(FileId::from_stat(&st)),
    }
}

/// Hashes the names of `dir`'s entries, in `readdir` order, leaving out `skip`: equal
/// hashes mean the same entries in the same order (what a walk depends on).
pub fn listing_hash(dir: &Path, skip: &[String]) -> io::Result<u64> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for e in std::fs::read_dir(dir)? {
        let name = e?.file_name();
        let b = name.as_bytes();
        if skip.iter().any(|s| s.as_bytes() == b) {
            continue;
        }
        h.update(b);
        h.update(&[0]);
    }
    Ok(h.digest())
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
}

impl Artifact {
    /// Whether `dir/name` is still this artifact, contents included.
    fn holds(&self, dir: &Path) -> bool {
        let p = dir.join(&self.name);
        let Ok(st) = rustix::fs::lstat(&p) else {
            return false;
        };
        if st.st_size as u64 != self.size
            || st.st_mode != self.mode
            || st.st_uid != self.uid
            || st.st_gid != self.gid
        {
            return false;
        }
        use crate::util::fs::{open_input, read_limited, Accept};
        let Ok(bytes) = open_input(&p, Accept::Regular)
            .and_then(|f| read_limited(f, "artifact", self.size.saturating_add(1)))
        else {
            return false;
        };
        bytes.len() as u64 == self.size && xxh3_64(&bytes) == self.hash
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
        })
    }
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
    /// report, and which the run itself may just have written): size and XXH3-64.
    pub hashed: Vec<(PathBuf, u64, u64)>,
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

    /// Whether the world still is as recorded: every watched path, the output directory's
    /// identity and entries, each probe (through `probe`) and every artifact's contents.
    pub fn holds(&self, probe: &(dyn Fn(&Path) -> String + Sync)) -> bool {
        let out = &self.out_dir;
        let dir_ok = rustix::fs::stat(&out.path)
            .is_ok_and(|st| st.st_dev == out.dev && st.st_ino == out.ino)
            && listing_hash(&out.path, &self.artifact_names()).is_ok_and(|h| h == out.listing);
        dir_ok
            && self
                .watched
                .par_iter()
                .with_min_len(64)
                .all(|(p, s)| observe(p) == *s)
            && self.probes.iter().all(|(p, r)| probe(p) == *r)
            && self
                .hashed
                .iter()
                .all(|(p, size, hash)| content_hash(p, *size) == Some(*hash))
            && self
                .artifacts
                .par_iter()
                .all(|a| a.holds(&self.out_dir.path))
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
        for (p, size, hash) in &self.hashed {
            put_bytes(&mut o, p.as_os_str().as_bytes());
            put_u64(&mut o, *size);
            put_u64(&mut o, *hash);
        }
        put_u64(&mut o, self.artifacts.len() as u64);
        for a in &self.artifacts {
            put_bytes(&mut o, a.name.as_bytes());
            put_u64(&mut o, a.size);
            o.extend_from_slice(&a.mode.to_ne_bytes());
            o.extend_from_slice(&a.uid.to_ne_bytes());
            o.extend_from_slice(&a.gid.to_ne_bytes());
            put_u64(&mut o, a.hash);
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
            hashed.push((path(&mut r)?, r.u64()?, r.u64()?));
        }
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
            hashed: vec![(input.clone(), 2, xxh3_64(b"in"))],
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
