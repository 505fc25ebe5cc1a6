//! Plugin ABI version 1: the input encoding (what a plugin sees) and the output decoding
//! (what it returns). Pure functions, no wasm and no IO; `plugins/README.md` is the
//! specification plugin authors read, and this file must agree with it.
//!
//! Both directions are lines of TAB-separated fields, each line ending in `\n`. In a
//! field, `\` is written `\\`, TAB `\t`, newline `\n` and carriage return `\r`; nothing
//! else is escaped. An absent value is `-`.
//!
//! **Input** (host → plugin), in this order:
//!
//! ```text
//! modpolicy-plugin-input  1
//! plugin   NAME
//! config   KEY  VALUE                       (each `config` entry, in policy order)
//! file     NAME LENGTH                      (then LENGTH raw bytes and one `\n`)
//! kernel   SYMBOL CRC LICENCE NAMESPACE     (vmlinux exports, from --symvers)
//! dump     SYMBOL MODULE CRC LICENCE NAMESPACE   (exports known only from symbol dumps)
//! module   INDEX NAME PATH LICENSE STATUS   (then that module's records:)
//! modinfo  KEY VALUE
//! export   SYMBOL CRC LICENCE NAMESPACE
//! import   SYMBOL CRC WEAK PROVIDER-KIND PROVIDER CRC LICENCE NAMESPACE
//! softdep  KIND MODULE                      (KIND: pre, post or weak)
//! end
//! ```
//!
//! `CRC` is `0x` and 8 or 16 lowercase hex digits, or `-`; `LICENCE` is `gpl` (GPL-only),
//! `any` or `?` (unknown); `STATUS` is `ok` or `unreadable`; `PROVIDER-KIND` is
//! `module`, `vmlinux`, `dump` or `none`. Plugins must ignore record tags they do not
//! know and fields after the ones they know: that is how version 1 grows.
//!
//! **Output** (plugin → host): zero or more lines
//!
//! ```text
//! finding  CODE LEVEL MODULE SYMBOL MESSAGE
//! ```
//!
//! `CODE` is 1-64 characters of `a-z`, `0-9` and `-`, starting with a letter or digit;
//! `LEVEL` is `deny`, `warn` or `allow` (the plugin's default, which the policy may
//! change); `MODULE` and `SYMBOL` are `-` when absent; `MESSAGE` is not empty. Anything
//! else is malformed output and the plugin's run fails.

/// The ABI version this host speaks (`modpolicy_abi_version()` must return it).
pub const ABI_VERSION: i32 = 1;

/// The first field of the input's first line.
pub const INPUT_MAGIC: &str = "modpolicy-plugin-input";

/// The longest code a plugin may use.
pub const MAX_CODE_LEN: usize = 64;

/// Appends `s` to `out`, escaped for a field.
pub fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// Undoes [`escape_into`]; `None` for a dangling or unknown escape.
pub fn unescape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match it.next()? {
            b'\\' => b'\\',
            b't' => b'\t',
            b'n' => b'\n',
            b'r' => b'\r',
            _ => return None,
        });
    }
    Some(out)
}

/// The licence field of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licence {
    /// `EXPORT_SYMBOL_GPL`.
    Gpl,
    /// `EXPORT_SYMBOL`.
    Any,
    /// Not known.
    Unknown,
}

impl Licence {
    fn word(self) -> &'static [u8] {
        match self {
            Licence::Gpl => b"gpl",
            Licence::Any => b"any",
            Licence::Unknown => b"?",
        }
    }
}

/// An export as the input describes it.
#[derive(Debug, Clone, Copy)]
pub struct ExportFields<'a> {
    /// The symbol.
    pub symbol: &'a str,
    /// The CRC, when known.
    pub crc: Option<u64>,
    /// GPL-only or not.
    pub licence: Licence,
    /// The namespace, if any.
    pub namespace: Option<&'a str>,
}

