//! Decompression of module files, chosen by magic bytes as kmod does (not by extension).
//!
//! Output is capped: a module that would expand past [`Limits::max_module_size`] is an
//! error, never an allocation of unbounded size (a "decompression bomb"). The output
//! buffer grows as the data comes (a size the container states is trusted only up to a
//! small multiple of the compressed size), each growth first acquired from the run's
//! shared [`Budget`], and an allocation that fails is an error, never an abort.

use std::io::Read;
use std::sync::{Condvar, Mutex, MutexGuard};

/// The container a module file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain ELF file (or anything that matches no known magic).
    None,
    /// xz (`FD 37 7A 58 5A 00`).
    Xz,
    /// zstd (`28 B5 2F FD`).
    Zstd,
    /// gzip (`1F 8B`).
    Gzip,
}

impl Compression {
    /// Detects the container from the first bytes of a file.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) {
            Compression::Xz
        } else if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            Compression::Zstd
        } else if head.starts_with(&[0x1F, 0x8B]) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    /// A lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

/// Bounds on what one input may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest module accepted, in bytes: the decompressed size of a compressed
    /// module (and its compressed file size), the file size of an uncompressed one.
    pub max_module_size: u64,
}

/// The default of [`Limits::max_module_size`]: 512 MiB.
pub const DEFAULT_MAX_MODULE_SIZE: u64 = 512 << 20;

impl Default for Limits {
    fn default() -> Self {
        // The largest module in Debian 6.12 (amdgpu) is about 20 MiB uncompressed; a
        // 512 MiB cap leaves room for debug builds while bounding what a hostile file
        // can make one reader thread allocate.
        Limits {
            max_module_size: DEFAULT_MAX_MODULE_SIZE,
        }
    }
}

/// Why a module could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The compressed stream is corrupt or truncated.
    #[error("corrupt {format} data: {source}")]
    Corrupt {
        /// The container.
        format: &'static str,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// The stream expands past the configured limit.
    #[error("{format} data expands past the limit of {limit} bytes")]
    TooLarge {
        /// The container.
        format: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// Memory for the module's data could not be allocated.
    #[error("cannot allocate {bytes} bytes for the module's data")]
    NoMemory {
        /// The size of the allocation that failed.
        bytes: u64,
    },
    /// The run's shared [`Budget`] has no room for this module now; the caller frees what
    /// it holds and tries again with [`Budget::turn`].
    #[error("the memory budget for reading modules is in use")]
    OutOfBudget,
}

/// The memory that every module being read at once may hold together, in bytes: what one
/// module of the largest accepted size needs (its compressed file and its decoded image).
/// On top of it, each reading thread keeps up to [`Budget::FREE`] of buffers without
/// asking.
pub fn run_budget(limits: &Limits) -> u64 {
    limits.max_module_size.saturating_mul(2).saturating_add(1)
}

/// Memory shared by the threads that read modules, so that the whole run, not each
/// thread, is bounded: eight threads each decoding a bomb up to `--max-module-size`
/// once took 4.4 GB.
///
/// A module acquires bytes as its buffers grow beyond [`Budget::FREE`] (normal modules,
/// a few MiB, never ask, so decoding is not serialised). When there is no room, the
/// module's thread frees what it holds and reads the module again holding the *turn*
/// ([`Budget::turn`], one thread at a time); with the turn, acquiring waits until others
/// finish, and others' acquisitions fail while it waits, so it always gets what it needs
/// (the budget is at least what one module can need) and nothing deadlocks.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<BudgetState>,
    freed: Condvar,
    turn: Mutex<()>,
}

#[derive(Debug)]
struct BudgetState {
    /// Bytes acquired and not yet released.
    used: u64,
    /// The holder of the turn is waiting for room.
    waiting: bool,
}

/// The process's budget (the total is given with each grant, from the run's [`Limits`]).
pub static BUDGET: Budget = Budget {
    state: Mutex::new(BudgetState {
        used: 0,
        waiting: false,
    }),
    freed: Condvar::new(),
    turn: Mutex::new(()),
};

