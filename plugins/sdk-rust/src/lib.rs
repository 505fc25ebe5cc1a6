//! SDK for modpolicy WebAssembly plugins, plugin ABI version 1.
//!
//! A plugin is one function over the graph; the SDK parses the host's input, exports the
//! ABI's functions and encodes the findings:
//!
//! ```
//! use modpolicy_plugin::{plugin, Findings, Graph};
//!
//! fn check(g: &Graph, out: &mut Findings) {
//!     for m in &g.modules {
//!         if m.license.is_none() {
//!             out.warn("no-license", Some(&m.name), None, format!("{} has no licence", m.name));
//!         }
//!     }
//! }
//! plugin!(check);
//! ```
//!
//! Build with Debian's rustc 1.63 for `wasm32-unknown-unknown` (see `plugins/README.md`).
//! On other targets the same code builds natively, so checks can be unit-tested with
//! [`Graph::parse`] and [`Findings::records`]; there `log` prints to stderr.
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

use std::fmt::Display;

/// The ABI version this SDK speaks.
pub const ABI_VERSION: i32 = 1;

/// The licence class of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licence {
    /// `EXPORT_SYMBOL_GPL`.
    Gpl,
    /// `EXPORT_SYMBOL`.
    Any,
    /// Not known.
    Unknown,
}

/// An exported symbol (of a module, of vmlinux, or from a symbol dump).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The symbol.
    pub name: String,
    /// Its CRC, when known.
    pub crc: Option<u64>,
    /// GPL-only or not.
    pub licence: Licence,
    /// Its namespace, if any.
    pub namespace: Option<String>,
}

/// A vmlinux export or one known from a symbol dump (`module` is `None` for vmlinux).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelExport {
    /// The dump's module path, `None` for vmlinux.
    pub module: Option<String>,
    /// The export.
    pub export: Export,
}

/// Who provides an import, as the policy resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// A module of the input (its name).
    Module(String),
    /// vmlinux.
    Vmlinux,
    /// A module known only from a symbol dump (its path).
    Dump(String),
    /// Nobody: unresolved.
    None,
}

/// An imported symbol and its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The symbol, as the module spells it.
    pub name: String,
    /// The CRC the module was built against, when recorded.
    pub crc: Option<u64>,
    /// A weak reference.
    pub weak: bool,
    /// The provider.
    pub provider: Provider,
    /// The provider's export (CRC, licence, namespace), when resolved.
    pub export: Option<Export>,
}

/// A soft or weak dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Softdep {
    /// `pre`, `post` or `weak`.
    pub kind: String,
    /// The module named.
    pub module: String,
}

/// One module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its position in the graph.
    pub index: usize,
    /// The normalised name (`-` as `_`).
    pub name: String,
    /// The path under `/lib/modules/VERSION` (or in the build directory).
    pub path: String,
    /// The first `license` modinfo value.
    pub license: Option<String>,
    /// Whether the module file could be read.
    pub readable: bool,
    /// Every `.modinfo` entry, in file order (values may be any bytes).
    pub modinfo: Vec<(String, Vec<u8>)>,
    /// Exports.
    pub exports: Vec<Export>,
    /// Imports with their providers.
    pub imports: Vec<Import>,
    /// Soft and weak dependencies.
    pub softdeps: Vec<Softdep>,
}

impl Module {
    /// Every modinfo value for `key`, as text.
    pub fn modinfo(&self, key: &str) -> Vec<String> {
        self.modinfo
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }
}

/// A file the policy hands the plugin (`files` in the plugin's declaration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The name as the policy wrote it.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The read-only view a plugin checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// The plugin's name in the policy.
    pub plugin: String,
    /// `config` entries, in policy order.
    pub config: Vec<(String, String)>,
    /// Declared files.
    pub files: Vec<File>,
    /// vmlinux exports (from `--symvers`; empty when none was given).
    pub kernel: Vec<Export>,
    /// Exports of modules known only from symbol dumps.
    pub dumps: Vec<KernelExport>,
    /// Modules, in the graph's order.
    pub modules: Vec<Module>,
}

