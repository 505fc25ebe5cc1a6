//! `Module.symvers` (five tab-separated columns: CRC, symbol, module, export type,
//! namespace) and `System.map` readers: the vmlinux side of the export graph.
//!
//! Two views are offered: the full records (for checks and the graph), and kmod's own
//! narrower reading for `depmod -E`/`-F`, whose quirks (which lines are skipped, which
//! errors are printed) must be reproduced for byte-identical warnings.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::Arc;

/// One line of `Module.symvers`.
///
/// The exporter, export type and namespace repeat across lines (a kernel's 25,000
/// exports come from about 3,000 modules, 2 types and a few dozen namespaces): they are
/// shared, one allocation per distinct value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymversEntry {
    /// CRC (0 when the kernel has no MODVERSIONS).
    pub crc: u64,
    /// Symbol name.
    pub name: Box<str>,
    /// `vmlinux` or the module path without `.ko` (e.g. `drivers/usb/storage/usb-storage`).
    pub module: Arc<str>,
    /// `EXPORT_SYMBOL`, `EXPORT_SYMBOL_GPL`, ...
    pub export_type: Arc<str>,
    /// Namespace, empty for none.
    pub namespace: Arc<str>,
    /// 1-based line number.
    pub line: usize,
}

impl SymversEntry {
    /// Whether the symbol is exported by vmlinux itself.
    pub fn is_vmlinux(&self) -> bool {
        &*self.module == "vmlinux"
    }
    /// Whether it is a GPL-only export.
    pub fn is_gpl_only(&self) -> bool {
        self.export_type.ends_with("_GPL") || self.export_type.ends_with("_GPL_FUTURE")
    }
}

/// A malformed line in a kernel symbol file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {what}")]
pub struct SymfileError {
    /// The file.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

fn parse_hex_full(tok: &str) -> Option<u64> {
    let t = tok
        .strip_prefix("0x")
        .or_else(|| tok.strip_prefix("0X"))
        .unwrap_or(tok);
    if t.is_empty() {
        return None;
    }
    u64::from_str_radix(t, 16).ok()
}

/// Reads a `Module.symvers` or `System.map` named on the command line: a regular file or
/// a pipe (`-F <(zcat ...)`), never a device (`/dev/zero` would be read forever) and at
/// most [`MAX_SYMBOL_FILE_SIZE`](crate::util::fs::MAX_SYMBOL_FILE_SIZE) bytes. kmod blocks
/// on a FIFO and reads a device until it runs out of memory; here each is an error
/// naming the file.
pub fn read_symbol_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use crate::util::fs::{read_input, Accept, MAX_SYMBOL_FILE_SIZE};
    read_input(
        path,
        Accept::RegularOrPipe,
        "Module.symvers and System.map",
        MAX_SYMBOL_FILE_SIZE,
    )
}

/// Reads every line of a `Module.symvers`, strictly (all five columns, hex CRC).
pub fn parse_symvers(file: &Path, text: &[u8]) -> Result<Vec<SymversEntry>, SymfileError> {
    // One record per line: reserve them all at once (a kernel's file has ~25,000).
    let mut out = Vec::with_capacity(text.iter().filter(|&&b| b == b'\n').count() + 1);
    let mut pool: HashMap<&str, Arc<str>> = HashMap::default();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let line = i + 1;
        let err = |what: String| SymfileError {
            file: file.display().to_string(),
            line,
            what,
        };
        let s = std::str::from_utf8(raw).map_err(|_| err("line is not valid UTF-8".into()))?;
        // The columns in place (no list of them per line); a sixth and later are ignored.
        let mut cols = s.split('\t');
        let (Some(crc), Some(name), Some(module), Some(export_type)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            return Err(err(format!(
                "expected 4 or 5 tab-separated columns, found {}",
                s.split('\t').count()
            )));
        };
        let crc = parse_hex_full(crc).ok_or_else(|| err(format!("invalid CRC {crc:?}")))?;
        out.push(SymversEntry {
            crc,
            name: name.into(),
            module: intern(&mut pool, module),
            export_type: intern(&mut pool, export_type),
            namespace: intern(&mut pool, cols.next().unwrap_or("")),
            line,
        });
    }
    Ok(out)
}

/// The shared copy of `s` in `pool`, made on first use.
fn intern<'t>(pool: &mut HashMap<&'t str, Arc<str>>, s: &'t str) -> Arc<str> {
    pool.entry(s).or_insert_with(|| s.into()).clone()
}

/// A vmlinux symbol as `depmod -E`/`-F` loads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSymbol {
    /// The name (with kmod's `-P` prefix handling applied).
    pub name: Box<str>,
    /// The CRC (0 from System.map).
    pub crc: u64,
}

