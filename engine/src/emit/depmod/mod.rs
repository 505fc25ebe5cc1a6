//! The depmod artifacts: `modules.dep`, `modules.alias`, `modules.softdep`,
//! `modules.weakdep`, `modules.symbols`, `modules.devname` and the `.bin` indexes, byte
//! for byte as kmod writes them.
//!
//! Input: the ordered graph, its resolution and dependency order, and the raw
//! `modules.builtin*` files. Output: named byte buffers plus the messages kmod would
//! print while writing them, in the same order. Nothing here touches the filesystem.
//!
//! Only `modules.dep` needs every import resolved ([`render_deps`]). The artifacts read
//! from `.modinfo` and the built-in lists alone (aliases, soft and weak dependencies,
//! device names, built-ins) need not even the symbol index ([`render_from_modules`]): a
//! caller can render them while the index is built and providers are chosen.
//! `modules.symbols` needs only each symbol's provider, from [`crate::resolve::choose`]
//! ([`render_symbols_early`]): a caller can render it while it resolves the imports.
//! [`finish`] puts the parts together in kmod's order.

use crate::graph::{ExportGraph, Provider};
use crate::index::{IndexBuilder, Layout};
use crate::load::elf::name_bytes;
use crate::load::order::parse_builtin_modinfo;
use crate::resolve::depsort::transitive_deps;
use crate::resolve::Resolution;
use crate::util::{hash, timed};

/// Which kmod's output to reproduce where versions differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// `.bin` node layout.
    pub layout: Layout,
    /// Write `modules.weakdep` (kmod >= 33).
    pub weakdep: bool,
}

impl Flavor {
    /// Debian bookworm's kmod 30.
    pub const KMOD30: Flavor = Flavor {
        layout: Layout::PostOrder,
        weakdep: false,
    };
    /// kmod 34.
    pub const KMOD34: Flavor = Flavor {
        layout: Layout::PreOrder,
        weakdep: true,
    };
}

/// A message printed while rendering, in kmod's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `depmod: WARNING: ...`
    Warning(String),
    /// `depmod: ERROR: ...`
    Error(String),
}

/// A rendering failure that must stop the run (nothing is written): the artifact, what
/// it cannot hold, and the input the entry comes from, e.g. `cannot write
/// modules.builtin.bin: key "caf\xe9" has the byte 0xe9 at offset 3, which a .bin index
/// cannot hold (...); the entry comes from line 2 of /lib/modules/V/modules.builtin`.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {artifact}: {source}; the entry comes from {origin}")]
pub struct EmitError {
    /// The artifact being built.
    pub artifact: &'static str,
    /// Where the entry comes from: `module NAME (PATH)`, or a line or record of a
    /// companion file, named with its path.
    pub origin: String,
    /// Why.
    #[source]
    pub source: crate::index::IndexError,
}

/// Where an index entry comes from, for an [`EmitError`].
#[derive(Clone, Copy)]
enum Origin<'a> {
    /// The module at this index of the graph.
    Module(usize),
    /// Line `n` (from 1) of `modules.builtin`.
    BuiltinLine(usize),
    /// An alias of this built-in module in `modules.builtin.modinfo`.
    BuiltinModinfo(&'a str),
}

impl Origin<'_> {
    fn describe(self, input: &RenderInput<'_>) -> String {
        match self {
            Origin::Module(m) => match input.graph.modules.get(m) {
                Some(md) => format!("module {} ({})", md.name(), md.source.path),
                None => format!("module #{m}"),
            },
            Origin::BuiltinLine(n) => {
                format!("line {n} of {}/modules.builtin", input.dirname)
            }
            Origin::BuiltinModinfo(name) => format!(
                "an alias of the built-in module {name} in {}/modules.builtin.modinfo",
                input.dirname
            ),
        }
    }
}

/// The raw companion files.
#[derive(Debug, Clone)]
pub struct BuiltinFiles {
    /// `modules.builtin`, or the error text for "could not open".
    pub builtin: Result<Vec<u8>, String>,
    /// `modules.builtin.modinfo`, likewise.
    pub builtin_modinfo: Result<Vec<u8>, String>,
}

/// What to render.
pub struct RenderInput<'a> {
    /// The graph, in array order.
    pub graph: &'a ExportGraph,
    /// `modules.builtin*`.
    pub builtin: &'a BuiltinFiles,
    /// The module directory (for "could not open X at DIR" messages).
    pub dirname: &'a str,
    /// Which kmod.
    pub flavor: Flavor,
    /// Render the `.bin` indexes too (`false` for `-n`).
    pub binary: bool,
    /// Warn on duplicate index values (`-w`).
    pub warn_duplicates: bool,
}

