//! Reading one kernel module's ELF image: exports, imports and `.modinfo`.
//!
//! The rules follow what kmod's libkmod reads, so that depmod artifacts come out the
//! same: exports from the `__crc_*` symbols (CRC from `__kcrctab*`), falling back to the
//! strings of `__ksymtab_strings`; imports from the undefined symbols of `.symtab`, then
//! the `__versions` records no undefined symbol matched; `.modinfo` strings in file order.
//! On top of that it reads what modpost knows and kmod ignores: whether an export is
//! GPL-only (its `__ksymtab_*` section) and its namespace (`__kstrtabns_*`).
//!
//! Pre-link objects (`.o`) are read too, as modpost reads them. Up to Linux 6.4 their
//! exports are the `__ksymtab_<sym>` labels of the `___ksymtab+<sym>` and
//! `___ksymtab_gpl+<sym>` sections; from 6.5 on the `__export_symbol_<sym>` labels of
//! the `.export_symbol` section, each pointing at the licence string (`"GPL"` or `""`)
//! followed by the namespace string (then, aligned, the relocated address of the symbol,
//! which modpost does not need to read). A linked `.ko` has neither (kbuild's module
//! linker script drops `.export_symbol`), so what is read from a `.ko` is unchanged.
//!
//! Everything is bounds-checked through the `object` crate: a hostile file gives an
//! [`ElfError`], never a panic. This module knows nothing of policy or of other modules.

use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endianness, Pod, ReadRef};
use rustc_hash::FxHashMap as HashMap;

/// A symbol or namespace name: stored inline up to 24 bytes (most kernel symbols are
/// shorter), so reading a module does not allocate once per import.
pub type Name = compact_str::CompactString;

/// Licence class of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportKind {
    /// `EXPORT_SYMBOL`: usable by any module.
    Plain,
    /// `EXPORT_SYMBOL_GPL`: usable only by GPL-compatible modules.
    GplOnly,
    /// No `__ksymtab_*` entry was found (kmod's `__ksymtab_strings` fallback, or a
    /// stripped module); the licence is unknown.
    Unknown,
}

/// One exported symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The symbol name (bytes that are not UTF-8 carried as [`name_from_bytes`] says).
    pub name: Name,
    /// The CRC (kmod reads it as a 64-bit value; 0 when the module has no CRCs).
    pub crc: u64,
    /// Whether `__crc_<name>` gave the CRC (false: fallback path, CRC is 0).
    pub has_crc: bool,
    /// GPL-only or not.
    pub kind: ExportKind,
    /// The symbol namespace, if any.
    pub namespace: Option<Name>,
}

/// One imported (undefined) symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The symbol name as the module spells it.
    pub name: Name,
    /// The CRC from `__versions`, 0 if none.
    pub crc: u64,
    /// Whether a `__versions` record supplied the CRC.
    pub has_crc: bool,
    /// A weak reference (`STB_WEAK`).
    pub weak: bool,
    /// Came only from `__versions` (no undefined symbol), e.g. `module_layout`.
    pub versions_only: bool,
}

/// One `.modinfo` string split at its first `=`, borrowed from a [`Modinfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModinfoEntry<'a> {
    /// The key (before the first `=`; the whole string if there is none).
    pub key: &'a [u8],
    /// The value (after the first `=`).
    pub value: &'a [u8],
}

/// A module's `.modinfo`: the section's bytes, kept once, and where each entry lies in
/// them (one allocation per module, not two per entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modinfo {
    data: Box<[u8]>,
    /// `(start, key end, end)` of each entry in `data`; the value starts after the `=`
    /// at `key end` when `key end < end`.
    entries: Box<[(u32, u32, u32)]>,
}

impl Modinfo {
    /// Splits a `.modinfo` section into entries as kmod does: NUL-separated strings
    /// (runs of NULs are one separator), the last one possibly unterminated, each split
    /// at its first `=`. Only the first 4 GiB are read (eight times the default module
    /// size limit, [`super::Limits`]).
    pub fn parse(mi: &[u8]) -> Modinfo {
        let mi = &mi[..mi.len().min(u32::MAX as usize)];
        let mut entries = Vec::with_capacity(memchr::memchr_iter(0, mi).count() + 1);
        let mut start = 0;
        while start < mi.len() {
            let end = memchr::memchr(0, &mi[start..]).map_or(mi.len(), |n| start + n);
            if end > start {
                let key_end = memchr::memchr(b'=', &mi[start..end]).map_or(end, |n| start + n);
                // In range: every offset is at most `mi.len()`, itself at most u32::MAX.
                entries.push((start as u32, key_end as u32, end as u32));
            }
            start = end + 1;
        }
        Modinfo {
            data: mi.into(),
            entries: entries.into_boxed_slice(),
        }
    }

