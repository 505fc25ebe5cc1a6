//! Stage 1, **load**: read build outputs into plain records.
//!
//! Each input format has its own module: module images ([`elf`], through
//! [`compress`]), the kernel's symbol files ([`symvers`]), `modules.order` and the
//! built-in lists ([`order`]), `depmod.d` ([`config`]) and module discovery ([`walk`]).
//! This stage knows file formats and nothing about policy: it never decides which
//! provider wins or whether a finding is an error.

pub mod compress;
pub mod config;
pub mod elf;
pub mod modprobe_conf;
pub mod order;
pub mod sparse;
pub mod symvers;
pub mod walk;

use object::ReadRef;
use rayon::prelude::*;
use std::path::Path;

pub use compress::Limits;
pub use elf::ModuleImage;

/// Why one module file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The compressed stream is bad or too large.
    #[error("{0}")]
    Decompress(#[from] compress::DecompressError),
    /// The ELF image is bad.
    #[error("{0}")]
    Elf(#[from] elf::ElfError),
    /// The file is shorter than the longest compression magic libkmod reads first
    /// ([`KMOD_MAGIC_LEN`] bytes): kmod fails such a file with `EINVAL`.
    #[error("file of {size} bytes is too short to be a module")]
    TooShort {
        /// The file's size.
        size: u64,
    },
    /// An uncompressed module file is larger than [`Limits::max_module_size`].
    #[error("file of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
}

impl ModuleError {
    /// The `strerror` text kmod prints for this failure (`failed to load symbols from
    /// X: <this>`).
    pub fn kmod_reason(&self) -> String {
        match self {
            ModuleError::Io(e) => walk::strerror(e),
            ModuleError::Decompress(compress::DecompressError::NoMemory { .. }) => {
                "Cannot allocate memory".into()
            }
            ModuleError::Decompress(_) | ModuleError::TooShort { .. } => "Invalid argument".into(),
            // libkmod: ENOEXEC when there is no ELF header at all, EINVAL when an ELF
            // file's structure is broken.
            ModuleError::Elf(elf::ElfError::NotElf) => "Exec format error".into(),
            ModuleError::Elf(_) => "Invalid argument".into(),
            ModuleError::TooLarge { .. } => "File too large".into(),
        }
    }
}

/// libkmod reads this many bytes (xz's magic, the longest it knows) before anything
/// else, and fails a shorter file with `EINVAL`, whatever it holds.
pub const KMOD_MAGIC_LEN: u64 = 6;

/// libkmod's ELF reader takes an image of at most `EI_NIDENT` bytes for no ELF at all
/// (`ENOEXEC`), even when those bytes start with the ELF magic.
const EI_NIDENT: u64 = 16;

/// Reads and parses one module file (any supported compression).
///
/// An uncompressed module is not read whole: only its headers and the sections the
/// parser needs are read, with `pread`, into a per-thread buffer reused from module to
/// module (see [`sparse`]). A compressed module is read whole and decompressed.
pub fn read_module(path: &Path, limits: &Limits) -> Result<ModuleImage, ModuleError> {
    read_module_file(
        crate::util::fs::open_input(path, crate::util::fs::Accept::Regular)?,
        limits,
    )
}

/// Whether a read also computes the module file's content hash: XXH3-128 of its bytes as
/// stored (compressed bytes for a compressed module), for the module cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    /// No hash.
    Off,
    /// Only where the file is read whole anyway (a compressed module, where hashing costs
    /// a small fraction of decompressing); an uncompressed module is read sparsely, unhashed.
    Compressed,
    /// Every module: an uncompressed one is then read whole and parsed from memory.
    Always,
}

/// A module file read with [`read_module_hashed`].
#[derive(Debug)]
pub struct HashedRead {
    /// What was read (or given by `known`).
    pub image: Result<ModuleImage, ModuleError>,
    /// The content hash, when computed (the file was read whole).
    pub hash: Option<u128>,
    /// Whether `image` came from `known` (the bytes were hashed, never decoded).
    pub known: bool,
}

/// What the caller already knows about files of a given size and content hash: the
/// image to use instead of decoding the file.
pub type Known<'a> = &'a (dyn Fn(u64, u128) -> Option<ModuleImage> + Sync);

/// The hashing of one read, threaded through its attempts.
struct HashState<'a> {
    hashing: Hashing,
    known: Known<'a>,
    hash: Option<u128>,
    known_hit: bool,
}

/// [`read_module`] on a file already open.
pub fn read_module_file(file: std::fs::File, limits: &Limits) -> Result<ModuleImage, ModuleError> {
    read_module_file_hashed(file, limits, Hashing::Off, &|_, _| None).image
}

