//! The module cache: what each module file of a tree said when it was last read, so that
//! a `depmod` re-run reads (and decompresses) only the module files that are new or
//! changed.
//!
//! One file per tree, read whole at the start of a run and rewritten (a temporary file,
//! then `rename`) when that gains something (the caller decides: see
//! `job::tree::load_tree_cached`). It holds a header (magic, format version, the
//! modpolicy version, the architecture and byte order, the tree it describes and the
//! module size limit in force, whether it is a local or a shipped cache), one record per
//! module file and, last, an XXH3-64 checksum of everything before it. A record holds the
//! file's path (relative to the module directory, or absolute for an external one), its
//! identity and metadata (device, inode, size, modification and change times in
//! nanoseconds) and whether they may be trusted, its content hash when known (XXH3-128 of
//! the file's bytes as stored: the compressed bytes of a `.ko.xz`), and the loader's
//! output for it ([`ModuleImage`]: exports with CRCs, licence class and namespace,
//! imports with their `__versions` CRCs, `.modinfo`; a symbol name's length takes one
//! byte below 255, a CRC four bytes when it fits, as they all do, none when it is 0).
//!
//! A record is reused when the file's identity and metadata all match ([`Cache::lookup`]),
//! or, whatever its identity, when the file has the record's size and content hash
//! ([`Cache::lookup_content`]: the caller reads the file's bytes and hashes them, which
//! for a compressed module costs a small fraction of decompressing it). The identity of a
//! file whose change time is within [`RACY_WINDOW_NS`] of the start of the run that read
//! it is not trusted: a second change within one tick of the file system's clock would
//! leave its metadata as it was (git's "racily clean" problem); such a record is kept
//! for its content hash alone, or left out when it has none. A module that could not be
//! read is never recorded.
//!
//! **Shipped caches** ([`SHIPPED_NAME`], inside the module directory): written where the
//! modules were built (`modpolicy depmod --write-shipped-cache`) and shipped with them,
//! so that the first run on a freshly unpacked tree (new inodes and change times: no
//! identity matches) verifies hashes instead of decompressing. Such a cache holds no
//! identities (a build machine's mean nothing on the target), only sizes, content hashes
//! and images; its tree path is not checked (it was built elsewhere). A run only reads
//! it: it is replaced with the package that ships it, and a record whose file changed is
//! simply not used.
//!
//! Damage never hurts a run: a cache that is truncated, fails its checksum, was written
//! by another format, modpolicy version, architecture or byte order, or cannot be read,
//! is ignored (the caller prints [`Opened::problem`] once) and rewritten. Two runs at once
//! are safe: each writes its own temporary and renames it (the last one wins; both are
//! whole). A failure to write costs only speed. The cache is not flushed to disk: after
//! a crash a damaged file fails its checksum and is rebuilt.
//!
//! This module knows the loader's output types and file metadata; it knows nothing of
//! the graph, the policy or the artifacts, and it does not decide where the cache lives
//! beyond [`default_dir`] and [`file_name`].

pub mod shortcut;

use crate::load::elf::{Export, ExportKind, Import, Modinfo, ModuleImage, Name};
use rustc_hash::FxHashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

/// The first bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"MPDMODC\0";
/// The layout of records. Bump it whenever [`ModuleImage`] or its encoding changes, or
/// the loader starts reading a file differently: a cache of another format is rebuilt.
pub const FORMAT_VERSION: u32 = 3;
/// The shipped cache's file name, in the module directory (`lib/modules/VERSION/`),
/// beside the `modules.*` files depmod writes.
pub const SHIPPED_NAME: &str = "modules.modpolicy-cache";
/// Written in native byte order: read back on a machine of the other order, it differs.
const BYTE_ORDER_MARK: u32 = 0x0102_0304;
/// A cache larger than this is not read (no real tree comes near it).
pub const MAX_CACHE_SIZE: u64 = 1 << 30;
/// Files changed this close to the start of the run (or later) are not recorded.
pub const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// A module file's identity and metadata, as `stat` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// `st_size`.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
}

