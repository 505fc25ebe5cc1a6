//! The `explain` job: why a symbol has the provider it has, or how a module's imports
//! resolved, in an installed tree loaded as `depmod` loads it.
//!
//! For a symbol: every exporter, the chosen one, the rule that chose it (file:line and
//! reason), the alternatives it beat, who imports it, and what the policy reports about
//! it. For a module: its exports, its imports with their providers, its dependencies and
//! its users.

use super::log::Log;
use super::tree::{load_tree, TreeOptions};
use super::{today, Stop};
use crate::check::CheckContext;
use crate::diag::Finding;
use crate::graph::{ExportGraph, Exporter, ModuleId, Provider};
use crate::load::elf::ExportKind;
use crate::load::Limits;
use crate::policy::engine::PolicyEngine;
use crate::resolve::{resolve, Decision, Resolution};
use std::fmt::Write as _;
use std::path::PathBuf;

/// What to explain, and where.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// Policy files, lowest layer first (none: the built-in kmod policy).
    pub policy: Vec<PathBuf>,
    /// `-b`: modules are read from BASEDIR/lib/modules/VERSION.
    pub basedir: Option<String>,
    /// `-C`: depmod.d configuration files or directories.
    pub config: Vec<PathBuf>,
    /// `-F`: `System.map`.
    pub filesyms: Option<PathBuf>,
    /// `-E`: `Module.symvers`.
    pub symvers: Option<PathBuf>,
    /// The kernel version.
    pub version: String,
    /// A symbol or a module name (`-` and `_` alike).
    pub name: String,
}

/// The explanation: a symbol's, a module's, or both when NAME is both.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The symbol NAME, if anybody exports or imports it.
    pub symbol: Option<String>,
    /// The module NAME, if there is one.
    pub module: Option<String>,
    /// The tree's directory, `BASEDIR/lib/modules/VERSION`.
    pub dirname: String,
}

fn who(g: &ExportGraph, p: Provider) -> String {
    match p {
        Provider::Vmlinux => "vmlinux".to_string(),
        Provider::Module(id) => {
            let m = g.module(id);
            format!("{} ({})", m.name(), m.source.dep_path())
        }
    }
}

fn describe_exporter(g: &ExportGraph, e: &Exporter) -> String {
    let kind = match e.kind {
        ExportKind::Plain => "EXPORT_SYMBOL",
        ExportKind::GplOnly => "EXPORT_SYMBOL_GPL",
        ExportKind::Unknown => "export",
    };
    let ns = e
        .namespace
        .as_deref()
        .map(|n| format!(", namespace {n}"))
        .unwrap_or_default();
    format!("{}  [{kind}, crc 0x{:08x}{ns}]", who(g, e.provider), e.crc)
}

fn describe_decision(d: &Decision) -> String {
    match d {
        Decision::Only => "only one exporter".to_string(),
        Decision::Default {
            strategy,
            set_at,
            note,
        } => {
            let at = match set_at {
                Some(r) => format!("{}:{}", r.file, r.line),
                None => "built in".to_string(),
            };
            let _ = note; // printed on its own line by the caller
            format!("default strategy `{strategy}` ({at})")
        }
        Decision::Rule { rule, how } => {
            let reason = rule
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!(
                "`{}` rule at {}:{}, {how}{reason}",
                rule.kind, rule.file, rule.line
            )
        }
    }
}

fn finding_line(f: &Finding) -> String {
    let state = if f.tolerated {
        "tolerated".to_string()
    } else {
        f.level.to_string()
    };
    let rule = f.rule().map(|r| {
        let reason = r
            .reason
            .as_deref()
            .map(|x| format!(": {x}"))
            .unwrap_or_default();
        format!(" — {} at {}:{}{reason}", r.kind, r.file, r.line)
    });
    format!(
        "{}[{}] {}{}",
        state,
        f.code,
        f.message,
        rule.unwrap_or_default()
    )
}

