//! libkmod's reading of `modules.softdep` as a modprobe configuration file: kmod's
//! `depmod` creates a libkmod context for the module directory, and libkmod parses that
//! directory's `modules.softdep` (an artifact of the previous run) with the grammar of
//! `modprobe.d`, printing an error for each line it rejects. Only those messages matter
//! to `depmod` (nothing parsed there changes its output), so this module only finds them.
//!
//! The grammar, as libkmod (kmod 30) reads it: physical lines are joined where a line
//! ends in a backslash; a backslash before any other byte stands for that byte, and a
//! backslash at the end of the file for the byte 0xff; a NUL byte ends the line's text.
//! A line whose first byte is `#`, or that holds only blanks, is skipped (a `#` after a
//! blank is a command). The command is the first word (words are separated by spaces and
//! tabs); `alias NAME MODULE`, `blacklist MODULE`, `options MODULE REST`, `install MODULE
//! REST`, `remove MODULE REST` and `softdep MODULE REST` are accepted, where REST is
//! whatever follows the one separator after MODULE, and must not be empty; a module or
//! alias name must have its `[` and `]` paired (a `]` with no open `[` is wrong). `include`
//! and `config` are refused as deprecated; anything else is a bad line.

/// The errors libkmod prints when it parses `text` as the configuration file `path`
/// (the path as libkmod names it: absolute), each a whole line ending in `\n`, in order.
pub fn softdep_file_errors(path: &[u8], text: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (line, number) in wrapped_lines(text) {
        // The line's text ends at its first NUL, as a C string does.
        let line = match line.iter().position(|&b| b == 0) {
            Some(n) => &line[..n],
            None => &line[..],
        };
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let Some((cmd, rest)) = word(line) else {
            continue;
        };
        let ok = match cmd {
            b"alias" => {
                let (alias, rest) = word(rest).unzip();
                let module = rest.and_then(word).map(|(m, _)| m);
                matches!((alias, module), (Some(a), Some(m)) if paired(a) && paired(m))
            }
            b"blacklist" => word(rest).is_some_and(|(m, _)| paired(m)),
            b"options" | b"install" | b"remove" | b"softdep" => {
                word(rest).is_some_and(|(m, after)| paired(m) && !after.is_empty())
            }
            b"include" | b"config" => {
                let mut l =
                    b"libkmod: ERROR ../libkmod/libkmod-config.c:708 kmod_config_parse: ".to_vec();
                l.extend_from_slice(path);
                l.extend_from_slice(b": command ");
                l.extend_from_slice(cmd);
                l.extend_from_slice(b" is deprecated and not parsed anymore\n");
                out.push(l);
                continue;
            }
            _ => false,
        };
        if !ok {
            let mut l =
                b"libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: ".to_vec();
            l.extend_from_slice(path);
            l.extend_from_slice(
                format!(" line {number}: ignoring bad line starting with '").as_bytes(),
            );
            l.extend_from_slice(cmd);
            l.extend_from_slice(b"'\n");
            out.push(l);
        }
    }
    out
}

/// The logical lines of `text` with the number of the last physical line of each (see
/// the module's header for the joining rules).
fn wrapped_lines(text: &[u8]) -> Vec<(Vec<u8>, u32)> {
    let mut lines = Vec::new();
    let mut cur = Vec::new();
    let mut number = 0u32;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\n' => {
                number += 1;
                lines.push((std::mem::take(&mut cur), number));
            }
            b'\\' => match text.get(i + 1) {
                Some(b'\n') => {
                    number += 1;
                    i += 1;
                }
                Some(&c) => {
                    cur.push(c);
                    i += 1;
                }
                None => cur.push(0xff),
            },
            c => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        lines.push((cur, number + 1));
    }
    lines
}

/// The next word of `s` (after any spaces and tabs), and what follows the one separator
/// after it (`strtok_r` with `"\t "`: the separator is consumed).
fn word(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t')?;
    let s = &s[start..];
    match s.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(end) => Some((&s[..end], &s[end + 1..])),
        None => Some((s, &[])),
    }
}

/// Whether a name's brackets are paired as libkmod requires.
fn paired(name: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b']' => return false,
            b'[' => match name[i..].iter().position(|&b| b == b']') {
                Some(n) => i += n,
                None => return false,
            },
            _ => {}
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &[u8]) -> Vec<String> {
        softdep_file_errors(b"/m/modules.softdep", text)
            .into_iter()
            .map(|l| {
                let s = String::from_utf8_lossy(&l).into_owned();
                s.split("kmod_config_parse: ")
                    .nth(1)
                    .unwrap()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_valid_file_says_nothing() {
        let text = b"# Soft dependencies extracted from modules themselves.\n\n\
                     softdep nvme pre: crc32c\nsoftdep x post: y z\n \t alias\tq\tr\n\
                     alias a[x] b\noptions\tm\t \nalias a\\\n b\n";
        assert!(errors(text).is_empty(), "{:?}", errors(text));
    }

    #[test]
    fn bad_lines_are_named_by_their_last_physical_line() {
        let text = b"bogus line\nalias\nalias a\noptions m\ninstall m \nremove m\n\
                     softdep m\nblacklist\ninclude foo\nconfig bar\nweakdep m x\n\
                     softdep \\\nm\n\t# tab\nalias a] b\nalias a b[\nbad\\\\\nx\n";
        let p = "/m/modules.softdep";
        assert_eq!(
            errors(text),
            vec![
                format!("{p} line 1: ignoring bad line starting with 'bogus'"),
                format!("{p} line 2: ignoring bad line starting with 'alias'"),
                format!("{p} line 3: ignoring bad line starting with 'alias'"),
                format!("{p} line 4: ignoring bad line starting with 'options'"),
                format!("{p} line 5: ignoring bad line starting with 'install'"),
                format!("{p} line 6: ignoring bad line starting with 'remove'"),
                format!("{p} line 7: ignoring bad line starting with 'softdep'"),
                format!("{p} line 8: ignoring bad line starting with 'blacklist'"),
                format!("{p}: command include is deprecated and not parsed anymore"),
                format!("{p}: command config is deprecated and not parsed anymore"),
                format!("{p} line 11: ignoring bad line starting with 'weakdep'"),
                format!("{p} line 13: ignoring bad line starting with 'softdep'"),
                format!("{p} line 14: ignoring bad line starting with '#'"),
                format!("{p} line 15: ignoring bad line starting with 'alias'"),
                format!("{p} line 16: ignoring bad line starting with 'alias'"),
                format!("{p} line 17: ignoring bad line starting with 'bad\\'"),
                format!("{p} line 18: ignoring bad line starting with 'x'"),
            ]
        );
    }

    #[test]
    fn the_end_of_the_file_ends_a_line() {
        assert!(errors(b"alias a b\\").is_empty());
        assert_eq!(
            errors(b"alias a b\nzz"),
            vec!["/m/modules.softdep line 2: ignoring bad line starting with 'zz'"]
        );
        assert_eq!(
            errors(b"zz\0yy q\n"),
            vec!["/m/modules.softdep line 1: ignoring bad line starting with 'zz'"]
        );
    }
}
