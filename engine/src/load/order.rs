//! `modules.order`, `modules.builtin` and `modules.builtin.modinfo`: the line and record
//! formats kbuild writes, read with kmod's quirks kept (they decide output order).

/// `modules.order` as kmod reads it: line by line, each line at most [`ORDER_LINE_MAX`]
/// bytes, stopping at the first corrupted one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesOrder {
    /// The lines in file order, without their `\n`. A line kmod skips (one that starts
    /// with a NUL byte) is kept as an empty string, so that positions stay kmod's.
    pub lines: Vec<String>,
    /// The 1-based number of the first corrupted line, if any: a NUL byte inside it, no
    /// `\n` within [`ORDER_LINE_MAX`] bytes, or no `\n` at the end of the file. kmod then
    /// prints `modules.order:N corrupted line misses '\n'` and ignores the whole file.
    pub unterminated_line: Option<usize>,
}

/// kmod reads `modules.order` with `fgets` into a buffer of `PATH_MAX` (4,096) bytes: at
/// most 4,095 bytes at a time, so a line of 4,095 bytes or more before its `\n` is cut
/// and the piece read is "corrupted".
pub const ORDER_LINE_MAX: usize = 4095;

/// How much of `modules.order` is read (a full kernel's is 200 KB). kmod reads any
/// amount; a larger file is an error naming this limit.
pub const MAX_ORDER_SIZE: u64 = 256 << 20;

/// One `fgets` call's worth of `modules.order`: what kmod does with it.
enum Piece<'a> {
    /// A line (without its `\n`).
    Line(&'a [u8]),
    /// A piece starting with NUL: `strlen` is 0 and kmod skips it.
    Skipped,
    /// No `\n` right after the bytes before the first NUL: kmod stops here.
    Corrupted,
}

/// Classifies one piece as kmod's `strlen` / `line[len - 1] != '\n'` test does.
fn piece(p: &[u8]) -> Piece<'_> {
    let len = memchr::memchr(0, p).unwrap_or(p.len());
    match len {
        0 => Piece::Skipped,
        n if p[n - 1] == b'\n' => Piece::Line(&p[..n - 1]),
        _ => Piece::Corrupted,
    }
}

impl ModulesOrder {
    /// Takes one piece; returns `false` once the file is known corrupted (stop reading).
    fn take(&mut self, p: &[u8]) -> bool {
        match piece(p) {
            Piece::Line(l) => self.lines.push(String::from_utf8_lossy(l).into_owned()),
            Piece::Skipped => self.lines.push(String::new()),
            Piece::Corrupted => {
                self.unterminated_line = Some(self.lines.len() + 1);
                return false;
            }
        }
        true
    }
}

/// Parses `modules.order` held in memory, exactly as kmod reads it (see [`ModulesOrder`]).
pub fn parse_modules_order(text: &[u8]) -> ModulesOrder {
    let mut o = ModulesOrder::default();
    let mut rest = text;
    while !rest.is_empty() {
        let window = &rest[..rest.len().min(ORDER_LINE_MAX)];
        let n = memchr::memchr(b'\n', window).map_or(window.len(), |i| i + 1);
        if !o.take(&rest[..n]) {
            break;
        }
        rest = &rest[n..];
    }
    o
}

/// Reads `modules.order` from `path` as kmod does, a piece at a time: reading stops at
/// the first corrupted line (so a gigabyte-long line costs 4 KiB, and `/dev/zero` one
/// line), the file must be a regular file or a character device (`/dev/null` is empty,
/// as for kmod; a FIFO is an error, never a hang) and at most [`MAX_ORDER_SIZE`] bytes
/// are read.
pub fn read_modules_order(path: &std::path::Path) -> std::io::Result<ModulesOrder> {
    use crate::util::fs::{open_input, too_large, Accept};
    use std::io::BufRead;
    let file = open_input(path, Accept::RegularOrDevice)?;
    let mut r = std::io::BufReader::new(std::io::Read::take(file, MAX_ORDER_SIZE + 1));
    let mut o = ModulesOrder::default();
    let mut buf = Vec::with_capacity(ORDER_LINE_MAX);
    let mut total = 0u64;
    loop {
        buf.clear();
        // At most ORDER_LINE_MAX bytes, up to and including a `\n`.
        while buf.len() < ORDER_LINE_MAX {
            let avail = r.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            let room = ORDER_LINE_MAX - buf.len();
            let window = &avail[..avail.len().min(room)];
            let (n, done) = match memchr::memchr(b'\n', window) {
                Some(i) => (i + 1, true),
                None => (window.len(), false),
            };
            buf.extend_from_slice(&window[..n]);
            r.consume(n);
            if done {
                break;
            }
        }
        if buf.is_empty() {
            return Ok(o);
        }
        total += buf.len() as u64;
        if total > MAX_ORDER_SIZE {
            return Err(too_large("modules.order", MAX_ORDER_SIZE));
        }
        if !o.take(&buf) {
            return Ok(o);
        }
    }
}