/// Appends a `findings:` section, if there are any.
fn write_findings<'a>(o: &mut String, fs: impl Iterator<Item = &'a Finding>) {
    let mut first = true;
    for f in fs {
        if first {
            let _ = writeln!(o, "  findings:");
            first = false;
        }
        let _ = writeln!(o, "    {}", finding_line(f));
    }
}

/// Explains a symbol; `None` if nobody exports it and nobody imports it.
pub fn explain_symbol(
    g: &ExportGraph,
    res: &Resolution,
    findings: &[Finding],
    sym: &str,
) -> Option<String> {
    let key = g.prefix.import_key(sym);
    let exporters = g.exporters(key);
    let importers: Vec<(ModuleId, bool)> = g
        .modules
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            m.image
                .imports
                .iter()
                .find(|imp| g.prefix.import_key(&imp.name) == key)
                .map(|imp| (ModuleId(i as u32), imp.weak))
        })
        .collect();
    if exporters.is_empty() && importers.is_empty() {
        return None;
    }
    let mut o = String::new();
    let _ = writeln!(o, "symbol {key}");
    if exporters.is_empty() {
        let _ = writeln!(o, "  exported by: nobody (unresolved)");
    } else {
        let _ = writeln!(
            o,
            "  exported by ({} in resolution order):",
            exporters.len()
        );
        for e in exporters {
            let _ = writeln!(o, "    {}", describe_exporter(g, e));
        }
    }
    if let Some(c) = res.choice(g, key) {
        let chosen = &exporters[c.index];
        let _ = writeln!(o, "  provider: {}", who(g, chosen.provider));
        let _ = writeln!(o, "  decided by: {}", describe_decision(&c.decision));
        if let Decision::Default { note: Some(n), .. } = &c.decision {
            let _ = writeln!(o, "  note: {n}");
        }
        let beaten: Vec<String> = exporters
            .iter()
            .enumerate()
            .filter(|(i, e)| *i != c.index && e.provider != chosen.provider)
            .map(|(_, e)| who(g, e.provider))
            .collect();
        if !beaten.is_empty() {
            let _ = writeln!(o, "  beat: {}", beaten.join(", "));
        }
    }
    if importers.is_empty() {
        let _ = writeln!(o, "  imported by: nobody");
    } else {
        let _ = writeln!(o, "  imported by ({}):", importers.len());
        for (id, weak) in &importers {
            let _ = writeln!(
                o,
                "    {}{}",
                who(g, Provider::Module(*id)),
                if *weak { " (weak)" } else { "" }
            );
        }
    }
    write_findings(
        &mut o,
        findings.iter().filter(|f| f.symbol.as_deref() == Some(key)),
    );
    Some(o)
}