/// What [`render_deps`] needs beyond [`RenderInput`]: the graph's resolution.
pub struct Resolved<'a> {
    /// Its resolution.
    pub resolution: &'a Resolution,
    /// Dependency sort index per module.
    pub sort_index: &'a [u32],
}

/// The artifacts rendered before the dependency order is known ([`Early::new`]), for
/// [`finish`] to complete.
pub struct Early {
    modules: FromModules,
    symbols: Result<Part, EmitError>,
}

/// The rendered set.
#[derive(Debug, Default)]
pub struct Rendered {
    /// `(file name, contents)` in kmod's write order.
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// Messages, in the order kmod prints them.
    pub messages: Vec<Message>,
}

/// kmod's `alias_normalize`: `-` becomes `_` outside `[...]`; `None` on an unmatched
/// bracket.
pub fn normalize_alias(alias: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(alias.len());
    normalize_alias_into(alias, &mut out).then_some(out)
}

/// [`normalize_alias`] into a buffer the caller reuses (cleared first); `false` on an
/// unmatched bracket.
fn normalize_alias_into(alias: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut i = 0;
    while i < alias.len() {
        match alias[i] {
            b'-' => out.push(b'_'),
            b']' => return false,
            b'[' => {
                let Some(close) = alias[i..].iter().position(|&c| c == b']') else {
                    return false;
                };
                out.extend_from_slice(&alias[i..=i + close]);
                i += close;
            }
            c => out.push(c),
        }
        i += 1;
    }
    true
}

/// `sscanf(s, "<prefix>%u-%u")`: a prefix match, then two unsigned numbers separated by
/// `-`, each with optional leading white space and sign; trailing text ignored.
fn scan_major_minor(s: &[u8], prefix: &[u8]) -> Option<(u32, u32)> {
    let rest = s.strip_prefix(prefix)?;
    let (a, rest) = scan_u(rest)?;
    let rest = rest.strip_prefix(b"-")?;
    let (b, _) = scan_u(rest)?;
    Some((a, b))
}

fn scan_u(s: &[u8]) -> Option<(u32, &[u8])> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(u64::from(s[i] - b'0'));
        i += 1;
    }
    if i == start {
        return None;
    }
    let v = if v > u64::from(u32::MAX) {
        u32::MAX
    } else {
        v as u32
    };
    Some((if neg { v.wrapping_neg() } else { v }, &s[i..]))
}

/// One part of the rendered set, built independently of the others.
#[derive(Default)]
struct Part {
    files: Vec<(&'static str, Vec<u8>)>,
    messages: Vec<Message>,
}

impl Part {
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        input: &RenderInput<'_>,
        idx: &mut IndexBuilder,
        artifact: &'static str,
        origin: Origin<'_>,
        key: &[u8],
        value: &[u8],
        prio: u32,
        dup_label: &str,
        dup_text: impl FnOnce() -> String,
    ) -> Result<(), EmitError> {
        match idx.insert(key, value, prio) {
            Ok(dup) => {
                if dup && input.warn_duplicates {
                    self.messages.push(Message::Warning(format!(
                        "duplicate module {dup_label}:\n{}",
                        dup_text()
                    )));
                }
                Ok(())
            }
            Err(source) => Err(EmitError {
                artifact,
                origin: origin.describe(input),
                source,
            }),
        }
    }
}

/// The artifacts that need only the modules (not the symbol index): aliases, soft and
/// weak dependencies, device names, built-ins.
pub struct FromModules {
    alias: Result<Part, EmitError>,
    alias_bin: Result<Part, EmitError>,
    softdeps: Result<Part, EmitError>,
    builtin: Result<Part, EmitError>,
    devname: Result<Part, EmitError>,
}

/// `modules.symbols` and its index, rendered early (see [`render_symbols_early`]).
pub struct SymbolsPart(Result<Part, EmitError>);

/// Renders, in parallel, the artifacts that need only the modules; a caller can build
/// the symbol index and choose providers meanwhile.
pub fn render_from_modules(input: &RenderInput<'_>) -> FromModules {
    let (alias_bin, ((alias, builtin), (devname, softdeps))) = rayon::join(
        || timed("alias.bin", || render_alias_bin(input)),
        || {
            rayon::join(
                || {
                    rayon::join(
                        || timed("alias", || render_alias(input)),
                        || timed("builtin", || render_builtin(input)),
                    )
                },
                || {
                    rayon::join(
                        || timed("devname", || render_devname(input)),
                        || timed("softdeps", || render_softdeps(input)),
                    )
                },
            )
        },
    );
    FromModules {
        alias,
        alias_bin,
        softdeps,
        builtin,
        devname,
    }
}