/// [`read_module`] with the file's content hash (see [`Hashing`]): when the file is read
/// whole and `known` gives an image for its size and hash, that image is the result and
/// the file is not decoded (`known` in the result).
pub fn read_module_hashed(
    path: &Path,
    limits: &Limits,
    hashing: Hashing,
    known: Known<'_>,
) -> HashedRead {
    match crate::util::fs::open_input(path, crate::util::fs::Accept::Regular) {
        Ok(f) => read_module_file_hashed(f, limits, hashing, known),
        Err(e) => HashedRead {
            image: Err(e.into()),
            hash: None,
            known: false,
        },
    }
}

/// [`read_module_hashed`] on a file already open.
pub fn read_module_file_hashed(
    file: std::fs::File,
    limits: &Limits,
    hashing: Hashing,
    known: Known<'_>,
) -> HashedRead {
    let mut hs = HashState {
        hashing,
        known,
        hash: None,
        known_hit: false,
    };
    let image = read_module_file_with(file, limits, &mut hs);
    HashedRead {
        image,
        hash: hs.hash,
        known: hs.known_hit,
    }
}

fn read_module_file_with(
    file: std::fs::File,
    limits: &Limits,
    hs: &mut HashState<'_>,
) -> Result<ModuleImage, ModuleError> {
    let len = file.metadata()?.len();
    if len < KMOD_MAGIC_LEN {
        return Err(ModuleError::TooShort { size: len });
    }
    if len > limits.max_module_size {
        // Bounds what the sparse reader may load, even from a sparse file of absurd size.
        return Err(ModuleError::TooLarge {
            size: len,
            limit: limits.max_module_size,
        });
    }
    // First without the budget's turn; if the run's budget has no room for this module
    // now (or an allocation failed while other threads held memory), everything is
    // freed and the module read again holding the turn.
    match read_attempt(&file, len, limits, false, hs) {
        Err(ModuleError::Decompress(
            compress::DecompressError::OutOfBudget | compress::DecompressError::NoMemory { .. },
        )) => {
            let _turn = compress::BUDGET.turn();
            read_attempt(&file, len, limits, true, hs)
        }
        r => r,
    }
}

/// One attempt at [`read_module_file`]: every buffer of this module beyond
/// [`compress::Budget::FREE`] is first acquired from the run's budget.
fn read_attempt(
    file: &std::fs::File,
    len: u64,
    limits: &Limits,
    with_turn: bool,
    hs: &mut HashState<'_>,
) -> Result<ModuleImage, ModuleError> {
    let mut grant = compress::Grant::new(compress::run_budget(limits), with_turn);
    BUF.with(|buf| {
        let mut sp = buf.borrow_mut();
        sp.reset(len);
        // The ELF header (its first bytes also tell the compression).
        sp.load(file, 0, 64)?;
        let head = sp
            .view()
            .read_bytes_at(0, len.min(8))
            .unwrap_or_default()
            .to_vec();
        let c = compress::Compression::detect(&head);
        if c != compress::Compression::None {
            // Compressed: read it whole and decode into buffers this thread reuses.
            return RAW.with(|bufs| {
                let (raw, data) = &mut *bufs.borrow_mut();
                let img = read_compressed(file, len, c, limits, &mut grant, raw, data, hs);
                // Keep small buffers for reuse; give large ones back at once. Modules are
                // read largest first, so the few large buffers are needed only early on,
                // before the graph has grown (see `read_modules`).
                if data.capacity() > KEEP_BUFFER {
                    *data = Vec::new();
                }
                if raw.capacity() > KEEP_BUFFER {
                    *raw = Vec::new();
                }
                img
            });
        }
        if len <= EI_NIDENT {
            return Err(elf::ElfError::NotElf.into());
        }
        // The sparse reader, or the whole read, holds at most the file's size: covered up
        // front.
        grant.cover(len)?;
        if hs.hashing == Hashing::Always {
            return RAW.with(|bufs| {
                let (raw, _) = &mut *bufs.borrow_mut();
                let img = read_whole_hashed(file, len, raw, hs);
                if raw.capacity() > KEEP_BUFFER {
                    *raw = Vec::new();
                }
                img
            });
        }
        // A buffer that could not be allocated is the budget's `NoMemory`, so the read is
        // tried again holding the budget's turn, as for a compressed module.
        let img = read_sparse(file, &mut sp).map_err(|e| match e {
            ModuleError::Io(io) if io.raw_os_error() == Some(libc::ENOMEM) => {
                compress::DecompressError::NoMemory { bytes: len }.into()
            }
            e => e,
        });
        // Keep a small buffer for the next module; give a large one back at once.
        sp.shrink(KEEP_BUFFER);
        img
    })
}