impl Graph {
    /// The value of config `key`, if set (the last one wins).
    pub fn config(&self, key: &str) -> Option<&str> {
        self.config
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of config `key`, in order.
    pub fn config_all(&self, key: &str) -> Vec<&str> {
        self.config
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The file the policy named `name`.
    pub fn file(&self, name: &str) -> Option<&File> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The module named `name` (`-` and `_` alike).
    pub fn module(&self, name: &str) -> Option<&Module> {
        let n = name.replace('-', "_");
        self.modules.iter().find(|m| m.name == n)
    }

    /// Parses the host's input (ABI version 1).
    pub fn parse(input: &[u8]) -> Result<Graph, String> {
        let mut g = Graph::default();
        let mut pos = 0usize;
        let mut first = true;
        while pos < input.len() {
            let end = input[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| pos + i)
                .ok_or("input does not end in a newline")?;
            let line = &input[pos..end];
            pos = end + 1;
            let f: Vec<Vec<u8>> = line
                .split(|&b| b == b'\t')
                .map(unescape)
                .collect::<Result<_, _>>()?;
            let s = |i: usize| -> String {
                f.get(i)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            };
            let opt = |i: usize| -> Option<String> {
                let v = s(i);
                if v == "-" || v.is_empty() {
                    None
                } else {
                    Some(v)
                }
            };
            if first {
                if s(0) != "modpolicy-plugin-input" || s(1) != "1" {
                    return Err("not a modpolicy plugin input, version 1".into());
                }
                first = false;
                continue;
            }
            let export = |a: usize| Export {
                name: s(a),
                crc: crc(&s(a + 1)),
                licence: licence(&s(a + 2)),
                namespace: opt(a + 3),
            };
            let module = || -> Result<&mut Module, String> {
                Err("a module record before any `module`".to_string())
            };
            match f[0].as_slice() {
                b"plugin" => g.plugin = s(1),
                b"config" => g.config.push((s(1), s(2))),
                b"file" => {
                    let len: usize = s(2).parse().map_err(|_| "bad file length")?;
                    if pos + len + 1 > input.len() {
                        return Err("file record runs past the input".into());
                    }
                    g.files.push(File {
                        name: s(1),
                        bytes: input[pos..pos + len].to_vec(),
                    });
                    pos += len + 1;
                }
                b"kernel" => g.kernel.push(export(1)),
                b"dump" => g.dumps.push(KernelExport {
                    module: Some(s(2)),
                    export: Export {
                        name: s(1),
                        crc: crc(&s(3)),
                        licence: licence(&s(4)),
                        namespace: opt(5),
                    },
                }),
                b"module" => g.modules.push(Module {
                    index: s(1).parse().unwrap_or(g.modules.len()),
                    name: s(2),
                    path: s(3),
                    license: opt(4),
                    readable: s(5) == "ok",
                    modinfo: Vec::new(),
                    exports: Vec::new(),
                    imports: Vec::new(),
                    softdeps: Vec::new(),
                }),
                b"modinfo" | b"export" | b"import" | b"softdep" => {
                    let m = match g.modules.last_mut() {
                        Some(m) => m,
                        None => module()?,
                    };
                    match f[0].as_slice() {
                        b"modinfo" => m
                            .modinfo
                            .push((s(1), f.get(2).cloned().unwrap_or_default())),
                        b"export" => m.exports.push(export(1)),
                        b"import" => {
                            let provider = match s(4).as_str() {
                                "module" => Provider::Module(s(5)),
                                "vmlinux" => Provider::Vmlinux,
                                "dump" => Provider::Dump(s(5)),
                                _ => Provider::None,
                            };
                            let export = if provider == Provider::None {
                                None
                            } else {
                                Some(Export {
                                    name: s(1),
                                    crc: crc(&s(6)),
                                    licence: licence(&s(7)),
                                    namespace: opt(8),
                                })
                            };
                            m.imports.push(Import {
                                name: s(1),
                                crc: crc(&s(2)),
                                weak: s(3) == "1",
                                provider,
                                export,
                            })
                        }
                        _ => m.softdeps.push(Softdep {
                            kind: s(1),
                            module: s(2),
                        }),
                    }
                }
                b"end" => break,
                // Later 1.x hosts may add records: ignore what we do not know.
                _ => {}
            }
        }
        if first {
            return Err("empty input".into());
        }
        Ok(g)
    }
}

fn crc(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

fn licence(s: &str) -> Licence {
    match s {
        "gpl" => Licence::Gpl,
        "any" => Licence::Any,
        _ => Licence::Unknown,
    }
}

fn unescape(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match it.next() {
            Some(b'\\') => b'\\',
            Some(b't') => b'\t',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            _ => return Err("bad escape in input".into()),
        });
    }
    Ok(out)
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// How serious a finding is by default (the policy may change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Not reported unless the policy raises it.
    Allow,
    /// A warning.
    Warn,
    /// An error: fails the run.
    Deny,
}

/// The findings a check reports.
#[derive(Debug, Default)]
pub struct Findings {
    out: String,
    count: usize,
}

/// Whether `code` is a valid finding code: 1-64 characters of `a-z`, `0-9`, `-`, not
/// starting with `-`.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && !code.starts_with('-')
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Findings {
    /// Reports a finding. `code` must satisfy [`valid_code`] (else this panics, and the
    /// host reports the plugin as failed); an empty message becomes `-`.
    pub fn push(
        &mut self,
        level: Level,
        code: &str,
        module: Option<&str>,
        symbol: Option<&str>,
        message: impl Display,
    ) {
        assert!(valid_code(code), "invalid finding code {code:?}");
        self.out.push_str("finding\t");
        self.out.push_str(code);
        self.out.push_str(match level {
            Level::Allow => "\tallow\t",
            Level::Warn => "\twarn\t",
            Level::Deny => "\tdeny\t",
        });
        escape_into(&mut self.out, module.filter(|m| !m.is_empty()).unwrap_or("-"));
        self.out.push('\t');
        escape_into(&mut self.out, symbol.filter(|m| !m.is_empty()).unwrap_or("-"));
        self.out.push('\t');
        let msg = message.to_string();
        escape_into(&mut self.out, if msg.is_empty() { "-" } else { &msg });
        self.out.push('\n');
        self.count += 1;
    }

    /// Reports an error-level finding.
    pub fn deny(&mut self, code: &str, module: Option<&str>, symbol: Option<&str>, message: impl Display) {
        self.push(Level::Deny, code, module, symbol, message)
    }

    /// Reports a warning.
    pub fn warn(&mut self, code: &str, module: Option<&str>, symbol: Option<&str>, message: impl Display) {
        self.push(Level::Warn, code, module, symbol, message)
    }

    /// How many findings were reported.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded output (the ABI's `finding` lines).
    pub fn records(&self) -> &str {
        &self.out
    }
}

/// Writes a line to the host's log (`modpolicy -v check` shows it).
pub fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        #[link(wasm_import_module = "modpolicy")]
        extern "C" {
            #[link_name = "log"]
            fn host_log(ptr: *const u8, len: usize);
        }
        // SAFETY: the host reads `len` bytes at `ptr` from this instance's memory.
        unsafe { host_log(message.as_ptr(), message.len()) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[plugin log] {message}");
}

#[doc(hidden)]
pub fn __alloc(len: i32) -> i32 {
    let mut v: Vec<u8> = Vec::with_capacity(len.max(1) as usize);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p as usize as i32
}

/// Runs `check` on the input the host wrote at `ptr` (`len` bytes) and returns the
/// encoded findings as `(address << 32) | length`. The exported `modpolicy_check` (see
/// [`plugin!`]) is this function; it is not meant to be called from Rust.
///
/// A negative `len`, or a null `ptr` with a non-zero `len`, is reported as a `bad-input`
/// finding instead of being read.
///
/// # Safety
///
/// Unless `len` is 0, `ptr` must be the address of `len` initialised bytes that stay
/// valid and unchanged for the call: a buffer returned by [`__alloc`]`(len)` (or a larger
/// one) into which the host wrote the input, as ABI version 1 specifies.
#[doc(hidden)]
pub unsafe fn __run(ptr: i32, len: i32, check: fn(&Graph, &mut Findings)) -> i64 {
    let mut out = Findings::default();
    let input: &[u8] = if len == 0 {
        &[]
    } else if len < 0 || ptr == 0 {
        out.deny(
            "bad-input",
            None,
            None,
            format!("the host passed an invalid input buffer ({len} bytes at {ptr:#x})"),
        );
        return encode(out);
    } else {
        // SAFETY: `ptr` is non-null and `len` positive; the caller guarantees (see
        // `# Safety`) that `len` initialised bytes live there for the whole call.
        unsafe { std::slice::from_raw_parts(ptr as u32 as usize as *const u8, len as usize) }
    };
    match Graph::parse(input) {
        Ok(g) => check(&g, &mut out),
        Err(e) => out.deny("bad-input", None, None, format!("the plugin could not read its input: {e}")),
    }
    encode(out)
}

/// Leaks the findings' bytes and returns `(address << 32) | length` for the host.
fn encode(mut out: Findings) -> i64 {
    let bytes = std::mem::take(&mut out.out).into_bytes().into_boxed_slice();
    let n = bytes.len();
    let p = Box::into_raw(bytes) as *mut u8 as usize;
    ((p as i64) << 32) | n as i64
}

/// Exports the ABI's functions for a check `fn(&Graph, &mut Findings)`.
#[macro_export]
macro_rules! plugin {
    ($check:path) => {
        #[no_mangle]
        pub extern "C" fn modpolicy_abi_version() -> i32 {
            $crate::ABI_VERSION
        }
        #[no_mangle]
        pub extern "C" fn modpolicy_alloc(len: i32) -> i32 {
            $crate::__alloc(len)
        }
        /// # Safety
        ///
        /// Called by the host only, with the buffer it filled (see the SDK's `__run`).
        #[no_mangle]
        pub unsafe extern "C" fn modpolicy_check(ptr: i32, len: i32) -> i64 {
            // SAFETY: the host calls this with `len` bytes it wrote at `ptr`, in a buffer
            // `modpolicy_alloc(len)` returned (ABI version 1), which is `__run`'s contract.
            unsafe { $crate::__run(ptr, len, $check) }
        }
    };
}

/// Parses a `Module.symvers` (`CRC<TAB>SYMBOL<TAB>MODULE<TAB>EXPORT_TYPE[<TAB>NS]` lines):
/// `(symbol, module, crc)` per line; lines that do not parse are skipped.
pub fn parse_symvers(text: &[u8]) -> Vec<(String, String, Option<u64>)> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let c = f.next()?;
            let sym = f.next()?;
            let module = f.next()?;
            Some((sym.to_string(), module.to_string(), crc(c)))
        })
        .collect()
}