/// Renders `modules.symbols` and its index from the providers `choices` records.
pub fn render_symbols_early(input: &RenderInput<'_>, choices: &Resolution) -> SymbolsPart {
    SymbolsPart(timed("symbols", || render_symbols(input, choices)))
}

impl Early {
    /// Puts [`render_from_modules`]' and [`render_symbols_early`]'s parts together.
    pub fn new(modules: FromModules, symbols: SymbolsPart) -> Early {
        Early {
            modules,
            symbols: symbols.0,
        }
    }

    /// The files rendered so far, for writing them while the rest is decided: those of
    /// every part that rendered without error, in no particular order.
    pub fn files(&self) -> Vec<(&'static str, &[u8])> {
        let m = &self.modules;
        [
            &m.alias,
            &m.alias_bin,
            &m.softdeps,
            &self.symbols,
            &m.builtin,
            &m.devname,
        ]
        .into_iter()
        .flatten()
        .flat_map(|p| p.files.iter().map(|(n, c)| (*n, c.as_slice())))
        .collect()
    }
}

/// `modules.dep` and `modules.dep.bin`, rendered by [`render_deps`] for [`finish`].
pub struct Deps(Result<Part, EmitError>);

/// Renders `modules.dep` and its index: the one part that needs the dependency order.
pub fn render_deps(input: &RenderInput<'_>, resolved: &Resolved<'_>) -> Deps {
    Deps(timed("dep", || render_dep(input, resolved)))
}

/// Puts [`render_deps`]' part and the [`Early`] ones together: files and messages in
/// kmod's order; the first failure in kmod's writing order is the one reported.
pub fn finish(deps: Deps, early: Early) -> Result<Rendered, EmitError> {
    let mut out = Rendered::default();
    let m = early.modules;
    for part in [
        deps.0?,
        m.alias?,
        m.alias_bin?,
        m.softdeps?,
        early.symbols?,
        m.builtin?,
        m.devname?,
    ] {
        out.files.extend(part.files);
        out.messages.extend(part.messages);
    }
    Ok(out)
}

fn render_dep(input: &RenderInput<'_>, resolved: &Resolved<'_>) -> Result<Part, EmitError> {
    let g = input.graph;
    let mut part = Part::default();
    let mut dep = Vec::with_capacity(g.modules.len() * 64);
    let mut dep_lines: Vec<(usize, usize)> = Vec::with_capacity(g.modules.len());
    let mut seen = vec![false; g.modules.len()];
    for (i, m) in g.modules.iter().enumerate() {
        let start = dep.len();
        dep.extend_from_slice(m.source.dep_path().as_bytes());
        dep.push(b':');
        for d in transitive_deps(i, &resolved.resolution.deps, resolved.sort_index, &mut seen) {
            dep.push(b' ');
            dep.extend_from_slice(g.modules[d].source.dep_path().as_bytes());
        }
        dep_lines.push((start, dep.len()));
        dep.push(b'\n');
    }
    let mut bin = None;
    if input.binary {
        let mut idx = IndexBuilder::new();
        for (i, m) in g.modules.iter().enumerate() {
            let line = &dep[dep_lines[i].0..dep_lines[i].1];
            part.insert(
                input,
                &mut idx,
                "modules.dep.bin",
                Origin::Module(i),
                m.name().as_bytes(),
                line,
                i as u32,
                "deps",
                || String::from_utf8_lossy(line).into_owned(),
            )?;
        }
        bin = Some(idx.write(input.flavor.layout));
    }
    part.files.push(("modules.dep", dep));
    if let Some(b) = bin {
        part.files.push(("modules.dep.bin", b));
    }
    Ok(part)
}

/// `modules.alias` (the text; see [`render_alias_bin`] for the index).
fn render_alias(input: &RenderInput<'_>) -> Result<Part, EmitError> {
    let g = input.graph;
    let mut part = Part::default();
    let mut alias = b"# Aliases extracted from modules themselves.\n".to_vec();
    for m in &g.modules {
        for v in m.modinfo(b"alias") {
            alias.extend_from_slice(b"alias ");
            alias.extend_from_slice(v);
            alias.push(b' ');
            alias.extend_from_slice(m.name().as_bytes());
            alias.push(b'\n');
        }
    }
    part.files.push(("modules.alias", alias));
    Ok(part)
}

