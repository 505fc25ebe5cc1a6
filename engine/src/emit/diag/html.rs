//! `--format html`: one self-contained page (inline CSS and a small vanilla script, no
//! network, no external file) for a person to look at: the summary, every finding in a
//! filterable, sortable table, every contested symbol with its deciding rule, `abi`'s
//! changes by kind with the modules they affect, and an SVG drawing of a symbol's or a
//! module's neighbourhood in the export graph, drawn in the browser from embedded data.
//!
//! The page is streamed: the shell, then the data as JSON inside
//! `<script type="application/json">` blocks (findings one at a time, as `json` does),
//! then the script. Every string from the input reaches the page only as JSON text in
//! those blocks, with `<`, `>`, `&`, U+2028 and U+2029 written as `\uXXXX` escapes
//! ([`ScriptSafe`]), so no module name, symbol, path or `.modinfo` text can close the
//! block; the script puts data on the page with `textContent` and `createElement` only.
//!
//! What the page shows of a graph comes in as [`ExportMap`]s, plain data built by the
//! jobs (`job::export_map`); nothing here knows the policy.

use super::view;
use super::Report;
use crate::diag::Level;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The stylesheet, inlined in the page.
const CSS: &str = include_str!("html/report.css");
/// The script, inlined in the page.
const JS: &str = include_str!("html/report.js");

/// What the report shows of one input's export graph.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportMap {
    /// The input, as given.
    pub input: String,
    /// The kernel release the input was built for, if known.
    pub kernel_version: Option<String>,
    /// The modules, in the graph's order (indexes below point here).
    pub modules: Vec<MapModule>,
    /// The symbols some module exports or imports, sorted by name.
    pub symbols: Vec<MapSymbol>,
}

/// One module.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MapModule {
    /// Its name.
    pub name: String,
    /// Its file, relative to the tree where possible.
    pub path: String,
    /// Its `.modinfo` description, if any.
    pub description: Option<String>,
    /// Its direct dependencies (module indexes), in first-use order.
    pub deps: Vec<u32>,
}

/// One symbol.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MapSymbol {
    /// Its name.
    pub name: String,
    /// Its exporters in the graph's order: a module index, or `None` for vmlinux.
    pub exporters: Vec<Option<u32>>,
    /// The chosen exporter (an index into `exporters`), if anyone exports it.
    pub provider: Option<usize>,
    /// What chose it, when there was a choice (several exporters).
    pub decision: Option<MapDecision>,
    /// The modules that import it (module indexes).
    pub importers: Vec<u32>,
}

/// What chose a contested symbol's provider.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MapDecision {
    /// The rule's kind (`provider`, `vmlinux-conflict`, ...) or `defaults`.
    pub rule: String,
    /// What it said (`prefer updates/*`, `default strategy last-in-order`, ...).
    pub how: String,
    /// The policy file, or `None` when the rule is built in.
    pub file: Option<String>,
    /// 1-based line in `file` (0 when built in).
    pub line: usize,
    /// The rule's reason, if it has one.
    pub reason: Option<String>,
}

/// For `abi`: the modules that import a symbol.
pub type Affected<'a> = dyn Fn(&str) -> Vec<String> + 'a;

/// The page's summary and extras, beside the findings.
pub struct Page<'a> {
    /// The findings and inputs.
    pub report: &'a Report<'a>,
    /// The command (`modpolicy check`, `modpolicy abi`), the page's title.
    pub title: &'a str,
    /// The policy layers given (`--policy`), lowest first; empty: the built-in policy.
    pub layers: &'a [String],
    /// One graph per input that has one.
    pub maps: &'a [ExportMap],
    /// For `abi`: the modules that import a symbol (they are affected by its change).
    pub affected: Option<&'a Affected<'a>>,
    /// Extra summary lines (label, value), e.g. `abi`'s export counts.
    pub notes: &'a [(String, String)],
}

/// Writes `JSON` text escaped for a `<script>` block: `<`, `>`, `&`, U+2028 and U+2029
/// (which appear only inside JSON strings) become `\uXXXX`, so the text can never close
/// the block or start a comment, and stays the same JSON value.
pub struct ScriptSafe<W: Write> {
    inner: W,
    /// Bytes of a possible U+2028/U+2029 (`E2 80 A8/A9`) split across writes.
    held: Vec<u8>,
}