/// Matches `name` against a shell-style pattern (`*`, `?`; no sets).
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while j < n.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == b'*' {
        i += 1;
    }
    i == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &[u8] = b"modpolicy-plugin-input\t1\nplugin\tp\nconfig\tk\tv\\tw\nfile\tf\t3\nA\nB\n\
kernel\tprintk\t0x00001234\tany\t-\nmodule\t0\tm\tkernel/m.ko\tGPL\tok\nmodinfo\tlicense\tGPL\n\
export\tm_fn\t-\tgpl\tNS\nimport\tprintk\t0x00001234\t0\tvmlinux\t-\t0x00001234\tany\t-\n\
softdep\tpre\tother\nfuture-record\tx\nend\n";

    #[test]
    fn parses_the_host_layout() {
        let g = Graph::parse(INPUT).unwrap();
        assert_eq!(g.plugin, "p");
        assert_eq!(g.config("k"), Some("v\tw"));
        assert_eq!(g.file("f").unwrap().bytes, b"A\nB");
        assert_eq!(g.kernel[0].crc, Some(0x1234));
        let m = &g.modules[0];
        assert_eq!(m.license.as_deref(), Some("GPL"));
        assert_eq!(m.exports[0].namespace.as_deref(), Some("NS"));
        assert_eq!(m.exports[0].licence, Licence::Gpl);
        assert_eq!(m.imports[0].provider, Provider::Vmlinux);
        assert_eq!(m.softdeps[0].module, "other");
    }

    #[test]
    fn encodes_findings() {
        let mut f = Findings::default();
        f.warn("x-y", Some("m"), None, "a\tb");
        assert_eq!(f.records(), "finding\tx-y\twarn\tm\t-\ta\\tb\n");
    }

    fn count(g: &Graph, out: &mut Findings) {
        out.warn("modules", None, None, g.modules.len());
    }

    /// `__run` refuses a bad buffer without reading it, and reads an empty one as empty
    /// input. (A real buffer address fits in an `i32` only on wasm32, where the plugin
    /// tests in `tests/plugins` run it through the host.)
    #[test]
    fn run_refuses_bad_buffers() {
        let text = |r: i64| -> String {
            let (p, n) = ((r >> 32) as u32 as usize, (r & 0xffff_ffff) as usize);
            if std::mem::size_of::<usize>() == 4 {
                // SAFETY: `__run` returned a leaked buffer of `n` bytes at `p`.
                String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p as *const u8, n) })
                    .into_owned()
            } else {
                // The address was cut to 32 bits: only the length is known.
                n.to_string()
            }
        };
        for (p, l) in [(0x1000, -1), (0, 5)] {
            // SAFETY: a negative length and a null pointer are refused before any read.
            let r = unsafe { __run(p, l, count) };
            assert_ne!(r & 0xffff_ffff, 0, "a bad-input finding for ({p}, {l})");
            let t = text(r);
            assert!(t.contains("bad-input") || t.parse::<usize>().is_ok(), "{t}");
        }
        // SAFETY: an empty input is never read.
        let r = unsafe { __run(0x1000, 0, count) };
        assert!(text(r).contains("bad-input") || r & 0xffff_ffff != 0);
    }

    #[test]
    fn globs() {
        assert!(glob("foo_*", "foo_bar"));
        assert!(glob("*", ""));
        assert!(!glob("foo_*", "bar"));
        assert!(glob("a?c*d", "abcxxd"));
    }
}