/// kmod's `strtoull(tok, &end, 16)` with a full-parse check: leading whitespace and a
/// sign are accepted, as is a `0x` prefix.
fn kmod_strtoull16(tok: &str) -> Option<u64> {
    let t = tok.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = if (t.starts_with("0x") || t.starts_with("0X")) && t.len() > 2 {
        &t[2..]
    } else {
        t
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = u64::from_str_radix(digits, 16).unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Reads `Module.symvers` the way `depmod -E` does: only `vmlinux` lines, three
/// whitespace-separated fields. Bad CRCs are reported through `err` with kmod's text
/// (`FILE:N Invalid symbol version CRC`, to which kmod appends `: %m`, an errno left by
/// earlier calls: the caller knows which) and skipped.
pub fn kmod_symvers(
    file: &str,
    text: &[u8],
    prefix: Option<u8>,
    mut err: impl FnMut(String),
) -> Vec<KernelSymbol> {
    let mut out = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        // Names keep their bytes, as kmod reads them (see `elf::name_from_bytes`).
        let s = super::elf::name_from_bytes(raw);
        let mut toks = s.split([' ', '\t']).filter(|t| !t.is_empty());
        let (Some(crc), Some(name), Some(place)) = (toks.next(), toks.next(), toks.next()) else {
            continue;
        };
        if place != "vmlinux" {
            continue;
        }
        let Some(crc) = kmod_strtoull16(crc) else {
            err(format!("{file}:{} Invalid symbol version {crc}", i + 1));
            continue;
        };
        let name = match (prefix, name.as_bytes().first()) {
            (Some(p), Some(&c)) if c == p => &name[1..],
            _ => name,
        };
        out.push(KernelSymbol {
            name: name.into(),
            crc,
        });
    }
    out
}

/// kmod reads `System.map` with `fgets` into a buffer of this many bytes: a longer line
/// is read as several, each counted as a line of its own.
const SYSTEM_MAP_LINE_BUFFER: usize = 10240;

/// Reads `System.map` the way `depmod -F` does: line by line as `fgets` gives them (at
/// most `SYSTEM_MAP_LINE_BUFFER` - 1 bytes, the newline included; C strings, so
/// nothing past a NUL counts), the text after the second space of each; names starting
/// with `__ksymtab_` are exports (up to the newline). A line with fewer than two spaces
/// is reported through `err` with kmod's text, which ends with the line as read (its
/// newline included, then the message's own).
pub fn kmod_system_map(
    file: &str,
    text: &[u8],
    prefix: Option<u8>,
    mut err: impl FnMut(String),
) -> Vec<KernelSymbol> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut linenum = 0usize;
    while !rest.is_empty() {
        let max = rest.len().min(SYSTEM_MAP_LINE_BUFFER - 1);
        let len = memchr::memchr(b'\n', &rest[..max]).map_or(max, |n| n + 1);
        let (chunk, next) = rest.split_at(len);
        rest = next;
        linenum += 1;
        let line = &chunk[..memchr::memchr(0, chunk).unwrap_or(chunk.len())];
        let mut spaces = memchr::memchr_iter(b' ', line);
        let (Some(_), Some(second)) = (spaces.next(), spaces.next()) else {
            err(format!(
                "{file}:{linenum}: invalid line: {}\n",
                String::from_utf8_lossy(line)
            ));
            continue;
        };
        let mut sym = &line[second + 1..];
        if let (Some(p), Some(&c)) = (prefix, sym.first()) {
            if c == p {
                sym = &sym[1..];
            }
        }
        if let Some(name) = sym.strip_prefix(b"__ksymtab_") {
            let name = &name[..memchr::memchr(b'\n', name).unwrap_or(name.len())];
            out.push(KernelSymbol {
                // Names keep their bytes, as kmod reads them (see `elf::name_from_bytes`).
                name: super::elf::name_from_bytes(name).as_str().into(),
                crc: 0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_symvers() {
        let t = b"0x12345678\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x00000001\tbar\tdrivers/x/y\tEXPORT_SYMBOL_GPL\tNS\n";
        let e = parse_symvers(Path::new("M"), t).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].crc, 0x12345678);
        assert!(e[0].is_vmlinux() && !e[0].is_gpl_only());
        assert_eq!(&*e[1].namespace, "NS");
        assert!(e[1].is_gpl_only());
        let bad = parse_symvers(Path::new("M"), b"zz\tfoo\tvmlinux\tEXPORT_SYMBOL\n").unwrap_err();
        assert_eq!(bad.to_string(), "M:1: invalid CRC \"zz\"");
    }

    #[test]
    fn kmod_symvers_skips_modules_and_reports_bad_crc() {
        let mut errs = vec![];
        let t = b"0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x2\tbar\tdrivers/x\tEXPORT_SYMBOL\t\nzz\tbaz\tvmlinux\tE\n";
        let s = kmod_symvers("M", t, None, |e| errs.push(e));
        assert_eq!(
            s,
            vec![KernelSymbol {
                name: "foo".into(),
                crc: 1
            }]
        );
        assert_eq!(errs, vec!["M:3 Invalid symbol version zz"]);
    }

    #[test]
    fn system_map() {
        let mut errs = vec![];
        let t = b"ffffffff81000000 T _text\nffffffff82000000 r __ksymtab_printk\nbad\nlast";
        let s = kmod_system_map("S", t, None, |e| errs.push(e));
        assert_eq!(
            s,
            vec![KernelSymbol {
                name: "printk".into(),
                crc: 0
            }]
        );
        // The line as `fgets` read it, its newline included, then the message's own.
        assert_eq!(
            errs,
            ["S:3: invalid line: bad\n\n", "S:4: invalid line: last\n"]
        );
        // A line longer than kmod's buffer is read as two lines; a NUL ends a line's text.
        errs.clear();
        let long = format!(
            "{}\n1 2 __ksymtab_a\0b\n",
            "x".repeat(SYSTEM_MAP_LINE_BUFFER + 5)
        );
        let s = kmod_system_map("S", long.as_bytes(), None, |e| errs.push(e));
        assert_eq!(s.len(), 1);
        assert_eq!(&*s[0].name, "a");
        assert_eq!(errs.len(), 2);
        assert!(errs[0].starts_with("S:1: invalid line: xxx") && errs[0].ends_with("x\n"));
        assert_eq!(errs[1], "S:2: invalid line: xxxxxx\n\n");
    }
}