/// `modules.alias.bin` (unless `-n`), with kmod's warnings about bad aliases.
fn render_alias_bin(input: &RenderInput<'_>) -> Result<Part, EmitError> {
    let g = input.graph;
    let mut part = Part::default();
    if input.binary {
        let mut idx = IndexBuilder::new();
        let mut k = Vec::new();
        for (i, m) in g.modules.iter().enumerate() {
            for v in m.modinfo(b"alias") {
                if !normalize_alias_into(v, &mut k) {
                    part.messages.push(Message::Warning(format!(
                        "Unmatched bracket in {}",
                        String::from_utf8_lossy(v)
                    )));
                    continue;
                }
                let name = m.name();
                part.insert(
                    input,
                    &mut idx,
                    "modules.alias.bin",
                    Origin::Module(i),
                    &k,
                    name.as_bytes(),
                    i as u32,
                    "alias",
                    || format!("{} {}", String::from_utf8_lossy(&k), name),
                )?;
            }
        }
        part.files
            .push(("modules.alias.bin", idx.write(input.flavor.layout)));
    }
    Ok(part)
}

fn render_softdeps(input: &RenderInput<'_>) -> Result<Part, EmitError> {
    let mut part = Part::default();
    for (file, key, header) in [
        (
            "modules.softdep",
            &b"softdep"[..],
            &b"# Soft dependencies extracted from modules themselves.\n"[..],
        ),
        (
            "modules.weakdep",
            b"weakdep",
            b"# Weak dependencies extracted from modules themselves.\n",
        ),
    ] {
        if key == b"weakdep" && !input.flavor.weakdep {
            continue;
        }
        let mut t = header.to_vec();
        for m in &input.graph.modules {
            for v in m.modinfo(key) {
                t.extend_from_slice(key);
                t.push(b' ');
                t.extend_from_slice(m.name().as_bytes());
                t.push(b' ');
                t.extend_from_slice(v);
                t.push(b'\n');
            }
        }
        part.files.push((file, t));
    }
    Ok(part)
}