/// Who provides an import, as the input describes it.
#[derive(Debug, Clone, Copy)]
pub enum ProviderField<'a> {
    /// A module of the input (its name).
    Module(&'a str),
    /// vmlinux.
    Vmlinux,
    /// A module known only from a symbol dump (the dump's module path).
    Dump(&'a str),
    /// Nobody: the import is unresolved.
    None,
}

/// Builds the input blob, record by record, in the order the ABI prescribes (the caller
/// keeps the order; the encoder only formats).
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// A new input for plugin `name`: the header and `plugin` lines.
    pub fn new(name: &str) -> Encoder {
        let mut e = Encoder {
            buf: Vec::with_capacity(1 << 16),
        };
        e.record(&[INPUT_MAGIC.as_bytes(), ABI_VERSION.to_string().as_bytes()]);
        e.record(&[b"plugin", name.as_bytes()]);
        e
    }

    fn record(&mut self, fields: &[&[u8]]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.buf.push(b'\t');
            }
            escape_into(&mut self.buf, f);
        }
        self.buf.push(b'\n');
    }

    fn opt(s: Option<&str>) -> &[u8] {
        match s {
            Some(s) if !s.is_empty() => s.as_bytes(),
            _ => b"-",
        }
    }

    fn crc(c: Option<u64>) -> Vec<u8> {
        match c {
            Some(c) if c > u64::from(u32::MAX) => format!("0x{c:016x}").into_bytes(),
            Some(c) => format!("0x{c:08x}").into_bytes(),
            None => b"-".to_vec(),
        }
    }

    /// An encoder with no header, for records shared by several plugins' inputs (see
    /// [`Encoder::extend`]).
    pub fn bare() -> Encoder {
        Encoder::default()
    }

    /// Appends the records of a bare encoder.
    pub fn extend(&mut self, records: &Encoder) {
        self.buf.extend_from_slice(&records.buf);
    }

    /// A `config` entry.
    pub fn config(&mut self, key: &str, value: &str) {
        self.record(&[b"config", key.as_bytes(), value.as_bytes()]);
    }

    /// A `file` record and its raw bytes.
    pub fn file(&mut self, name: &str, bytes: &[u8]) {
        self.record(&[b"file", name.as_bytes(), bytes.len().to_string().as_bytes()]);
        self.buf.extend_from_slice(bytes);
        self.buf.push(b'\n');
    }

    fn export_fields(&mut self, tag: &[u8], module: Option<&str>, e: &ExportFields<'_>) {
        let crc = Self::crc(e.crc);
        let mut f: Vec<&[u8]> = vec![tag, e.symbol.as_bytes()];
        if let Some(m) = module {
            f.push(m.as_bytes());
        }
        f.extend_from_slice(&[&crc, e.licence.word(), Self::opt(e.namespace)]);
        self.record(&f);
    }

    /// A vmlinux export.
    pub fn kernel(&mut self, e: &ExportFields<'_>) {
        self.export_fields(b"kernel", None, e);
    }

    /// An export known only from a symbol dump, with the dump's module path.
    pub fn dump(&mut self, module: &str, e: &ExportFields<'_>) {
        self.export_fields(b"dump", Some(module), e);
    }

    /// A `module` record; its `modinfo`, `export`, `import` and `softdep` records follow.
    pub fn module(
        &mut self,
        index: usize,
        name: &str,
        path: &str,
        license: Option<&str>,
        readable: bool,
    ) {
        self.record(&[
            b"module",
            index.to_string().as_bytes(),
            name.as_bytes(),
            path.as_bytes(),
            Self::opt(license),
            if readable { b"ok" } else { b"unreadable" },
        ]);
    }

    /// A `.modinfo` entry of the current module.
    pub fn modinfo(&mut self, key: &[u8], value: &[u8]) {
        self.record(&[b"modinfo", key, value]);
    }

    /// An export of the current module.
    pub fn export(&mut self, e: &ExportFields<'_>) {
        self.export_fields(b"export", None, e);
    }

    /// An import of the current module and the export that provides it (if any).
    pub fn import(
        &mut self,
        symbol: &str,
        crc: Option<u64>,
        weak: bool,
        provider: ProviderField<'_>,
        export: Option<&ExportFields<'_>>,
    ) {
        let (kind, name): (&[u8], &[u8]) = match provider {
            ProviderField::Module(m) => (b"module", m.as_bytes()),
            ProviderField::Vmlinux => (b"vmlinux", b"-"),
            ProviderField::Dump(p) => (b"dump", p.as_bytes()),
            ProviderField::None => (b"none", b"-"),
        };
        let icrc = Self::crc(crc);
        let pcrc = Self::crc(export.and_then(|e| e.crc));
        let lic = export.map_or(&b"?"[..], |e| e.licence.word());
        let ns = Self::opt(export.and_then(|e| e.namespace));
        self.record(&[
            b"import",
            symbol.as_bytes(),
            &icrc,
            if weak { b"1" } else { b"0" },
            kind,
            name,
            &pcrc,
            lic,
            ns,
        ]);
    }

    /// A soft dependency (`pre`, `post`) or weak dependency (`weak`) of the current module.
    pub fn softdep(&mut self, kind: &str, module: &str) {
        self.record(&[b"softdep", kind.as_bytes(), module.as_bytes()]);
    }

    /// Ends the input and returns it.
    pub fn finish(mut self) -> Vec<u8> {
        self.record(&[b"end"]);
        self.buf
    }
}