impl Budget {
    /// Buffer bytes a thread may hold without acquiring them.
    pub const FREE: u64 = 4 << 20;

    fn state(&self) -> MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the turn: the one thread that may wait for room. Held while a module that
    /// found no room is read again.
    pub fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes acquired now, by all threads.
    pub fn in_use(&self) -> u64 {
        self.state().used
    }

    fn acquire(&self, n: u64, total: u64, with_turn: bool) -> bool {
        let mut st = self.state();
        loop {
            if st.used.saturating_add(n) <= total && (with_turn || !st.waiting) {
                st.used += n;
                if with_turn {
                    st.waiting = false;
                }
                return true;
            }
            if !with_turn || n > total {
                return false;
            }
            st.waiting = true;
            st = self.freed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self, n: u64) {
        if n > 0 {
            let mut st = self.state();
            st.used -= n;
            drop(st);
            self.freed.notify_all();
        }
    }
}

/// What one module's read holds of the [`Budget`]; released on drop.
#[derive(Debug)]
pub struct Grant {
    held: u64,
    total: u64,
    with_turn: bool,
}

impl Grant {
    /// An empty grant against a budget of `total` bytes; `with_turn` when the caller
    /// holds [`Budget::turn`].
    pub fn new(total: u64, with_turn: bool) -> Grant {
        Grant {
            held: 0,
            total,
            with_turn,
        }
    }