impl FileId {
    /// From a `stat` result.
    pub fn from_stat(st: &rustix::fs::Stat) -> FileId {
        FileId {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime_ns: st.st_mtime as i128 * 1_000_000_000 + st.st_mtime_nsec as i128,
            ctime_ns: st.st_ctime as i128 * 1_000_000_000 + st.st_ctime_nsec as i128,
        }
    }

    /// `stat` of `name` in the directory `dir` (following a symlink, as depmod does).
    pub fn stat_at(dir: impl rustix::fd::AsFd, name: &str) -> io::Result<FileId> {
        Ok(FileId::from_stat(&rustix::fs::statat(
            dir,
            name,
            rustix::fs::AtFlags::empty(),
        )?))
    }

    /// `stat` of a path (following a symlink).
    pub fn stat(path: &Path) -> io::Result<FileId> {
        Ok(FileId::from_stat(&rustix::fs::stat(path)?))
    }
}

/// What a cache must agree with to be used: anything else in its header makes it
/// foreign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The module directory the cache describes (`BASEDIR/lib/modules/VERSION`).
    pub tree: String,
    /// The module size limit in force (a record read under another limit could be an
    /// error under this one, or the other way round).
    pub max_module_size: u64,
    /// A shipped cache ([`SHIPPED_NAME`]): no identities, tree not checked.
    pub shipped: bool,
}

impl Header {
    fn encode(&self, out: &mut Vec<u8>, count: u32) {
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_ne_bytes());
        out.extend_from_slice(&BYTE_ORDER_MARK.to_ne_bytes());
        put_short(out, std::env::consts::ARCH.as_bytes());
        put_short(out, env!("CARGO_PKG_VERSION").as_bytes());
        out.push(self.shipped as u8);
        put_bytes(out, self.tree.as_bytes());
        out.extend_from_slice(&self.max_module_size.to_ne_bytes());
        out.extend_from_slice(&count.to_ne_bytes());
    }
}

/// Where caches live when no `--cache DIR` is given: under `BASEDIR/var/cache/modpolicy`
/// with `-b`, else `/var/cache/modpolicy` for root, else `$XDG_CACHE_HOME/modpolicy` or
/// `~/.cache/modpolicy`. `None` when no such place can be named.
pub fn default_dir(basedir: Option<&str>) -> Option<PathBuf> {
    if let Some(b) = basedir {
        return Some(Path::new(b).join("var/cache/modpolicy"));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from("/var/cache/modpolicy"));
    }
    let nonempty = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty());
    if let Some(x) = nonempty("XDG_CACHE_HOME") {
        return Some(PathBuf::from(x).join("modpolicy"));
    }
    nonempty("HOME").map(|h| PathBuf::from(h).join(".cache/modpolicy"))
}

/// The cache file's name for a tree: `depmod-VERSION-HASH.cache`, the hash (XXH3-64)
/// being that of the module directory's path, so that two trees of one version (two
/// `-b` roots sharing a cache directory) keep separate caches.
pub fn file_name(tree: &str, version: &str) -> String {
    let v: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    format!("depmod-{v}-{:016x}.cache", xxh3_64(tree.as_bytes()))
}

/// A cache read from disk (possibly empty: none, or ignored).
#[derive(Default)]
pub struct Cache {
    bytes: Vec<u8>,
    /// Each record's key and its byte range in `bytes`.
    index: FxHashMap<Box<str>, Range<usize>>,
}

/// What [`Cache::open`] found.
pub struct Opened {
    /// The records (none when there was no cache or it was ignored).
    pub cache: Cache,
    /// Why an existing cache was ignored, for one warning; `None` when there was no
    /// cache at all or it was sound.
    pub problem: Option<String>,
}

