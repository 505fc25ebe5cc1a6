//! `modpolicy explain VERSION NAME`: why a symbol has the provider it has, or how a
//! module's imports resolved.
//!
//! For a symbol: every exporter, the chosen one, the rule that chose it (file:line and
//! reason), the alternatives it beat, who imports it, and what the policy reports about
//! it. For a module: its exports, its imports with their providers, its dependencies and
//! its users. Exit code 0, or 2 when NAME is neither a symbol nor a module.

use super::tree::{load_policy, load_tree, today, Log, TreeOptions};
use crate::check::CheckContext;
use crate::diag::Finding;
use crate::graph::{ExportGraph, Exporter, ModuleId, Provider};
use crate::load::elf::ExportKind;
use crate::load::Limits;
use crate::policy::engine::PolicyEngine;
use crate::resolve::{resolve, Decision, Resolution};
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `modpolicy explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Policy file (repeatable, lowest layer first). Default: the built-in kmod policy.
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<PathBuf>,
    /// Root directory: modules are read from BASEDIR/lib/modules/VERSION.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    basedir: Option<String>,
    /// depmod.d configuration file or directory (repeatable).
    #[arg(short = 'C', long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
    /// System.map of the kernel, for vmlinux's exports.
    #[arg(short = 'F', long = "filesyms", value_name = "System.map")]
    filesyms: Option<PathBuf>,
    /// Module.symvers of the kernel, for vmlinux's exports and CRCs.
    #[arg(short = 'E', long = "symvers", value_name = "Module.symvers")]
    symvers: Option<PathBuf>,
    /// Kernel version.
    version: String,
    /// A symbol or a module name (`-` and `_` alike).
    name: String,
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
    let rule = f.rule.as_ref().map(|r| {
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

/// Runs `modpolicy explain`.
pub fn run(args: ExplainArgs) -> ExitCode {
    let log = Log::new("modpolicy", 0);
    let policy = match load_policy(&args.policy, &args.version, ExitCode::from(2)) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let opts = TreeOptions {
        basedir: args.basedir.clone(),
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
    let mut errsyms = false;
    let tree = match load_tree(&opts, &policy, &log, &mut errsyms) {
        Ok(t) => t,
        Err(_) => return ExitCode::from(2),
    };
    let engine = PolicyEngine::new(&policy, today(), tree.search.clone());
    let res = resolve(&tree.graph, &engine);
    let findings = crate::check::run_all(&CheckContext {
        graph: &tree.graph,
        resolution: &res,
        engine: &engine,
    });
    let mut any = false;
    if let Some(t) = explain_symbol(&tree.graph, &res, &findings, &args.name) {
        print!("{t}");
        any = true;
    }
    if let Some(t) = explain_module(&tree.graph, &res, &findings, &args.name, tree.have_kernel) {
        if any {
            println!();
        }
        print!("{t}");
        any = true;
    }
    if !any {
        log.flush();
        eprintln!(
            "modpolicy: no symbol or module named `{}` in {}",
            args.name, tree.dirname
        );
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