    /// The section's bytes as read (what [`Modinfo::parse`] was given, up to 4 GiB).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Every entry, in file order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ModinfoEntry<'_>> + '_ {
        self.entries.iter().map(|&(s, k, e)| {
            let (s, k, e) = (s as usize, k as usize, e as usize);
            ModinfoEntry {
                key: &self.data[s..k],
                value: if k < e { &self.data[k + 1..e] } else { &[] },
            }
        })
    }

    /// Every value of `key`, in file order.
    pub fn get<'a>(&'a self, key: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter().filter(move |e| e.key == key).map(|e| e.value)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Everything read from one module image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleImage {
    /// Exports in kmod's order.
    pub exports: Vec<Export>,
    /// Imports in kmod's order; empty when the import list could not be read.
    pub imports: Vec<Import>,
    /// Whether the import list could be read (kmod needs `.symtab` and `.strtab`).
    pub imports_read: bool,
    /// `.modinfo` in file order.
    pub modinfo: Modinfo,
}

/// Why a module image could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not an ELF file at all.
    #[error("not an ELF file")]
    NotElf,
    /// An ELF file whose structure is broken (truncated, offsets past the end, ...).
    #[error("malformed ELF: {0}")]
    Malformed(String),
}

fn malformed(e: object::read::Error) -> ElfError {
    ElfError::Malformed(e.to_string())
}

/// `e_ident[EI_VERSION]`, which kmod does not look at.
const EI_VERSION: usize = 6;

/// Makes the start of an ELF image (`head`, from file offset 0) readable as kmod reads
/// it: kmod does not look at `e_ident[EI_VERSION]`, while the `object` crate refuses any
/// value but `EV_CURRENT`; so the byte is set to `EV_CURRENT`. Called by the readers
/// where the image's first bytes land ([`super::sparse::SparseFile::load`], the
/// decompressed image), before anything parses them.
pub fn accept_any_ident_version(head: &mut [u8]) {
    if head.len() > EI_VERSION && head.starts_with(b"\x7fELF") {
        head[EI_VERSION] = elf::EV_CURRENT;
    }
}

/// Parses a module image held wholly in memory (already decompressed).
pub fn parse(data: &[u8]) -> Result<ModuleImage, ElfError> {
    parse_ref(data, &mut Vec::new())
}

/// Parses a module image through any `object` reader, e.g. a
/// [`SparseView`](super::sparse::SparseView) of the parts loaded from disk.
///
/// A CRC read that falls outside what `data` holds but inside the file is recorded in
/// `missing` (file offsets of 4-byte reads); the caller loads those bytes and parses
/// again. With a complete image `missing` stays empty.
pub fn parse_ref<'d, R: ReadRef<'d>>(
    data: R,
    missing: &mut Vec<u64>,
) -> Result<ModuleImage, ElfError> {
    let ident = data.read_bytes_at(0, 16).map_err(|_| ElfError::NotElf)?;
    if &ident[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    match ident[4] {
        elf::ELFCLASS64 => parse_generic::<elf::FileHeader64<Endianness>, R>(data, missing),
        elf::ELFCLASS32 => parse_generic::<elf::FileHeader32<Endianness>, R>(data, missing),
        c => Err(ElfError::Malformed(format!("unknown ELF class {c}"))),
    }
}

/// The longest section name looked at, in bytes: the sections wanted have short names,
/// and scanning no further keeps `e_shnum` sections pointing into one huge unterminated
/// name linear. Symbol names have no limit (kmod reads any length): see `Names`.
pub const MAX_SYMBOL_NAME_LEN: usize = 4096;

/// The NUL-terminated names of one string table, found in time linear in the table
/// however many symbols point into it.
///
/// kmod reads a symbol name of any length (a 4 MiB name is read, and its importers keep
/// their dependencies), so names are not cut. A hostile table can point every symbol into
/// one long name at a different offset; scanning from each offset to the NUL would be
/// quadratic. So each long scan is remembered as a run `start..=end` (no NUL before
/// `end`, a NUL or the table's end at `end`), and a later scan stops where a known run
/// starts: every byte is scanned at most about twice.
struct Names<'a> {
    bytes: &'a [u8],
    /// Known runs by their end: `end -> start`.
    runs: std::collections::BTreeMap<usize, usize>,
}