impl Cache {
    /// Reads the cache at `path`. A missing file is an empty cache without a problem;
    /// anything wrong with an existing one is an empty cache and a problem.
    pub fn open(path: &Path, want: &Header) -> Opened {
        let bytes = match read_cache_file(path) {
            Ok(b) => b,
            // No cache yet (nor, perhaps, its directory), or a path that does not resolve
            // (a `-b BASEDIR` that is a symlink loop, which the run itself then reports).
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) =>
            {
                return Opened {
                    cache: Cache::default(),
                    problem: None,
                }
            }
            Err(e) => {
                return Opened {
                    cache: Cache::default(),
                    problem: Some(format!(
                        "cannot be read: {}",
                        crate::load::walk::strerror(&e)
                    )),
                }
            }
        };
        match Cache::parse(bytes, want) {
            Ok(Some(cache)) => Opened {
                cache,
                problem: None,
            },
            // Sound, but for another module size limit: rebuilt without a word.
            Ok(None) => Opened {
                cache: Cache::default(),
                problem: None,
            },
            Err(why) => Opened {
                cache: Cache::default(),
                problem: Some(why),
            },
        }
    }

    /// Checks and indexes a cache file's bytes. `Ok(None)`: sound but of no use here.
    fn parse(bytes: Vec<u8>, want: &Header) -> Result<Option<Cache>, String> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err("is not a modpolicy module cache".into());
        }
        let Some(body_len) = bytes.len().checked_sub(8) else {
            return Err("is truncated".into());
        };
        let sum = u64::from_ne_bytes(bytes[body_len..].try_into().expect("8 bytes"));
        let mut r = Reader {
            b: &bytes[..body_len],
            pos: MAGIC.len(),
        };
        let truncated = || "is truncated or damaged (bad checksum)".to_string();
        let format = r.u32().ok_or_else(truncated)?;
        let mark = r.u32().ok_or_else(truncated)?;
        if mark != BYTE_ORDER_MARK && mark.swap_bytes() == BYTE_ORDER_MARK {
            return Err("was written on a machine of the other byte order".into());
        }
        if xxh3_64(&bytes[..body_len]) != sum {
            return Err(truncated());
        }
        if format != FORMAT_VERSION || mark != BYTE_ORDER_MARK {
            return Err(format!(
                "has format {format}, not {FORMAT_VERSION} (another modpolicy version)"
            ));
        }
        let arch = r.short().ok_or_else(truncated)?;
        if arch != std::env::consts::ARCH.as_bytes() {
            return Err(format!(
                "was written for the {} architecture",
                String::from_utf8_lossy(arch)
            ));
        }
        let version = r.short().ok_or_else(truncated)?;
        if version != env!("CARGO_PKG_VERSION").as_bytes() {
            return Err(format!(
                "was written by modpolicy {}",
                String::from_utf8_lossy(version)
            ));
        }
        let shipped = r.u8().ok_or_else(truncated)? != 0;
        if shipped != want.shipped {
            return Err(if shipped {
                "is a shipped cache, not a local one".into()
            } else {
                "is not a shipped cache".into()
            });
        }
        let tree = r.bytes().ok_or_else(truncated)?;
        if !shipped && tree != want.tree.as_bytes() {
            return Err(format!(
                "describes another tree ({})",
                String::from_utf8_lossy(tree)
            ));
        }
        let limit = r.u64().ok_or_else(truncated)?;
        let count = r.u32().ok_or_else(truncated)? as usize;
        let damaged = || "has a damaged record".to_string();
        let mut index = FxHashMap::default();
        index.reserve(count.min(1 << 20));
        for _ in 0..count {
            let start = r.pos;
            let len = r.u32().ok_or_else(damaged)? as usize;
            let end = r.pos.checked_add(len).filter(|&e| e <= r.b.len());
            let end = end.ok_or_else(damaged)?;
            let key = r.bytes().ok_or_else(damaged)?;
            let key = std::str::from_utf8(key).map_err(|_| damaged())?;
            index.insert(key.into(), start..end);
            r.pos = end;
        }
        if r.pos != r.b.len() {
            return Err(damaged());
        }
        if limit != want.max_module_size {
            return Ok(None);
        }
        Ok(Some(Cache { bytes, index }))
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether `key` has a record.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The record of `key` if its identity is trusted and the file's identity and
    /// metadata are `id`, decoded. A record that does not decode is a miss (the checksum
    /// makes that unlikely).
    pub fn lookup(&self, key: &str, id: &FileId) -> Option<ModuleImage> {
        self.lookup_hashed(key, id).map(|(img, _)| img)
    }

    /// [`Cache::lookup`], with the record's content hash (kept in the next cache).
    pub fn lookup_hashed(&self, key: &str, id: &FileId) -> Option<(ModuleImage, Option<u128>)> {
        let (rec, mut r) = self.record(key)?;
        if !rec.trusted || rec.id != *id {
            return None;
        }
        Some((decode_image(&mut r)?, rec.hash))
    }

    /// Whether `key` has a record with a content hash for a file of `size` bytes: worth
    /// hashing the file for [`Cache::lookup_content`].
    pub fn has_content(&self, key: &str, size: u64) -> bool {
        self.record(key)
            .is_some_and(|(rec, _)| rec.hash.is_some() && rec.id.size == size)
    }

    /// The record of `key` if the file's size and content hash (XXH3-128 of its bytes as
    /// stored) are the record's, whatever the file's identity, decoded.
    pub fn lookup_content(&self, key: &str, size: u64, hash: u128) -> Option<ModuleImage> {
        let (rec, mut r) = self.record(key)?;
        if rec.hash != Some(hash) || rec.id.size != size {
            return None;
        }
        decode_image(&mut r)
    }

    /// The metadata of `key`'s record, and a reader at its image.
    fn record(&self, key: &str) -> Option<(Decoded, Reader<'_>)> {
        let range = self.index.get(key)?.clone();
        decode_record(&self.bytes[range])
    }

    /// Every key, with the record's metadata (for tests and `-vv` diagnostics).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(|k| &**k)
    }
}