fn render_symbols(input: &RenderInput<'_>, choices: &Resolution) -> Result<Part, EmitError> {
    let g = input.graph;
    let mut part = Part::default();
    // Module-owned table entries, in kmod's 2048-bucket hash order.
    // Names as the module spells them (bytes that are not UTF-8 included, as kmod
    // hashes and writes them).
    let mut owned: Vec<(std::borrow::Cow<'_, [u8]>, usize)> = Vec::new();
    for (name, provider) in choices.providers(g) {
        if let Provider::Module(id) = provider.provider {
            owned.push((name_bytes(name), id.index()));
        }
    }
    hash::sort_in_table_order(&mut owned, 2048, |(n, _)| n.as_ref());
    let mut sym = b"# Aliases for symbols, used by symbol_request().\n".to_vec();
    for (name, m) in &owned {
        sym.extend_from_slice(b"alias symbol:");
        sym.extend_from_slice(name);
        sym.push(b' ');
        sym.extend_from_slice(g.modules[*m].name().as_bytes());
        sym.push(b'\n');
    }
    part.files.push(("modules.symbols", sym));
    if input.binary {
        let mut idx = IndexBuilder::new();
        let mut key = Vec::new();
        for (name, m) in &owned {
            key.clear();
            key.extend_from_slice(b"symbol:");
            key.extend_from_slice(name);
            let owner = g.modules[*m].name();
            part.insert(
                input,
                &mut idx,
                "modules.symbols.bin",
                Origin::Module(*m),
                &key,
                owner.as_bytes(),
                *m as u32,
                "syms",
                || format!("symbol:{} {owner}", String::from_utf8_lossy(name)),
            )?;
        }
        part.files
            .push(("modules.symbols.bin", idx.write(input.flavor.layout)));
    }
    Ok(part)
}

fn render_builtin(input: &RenderInput<'_>) -> Result<Part, EmitError> {
    let mut part = Part::default();
    if !input.binary {
        return Ok(part);
    }
    let layout = input.flavor.layout;
    match &input.builtin.builtin {
        Err(e) => {
            part.messages.push(Message::Warning(format!(
                "could not open modules.builtin at {}: {e}",
                input.dirname
            )));
            part.files.push(("modules.builtin.bin", Vec::new()));
        }
        Ok(text) => {
            let mut idx = IndexBuilder::new();
            for (n, line) in text.split_inclusive(|&b| b == b'\n').enumerate() {
                if !line.first().is_some_and(|c| c.is_ascii_alphabetic()) {
                    part.messages.push(Message::Error(format!(
                        "Invalid modules.builtin line: {}",
                        String::from_utf8_lossy(line)
                    )));
                    continue;
                }
                let base = match line.iter().rposition(|&b| b == b'/') {
                    Some(p) => &line[p + 1..],
                    None => line,
                };
                let stem = &base[..base.iter().position(|&b| b == b'.').unwrap_or(base.len())];
                let k: Vec<u8> = stem
                    .iter()
                    .map(|&b| if b == b'-' { b'_' } else { b })
                    .collect();
                part.insert(
                    input,
                    &mut idx,
                    "modules.builtin.bin",
                    Origin::BuiltinLine(n + 1),
                    &k,
                    b"",
                    0,
                    "builtin",
                    String::new,
                )?;
            }
            part.files.push(("modules.builtin.bin", idx.write(layout)));
        }
    }
    match &input.builtin.builtin_modinfo {
        Err(e) => {
            part.messages.push(Message::Warning(format!(
                "could not open modules.builtin.modinfo at {}: {e}",
                input.dirname
            )));
            part.files.push(("modules.builtin.alias.bin", Vec::new()));
        }
        Ok(data) => {
            let mut idx = IndexBuilder::new();
            for rec in parse_builtin_modinfo(data) {
                if rec.key != b"alias" || rec.value.is_empty() {
                    continue;
                }
                match normalize_alias(&rec.value) {
                    None => part.messages.push(Message::Warning(format!(
                        "Unmatched bracket in {}",
                        String::from_utf8_lossy(&rec.value)
                    ))),
                    Some(k) => {
                        part.insert(
                            input,
                            &mut idx,
                            "modules.builtin.alias.bin",
                            Origin::BuiltinModinfo(&rec.module),
                            &k,
                            rec.module.as_bytes(),
                            0,
                            "builtin alias",
                            String::new,
                        )?;
                    }
                }
            }
            part.files
                .push(("modules.builtin.alias.bin", idx.write(layout)));
        }
    }
    Ok(part)
}

fn render_devname(input: &RenderInput<'_>) -> Result<Part, EmitError> {
    let mut part = Part::default();
    let mut devname = Vec::new();
    for m in &input.graph.modules {
        let mut dev: Option<&[u8]> = None;
        let mut kind: Option<(u8, u32, u32)> = None;
        for v in m.modinfo(b"alias") {
            if let Some(d) = v.strip_prefix(b"devname:") {
                dev = Some(d);
            } else if let Some((a, b)) = scan_major_minor(v, b"char-major-") {
                kind = Some((b'c', a, b));
            } else if let Some((a, b)) = scan_major_minor(v, b"block-major-") {
                kind = Some((b'b', a, b));
            }
            if dev.is_some() && kind.is_some() {
                break;
            }
        }
        match (dev, kind) {
            (Some(d), Some((t, a, b))) => {
                if devname.is_empty() {
                    devname.extend_from_slice(
                        b"# Device nodes to trigger on-demand module loading.\n",
                    );
                }
                devname.extend_from_slice(m.name().as_bytes());
                devname.push(b' ');
                devname.extend_from_slice(d);
                devname.extend_from_slice(format!(" {}{a}:{b}\n", t as char).as_bytes());
            }
            (Some(d), None) => part.messages.push(Message::Error(format!(
                "Module '{}' has devname ({}) but lacks major and minor information. Ignoring.",
                m.name(),
                String::from_utf8_lossy(d)
            ))),
            _ => {}
        }
    }
    part.files.push(("modules.devname", devname));
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_normalisation() {
        assert_eq!(
            normalize_alias(b"pci:v-[a-b]x-y").unwrap(),
            b"pci:v_[a-b]x_y"
        );
        assert!(normalize_alias(b"a]").is_none());
        assert!(normalize_alias(b"a[bc").is_none());
    }

    #[test]
    fn major_minor_scan() {
        assert_eq!(
            scan_major_minor(b"char-major-10-229", b"char-major-"),
            Some((10, 229))
        );
        assert_eq!(
            scan_major_minor(b"char-major- 10-+5xyz", b"char-major-"),
            Some((10, 5))
        );
        assert_eq!(scan_major_minor(b"char-major-10", b"char-major-"), None);
        assert_eq!(scan_major_minor(b"block-major-8-*", b"block-major-"), None);
    }
}