/// Reads a compressed module whole into `raw` and decodes it into `data`, both covered
/// by `grant` (unless `hs` hashes it and knows the hash).
#[allow(clippy::too_many_arguments)]
fn read_compressed(
    file: &std::fs::File,
    len: u64,
    c: compress::Compression,
    limits: &Limits,
    grant: &mut compress::Grant,
    raw: &mut Vec<u8>,
    data: &mut Vec<u8>,
    hs: &mut HashState<'_>,
) -> Result<ModuleImage, ModuleError> {
    let want = len as usize + 1;
    grant.cover((want.max(raw.capacity()) + data.capacity()) as u64)?;
    read_raw(file, len, raw)?;
    if hs.hashing != Hashing::Off {
        let h = xxhash_rust::xxh3::xxh3_128(raw);
        hs.hash = Some(h);
        if let Some(img) = (hs.known)(raw.len() as u64, h) {
            hs.known_hit = true;
            return Ok(img);
        }
    }
    let raw_cap = raw.capacity() as u64;
    compress::decompress_into(c, raw, limits, data, &mut |n| grant.cover(raw_cap + n))?;
    elf::accept_any_ident_version(data);
    if data.len() as u64 <= EI_NIDENT {
        return Err(elf::ElfError::NotElf.into());
    }
    Ok(elf::parse(data)?)
}

/// Reads the file from its start into `raw` (at most `len` bytes; the caller's grant
/// covers `len + 1`).
fn read_raw(file: &std::fs::File, len: u64, raw: &mut Vec<u8>) -> Result<(), ModuleError> {
    use std::io::{Read, Seek};
    raw.clear();
    let want = len as usize + 1;
    raw.try_reserve_exact(want)
        .map_err(|_| compress::DecompressError::NoMemory { bytes: want as u64 })?;
    // From the start (a second attempt follows a first one's read).
    let mut f = file;
    f.seek(std::io::SeekFrom::Start(0))?;
    f.take(len).read_to_end(raw)?;
    Ok(())
}

/// Reads an uncompressed module whole into `raw`, hashes it, and takes the image `known`
/// gives for it or parses it (the whole-image parse equals the sparse one: see the
/// `sparse_read_equals_full_parse` test).
fn read_whole_hashed(
    file: &std::fs::File,
    len: u64,
    raw: &mut Vec<u8>,
    hs: &mut HashState<'_>,
) -> Result<ModuleImage, ModuleError> {
    read_raw(file, len, raw)?;
    let h = xxhash_rust::xxh3::xxh3_128(raw);
    hs.hash = Some(h);
    if let Some(img) = (hs.known)(raw.len() as u64, h) {
        hs.known_hit = true;
        return Ok(img);
    }
    elf::accept_any_ident_version(raw);
    if raw.len() as u64 <= EI_NIDENT {
        return Err(elf::ElfError::NotElf.into());
    }
    Ok(elf::parse(raw)?)
}

/// Reads an uncompressed module's needed parts into `sp` and parses them.
fn read_sparse(
    file: &std::fs::File,
    sp: &mut sparse::SparseFile,
) -> Result<ModuleImage, ModuleError> {
    sparse::load_module_parts(file, sp)?;
    let mut missing = Vec::new();
    let img = elf::parse_ref(sp.view(), &mut missing)?;
    if missing.is_empty() {
        return Ok(img);
    }
    for pos in missing {
        sp.load(file, pos, 4)?;
    }
    let mut again = Vec::new();
    Ok(elf::parse_ref(sp.view(), &mut again)?)
}

thread_local! {
    /// The parts of the uncompressed module being read.
    static BUF: std::cell::RefCell<sparse::SparseFile> = std::cell::RefCell::new(sparse::SparseFile::default());
    /// The compressed file and its decoded image.
    static RAW: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Decode buffers up to this size are kept by each thread for the next module.
const KEEP_BUFFER: usize = 2 << 20;

/// Whether a module file is compressed, judged by its name (`.xz`, `.zst`, `.gz`).
pub fn is_compressed(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "xz" || e == "zst" || e == "gz")
}

/// Gives back the buffers [`read_module`] keeps on each thread of the pool (each at most
/// [`KEEP_BUFFER`]), before the rest of the run needs the memory.
fn release_read_buffers() {
    rayon::broadcast(|_| {
        BUF.with(|b| *b.borrow_mut() = sparse::SparseFile::default());
        RAW.with(|b| *b.borrow_mut() = (Vec::new(), Vec::new()));
    });
}

