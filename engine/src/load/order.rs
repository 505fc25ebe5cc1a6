//! `modules.order`, `modules.builtin` and `modules.builtin.modinfo`: the line and record
//! formats kbuild writes, read with kmod's quirks kept (they decide output order).

/// `modules.order` as read: the lines without their `\n`, and whether the last line
/// lacked its newline (kmod then ignores the whole file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesOrder {
    /// The lines in file order.
    pub lines: Vec<String>,
    /// The 1-based number of a last line with no `\n`, if any.
    pub unterminated_line: Option<usize>,
}

/// Parses `modules.order`.
pub fn parse_modules_order(text: &[u8]) -> ModulesOrder {
    let mut o = ModulesOrder::default();
    if text.is_empty() {
        return o;
    }
    let mut parts: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let last = parts.pop().unwrap_or_default();
    for p in parts {
        o.lines.push(String::from_utf8_lossy(p).into_owned());
    }
    if !last.is_empty() {
        o.lines.push(String::from_utf8_lossy(last).into_owned());
        o.unterminated_line = Some(o.lines.len());
    }
    o
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
