//! Reading one kernel module's ELF image: exports, imports and `.modinfo`.
//!
//! The rules follow what kmod's libkmod reads, so that depmod artifacts come out the
//! same: exports from the `__crc_*` symbols (CRC from `__kcrctab*`), falling back to the
//! strings of `__ksymtab_strings`; imports from the undefined symbols of `.symtab`, then
//! the `__versions` records no undefined symbol matched; `.modinfo` strings in file order.
//! On top of that it reads what modpost knows and kmod ignores: whether an export is
//! GPL-only (its `__ksymtab_*` section) and its namespace (`__kstrtabns_*`).
//!
//! Pre-link objects (`.o`, Linux <= 6.4) are read too, as modpost reads them: their
//! exports are the `__ksymtab_<sym>` labels of the `___ksymtab+<sym>` and
//! `___ksymtab_gpl+<sym>` sections, which a linked `.ko` never has, so what is read
//! from a `.ko` is unchanged.
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
    /// The symbol name (UTF-8; see `export_name`).
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
    /// An export name that is not UTF-8 (its key could not be stored in an index).
    #[error("export name {name:?} has the byte 0x{byte:02x}, which is not UTF-8 text")]
    BadSymbolName {
        /// The name, lossily decoded for display.
        name: String,
        /// The first offending byte.
        byte: u8,
    },
}

fn malformed(e: object::read::Error) -> ElfError {
    ElfError::Malformed(e.to_string())
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

/// An export's name. Any UTF-8 text is kept as it is: whether it can be stored is the
/// index's decision (kmod 34 refuses a key outside 7-bit ASCII in a `.bin` index; `-n`
/// writes none). A name that is not UTF-8 cannot be carried through to the artifacts
/// byte for byte, so it is refused here, naming the byte.
fn export_name(raw: &[u8]) -> Result<Name, ElfError> {
    match std::str::from_utf8(raw) {
        Ok(s) => Ok(s.into()),
        Err(e) => Err(ElfError::BadSymbolName {
            name: String::from_utf8_lossy(raw).into_owned(),
            byte: raw[e.valid_up_to()],
        }),
    }
}

/// An import's name: never refused (no import goes into an index; kmod reads any
/// bytes). UTF-8 is kept as it is; other bytes become U+FFFD, which changes only how
/// such a name is printed (`-e` warnings) and lets it match no export.
fn import_name(raw: &[u8]) -> Name {
    match std::str::from_utf8(raw) {
        Ok(s) => s.into(),
        Err(_) => Name::from_utf8_lossy(raw),
    }
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
        for sym in syms.iter().skip(1) {
            // Only `__crc_*`, `__ksymtab_*` and `__kstrtabns_*` matter here: look at the
            // first bytes before finding where the name ends.
            let off = sym.st_name(endian) as usize;
            if !strs
                .bytes
                .get(off..)
                .is_some_and(|r| r.starts_with(b"__crc_") || r.starts_with(b"__k"))
            {
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
                    name: export_name(export)?,
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
            }
        }
        if !object_exports.is_empty() {
            // Pre-link object: the exports are the `__ksymtab_<sym>` labels, in symbol
            // table order, as modpost reads them; CRCs only where `__crc_` exists.
            let mut crcs: HashMap<Name, u64> =
                img.exports.drain(..).map(|e| (e.name, e.crc)).collect();
            for name in object_exports {
                let name = export_name(name)?;
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
                img.exports = fallback_exports(ks)?;
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
                if let Some((kind, ns)) = ksymtab.get(e.name.as_bytes()) {
                    e.kind = *kind;
                    e.namespace = ns.clone();
                }
            }
        }
    } else if let Some((_, ks)) = ksymtab_strings {
        img.exports = fallback_exports(ks)?;
    }

    // Imports.
    let mut vers: Vec<(&[u8], u64, bool)> = Vec::new();
    if let Some((_, v)) = versions {
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
                name: import_name(name),
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
                    name: import_name(name),
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

fn fallback_exports(ks: &[u8]) -> Result<Vec<Export>, ElfError> {
    ks.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Ok(Export {
                name: export_name(s)?,
                crc: 0,
                has_crc: false,
                kind: ExportKind::Unknown,
                namespace: None,
            })
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
    fn fallback_split() {
        let e = fallback_exports(b"\0foo\0\0bar\0baz").unwrap();
        let n: Vec<&str> = e.iter().map(|e| &*e.name).collect();
        assert_eq!(n, ["foo", "bar", "baz"]);
        assert!(fallback_exports(b"ok\0b\xe9d\0").is_err());
        assert_eq!(
            &*fallback_exports("ok\0b\u{e9}d\0".as_bytes()).unwrap()[1].name,
            "b\u{e9}d"
        );
    }
}