impl<'a> Names<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Names {
            bytes,
            runs: Default::default(),
        }
    }

    /// The name at `off`: `None` when `off` is outside the table or the name runs to its
    /// end unterminated (skipped, as before).
    fn get(&mut self, off: usize) -> Option<&'a [u8]> {
        let bytes = self.bytes;
        let rest = bytes.get(off..)?;
        // Short names (nearly all): one bounded scan.
        let window = &rest[..rest.len().min(MAX_SYMBOL_NAME_LEN + 1)];
        if let Some(n) = memchr::memchr(0, window) {
            return Some(&rest[..n]);
        }
        let next = self.runs.range(off..).next().map(|(&e, &s)| (e, s));
        let end = match next {
            Some((end, start)) if start <= off => end,
            Some((end, start)) => match memchr::memchr(0, &bytes[off..start]) {
                Some(n) => {
                    self.runs.insert(off + n, off);
                    off + n
                }
                None => {
                    self.runs.insert(end, off);
                    end
                }
            },
            None => {
                let end = memchr::memchr(0, rest).map_or(bytes.len(), |n| off + n);
                self.runs.insert(end, off);
                end
            }
        };
        (end < bytes.len()).then(|| &bytes[off..end])
    }
}

/// The NUL-terminated string at `off` (a section name), if it is at most
/// [`MAX_SYMBOL_NAME_LEN`] bytes: a longer one matches no name we look for, and scanning
/// no further keeps `e_shnum` sections pointing into one huge unterminated name linear.
fn cstr_at(bytes: &[u8], off: usize) -> Option<&[u8]> {
    let rest = bytes.get(off..)?;
    let end = memchr::memchr(0, &rest[..rest.len().min(MAX_SYMBOL_NAME_LEN + 1)])?;
    Some(&rest[..end])
}

/// Byte `b` (0x80..=0xFF) of a name that is not UTF-8 text is carried in a [`Name`] as
/// the character U+10FF00 + `b` (Unicode's last private-use block), see [`name_from_bytes`].
const RAW_BYTE_BASE: u32 = 0x10_FF00;

/// Every character standing for a raw byte, and only those, encodes with a lead byte
/// 0xF4 (all characters from U+100000 on do): a name without that byte is its own text.
const RAW_LEAD: u8 = 0xF4;

/// Whether `c` is one of the characters [`name_from_bytes`] uses for raw bytes.
fn is_raw_byte_char(c: char) -> bool {
    (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xFF).contains(&u32::from(c))
}

/// A symbol name read from a module, kept losslessly although [`Name`] is text.
///
/// kmod handles names as bytes: an 8-bit name that is not UTF-8 is exported, matched by
/// its importers and printed as it is. Such a name is carried here with each byte that
/// is not part of UTF-8 text as the private-use character U+10FF00 + byte (and, so that
/// nothing is ambiguous, each of those characters found as text in a name as its four
/// bytes, the same way). [`name_bytes`] gives the bytes back; names compare equal exactly
/// when their bytes do. Valid UTF-8 without such characters (every real name) is kept as
/// it is, at the cost of one scan. Whether a name can be stored is the index's decision
/// (a `.bin` key must be 7-bit ASCII; `-n` writes none).
pub fn name_from_bytes(raw: &[u8]) -> Name {
    if let Ok(s) = std::str::from_utf8(raw) {
        if memchr::memchr(RAW_LEAD, raw).is_none() {
            return s.into();
        }
    }
    let push_raw = |out: &mut String, b: u8| {
        out.push(char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or('\u{fffd}'));
    };
    let mut out = String::with_capacity(raw.len() * 2);
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_raw_byte_char(c) {
                for &b in c.encode_utf8(&mut [0; 4]).as_bytes() {
                    push_raw(&mut out, b);
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            push_raw(&mut out, b);
        }
    }
    out.into()
}

