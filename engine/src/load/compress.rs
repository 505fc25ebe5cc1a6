//! Decompression of module files, chosen by magic bytes as kmod does (not by extension).
//!
//! Output is capped: a module that would expand past [`Limits::max_module_size`] is an
//! error, never an allocation of unbounded size (a "decompression bomb").

use std::io::Read;

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
}

/// Decompresses `data` in container `c` into a new buffer, bounded by `limits`.
pub fn decompress(
    c: Compression,
    data: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    decompress_into(c, data, limits, &mut out)?;
    Ok(out)
}

/// Decompresses into `out` (cleared first), reusing its allocation: decoding thousands of
/// modules into one buffer per thread avoids mapping and faulting in fresh memory for
/// each. The buffer is sized up front from the size the container records, if any.
pub fn decompress_into(
    c: Compression,
    data: &[u8],
    limits: &Limits,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    let format = c.name();
    let cap = limits.max_module_size;
    out.clear();
    if let Some(n) = uncompressed_size_hint(c, data) {
        // One spare byte lets `read_to_end` see the end without growing the buffer.
        out.reserve((n.min(cap) as usize).saturating_add(1));
    }
    let res = match c {
        Compression::None => {
            out.extend_from_slice(data);
            Ok(0)
        }
        Compression::Xz => liblzma::read::XzDecoder::new(data)
            .take(cap + 1)
            .read_to_end(out),
        // libkmod decodes a zstd stream until the file ends and keeps what came out, so
        // a truncated frame is what it decoded so far (then judged as an ELF image).
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(data) {
            Ok(dec) => match dec.take(cap + 1).read_to_end(out) {
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(out.len()),
                r => r,
            },
            Err(e) => Err(e),
        },
        Compression::Gzip => flate2::read::MultiGzDecoder::new(data)
            .take(cap + 1)
            .read_to_end(out),
    };
    match res {
        Err(source) => Err(DecompressError::Corrupt { format, source }),
        Ok(_) if out.len() as u64 > cap => Err(DecompressError::TooLarge { format, limit: cap }),
        Ok(_) => Ok(()),
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
        decompress_into(Compression::Xz, &xz(&data), &Limits::default(), &mut out).unwrap();
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