/// One finding as a plugin returned it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    /// The plugin's own code.
    pub code: String,
    /// The plugin's default level: `allow`, `warn` or `deny`.
    pub level: crate::diag::Level,
    /// The module, if any.
    pub module: Option<String>,
    /// The symbol, if any.
    pub symbol: Option<String>,
    /// The message.
    pub message: String,
}

/// Whether `code` is a valid plugin code (or plugin name): `[a-z0-9][a-z0-9-]*`, at most
/// [`MAX_CODE_LEN`] bytes.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
}

fn field(raw: &[u8], line: usize, what: &str) -> Result<String, String> {
    let b = unescape(raw).ok_or_else(|| format!("line {line}: bad escape in {what}"))?;
    String::from_utf8(b).map_err(|_| format!("line {line}: {what} is not UTF-8"))
}

/// A plugin's decoded output: the findings kept, and how many valid findings after them
/// were not kept.
#[derive(Debug, Default)]
pub struct Output {
    /// The first findings of the output, at most the `keep` given to [`decode_output`].
    pub findings: Vec<RawFinding>,
    /// How many findings followed them (each still checked to be well formed).
    pub dropped: usize,
}

/// Decodes a plugin's output, keeping its first `keep` findings; the rest are checked to be
/// well formed and counted, never held (a plugin's output is bounded by its memory, not by
/// what the host can keep of it). The error says what is malformed, with the line.
pub fn decode_output(out: &[u8], keep: usize) -> Result<Output, String> {
    let mut v = Output::default();
    if out.is_empty() {
        return Ok(v);
    }
    let Some(body) = out.strip_suffix(b"\n") else {
        return Err("output does not end in a newline".into());
    };
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        match fields.first().copied() {
            Some(b"finding") => {}
            Some(t) => {
                return Err(format!(
                    "line {n}: unknown record `{}`",
                    String::from_utf8_lossy(&t[..t.len().min(40)])
                ))
            }
            None => unreachable!("split yields at least one field"),
        }
        if fields.len() != 6 {
            return Err(format!(
                "line {n}: a `finding` has 5 fields (code, level, module, symbol, message), found {}",
                fields.len() - 1
            ));
        }
        let code = field(fields[1], n, "the code")?;
        if !valid_code(&code) {
            return Err(format!(
                "line {n}: invalid code `{}` (1-{MAX_CODE_LEN} characters of a-z, 0-9 and -)",
                code.chars().take(80).collect::<String>()
            ));
        }
        let level = field(fields[2], n, "the level")?;
        let level = crate::diag::Level::parse(&level)
            .ok_or_else(|| format!("line {n}: invalid level `{level}` (allow, warn or deny)"))?;
        let opt = |raw: &[u8], what: &str| -> Result<Option<String>, String> {
            let s = field(raw, n, what)?;
            Ok((s != "-" && !s.is_empty()).then_some(s))
        };
        let module = opt(fields[3], "the module")?;
        let symbol = opt(fields[4], "the symbol")?;
        let message = field(fields[5], n, "the message")?;
        if message.is_empty() {
            return Err(format!("line {n}: empty message"));
        }
        if v.findings.len() < keep {
            v.findings.push(RawFinding {
                code,
                level,
                module,
                symbol,
                message,
            });
        } else {
            v.dropped += 1;
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Level;

    #[test]
    fn escaping_round_trips() {
        let s = b"a\\b\tc\nd\re-";
        let mut out = Vec::new();
        escape_into(&mut out, s);
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re-");
        assert_eq!(unescape(&out).unwrap(), s);
        assert_eq!(unescape(b"x\\"), None);
        assert_eq!(unescape(b"\\q"), None);
    }

    #[test]
    fn input_layout() {
        let mut e = Encoder::new("p");
        e.config("k", "v\tw");
        e.file("f", b"A\nB");
        e.kernel(&ExportFields {
            symbol: "printk",
            crc: Some(0x1234),
            licence: Licence::Any,
            namespace: None,
        });
        e.module(0, "m", "kernel/m.ko", Some("GPL"), true);
        e.modinfo(b"license", b"GPL");
        e.export(&ExportFields {
            symbol: "m_fn",
            crc: None,
            licence: Licence::Gpl,
            namespace: Some("NS"),
        });
        e.import("printk", Some(0x1234), false, ProviderField::Vmlinux, None);
        e.softdep("pre", "other");
        let text = String::from_utf8(e.finish()).unwrap();
        assert_eq!(
            text,
            "modpolicy-plugin-input\t1\nplugin\tp\nconfig\tk\tv\\tw\nfile\tf\t3\nA\nB\n\
             kernel\tprintk\t0x00001234\tany\t-\nmodule\t0\tm\tkernel/m.ko\tGPL\tok\n\
             modinfo\tlicense\tGPL\nexport\tm_fn\t-\tgpl\tNS\n\
             import\tprintk\t0x00001234\t0\tvmlinux\t-\t-\t?\t-\nsoftdep\tpre\tother\nend\n"
        );
    }

    #[test]
    fn output_decoding() {
        let ok = b"finding\tbad-ns\tdeny\tm\tsym\tno\\tnamespace\nfinding\tx\twarn\t-\t-\tmsg\n";
        let v = decode_output(ok, usize::MAX).unwrap();
        assert_eq!(v.dropped, 0);
        let v = v.findings;
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].code, "bad-ns");
        assert_eq!(v[0].level, Level::Deny);
        assert_eq!(v[0].module.as_deref(), Some("m"));
        assert_eq!(v[0].message, "no\tnamespace");
        assert_eq!(v[1].module, None);
        assert!(decode_output(b"", 1).unwrap().findings.is_empty());
        // Findings past `keep` are counted, not kept.
        let v = decode_output(ok, 1).unwrap();
        assert_eq!((v.findings.len(), v.dropped), (1, 1));
        assert_eq!(v.findings[0].code, "bad-ns");
        // ... and still checked: a malformed line after the kept ones is an error.
        let mut late = ok.to_vec();
        late.extend_from_slice(b"oops\n");
        assert!(decode_output(&late, 1).unwrap_err().contains("line 3"));
        for (bad, why) in [
            (&b"finding\tx\twarn\t-\t-\tmsg"[..], "newline"),
            (b"finding\tX\twarn\t-\t-\tmsg\n", "invalid code"),
            (b"finding\tx\tfatal\t-\t-\tmsg\n", "invalid level"),
            (b"finding\tx\twarn\t-\tmsg\n", "5 fields"),
            (b"finding\tx\twarn\t-\t-\t\n", "empty message"),
            (b"oops\n", "unknown record"),
            (b"finding\tx\twarn\t-\t-\t\xff\n", "UTF-8"),
            (b"finding\tx\twarn\t-\t-\ta\\q\n", "escape"),
        ] {
            let e = decode_output(bad, 0).unwrap_err();
            assert!(e.contains(why), "{e} should mention {why}");
        }
    }

    #[test]
    fn codes() {
        assert!(valid_code("moved-symbol"));
        assert!(valid_code("x1"));
        assert!(!valid_code(""));
        assert!(!valid_code("-x"));
        assert!(!valid_code("a/b"));
        assert!(!valid_code(&"a".repeat(65)));
    }
}