/// The bytes of a name made by [`name_from_bytes`] (borrowed unless it carries raw
/// bytes): what kmod writes to `modules.symbols`, an index key, or a warning.
pub fn name_bytes(name: &str) -> std::borrow::Cow<'_, [u8]> {
    if memchr::memchr(RAW_LEAD, name.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(name.as_bytes());
    }
    let mut out = Vec::with_capacity(name.len());
    for c in name.chars() {
        if is_raw_byte_char(c) {
            out.push((u32::from(c) - RAW_BYTE_BASE) as u8);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}

fn pod_slice<T: Pod>(bytes: &[u8]) -> Option<&[T]> {
    let n = bytes.len() / std::mem::size_of::<T>();
    object::pod::slice_from_bytes::<T>(bytes, n)
        .ok()
        .map(|(s, _)| s)
}

fn parse_generic<'d, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'d>>(
    data: R,
    missing: &mut Vec<u64>,
) -> Result<ModuleImage, ElfError> {
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let sections = header.sections(endian, data).map_err(malformed)?;
    // kmod insists the section-name table ends in NUL.
    let shstr_idx = header.shstrndx(endian, data).map_err(malformed)?;
    let shstr = sections
        .section(object::SectionIndex(shstr_idx as usize))
        .and_then(|s| s.data(endian, data))
        .map_err(malformed)?;
    if shstr.last() != Some(&0) {
        return Err(ElfError::Malformed(
            "section-name table does not end in NUL".into(),
        ));
    }
    // Every section's name, read once from the name table (kmod looks sections up by
    // name, first match wins).
    let names: Vec<&[u8]> = sections
        .iter()
        .map(|sh| cstr_at(shstr, sh.sh_name(endian) as usize).unwrap_or_default())
        .collect();
    let file_len = data.len().unwrap_or(0);
    // kmod looks a section up by name from index 1 and skips one that does not lie
    // within the file (`sh_offset + sh_size` past the end), as if it were absent: a
    // `__versions` or `__ksymtab_strings` past the end costs only that section.
    let in_file = |sh: &Elf::SectionHeader| {
        let (o, l): (u64, u64) = (sh.sh_offset(endian).into(), sh.sh_size(endian).into());
        o.checked_add(l).is_some_and(|e| e <= file_len)
    };
    let section_data = |name: &[u8]| -> Result<Option<(usize, &[u8])>, ElfError> {
        let found = sections
            .iter()
            .enumerate()
            .skip(1)
            .find(|&(i, sh)| names[i] == name && in_file(sh));
        match found {
            None => Ok(None),
            Some((i, sh)) => {
                let d = sh.data(endian, data).map_err(|_| {
                    ElfError::Malformed(format!(
                        "section {} could not be read",
                        String::from_utf8_lossy(name)
                    ))
                })?;
                Ok(Some((i, d)))
            }
        }
    };

    let mut img = ModuleImage::default();

    // .modinfo
    if let Some((_, mi)) = section_data(b".modinfo")? {
        img.modinfo = Modinfo::parse(mi);
    }

    let symtab = section_data(b".symtab")?;
    let strtab = section_data(b".strtab")?;
    let ksymtab_strings = section_data(b"__ksymtab_strings")?;
    let versions = section_data(b"__versions")?;

    // A symbol table at an odd file offset cannot be viewed in place: copy it into
    // 8-byte-aligned storage first (never needed for well-formed modules).
    let mut realigned: Vec<u64> = Vec::new();
    let syms: Option<(&[Elf::Sym], &[u8])> = match (symtab, strtab) {
        (Some((_, st)), Some((_, strs))) => {
            if st.len() % std::mem::size_of::<Elf::Sym>() != 0 {
                None
            } else if let Some(s) = pod_slice::<Elf::Sym>(st) {
                Some((s, strs))
            } else {
                realigned.resize(st.len().div_ceil(8), 0);
                let dst: &mut [u8] = object::pod::bytes_of_slice_mut(&mut realigned);
                dst[..st.len()].copy_from_slice(st);
                pod_slice::<Elf::Sym>(&object::pod::bytes_of_slice(&realigned)[..st.len()])
                    .map(|s| (s, strs))
            }
        }
        _ => None,
    };

    // Exports.
    if let Some((syms, strs)) = syms {
        let mut strs = Names::new(strs);
        let mut ksymtab: HashMap<&[u8], (ExportKind, Option<Name>)> = HashMap::default();
        let mut namespaces: Vec<(&[u8], &Elf::Sym)> = Vec::new();
        let mut object_exports: Vec<&[u8]> = Vec::new();
        let mut symbol_exports: Vec<Export> = Vec::new();
        for sym in syms.iter().skip(1) {
            // Only `__crc_*`, `__ksymtab_*` and `__kstrtabns_*` matter here: look at the
            // first bytes before finding where the name ends.
            let off = sym.st_name(endian) as usize;
            if !strs.bytes.get(off..).is_some_and(|r| {
                r.starts_with(b"__crc_") || r.starts_with(b"__k") || r.starts_with(b"__export_")
            }) {
                continue;
            }
            let Some(name) = strs.get(off) else {
                continue;
            };
            if let Some(export) = name.strip_prefix(b"__crc_") {
                let shndx = sym.st_shndx(endian);
                let value = sym.st_value(endian).into();
                let crc = if shndx == elf::SHN_UNDEF || shndx == elf::SHN_ABS {
                    value
                } else {
                    read_crc::<Elf, R>(&sections, endian, data, shndx as usize, value, missing)
                };
                img.exports.push(Export {
                    name: name_from_bytes(export),
                    crc,
                    has_crc: true,
                    kind: ExportKind::Unknown,
                    namespace: None,
                });
            } else if let Some(export) = name.strip_prefix(b"__ksymtab_") {
                let shndx = sym.st_shndx(endian) as usize;
                let kind = match names.get(shndx).copied() {
                    Some(name) => match name {
                        b"__ksymtab_gpl" => ExportKind::GplOnly,
                        b"__ksymtab" => ExportKind::Plain,
                        // A pre-link object (<= 6.4): one `___ksymtab[_gpl]+<sym>`
                        // section per export. A linked `.ko` never has these.
                        n if n.starts_with(b"___ksymtab_gpl+") => {
                            object_exports.push(export);
                            ExportKind::GplOnly
                        }
                        n if n.starts_with(b"___ksymtab+") => {
                            object_exports.push(export);
                            ExportKind::Plain
                        }
                        _ => continue,
                    },
                    None => continue,
                };
                ksymtab.insert(export, (kind, None));
            } else if let Some(export) = name.strip_prefix(b"__kstrtabns_") {
                namespaces.push((export, sym));
            } else if let Some(export) = name.strip_prefix(b"__export_symbol_") {
                let shndx = sym.st_shndx(endian) as usize;
                if names.get(shndx).copied() != Some(&b".export_symbol"[..]) {
                    continue;
                }
                // An entry that cannot be read is skipped, not an error: kmod reads no
                // `.export_symbol`, and a `.ko` must read as kmod reads it.
                let Some(bytes) = sections
                    .section(object::SectionIndex(shndx))
                    .ok()
                    .and_then(|sh| sh.data(endian, data).ok())
                else {
                    continue;
                };
                let value: u64 = sym.st_value(endian).into();
                if let Ok(e) = export_symbol_entry(export, bytes, value) {
                    symbol_exports.push(e);
                }
            }
        }
        if !symbol_exports.is_empty() {
            // A 6.5+ pre-link object: its exports are the `.export_symbol` entries, in
            // symbol-table order; their CRCs are in the build's `.cmd` files, not here.
            img.exports = symbol_exports;
        } else if !object_exports.is_empty() {
            // Pre-link object: the exports are the `__ksymtab_<sym>` labels, in symbol
            // table order, as modpost reads them; CRCs only where `__crc_` exists.
            let mut crcs: HashMap<Name, u64> =
                img.exports.drain(..).map(|e| (e.name, e.crc)).collect();
            for name in object_exports {
                let name = name_from_bytes(name);
                let crc = crcs.remove(&name);
                img.exports.push(Export {
                    name,
                    crc: crc.unwrap_or(0),
                    has_crc: crc.is_some(),
                    kind: ExportKind::Unknown,
                    namespace: None,
                });
            }
        } else if img.exports.is_empty() {
            if let Some((_, ks)) = ksymtab_strings {
                img.exports = fallback_exports(ks);
            }
        }
        if !ksymtab.is_empty() {
            // Namespace names all lie in `__ksymtab_strings`.
            let mut ns_names: Option<(usize, Names)> = None;
            for (export, sym) in namespaces {
                let shndx = sym.st_shndx(endian) as usize;
                // The kernel puts namespace names in `__ksymtab_strings`; a label anywhere
                // else is not one (and the sparse reader has not loaded other sections).
                if names.get(shndx).copied() != Some(&b"__ksymtab_strings"[..]) {
                    continue;
                }
                let off: u64 = sym.st_value(endian).into();
                let ns = sections
                    .section(object::SectionIndex(shndx))
                    .ok()
                    .and_then(|sh| sh.data(endian, data).ok())
                    .and_then(|d| {
                        let names = match &mut ns_names {
                            Some((i, n)) if *i == shndx => n,
                            slot => &mut slot.insert((shndx, Names::new(d))).1,
                        };
                        names.get(usize::try_from(off).ok()?)
                    })
                    .filter(|s| !s.is_empty());
                if let (Some(ns), Some(entry)) = (ns, ksymtab.get_mut(export)) {
                    entry.1 = Some(Name::from_utf8_lossy(ns));
                }
            }
            for e in &mut img.exports {
                if let Some((kind, ns)) = ksymtab.get(&*name_bytes(&e.name)) {
                    e.kind = *kind;
                    e.namespace = ns.clone();
                }
            }
        }
    } else if let Some((_, ks)) = ksymtab_strings {
        img.exports = fallback_exports(ks);
    }

    // Imports.
    let mut vers: Vec<(&[u8], u64, bool)> = Vec::new();
    let ext_crcs = section_data(b"__version_ext_crcs")?;
    let ext_names = section_data(b"__version_ext_names")?;
    if let (Some((_, crcs)), Some((_, names))) = (ext_crcs, ext_names) {
        // Extended modversions (Linux 6.14+): the CRCs as 32-bit values, the names
        // NUL-terminated in the same order. When present they are the module's CRC
        // list, as the kernel's loader takes them, whether `__versions` exists or not.
        vers = extended_versions(crcs, names, endian);
    } else if let Some((_, v)) = versions {
        let (rec, crc_len) = if Elf::is_type_64_sized() {
            (64, 8)
        } else {
            (64, 4)
        };
        if v.len() % rec == 0 {
            vers.reserve_exact(v.len() / rec);
            for r in v.chunks_exact(rec) {
                let crc = read_uint(&r[..crc_len], endian);
                let name = &r[crc_len..];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                vers.push((name, crc, false));
            }
        }
    }
    if let Some((syms, strs)) = syms {
        let mut strs = Names::new(strs);
        img.imports_read = true;
        let sparc = matches!(
            header.e_machine(endian),
            elf::EM_SPARC | elf::EM_SPARCV9 | elf::EM_SPARC32PLUS
        );
        let mut by_name: HashMap<&[u8], usize> =
            HashMap::with_capacity_and_hasher(vers.len(), Default::default());
        for (i, (n, _, _)) in vers.iter().enumerate().rev() {
            by_name.insert(n, i);
        }
        // Sized up front (growing it was a tenth of the reading time).
        let undefined = syms
            .iter()
            .skip(1)
            .filter(|s| s.st_shndx(endian) == elf::SHN_UNDEF)
            .count();
        img.imports.reserve_exact(undefined);
        for sym in syms.iter().skip(1) {
            if sym.st_shndx(endian) != elf::SHN_UNDEF {
                continue;
            }
            if sparc && sym.st_type() == elf::STT_SPARC_REGISTER {
                continue;
            }
            let Some(name) = strs.get(sym.st_name(endian) as usize) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let (crc, has_crc) = match by_name.get(name) {
                Some(&i) => {
                    vers[i].2 = true;
                    (vers[i].1, true)
                }
                None => (0, false),
            };
            img.imports.push(Import {
                name: name_from_bytes(name),
                crc,
                has_crc,
                weak: sym.st_bind() == elf::STB_WEAK,
                versions_only: false,
            });
        }
        img.imports
            .reserve_exact(vers.iter().filter(|(_, _, used)| !used).count());
        for (name, crc, used) in &vers {
            if !used {
                img.imports.push(Import {
                    name: name_from_bytes(name),
                    crc: *crc,
                    has_crc: true,
                    weak: false,
                    versions_only: true,
                });
            }
        }
    }
    Ok(img)
}

/// The `(name, crc, used)` records of extended modversions: one 32-bit CRC per
/// NUL-terminated name, in order; the shorter of the two lists decides how many.
fn extended_versions<'a>(
    crcs: &[u8],
    names: &'a [u8],
    endian: Endianness,
) -> Vec<(&'a [u8], u64, bool)> {
    let mut out = Vec::with_capacity(crcs.len() / 4);
    let mut rest = names;
    for c in crcs.chunks_exact(4) {
        let Some(end) = memchr::memchr(0, rest) else {
            break;
        };
        out.push((&rest[..end], read_uint(c, endian), false));
        rest = &rest[end + 1..];
    }
    out
}