/// Reads every path on all cores; results come back in input order, so output never
/// depends on scheduling.
///
/// Work is handed out largest file first: the long decodes start early (so both cores
/// stay busy to the end), and the large decode buffers are needed only while the graph
/// is still small, which keeps peak memory down.
pub fn read_modules<P: AsRef<Path> + Sync>(
    paths: &[P],
    limits: &Limits,
) -> Vec<Result<ModuleImage, ModuleError>> {
    read_modules_hashed(
        paths,
        limits,
        Hashing::Off,
        &|_, _, _| None,
        &crate::util::progress::Silent,
    )
    .into_iter()
    .map(|r| r.image)
    .collect()
}

/// [`read_modules`] with content hashes (see [`read_module_hashed`]); `known` is asked
/// with the path's index in `paths`, the file's size and its hash. `progress` is told of
/// the work: `paths.len()` more units, then one as each module has been read (from
/// whichever thread read it).
pub fn read_modules_hashed<P: AsRef<Path> + Sync>(
    paths: &[P],
    limits: &Limits,
    hashing: Hashing,
    known: &(dyn Fn(usize, u64, u128) -> Option<ModuleImage> + Sync),
    progress: &dyn crate::util::progress::Progress,
) -> Vec<HashedRead> {
    if paths.is_empty() {
        return Vec::new();
    }
    progress.grow(paths.len() as u64);
    // Sizes matter only for compressed modules (long decodes, large buffers); an
    // uncompressed tree is read in the given order, without a `stat` per file.
    let any_compressed = paths.iter().any(|p| is_compressed(p.as_ref()));
    let mut order: Vec<(u64, usize)> = paths
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let size = if any_compressed {
                std::fs::metadata(p.as_ref()).map(|m| m.len()).unwrap_or(0)
            } else {
                0
            };
            (size, i)
        })
        .collect();
    if any_compressed {
        order.sort_unstable_by(|a, b| b.cmp(a));
    }
    let results: Vec<(usize, HashedRead)> = order
        .par_iter()
        .with_max_len(1)
        .map(|&(_, i)| {
            let known = |size: u64, hash: u128| known(i, size, hash);
            let r = read_module_hashed(paths[i].as_ref(), limits, hashing, &known);
            progress.advance(1);
            (i, r)
        })
        .collect();
    release_read_buffers();
    let mut out: Vec<Option<HashedRead>> = (0..paths.len()).map(|_| None).collect();
    for (i, r) in results {
        out[i] = Some(r);
    }
    out.into_iter()
        .map(|r| r.expect("every module read once"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ko_files_under(root: std::path::PathBuf, out: &mut Vec<std::path::PathBuf>) {
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "ko") {
                    out.push(p);
                }
            }
        }
    }

    /// Every fixture module (the trees, and the inputs the fuzzer found where the two
    /// readers once disagreed: `tests/fixtures/fuzz/module_file`), plus those under `MODPOLICY_SPARSE_CHECK_DIR` if set (to
    /// check a whole real tree by hand).
    fn fixture_modules() -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        ko_files_under(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/trees"),
            &mut out,
        );
        ko_files_under(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz/module_file"),
            &mut out,
        );
        if let Ok(extra) = std::env::var("MODPOLICY_SPARSE_CHECK_DIR") {
            ko_files_under(extra.into(), &mut out);
        }
        out
    }

    /// Every module read is reported once, after the work was announced.
    #[test]
    fn reading_reports_each_module() {
        let mods = fixture_modules();
        let seen = crate::util::progress::tests::Recorded::default();
        crate::util::progress::Progress::phase(&seen, "reading", 0);
        let read = read_modules_hashed(
            &mods,
            &Limits::default(),
            Hashing::Off,
            &|_, _, _| None,
            &seen,
        );
        assert_eq!(read.len(), mods.len());
        let n = mods.len() as u64;
        assert_eq!(*seen.phases.lock().unwrap(), [("reading".into(), 0, n, n)]);
    }

    /// Reading only the needed parts must give exactly what parsing the whole file gives.
    #[test]
    fn sparse_read_equals_full_parse() {
        let mods = fixture_modules();
        assert!(mods.len() > 10, "fixture modules missing: {}", mods.len());
        for p in mods {
            let full = elf::parse(&std::fs::read(&p).unwrap());
            let sparse = read_module(&p, &Limits::default());
            match (full, sparse) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", p.display()),
                (a, b) => panic!("{}: {a:?} vs {b:?}", p.display()),
            }
        }
    }
}