impl<W: Write> ScriptSafe<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        ScriptSafe {
            inner,
            held: Vec::new(),
        }
    }

    /// Writes what is held and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let held = std::mem::take(&mut self.held);
        self.inner.write_all(&held)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ScriptSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(buf);
        let mut start = 0;
        let mut i = 0;
        while i < data.len() {
            let esc: Option<(&[u8], usize)> = match data[i] {
                b'<' => Some((b"\\u003c", 1)),
                b'>' => Some((b"\\u003e", 1)),
                b'&' => Some((b"\\u0026", 1)),
                0xE2 => {
                    if i + 2 >= data.len() {
                        // Maybe the start of U+2028/9: decide with the next write.
                        if data[i + 1..].iter().all(|&b| b == 0x80) {
                            self.inner.write_all(&data[start..i])?;
                            self.held = data[i..].to_vec();
                            return Ok(buf.len());
                        }
                        None
                    } else if data[i + 1] == 0x80 && data[i + 2] == 0xA8 {
                        Some((b"\\u2028", 3))
                    } else if data[i + 1] == 0x80 && data[i + 2] == 0xA9 {
                        Some((b"\\u2029", 3))
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some((e, n)) = esc {
                self.inner.write_all(&data[start..i])?;
                self.inner.write_all(e)?;
                i += n;
                start = i;
            } else {
                i += 1;
            }
        }
        self.inner.write_all(&data[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The summary block.
#[derive(Serialize)]
struct Meta<'a> {
    title: &'a str,
    tool: &'static str,
    version: &'static str,
    inputs: &'a [String],
    layers: &'a [String],
    policy_files: Vec<String>,
    errors: usize,
    warnings: usize,
    tolerated: usize,
    by_code: BTreeMap<String, [usize; 3]>,
    notes: &'a [(String, String)],
    abi: bool,
}

/// One finding row: code, state (`error`, `warning`, `tolerated`), module, symbol,
/// message, deciding rule, file, affected modules (abi).
#[derive(Serialize)]
struct Row<'a>(
    &'a str,
    &'static str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    Option<String>,
    Option<&'a str>,
    Option<Vec<String>>,
);

fn state(level: Level, tolerated: bool) -> &'static str {
    if tolerated {
        "tolerated"
    } else {
        match level {
            Level::Deny => "error",
            Level::Warn => "warning",
            Level::Allow => "none",
        }
    }
}

/// Writes one `<script type="application/json" id="ID">` block holding `value`.
fn json_block<W: Write>(w: &mut W, id: &str, value: &impl Serialize) -> io::Result<()> {
    write!(w, "<script type=\"application/json\" id=\"{id}\">")?;
    let mut s = ScriptSafe::new(&mut *w);
    serde_json::to_writer(&mut s, value)?;
    s.finish()?;
    w.write_all(b"</script>\n")
}

/// Writes the page, through a buffer, one finding at a time.
pub fn write(p: &Page<'_>, w: impl Write) -> io::Result<()> {
    let r = p.report;
    let mut w = io::BufWriter::with_capacity(64 << 10, w);
    let mut by_code: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for f in view::listed(r) {
        let slot = match (f.tolerated, f.level) {
            (true, _) => 2,
            (false, Level::Deny) => 0,
            _ => 1,
        };
        by_code.entry(f.code.into_owned()).or_default()[slot] += 1;
    }
    let meta = Meta {
        title: p.title,
        tool: "modpolicy",
        version: env!("CARGO_PKG_VERSION"),
        inputs: r.inputs,
        layers: p.layers,
        policy_files: r
            .sources
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect(),
        errors: r.errors(),
        warnings: r.warnings(),
        tolerated: r.tolerated(),
        by_code,
        notes: p.notes,
        abi: p.affected.is_some(),
    };
    w.write_all(
        b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    )?;
    // The title is one of ours, but escape it all the same.
    write!(
        w,
        "<title>{} report</title>\n<style>\n",
        escape_text(p.title)
    )?;
    w.write_all(CSS.as_bytes())?;
    w.write_all(SHELL.as_bytes())?;
    json_block(&mut w, "mp-meta", &meta)?;

    // The findings, streamed.
    w.write_all(b"<script type=\"application/json\" id=\"mp-findings\">[")?;
    {
        let mut s = ScriptSafe::new(&mut w);
        for (i, f) in view::listed(r).enumerate() {
            if i > 0 {
                s.write_all(b",\n")?;
            }
            let rule = f.rule.as_ref().map(|x| {
                let mut t = if x.line == 0 {
                    format!("{} ({})", x.kind, x.file)
                } else {
                    format!("{} at {}:{}", x.kind, x.file, x.line)
                };
                if let Some(reason) = x.reason {
                    t.push_str(": ");
                    t.push_str(reason);
                }
                t
            });
            let affected = match (p.affected, f.symbol) {
                (Some(a), Some(sym)) => Some(a(sym)),
                _ => None,
            };
            let row = Row(
                &f.code,
                state(f.level, f.tolerated),
                f.module,
                f.symbol,
                f.message,
                rule,
                f.file,
                affected,
            );
            serde_json::to_writer(&mut s, &row)?;
        }
        s.finish()?;
    }
    w.write_all(b"]</script>\n")?;
    json_block(&mut w, "mp-maps", &p.maps)?;
    w.write_all(b"<script>\n")?;
    w.write_all(JS.as_bytes())?;
    w.write_all(b"</script>\n</body>\n</html>\n")?;
    w.flush()
}

/// `&`, `<`, `>` and `"` as entities.
fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's static body: the sections the script fills.
const SHELL: &str = r##"</style>
</head>
<body>
<header><h1 id="title"></h1><span id="subtitle"></span></header>
<nav><a href="#summary">Summary</a> <a href="#findings">Findings</a> <a href="#abi" id="nav-abi" hidden>Changes by kind</a> <a href="#contested" id="nav-contested">Contested symbols</a> <a href="#graph" id="nav-graph">Drawing</a></nav>
<main>
<section id="summary"><h2>Summary</h2>
<div class="cards"><div class="card error"><span class="n" id="sum-errors">0</span> errors</div><div class="card warning"><span class="n" id="sum-warnings">0</span> warnings</div><div class="card tolerated"><span class="n" id="sum-tolerated">0</span> tolerated</div></div>
<table class="kv" id="sum-table"><tbody></tbody></table>
<h3>By code</h3>
<table class="grid" id="by-code"><thead><tr><th>code</th><th>errors</th><th>warnings</th><th>tolerated</th></tr></thead><tbody></tbody></table>
</section>
<section id="findings"><h2>Findings <span class="count">(<span id="f-count">0</span> of <span id="f-total">0</span>)</span></h2>
<div class="filters">
<label>code <select id="f-code"><option value="">all</option></select></label>
<label>level <select id="f-level"><option value="">all</option><option value="error">error</option><option value="warning">warning</option><option value="tolerated">tolerated</option></select></label>
<label>module <input id="f-module" type="search" placeholder="name contains"></label>
<label>text <input id="f-text" type="search" placeholder="symbol or message contains"></label>
</div>
<div class="vtable" id="f-table"><div class="vhead" id="f-head"></div><div class="vbody" id="f-body"><div class="vspacer" id="f-spacer"></div></div></div>
</section>
<section id="abi" hidden><h2>Changes by kind</h2>
<table class="grid" id="abi-kinds"><thead><tr><th>kind</th><th>changes</th><th>errors</th><th>tolerated</th><th>modules affected</th></tr></thead><tbody></tbody></table>
</section>
<section id="contested"><h2>Contested symbols <span class="count">(<span id="c-count">0</span>)</span></h2>
<p class="hint">Symbols exported by several modules (or by vmlinux and a module): every exporter, the one chosen (&#9733;), the rule that chose it, and who imports it. Click a name to draw it.</p>
<label>symbol or module <input id="c-filter" type="search" placeholder="contains"></label>
<div id="c-list"></div>
</section>
<section id="graph"><h2>Drawing</h2>
<div class="filters"><label>input <select id="g-input"></select></label>
<label>symbol or module <input id="g-name" type="search" list="g-names" placeholder="exact name, Enter"></label><datalist id="g-names"></datalist>
<span id="g-status"></span></div>
<div id="g-box"></div>
</section>
</main>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(chunks: &[&[u8]]) -> String {
        let mut s = ScriptSafe::new(Vec::new());
        for c in chunks {
            s.write_all(c).unwrap();
        }
        String::from_utf8(s.finish().unwrap()).unwrap()
    }

    #[test]
    fn script_safe_escapes_what_could_close_a_block() {
        let json = serde_json::to_string("</script><!-- & \u{2028}\u{2029} é").unwrap();
        let out = safe(&[json.as_bytes()]);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        assert!(!out.contains('\u{2028}') && !out.contains('\u{2029}'));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "</script><!-- & \u{2028}\u{2029} é");
    }

    #[test]
    fn script_safe_handles_line_separators_split_across_writes() {
        let t = "a\u{2028}b\u{2029}c€d".as_bytes();
        for cut in 0..t.len() {
            let out = safe(&[&t[..cut], &t[cut..]]);
            assert_eq!(out, "a\\u2028b\\u2029c€d", "cut at {cut}");
        }
        for cut in 0..t.len() {
            for cut2 in cut..t.len() {
                let out = safe(&[&t[..cut], &t[cut..cut2], &t[cut2..]]);
                assert_eq!(out, "a\\u2028b\\u2029c€d", "cuts at {cut}, {cut2}");
            }
        }
    }

    #[test]
    fn the_inlined_script_and_style_cannot_close_their_blocks() {
        assert!(!JS.to_ascii_lowercase().contains("</script"));
        assert!(!CSS.to_ascii_lowercase().contains("</style"));
        assert!(!JS.contains("innerHTML") && !JS.contains("outerHTML"));
        assert!(!JS.contains("insertAdjacentHTML") && !JS.contains("document.write"));
    }
}