fn read_cache_file(path: &Path) -> io::Result<Vec<u8>> {
    use crate::util::fs::{open_input, read_limited, Accept};
    read_limited(
        open_input(path, Accept::Regular)?,
        "module cache",
        MAX_CACHE_SIZE,
    )
}

/// One record of the next cache: a module file read in this run or taken from the
/// previous cache (re-encoded: the previous cache's bytes are not kept during a run).
pub struct Record<'a> {
    /// Path relative to the module directory (absolute for an external module).
    pub key: &'a str,
    /// Its identity and metadata, taken before it was read.
    pub id: FileId,
    /// Its content hash (XXH3-128 of the file's bytes as stored), when known.
    pub hash: Option<u128>,
    /// What the loader read.
    pub image: &'a ModuleImage,
}

/// Whether a file with this identity is left out of a cache written by a run that
/// started at `run_start_ns` (see [`RACY_WINDOW_NS`]).
pub fn is_racy(id: &FileId, run_start_ns: i128) -> bool {
    id.ctime_ns >= run_start_ns - RACY_WINDOW_NS
}

/// Records are encoded into one buffer of about this size, which is hashed and written
/// whenever it fills: the whole cache is never held in memory, and nothing is allocated
/// per record (encoding is a copy; on one thread it keeps up with the disk).
const CHUNK: usize = 64 << 10;