/// Explains a module; `None` if there is no such module.
pub fn explain_module(
    g: &ExportGraph,
    res: &Resolution,
    findings: &[Finding],
    name: &str,
    have_kernel: bool,
) -> Option<String> {
    let id = g.find_module(name)?;
    let m = g.module(id);
    let mut o = String::new();
    let _ = writeln!(o, "module {}", m.name());
    let _ = writeln!(o, "  file: {}", m.source.path);
    if let Some(e) = &m.error {
        let _ = writeln!(o, "  could not be read: {e}");
    }
    let lic: Vec<String> = m
        .modinfo(b"license")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let _ = writeln!(
        o,
        "  license: {}",
        if lic.is_empty() {
            "(none)".to_string()
        } else {
            lic.join(", ")
        }
    );
    let _ = writeln!(o, "  exports ({}):", m.image.exports.len());
    for e in &m.image.exports {
        let key = g.prefix.export_key(&e.name);
        let provider = res.provider_of(g, key).map(|x| x.provider);
        let note = match provider {
            Some(Provider::Module(p)) if p == id => String::new(),
            Some(p) => format!("  (not used: provided by {})", who(g, p)),
            None => String::new(),
        };
        let _ = writeln!(o, "    {}{note}", e.name);
    }
    let _ = writeln!(o, "  imports ({}):", m.image.imports.len());
    for (imp, r) in m.image.imports.iter().zip(&res.imports[id.index()]) {
        let p = match r.provider {
            Some(p) => who(g, p),
            None if have_kernel => "UNRESOLVED (no module or vmlinux exports it)".to_string(),
            None => "no module (vmlinux exports unknown: give -E or -F)".to_string(),
        };
        let how = res
            .chosen
            .get(g.prefix.import_key(&imp.name))
            .filter(|c| !matches!(c.decision, Decision::Only))
            .map(|c| format!("  — {}", describe_decision(&c.decision)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    {}{} <- {p}{how}",
            imp.name,
            if imp.weak { " (weak)" } else { "" }
        );
    }
    let deps: Vec<String> = res.deps[id.index()]
        .iter()
        .map(|d| who(g, Provider::Module(*d)))
        .collect();
    let _ = writeln!(
        o,
        "  depends on: {}",
        if deps.is_empty() {
            "nothing".to_string()
        } else {
            deps.join(", ")
        }
    );
    let recorded: Vec<String> = m
        .modinfo(b"depends")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    if !recorded.is_empty() {
        let _ = writeln!(
            o,
            "  depends recorded at build time (modinfo): {}",
            recorded.join(",")
        );
    }
    let users: Vec<String> = res
        .deps
        .iter()
        .enumerate()
        .filter(|(_, d)| d.contains(&id))
        .map(|(i, _)| who(g, Provider::Module(ModuleId(i as u32))))
        .collect();
    let _ = writeln!(
        o,
        "  used by: {}",
        if users.is_empty() {
            "nobody".to_string()
        } else {
            users.join(", ")
        }
    );
    for key in [&b"softdep"[..], b"weakdep"] {
        for v in m.modinfo(key) {
            let _ = writeln!(
                o,
                "  {}: {}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(v)
            );
        }
    }
    write_findings(
        &mut o,
        findings
            .iter()
            .filter(|f| f.module.as_deref() == Some(m.name())),
    );
    Some(o)
}

/// Runs `explain`: loads the tree (kmod's messages go to `log`), resolves it under the
/// policy, runs the checks `depmod` runs, and explains NAME.
pub fn run(args: &ExplainOptions, log: &Log<'_>) -> Result<Explained, Stop> {
    let policy =
        super::load_system_policy(args.basedir.as_deref(), &args.policy, &args.version, || {
            crate::policy::kmod_policy(&args.version)
        })?;
    let opts = TreeOptions {
        basedir: args.basedir.clone(),
        moduledir: None,
        version: Some(args.version.clone()),
        config: args.config.clone(),
        filesyms: args.filesyms.clone(),
        symvers: args.symvers.clone(),
        symbol_prefix: None,
        gzip: true,
        order_first_wins: false,
        modules: Vec::new(),
        limits: Limits::default(),
    };
    let tree = load_tree(&opts, &policy, log, &mut false)?;
    let engine = PolicyEngine::new(&policy, today(), tree.search.clone());
    let res = resolve(&tree.graph, &engine);
    // The policy's levels (explain takes no --allow/--warn-code/--deny).
    let no_flags = crate::diag::CommandLine::default();
    let levels = crate::check::level::Levels::new(&engine, &no_flags);
    let findings: Vec<Finding> = crate::check::run_all(&CheckContext {
        graph: &tree.graph,
        resolution: &res,
        engine: &engine,
    })
    .into_iter()
    .map(|r| levels.by_policy(r))
    .collect();
    Ok(Explained {
        symbol: explain_symbol(&tree.graph, &res, &findings, &args.name),
        module: explain_module(&tree.graph, &res, &findings, &args.name, tree.have_kernel),
        dirname: tree.dirname,
    })
}