fn read_uint(b: &[u8], endian: Endianness) -> u64 {
    match (b.len(), endian) {
        (8, Endianness::Little) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        (8, Endianness::Big) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
        (4, Endianness::Little) => u32::from_le_bytes(b.try_into().expect("4 bytes")).into(),
        (4, Endianness::Big) => u32::from_be_bytes(b.try_into().expect("4 bytes")).into(),
        _ => 0,
    }
}

/// kmod reads the CRC as the u32 at `sh_offset(shndx) + value` in the file; out of
/// range gives all ones.
fn read_crc<'d, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'d>>(
    sections: &object::read::elf::SectionTable<'d, Elf, R>,
    endian: Endianness,
    data: R,
    shndx: usize,
    value: u64,
    missing: &mut Vec<u64>,
) -> u64 {
    let Ok(sh) = sections.section(object::SectionIndex(shndx)) else {
        return u64::MAX;
    };
    let off: u64 = sh.sh_offset(endian).into();
    let Some(pos) = off.checked_add(value) else {
        return u64::MAX;
    };
    match data.read_bytes_at(pos, 4) {
        Ok(b) => read_uint(b, endian),
        Err(()) => {
            if pos
                .checked_add(4)
                .is_some_and(|e| e <= data.len().unwrap_or(0))
            {
                missing.push(pos);
            }
            u64::MAX
        }
    }
}