/// Reads `modules.builtin` or `modules.builtin.modinfo`: a regular file or a character
/// device (`/dev/null` is empty, as for kmod; a FIFO is an error, never a hang), at most
/// [`MAX_BUILTIN_SIZE`](crate::util::fs::MAX_BUILTIN_SIZE) bytes.
pub fn read_builtin_file(path: &str) -> std::io::Result<Vec<u8>> {
    use crate::util::fs::{read_input, Accept, MAX_BUILTIN_SIZE};
    read_input(
        std::path::Path::new(path),
        Accept::RegularOrDevice,
        "modules.builtin files",
        MAX_BUILTIN_SIZE,
    )
}

/// One alias of a built-in module from `modules.builtin.modinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinModinfo {
    /// The module name (before the first `.`).
    pub module: String,
    /// The key (between the `.` and the `=`).
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

/// Parses `modules.builtin.modinfo` (`modname.key=value` records separated by NUL) as
/// libkmod does: a final record without NUL is dropped, and a record without `=`
/// swallows the record after it.
pub fn parse_builtin_modinfo(data: &[u8]) -> Vec<BuiltinModinfo> {
    let mut out = Vec::new();
    let mut recs: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    recs.pop(); // the part after the last NUL is incomplete (or empty)
    let mut i = 0;
    while i < recs.len() {
        let r = recs[i];
        i += 1;
        if r.is_empty() {
            continue;
        }
        let Some(eq) = r.iter().position(|&b| b == b'=') else {
            i += 1;
            continue;
        };
        let head = &r[..eq];
        let Some(dot) = head.iter().position(|&b| b == b'.') else {
            continue;
        };
        out.push(BuiltinModinfo {
            module: String::from_utf8_lossy(&head[..dot]).into_owned(),
            key: head[dot + 1..].to_vec(),
            value: r[eq + 1..].to_vec(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_lines() {
        let o = parse_modules_order(b"a.ko\nb.ko\n");
        assert_eq!(o.lines, ["a.ko", "b.ko"]);
        assert_eq!(o.unterminated_line, None);
        let o = parse_modules_order(b"a.ko\nb.ko");
        assert_eq!(o.unterminated_line, Some(2));
    }

    /// kmod's `fgets` + `strlen` reading: a NUL inside a line or a line of 4,095 bytes
    /// before its newline is corrupted; a line starting with NUL is skipped but counted.
    #[test]
    fn corrupted_lines_as_kmod_reads_them() {
        let o = parse_modules_order(b"a.ko\nb\0.ko\nc.ko\n");
        assert_eq!(o.unterminated_line, Some(2));
        let o = parse_modules_order(b"\0x.ko\na.ko\n");
        assert_eq!(
            (o.lines, o.unterminated_line),
            (vec!["".into(), "a.ko".into()], None)
        );
        let long = |n: usize| {
            let mut t = b"a.ko\n".to_vec();
            t.extend(std::iter::repeat_n(b'x', n));
            t.extend_from_slice(b"\nb.ko\n");
            t
        };
        assert_eq!(parse_modules_order(&long(4094)).unterminated_line, None);
        assert_eq!(parse_modules_order(&long(4095)).unterminated_line, Some(2));
        // The streaming reader agrees, and stops at the corrupted line.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("modules.order");
        for text in [
            long(4094),
            long(4095),
            long(1 << 20),
            b"\0x.ko\na.ko\nb".to_vec(),
            b"a\0\nb\n".to_vec(),
            b"".to_vec(),
        ] {
            std::fs::write(&p, &text).unwrap();
            assert_eq!(read_modules_order(&p).unwrap(), parse_modules_order(&text));
        }
    }

    #[test]
    fn builtin_modinfo() {
        let r = parse_builtin_modinfo(
            b"ext4.alias=fs-ext4\0ext4.license=GPL\0bad\0lost.alias=x\0crc.alias=y\0tail.alias=z",
        );
        let v: Vec<(&str, &[u8], &[u8])> =
            r.iter().map(|b| (&*b.module, &*b.key, &*b.value)).collect();
        assert_eq!(
            v,
            vec![
                ("ext4", &b"alias"[..], &b"fs-ext4"[..]),
                ("ext4", b"license", b"GPL"),
                ("crc", b"alias", b"y")
            ]
        );
    }
}