    /// Makes sure buffers of `bytes` in all are covered (beyond [`Budget::FREE`]).
    pub fn cover(&mut self, bytes: u64) -> Result<(), DecompressError> {
        let need = bytes.saturating_sub(Budget::FREE);
        if need <= self.held {
            return Ok(());
        }
        if BUDGET.acquire(need - self.held, self.total, self.with_turn) {
            self.held = need;
            Ok(())
        } else if self.with_turn {
            Err(DecompressError::NoMemory { bytes })
        } else {
            Err(DecompressError::OutOfBudget)
        }
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        BUDGET.release(self.held);
    }
}

/// Decompresses `data` in container `c` into a new buffer, bounded by `limits` (and
/// by the run's [`Budget`]).
pub fn decompress(
    c: Compression,
    data: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    let mut grant = Grant::new(run_budget(limits), false);
    let first = decompress_into(c, data, limits, &mut out, &mut |n| grant.cover(n));
    match first {
        Err(DecompressError::OutOfBudget) => {
            drop(grant);
            out = Vec::new();
            let _turn = BUDGET.turn();
            let mut grant = Grant::new(run_budget(limits), true);
            decompress_into(c, data, limits, &mut out, &mut |n| grant.cover(n))?;
        }
        r => r?,
    }
    Ok(out)
}

/// A stated uncompressed size is trusted, for the first allocation, up to this many
/// times the compressed size (real modules compress about 4:1); beyond, the buffer grows
/// as the data comes.
const TRUSTED_RATIO: u64 = 64;

/// Decompresses into `out` (cleared first), reusing its allocation: decoding thousands of
/// modules into one buffer per thread avoids mapping and faulting in fresh memory for
/// each. The buffer is sized from the size the container records (within
/// `TRUSTED_RATIO`), then doubled as needed up to the limit; before each allocation,
/// `cover(capacity)` is asked for the memory (see [`Grant::cover`]). A failed
/// allocation is [`DecompressError::NoMemory`].
pub fn decompress_into(
    c: Compression,
    data: &[u8],
    limits: &Limits,
    out: &mut Vec<u8>,
    cover: &mut dyn FnMut(u64) -> Result<(), DecompressError>,
) -> Result<(), DecompressError> {
    let format = c.name();
    let cap = limits.max_module_size;
    out.clear();
    let trusted = (data.len() as u64)
        .saturating_mul(TRUSTED_RATIO)
        .max(64 << 10);
    // One spare byte lets the reads see the end without growing the buffer.
    let first = uncompressed_size_hint(c, data)
        .unwrap_or(data.len() as u64 * 4)
        .min(trusted)
        .min(cap)
        + 1;
    let mut grow = |out: &mut Vec<u8>, to: u64| -> Result<(), DecompressError> {
        cover(to)?;
        let extra = (to as usize).saturating_sub(out.len());
        out.try_reserve_exact(extra)
            .map_err(|_| DecompressError::NoMemory { bytes: to })
    };
    if (out.capacity() as u64) < first {
        grow(out, first)?;
    }
    let corrupt = |source| DecompressError::Corrupt { format, source };
    match c {
        Compression::None => {
            grow(out, data.len() as u64)?;
            out.extend_from_slice(data);
        }
        Compression::Xz => fill(
            &mut liblzma::read::XzDecoder::new(data),
            out,
            cap,
            &mut grow,
        )
        .map_err(|e| e.into_error(corrupt))?,
        Compression::Zstd => {
            // libkmod decodes a zstd stream until the file ends and keeps what came out,
            // so a truncated frame is what it decoded so far (then judged as an ELF image).
            let mut dec = zstd::stream::read::Decoder::with_buffer(data).map_err(corrupt)?;
            match fill(&mut dec, out, cap, &mut grow) {
                Err(FillError::Read(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                r => r.map_err(|e| e.into_error(corrupt))?,
            }
        }
        Compression::Gzip => fill(
            &mut flate2::read::MultiGzDecoder::new(data),
            out,
            cap,
            &mut grow,
        )
        .map_err(|e| e.into_error(corrupt))?,
    }
    if out.len() as u64 > cap {
        return Err(DecompressError::TooLarge { format, limit: cap });
    }
    Ok(())
}

/// Why [`fill`] stopped early.
enum FillError {
    Read(std::io::Error),
    Grow(DecompressError),
}

impl FillError {
    fn into_error(
        self,
        corrupt: impl FnOnce(std::io::Error) -> DecompressError,
    ) -> DecompressError {
        match self {
            FillError::Read(e) => corrupt(e),
            FillError::Grow(e) => e,
        }
    }
}

/// Grows a buffer to a capacity, acquiring the memory first.
type Grow<'g> = dyn FnMut(&mut Vec<u8>, u64) -> Result<(), DecompressError> + 'g;

/// Reads `r` to its end into `out`, within its capacity, growing it (by `grow`, which
/// acquires and allocates) by doubling up to `cap + 1` bytes: one byte past the limit
/// tells a stream that is too large.
fn fill(
    r: &mut dyn Read,
    out: &mut Vec<u8>,
    cap: u64,
    grow: &mut Grow<'_>,
) -> Result<(), FillError> {
    loop {
        let room = (out.capacity() - out.len()) as u64;
        if room > 0 {
            // Reads into the spare capacity only: at the limit, `take` reports the end
            // and `read_to_end` does not grow the buffer.
            let before = out.len();
            (&mut *r)
                .take(room)
                .read_to_end(out)
                .map_err(FillError::Read)?;
            if ((out.len() - before) as u64) < room {
                return Ok(()); // the end of the stream
            }
        }
        if out.len() as u64 > cap {
            return Ok(()); // the caller reports it as too large
        }
        let to = (out.capacity() as u64)
            .saturating_mul(2)
            .max(64 << 10)
            .min(cap + 1);
        grow(out, to).map_err(FillError::Grow)?;
    }
}

/// The uncompressed size a container states about itself, when cheap to read: the xz
/// index, the zstd frame header, the gzip trailer. Only a hint: never trusted for
/// bounds, since a hostile file can state anything.
pub fn uncompressed_size_hint(c: Compression, data: &[u8]) -> Option<u64> {
    match c {
        Compression::None => Some(data.len() as u64),
        Compression::Xz => xz_index_size(data),
        Compression::Zstd => zstd::zstd_safe::get_frame_content_size(data).ok().flatten(),
        Compression::Gzip => {
            let t = data.get(data.len().checked_sub(4)?..)?;
            Some(u64::from(u32::from_le_bytes(t.try_into().ok()?)))
        }
    }
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Sums the uncompressed sizes in the index of the last xz stream in `data`.
fn xz_index_size(data: &[u8]) -> Option<u64> {
    let mut end = data.len();
    while end >= 4 && data[end - 4..end] == [0, 0, 0, 0] {
        end -= 4; // stream padding
    }
    let footer = data.get(end.checked_sub(12)?..end)?;
    if &footer[10..12] != b"YZ" {
        return None;
    }
    let backward = (u64::from(u32::from_le_bytes(footer[4..8].try_into().ok()?)) + 1) * 4;
    let start = (end - 12).checked_sub(usize::try_from(backward).ok()?)?;
    let index = &data[start..end - 12];
    if index.first() != Some(&0) {
        return None;
    }
    let mut pos = 1;
    let records = varint(index, &mut pos)?;
    let mut total: u64 = 0;
    for _ in 0..records.min(1 << 20) {
        let _unpadded = varint(index, &mut pos)?;
        total = total.checked_add(varint(index, &mut pos)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_by_magic() {
        assert_eq!(Compression::detect(&xz(b"x")), Compression::Xz);
        assert_eq!(Compression::detect(b"\x7fELF"), Compression::None);
        assert_eq!(
            Compression::detect(&[0x28, 0xB5, 0x2F, 0xFD, 0]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(&[0x1F, 0x8B, 8]), Compression::Gzip);
    }

    #[test]
    fn round_trips_each_format() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let l = Limits::default();
        assert_eq!(decompress(Compression::Xz, &xz(&data), &l).unwrap(), data);
        let z = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decompress(Compression::Zstd, &z, &l).unwrap(), data);
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(&data).unwrap();
        let g = g.finish().unwrap();
        assert_eq!(decompress(Compression::Gzip, &g, &l).unwrap(), data);
    }

    #[test]
    fn size_hints_match() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i % 13) as u8).collect();
        assert_eq!(
            uncompressed_size_hint(Compression::Xz, &xz(&data)),
            Some(70_000)
        );
        let z = zstd::bulk::compress(&data, 3).unwrap();
        assert_eq!(uncompressed_size_hint(Compression::Zstd, &z), Some(70_000));
        assert_eq!(uncompressed_size_hint(Compression::Xz, b"garbage"), None);
        let mut out = vec![1, 2, 3];
        decompress_into(
            Compression::Xz,
            &xz(&data),
            &Limits::default(),
            &mut out,
            &mut |_| Ok(()),
        )
        .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn bomb_is_bounded() {
        let data = vec![0u8; 10 << 20];
        let l = Limits {
            max_module_size: 1 << 20,
        };
        let err = decompress(Compression::Xz, &xz(&data), &l).unwrap_err();
        assert!(matches!(err, DecompressError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn corrupt_xz_is_an_error() {
        let mut c = xz(b"hello world hello world");
        let n = c.len();
        c[n / 2] ^= 0xff;
        c.truncate(n - 4);
        assert!(decompress(Compression::Xz, &c, &Limits::default()).is_err());
    }

    #[test]
    fn truncated_zstd_keeps_what_was_decoded() {
        // Two frames' worth of blocks: cut inside the second block, the first block's
        // output is kept (libkmod's reading), and a cut inside the first gives nothing.
        let data: Vec<u8> = (0..400_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let z = zstd::encode_all(&data[..], 1).unwrap();
        let l = Limits::default();
        let part = decompress(Compression::Zstd, &z[..z.len() - 10], &l).unwrap();
        assert!(
            part.len() < data.len() && data.starts_with(&part),
            "{}",
            part.len()
        );
        assert_eq!(decompress(Compression::Zstd, &z[..20], &l).unwrap(), b"");
        let mut bad = z.clone();
        bad[z.len() / 2] ^= 0xff;
        bad[z.len() / 2 + 1] ^= 0xff;
        assert!(decompress(Compression::Zstd, &bad, &l).is_err());
    }
}
