//! Reading only the parts of an uncompressed module that are needed.
//!
//! A module file is mostly code and relocations; what depmod and the checks need (the
//! section headers, `.symtab`, `.strtab`, `.modinfo`, `__versions`, `__ksymtab_strings`,
//! `__kcrctab*`, `.export_symbol`, `__version_ext_*`) is about a tenth of it. [`SparseFile`] reads those ranges with `pread`
//! into one reusable buffer and serves them to the `object` crate through its
//! [`ReadRef`] trait; a read of anything not loaded fails like a read past the end, and
//! the caller can load more and parse again.

use object::read::elf::{FileHeader, SectionHeader};
use object::{Endianness, ReadRef};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

/// Sections whose contents the module reader looks at.
pub const NEEDED_SECTIONS: &[&[u8]] = &[
    b".symtab",
    b".strtab",
    b".modinfo",
    b"__versions",
    b"__ksymtab_strings",
    b"__kcrctab",
    b"__kcrctab_gpl",
    // 6.5+ pre-link objects' exports; 6.14+ extended modversions.
    b".export_symbol",
    b"__version_ext_crcs",
    b"__version_ext_names",
];

/// How many bytes before the section-header table are read with it (kernel modules'
/// section-name tables are a few hundred bytes, placed right before it).
const SHSTRTAB_LEAD: u64 = 2048;

/// Loaded byte ranges of one file.
#[derive(Debug, Default)]
pub struct SparseFile {
    buf: Vec<u8>,
    /// `(file offset, length, offset in buf)`, in load order.
    ranges: Vec<(u64, u64, usize)>,
    file_len: u64,
}

/// A read-only view of a [`SparseFile`], usable wherever `object` takes a `ReadRef`.
#[derive(Debug, Clone, Copy)]
pub struct SparseView<'a> {
    buf: &'a [u8],
    ranges: &'a [(u64, u64, usize)],
    file_len: u64,
}

impl SparseFile {
    /// Forgets everything loaded and starts on a file of `file_len` bytes.
    pub fn reset(&mut self, file_len: u64) {
        self.buf.clear();
        self.ranges.clear();
        self.file_len = file_len;
    }

    /// Loads `[off, off+len)` (clipped to the file) unless it is already loaded.
    pub fn load(&mut self, file: &File, off: u64, len: u64) -> io::Result<()> {
        let end = off.saturating_add(len).min(self.file_len);
        // Start at a 16-byte boundary of the file, so that buffer positions keep the
        // file's alignment and aligned tables (`.symtab`) can be viewed as records.
        let off = off & !15;
        if off >= end || self.view().covered(off, end - off).is_some() {
            return Ok(());
        }
        let n = (end - off) as usize;
        let start = self.buf.len().next_multiple_of(16);
        // Memory that cannot be had fails this module with ENOMEM (as kmod reports it),
        // never aborts the run: `resize` alone would.
        self.buf
            .try_reserve((start + n).saturating_sub(self.buf.len()))
            .map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
        self.buf.resize(start + n, 0);
        file.read_exact_at(&mut self.buf[start..], off)?;
        if off == 0 {
            super::elf::accept_any_ident_version(&mut self.buf[start..]);
        }
        self.ranges.push((off, n as u64, start));
        Ok(())
    }

    /// Loads several ranges, merging those less than `gap` bytes apart into one read.
    pub fn load_merged(
        &mut self,
        file: &File,
        mut want: Vec<(u64, u64)>,
        gap: u64,
    ) -> io::Result<()> {
        want.retain(|&(_, l)| l > 0);
        want.sort_unstable();
        let mut cur: Option<(u64, u64)> = None;
        for (o, l) in want {
            let e = o.saturating_add(l);
            cur = match cur {
                Some((co, ce)) if o <= ce.saturating_add(gap) => Some((co, ce.max(e))),
                Some((co, ce)) => {
                    self.load(file, co, ce - co)?;
                    Some((o, e))
                }
                None => Some((o, e)),
            };
        }
        if let Some((co, ce)) = cur {
            self.load(file, co, ce - co)?;
        }
        Ok(())
    }

    /// Frees the buffer if it has grown past `keep` bytes (what is loaded is forgotten).
    pub fn shrink(&mut self, keep: usize) {
        if self.buf.capacity() > keep {
            *self = SparseFile::default();
        }
    }

    /// The view for parsing.
    pub fn view(&self) -> SparseView<'_> {
        SparseView {
            buf: &self.buf,
            ranges: &self.ranges,
            file_len: self.file_len,
        }
    }
}

impl<'a> SparseView<'a> {
    /// The loaded bytes covering `[off, off+size)`, if one loaded range covers them all.
    fn covered(&self, off: u64, size: u64) -> Option<&'a [u8]> {
        let end = off.checked_add(size)?;
        self.ranges
            .iter()
            .find(|&&(o, l, _)| off >= o && end <= o + l)
            .map(|&(o, _, b)| {
                let s = b + (off - o) as usize;
                &self.buf[s..s + size as usize]
            })
    }
}