/// The export `name` of a 6.5+ object, from its `.export_symbol` entry at `value` in
/// `section`: the licence string, then the namespace string. An entry that does not lie
/// in the section, whose strings are not terminated in it, or whose name is not UTF-8 is
/// malformed; an unknown licence reads as not GPL-only (modpost reports it).
fn export_symbol_entry(name: &[u8], section: &[u8], value: u64) -> Result<Export, ElfError> {
    let bad = |what: &str| {
        ElfError::Malformed(format!(
            ".export_symbol entry of {}: {what}",
            String::from_utf8_lossy(name)
        ))
    };
    let start = usize::try_from(value)
        .ok()
        .filter(|&v| v < section.len())
        .ok_or_else(|| bad("outside the section"))?;
    let rest = &section[start..];
    let lic_end = memchr::memchr(0, rest).ok_or_else(|| bad("licence not terminated"))?;
    let after = &rest[lic_end + 1..];
    let ns_end = memchr::memchr(0, after).ok_or_else(|| bad("namespace not terminated"))?;
    let ns = &after[..ns_end];
    Ok(Export {
        name: name_from_bytes(name),
        crc: 0,
        has_crc: false,
        kind: if &rest[..lic_end] == b"GPL" {
            ExportKind::GplOnly
        } else {
            ExportKind::Plain
        },
        namespace: (!ns.is_empty()).then(|| Name::from_utf8_lossy(ns)),
    })
}