/// Encodes the cache for `records` into `out`, a chunk at a time, with the trailing
/// checksum. The identity of a file changed within [`RACY_WINDOW_NS`] of `run_start_ns`
/// is not trusted: its record is kept for its content hash, or left out without one. A
/// shipped cache keeps only records with a content hash and a relative key, and no
/// identity (their size only).
pub fn encode_to(
    out: &mut (impl Write + ?Sized),
    header: &Header,
    records: &[Record<'_>],
    run_start_ns: i128,
) -> io::Result<()> {
    let kept: Vec<(&Record<'_>, bool)> = records
        .iter()
        .filter_map(|r| {
            if header.shipped {
                return (r.hash.is_some() && !r.key.starts_with('/')).then_some((r, false));
            }
            let trusted = !is_racy(&r.id, run_start_ns);
            (trusted || r.hash.is_some()).then_some((r, trusted))
        })
        .collect();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut head = Vec::with_capacity(256);
    header.encode(&mut head, kept.len() as u32);
    hasher.update(&head);
    out.write_all(&head)?;
    let mut buf = Vec::with_capacity(CHUNK + (CHUNK >> 2));
    for &(r, trusted) in &kept {
        let id = if trusted {
            r.id
        } else {
            FileId {
                size: r.id.size,
                ..FileId::default()
            }
        };
        encode_record(&mut buf, r.key, &id, trusted, r.hash, r.image);
        if buf.len() >= CHUNK {
            hasher.update(&buf);
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    hasher.update(&buf);
    out.write_all(&buf)?;
    out.write_all(&hasher.digest().to_ne_bytes())
}

/// The whole cache file for `records`, in memory (see [`encode_to`]).
pub fn encode(header: &Header, records: &[Record<'_>], run_start_ns: i128) -> Vec<u8> {
    let mut v = Vec::new();
    encode_to(&mut v, header, records, run_start_ns).expect("writing to memory");
    v
}

/// Encodes the cache (see [`encode_to`]) into a temporary in `path`'s directory
/// (created if needed) and renames it to `path`; temporaries of dead writers are
/// removed first. The file is not flushed to disk: after a crash, a damaged cache fails
/// its checksum and is rebuilt.
pub fn write(
    path: &Path,
    header: &Header,
    records: &[Record<'_>],
    run_start_ns: i128,
) -> io::Result<()> {
    write_with(path, |f| encode_to(f, header, records, run_start_ns))
}

/// Writes what `fill` writes to `path` through a temporary and `rename`.
fn write_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_dead_temps(dir, &name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        // Unbuffered: the callers write in large pieces (`encode_to` a chunk at a time).
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        fill(&mut f)?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` through a temporary in the same directory and `rename` (as
/// [`write()`] does).
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |f| f.write_all(bytes))
}

/// Removes `.NAME.PID.tmp` files whose writer is no longer running (a killed run).
fn remove_dead_temps(dir: &Path, name: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for e in rd.flatten() {
        let f = e.file_name();
        let Some(pid) = f
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|r| r.strip_suffix(".tmp"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let dead = pid > 0
            && unsafe { libc::kill(pid, 0) } != 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if dead {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

// --- records -----------------------------------------------------------------------

fn put_short(out: &mut Vec<u8>, b: &[u8]) {
    let b = &b[..b.len().min(255)];
    out.push(b.len() as u8);
    out.extend_from_slice(b);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_ne_bytes());
    out.extend_from_slice(b);
}

/// A symbol name: its length in one byte when below 255 (nearly all), else 255 and
/// the length in four.
fn put_name(out: &mut Vec<u8>, b: &[u8]) {
    match u8::try_from(b.len()) {
        Ok(n) if n < u8::MAX => out.push(n),
        _ => {
            out.push(u8::MAX);
            out.extend_from_slice(&(b.len() as u32).to_ne_bytes());
        }
    }
    out.extend_from_slice(b);
}

/// How few bytes a CRC needs, as the 2-bit mode the symbol's flags carry: 0 (none, the
/// CRC is 0), 1 (four: a 32-bit CRC, as they all are) or 2 (eight).
fn crc_mode(crc: u64) -> u8 {
    match crc {
        0 => 0,
        c if u32::try_from(c).is_ok() => 1,
        _ => 2,
    }
}

/// A CRC in the bytes its [`crc_mode`] says.
fn put_crc(out: &mut Vec<u8>, crc: u64) {
    match crc_mode(crc) {
        0 => {}
        1 => out.extend_from_slice(&(crc as u32).to_ne_bytes()),
        _ => out.extend_from_slice(&crc.to_ne_bytes()),
    }
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn put_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(&v.to_ne_bytes());
}

/// A record's flags: it has a content hash.
const HAS_HASH: u8 = 1;
/// A record's flags: its identity may be trusted.
const TRUSTED: u8 = 2;

/// Encodes one record: `u32` length of what follows, key, identity, flags, hash, image.
fn encode_record(
    out: &mut Vec<u8>,
    key: &str,
    id: &FileId,
    trusted: bool,
    hash: Option<u128>,
    img: &ModuleImage,
) {
    let start = out.len();
    out.extend_from_slice(&0u32.to_ne_bytes());
    put_bytes(out, key.as_bytes());
    put_u64(out, id.dev);
    put_u64(out, id.ino);
    put_u64(out, id.size);
    put_i128(out, id.mtime_ns);
    put_i128(out, id.ctime_ns);
    out.push(if hash.is_some() { HAS_HASH } else { 0 } | if trusted { TRUSTED } else { 0 });
    out.extend_from_slice(&hash.unwrap_or(0).to_ne_bytes());
    encode_image(out, img);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// XXH3-64 of what the loader read from a module file, as the cache encodes it: equal
/// hashes mean equal images (the "nothing changed" record compares a re-read module file
/// by it).
pub fn image_hash(img: &ModuleImage) -> u64 {
    let mut v = Vec::with_capacity(1024);
    encode_image(&mut v, img);
    xxhash_rust::xxh3::xxh3_64(&v)
}

/// Encodes the loader's output for one module file.
fn encode_image(out: &mut Vec<u8>, img: &ModuleImage) {
    // Destructured, so that a field added to the loader's output fails to compile here
    // until the cache stores it (and FORMAT_VERSION is bumped).
    let ModuleImage {
        exports,
        imports,
        imports_read,
        modinfo,
    } = img;
    out.push(*imports_read as u8);
    out.extend_from_slice(&(exports.len() as u32).to_ne_bytes());
    for e in exports {
        let Export {
            name,
            crc,
            has_crc,
            kind,
            namespace,
        } = e;
        put_name(out, name.as_bytes());
        let kind = match kind {
            ExportKind::Plain => 0u8,
            ExportKind::GplOnly => 1,
            ExportKind::Unknown => 2,
        };
        out.push(
            *has_crc as u8 | kind << 1 | (namespace.is_some() as u8) << 3 | crc_mode(*crc) << 4,
        );
        put_crc(out, *crc);
        if let Some(ns) = namespace {
            put_name(out, ns.as_bytes());
        }
    }
    out.extend_from_slice(&(imports.len() as u32).to_ne_bytes());
    for i in imports {
        let Import {
            name,
            crc,
            has_crc,
            weak,
            versions_only,
        } = i;
        put_name(out, name.as_bytes());
        out.push(
            *has_crc as u8 | (*weak as u8) << 1 | (*versions_only as u8) << 2 | crc_mode(*crc) << 3,
        );
        put_crc(out, *crc);
    }
    put_bytes(out, modinfo.as_bytes());
}

/// A decoded record's metadata.
struct Decoded {
    id: FileId,
    /// Whether `id` may be trusted.
    trusted: bool,
    hash: Option<u128>,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len())?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_ne_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_ne_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i128(&mut self) -> Option<i128> {
        Some(i128::from_ne_bytes(self.take(16)?.try_into().ok()?))
    }
    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_ne_bytes(self.take(16)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn short(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }
    fn name(&mut self) -> Option<Name> {
        let n = match self.u8()? {
            u8::MAX => self.u32()? as usize,
            n => n as usize,
        };
        Some(Name::from(std::str::from_utf8(self.take(n)?).ok()?))
    }
    /// A CRC written in `mode` (see `crc_mode`).
    fn crc(&mut self, mode: u8) -> Option<u64> {
        match mode {
            0 => Some(0),
            1 => Some(u64::from(u32::from_ne_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            2 => self.u64(),
            _ => None,
        }
    }
}

/// Decodes a record's metadata, leaving the reader at its image.
fn decode_record(rec: &[u8]) -> Option<(Decoded, Reader<'_>)> {
    let mut r = Reader { b: rec, pos: 4 };
    let _key = r.bytes()?;
    let id = FileId {
        dev: r.u64()?,
        ino: r.u64()?,
        size: r.u64()?,
        mtime_ns: r.i128()?,
        ctime_ns: r.i128()?,
    };
    let flags = r.u8()?;
    let hash = r.u128()?;
    let d = Decoded {
        id,
        trusted: flags & TRUSTED != 0,
        hash: (flags & HAS_HASH != 0).then_some(hash),
    };
    Some((d, r))
}

fn decode_image(r: &mut Reader<'_>) -> Option<ModuleImage> {
    let imports_read = r.u8()? != 0;
    let n = r.u32()? as usize;
    let mut exports = Vec::with_capacity(n.min(r.b.len() / 2));
    for _ in 0..n {
        let name = r.name()?;
        let flags = r.u8()?;
        let crc = r.crc(flags >> 4)?;
        let kind = match (flags >> 1) & 3 {
            0 => ExportKind::Plain,
            1 => ExportKind::GplOnly,
            2 => ExportKind::Unknown,
            _ => return None,
        };
        let namespace = if flags & 8 != 0 {
            Some(r.name()?)
        } else {
            None
        };
        exports.push(Export {
            name,
            crc,
            has_crc: flags & 1 != 0,
            kind,
            namespace,
        });
    }
    let n = r.u32()? as usize;
    let mut imports = Vec::with_capacity(n.min(r.b.len() / 2));
    for _ in 0..n {
        let name = r.name()?;
        let flags = r.u8()?;
        let crc = r.crc(flags >> 3)?;
        imports.push(Import {
            name,
            crc,
            has_crc: flags & 1 != 0,
            weak: flags & 2 != 0,
            versions_only: flags & 4 != 0,
        });
    }
    let modinfo = Modinfo::parse(r.bytes()?);
    (r.pos == r.b.len()).then_some(ModuleImage {
        exports,
        imports,
        imports_read,
        modinfo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ModuleImage {
        ModuleImage {
            exports: vec![
                Export {
                    name: "a_symbol_with_a_rather_long_name".into(),
                    crc: 0xdead_beef,
                    has_crc: true,
                    kind: ExportKind::GplOnly,
                    namespace: Some("NS".into()),
                },
                Export {
                    name: "b".into(),
                    crc: 0,
                    has_crc: false,
                    kind: ExportKind::Unknown,
                    namespace: None,
                },
            ],
            imports: vec![Import {
                name: "printk".into(),
                crc: 7,
                has_crc: true,
                weak: true,
                versions_only: false,
            }],
            imports_read: true,
            modinfo: Modinfo::parse(b"license=GPL\0\0alias=x\0depends=\0name=m"),
        }
    }

    fn id(ctime_ns: i128) -> FileId {
        FileId {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns: 4,
            ctime_ns,
        }
    }

    fn header() -> Header {
        Header {
            tree: "/lib/modules/6.1.0".into(),
            max_module_size: 512 << 20,
            shipped: false,
        }
    }

    #[test]
    fn a_record_round_trips_and_needs_matching_metadata() {
        let img = image();
        let rec = [Record {
            key: "kernel/a.ko",
            id: id(5),
            hash: Some(9),
            image: &img,
        }];
        let bytes = encode(&header(), &rec, 10_000_000_000);
        let c = Cache::parse(bytes, &header()).unwrap().unwrap();
        assert_eq!(c.lookup("kernel/a.ko", &id(5)).expect("hit"), img);
        assert!(c.lookup("kernel/a.ko", &id(6)).is_none());
        assert!(c.lookup("kernel/b.ko", &id(5)).is_none());
    }

    #[test]
    fn content_lookups_need_size_and_hash() {
        let img = image();
        let rec = [
            Record {
                key: "kernel/a.ko",
                id: id(5),
                hash: Some(0x1234_5678_9abc_def0_0fed_cba9_8765_4321),
                image: &img,
            },
            Record {
                key: "kernel/b.ko",
                id: id(5),
                hash: None,
                image: &img,
            },
        ];
        let c = Cache::parse(encode(&header(), &rec, 10_000_000_000), &header())
            .unwrap()
            .unwrap();
        let h = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321;
        assert!(c.has_content("kernel/a.ko", 3));
        assert!(!c.has_content("kernel/a.ko", 4));
        assert!(!c.has_content("kernel/b.ko", 3));
        assert_eq!(c.lookup_content("kernel/a.ko", 3, h), Some(img.clone()));
        assert!(c.lookup_content("kernel/a.ko", 4, h).is_none());
        assert!(c.lookup_content("kernel/a.ko", 3, h ^ 1).is_none());
        assert!(c.lookup_content("kernel/b.ko", 3, 0).is_none());
    }

    #[test]
    fn racy_files_are_kept_for_their_content_only() {
        let img = image();
        let rec = [Record {
            key: "kernel/a.ko",
            id: id(9_000_000_000),
            hash: Some(77),
            image: &img,
        }];
        let c = Cache::parse(encode(&header(), &rec, 10_000_000_000), &header())
            .unwrap()
            .unwrap();
        assert_eq!(c.len(), 1);
        assert!(c.lookup("kernel/a.ko", &id(9_000_000_000)).is_none());
        assert_eq!(c.lookup_content("kernel/a.ko", 3, 77), Some(img));
    }

    #[test]
    fn a_shipped_cache_holds_no_identities_and_any_tree() {
        let img = image();
        let rec = [
            Record {
                key: "kernel/a.ko",
                id: id(5),
                hash: Some(77),
                image: &img,
            },
            Record {
                key: "kernel/unhashed.ko",
                id: id(5),
                hash: None,
                image: &img,
            },
            Record {
                key: "/elsewhere/b.ko",
                id: id(5),
                hash: Some(78),
                image: &img,
            },
        ];
        let built = Header {
            tree: "/build/staging/lib/modules/6.1.0".into(),
            shipped: true,
            ..header()
        };
        let bytes = encode(&built, &rec, 10_000_000_000);
        let target = Header {
            shipped: true,
            ..header()
        };
        let c = Cache::parse(bytes.clone(), &target).unwrap().unwrap();
        assert_eq!(c.keys().collect::<Vec<_>>(), ["kernel/a.ko"]);
        assert!(c.lookup("kernel/a.ko", &id(5)).is_none());
        assert!(c
            .lookup(
                "kernel/a.ko",
                &FileId {
                    size: 3,
                    ..FileId::default()
                }
            )
            .is_none());
        assert_eq!(c.lookup_content("kernel/a.ko", 3, 77), Some(img.clone()));
        // Neither kind is taken for the other.
        assert!(Cache::parse(bytes, &header()).is_err());
        let local = encode(&header(), &rec, 10_000_000_000);
        assert!(Cache::parse(local, &target).is_err());
    }

    #[test]
    fn racy_files_are_left_out() {
        let img = image();
        let rec = [Record {
            key: "kernel/a.ko",
            id: id(9_000_000_000),
            hash: None,
            image: &img,
        }];
        let c = Cache::parse(encode(&header(), &rec, 10_000_000_000), &header())
            .unwrap()
            .unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn every_damage_is_refused() {
        let img = image();
        let rec = [Record {
            key: "kernel/a.ko",
            id: id(5),
            hash: None,
            image: &img,
        }];
        let good = encode(&header(), &rec, 10_000_000_000);
        for cut in 0..good.len() {
            assert!(
                Cache::parse(good[..cut].to_vec(), &header()).is_err(),
                "truncated at {cut}"
            );
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            assert!(Cache::parse(bad, &header()).is_err(), "byte {i} flipped");
        }
        let other_tree = Header {
            tree: "/x/lib/modules/6.1.0".into(),
            ..header()
        };
        assert!(Cache::parse(good.clone(), &other_tree).is_err());
        let other_limit = Header {
            max_module_size: 1,
            ..header()
        };
        assert!(Cache::parse(good, &other_limit).unwrap().is_none());
    }

    #[test]
    fn names_are_safe_file_names() {
        let n = file_name("/lib/modules/6.1.0-1/x", "6.1.0-1/../x y");
        assert!(n.starts_with("depmod-6.1.0-1_.._x_y-"), "{n}");
        assert!(!n.contains('/'));
        assert_ne!(
            n,
            file_name("/other/lib/modules/6.1.0-1/x", "6.1.0-1/../x y")
        );
    }
}