impl<'a> ReadRef<'a> for SparseView<'a> {
    fn len(self) -> Result<u64, ()> {
        Ok(self.file_len)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        self.covered(offset, size).ok_or(())
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        let &(o, l, b) = self
            .ranges
            .iter()
            .find(|&&(o, l, _)| range.start >= o && range.start < o + l)
            .ok_or(())?;
        let end = range.end.min(o + l);
        let s = b + (range.start - o) as usize;
        let e = b + (end.saturating_sub(o)) as usize;
        let slice = self.buf.get(s..e).ok_or(())?;
        let n = memchr_pos(slice, delimiter).ok_or(())?;
        Ok(&slice[..n])
    }
}

fn memchr_pos(s: &[u8], d: u8) -> Option<usize> {
    s.iter().position(|&b| b == d)
}

/// Loads the header, the section-header table, the section-name table and every
/// section in [`NEEDED_SECTIONS`]. Anything malformed is left for the parser to report:
/// this only decides what to read.
pub fn load_module_parts(file: &File, sparse: &mut SparseFile) -> io::Result<()> {
    sparse.load(file, 0, 64)?;
    let class = sparse.view().covered(4, 1).map(|b| b[0]);
    match class {
        Some(2) => plan::<object::elf::FileHeader64<Endianness>>(file, sparse),
        Some(1) => plan::<object::elf::FileHeader32<Endianness>>(file, sparse),
        _ => Ok(()),
    }
}

fn plan<Elf: FileHeader<Endian = Endianness>>(
    file: &File,
    sparse: &mut SparseFile,
) -> io::Result<()> {
    // The section-header table.
    let (shoff, shsize) = {
        let v = sparse.view();
        let Ok(h) = Elf::parse(v) else { return Ok(()) };
        let Ok(endian) = h.endian() else {
            return Ok(());
        };
        let shoff: u64 = h.e_shoff(endian).into();
        let n = match h.e_shnum(endian) {
            0 => 1, // extended numbering: the real count is in section 0
            n => u64::from(n),
        };
        (shoff, n.saturating_mul(u64::from(h.e_shentsize(endian))))
    };
    // Linkers put the section-name table just before the section headers: one read of
    // a little more than the table usually brings both.
    let lead = SHSTRTAB_LEAD.min(shoff);
    sparse.load(file, shoff - lead, shsize.saturating_add(lead))?;
    // Extended numbering needs the whole table, sized by section 0.
    let (full, shstr) = {
        let v = sparse.view();
        let Ok(h) = Elf::parse(v) else { return Ok(()) };
        let Ok(endian) = h.endian() else {
            return Ok(());
        };
        let Ok(n) = h.shnum(endian, v) else {
            return Ok(());
        };
        let full = (n as u64).saturating_mul(u64::from(h.e_shentsize(endian)));
        let shstr = h
            .shstrndx(endian, v)
            .ok()
            .and_then(|i| {
                h.section_headers(endian, v)
                    .ok()
                    .and_then(|s| s.get(i as usize))
            })
            .map(|s| (s.sh_offset(endian).into(), s.sh_size(endian).into()));
        (full, shstr)
    };
    if full > shsize {
        sparse.load(file, shoff, full)?;
    }
    if let Some((o, l)) = shstr {
        sparse.load(file, o, l)?;
    }
    let want: Vec<(u64, u64)> = {
        let v = sparse.view();
        let Ok(h) = Elf::parse(v) else { return Ok(()) };
        let Ok(endian) = h.endian() else {
            return Ok(());
        };
        let Ok(headers) = h.section_headers(endian, v) else {
            return Ok(());
        };
        let Some(names) = shstr.and_then(|(o, l)| v.read_bytes_at(o, l).ok()) else {
            return Ok(());
        };
        let name_of = |sh: &Elf::SectionHeader| {
            let rest = names.get(sh.sh_name(endian) as usize..)?;
            // Bounded scan: a wanted name is short (see `elf::MAX_SYMBOL_NAME_LEN`).
            let window = &rest[..rest.len().min(super::elf::MAX_SYMBOL_NAME_LEN + 1)];
            Some(&rest[..memchr::memchr(0, window)?])
        };
        // First match by name, as the parser (and kmod) will look them up; one pass
        // over the headers.
        let mut first: [Option<&Elf::SectionHeader>; NEEDED_SECTIONS.len()] =
            [None; NEEDED_SECTIONS.len()];
        // As the parser (and kmod) does: from index 1, and only sections that lie within
        // the file.
        let file_len = v.file_len;
        for s in headers.iter().skip(1) {
            let (o, l): (u64, u64) = (s.sh_offset(endian).into(), s.sh_size(endian).into());
            if o.checked_add(l).is_none_or(|e| e > file_len) {
                continue;
            }
            let Some(name) = name_of(s) else { continue };
            if let Some(i) = NEEDED_SECTIONS.iter().position(|w| *w == name) {
                first[i].get_or_insert(s);
            }
        }
        first
            .into_iter()
            .flatten()
            .filter(|s| s.sh_type(endian) != object::elf::SHT_NOBITS)
            .map(|s| (s.sh_offset(endian).into(), s.sh_size(endian).into()))
            .collect()
    };
    sparse.load_merged(file, want, 4096)
}