fn fallback_exports(ks: &[u8]) -> Vec<Export> {
    ks.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| Export {
            name: name_from_bytes(s),
            crc: 0,
            has_crc: false,
            kind: ExportKind::Unknown,
            namespace: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modinfo_split() {
        let e = Modinfo::parse(b"\0\0license=GPL\0\0alias=pci:v*\0noeq\0depends=");
        let kv: Vec<(&[u8], &[u8])> = e.iter().map(|e| (e.key, e.value)).collect();
        assert_eq!(
            kv,
            vec![
                (&b"license"[..], &b"GPL"[..]),
                (b"alias", b"pci:v*"),
                (b"noeq", b""),
                (b"depends", b"")
            ]
        );
    }

    #[test]
    fn not_elf() {
        assert_eq!(
            parse(b"hello, this is not an ELF file"),
            Err(ElfError::NotElf)
        );
        assert_eq!(parse(b""), Err(ElfError::NotElf));
    }

    #[test]
    fn truncated_header_is_malformed() {
        let mut d = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        d.extend_from_slice(&[0; 8]);
        assert!(matches!(parse(&d), Err(ElfError::Malformed(_))));
    }

    #[test]
    fn symtab_at_odd_offset_parses_the_same() {
        use object::read::elf::FileHeader as _;
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/trees/dup-export-ab/lib/modules/6.1.0-test/kernel/drivers/dup/dupuser.ko"
        );
        let mut bytes = std::fs::read(p).unwrap();
        let aligned = parse(&bytes).unwrap();
        assert!(aligned.imports_read && !aligned.imports.is_empty());
        // Move .symtab to an odd offset at the end of the file and point its header there.
        let (shdr_pos, off, size) = {
            let h = elf::FileHeader64::<Endianness>::parse(&*bytes).unwrap();
            let e = h.endian().unwrap();
            let secs = h.sections(e, &*bytes).unwrap();
            let (idx, sh) = secs.section_by_name(e, b".symtab").unwrap();
            let shoff = h.e_shoff(e) as usize;
            (
                shoff + idx.0 * 64,
                sh.sh_offset(e) as usize,
                sh.sh_size(e) as usize,
            )
        };
        let table = bytes[off..off + size].to_vec();
        bytes.push(0);
        let new_off = bytes.len() as u64;
        assert_eq!(new_off % 2, 1);
        bytes.extend_from_slice(&table);
        bytes[shdr_pos + 24..shdr_pos + 32].copy_from_slice(&new_off.to_le_bytes());
        assert_eq!(parse(&bytes).unwrap(), aligned);
    }

    /// Names of any length are read; many symbols pointing into one long name at
    /// different offsets cost one scan of it, not one per symbol.
    #[test]
    fn long_names_are_read_in_linear_time() {
        let mut t = b"\0short\0".to_vec();
        let long_at = t.len();
        t.extend(std::iter::repeat_n(b'x', 8 << 20));
        t.push(0);
        t.extend_from_slice(b"tail");
        let mut n = Names::new(&t);
        assert_eq!(n.get(1), Some(&b"short"[..]));
        assert_eq!(n.get(long_at).map(<[u8]>::len), Some(8 << 20));
        assert_eq!(n.get(t.len() - 4), None, "unterminated at the end");
        assert_eq!(n.get(t.len() + 1), None);
        // 20,000 symbols at descending offsets into the long name: quadratic scanning
        // would be 80 TB of reads.
        let start = std::time::Instant::now();
        for k in (0..20_000).rev() {
            let off = long_at + k * 400;
            assert_eq!(n.get(off).map(<[u8]>::len), Some((8 << 20) - k * 400));
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        // Ascending, on a fresh table.
        let mut n = Names::new(&t);
        for k in 0..20_000 {
            assert_eq!(
                n.get(long_at + k * 400).map(<[u8]>::len),
                Some((8 << 20) - k * 400)
            );
        }
    }

    #[test]
    fn export_symbol_entries() {
        let sec = b"GPL\0NS_A\0\0\0\0\0\0\0\0\0\0module:a,b*\0";
        let e = export_symbol_entry(b"f", sec, 0).unwrap();
        assert_eq!(
            (e.kind, e.namespace.as_deref()),
            (ExportKind::GplOnly, Some("NS_A"))
        );
        let e = export_symbol_entry(b"g", sec, 16).unwrap();
        assert_eq!((e.kind, e.namespace), (ExportKind::Plain, None));
        let e = export_symbol_entry(b"h", sec, 17).unwrap();
        assert_eq!(e.namespace.as_deref(), Some("module:a,b*"));
        assert!(export_symbol_entry(b"x", sec, sec.len() as u64).is_err());
        assert!(export_symbol_entry(b"x", b"GPL\0NS", 0).is_err());
        assert!(export_symbol_entry(b"x", b"GPL", 0).is_err());
        // A name that is not UTF-8 is kept byte for byte (see `name_from_bytes`).
        let e = export_symbol_entry(b"\xff", sec, 0).unwrap();
        assert_eq!(&*name_bytes(&e.name), b"\xff");
    }

    #[test]
    fn extended_versions_pair_crcs_and_names() {
        let crcs = [1u32, 2, 3]
            .iter()
            .flat_map(|c| c.to_le_bytes())
            .collect::<Vec<u8>>();
        let v = extended_versions(&crcs, b"a\0bb\0", Endianness::Little);
        assert_eq!(v, [(&b"a"[..], 1, false), (&b"bb"[..], 2, false)]);
        let v = extended_versions(&crcs[..5], b"a\0bb\0cc\0", Endianness::Little);
        assert_eq!(v, [(&b"a"[..], 1, false)]);
        let v = extended_versions(&2u32.to_be_bytes(), b"z\0", Endianness::Big);
        assert_eq!(v, [(&b"z"[..], 2, false)]);
    }

    #[test]
    fn fallback_split() {
        let e = fallback_exports(b"\0foo\0\0bar\0baz");
        let n: Vec<&str> = e.iter().map(|e| &*e.name).collect();
        assert_eq!(n, ["foo", "bar", "baz"]);
        // A Latin-1 byte is kept (kmod reads bytes); UTF-8 text is kept as text.
        assert_eq!(
            &*name_bytes(&fallback_exports(b"ok\0b\xe9d\0")[1].name),
            b"b\xe9d"
        );
        assert_eq!(
            &*fallback_exports("ok\0b\u{e9}d\0".as_bytes())[1].name,
            "b\u{e9}d"
        );
    }

    /// Names are carried losslessly: the bytes come back, equal names have equal bytes,
    /// and text (including the private-use characters used for raw bytes) stays apart
    /// from raw bytes.
    #[test]
    fn names_keep_their_bytes() {
        let marker = "\u{10ffe9}".as_bytes();
        let cases: [&[u8]; 8] = [
            b"plain",
            "caf\u{e9}".as_bytes(),
            b"caf\xe9",
            b"\xff\xfe\x80",
            marker,
            b"\xf4\x8f\xbf",
            b"a\xc3",
            b"",
        ];
        let names: Vec<Name> = cases.iter().map(|c| name_from_bytes(c)).collect();
        for (c, n) in cases.iter().zip(&names) {
            assert_eq!(&*name_bytes(n), *c, "{c:x?}");
        }
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                assert_eq!(a == b, i == j, "{a:?} {b:?}");
            }
        }
        assert!(matches!(name_bytes("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(&*name_from_bytes("caf\u{e9}".as_bytes()), "caf\u{e9}");
    }
}
