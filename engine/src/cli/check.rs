//! `modpolicy check`: modpost's diagnostics and the checks no tool has, levelled by the
//! policy, over installed module trees or build directories, printed as modpost text,
//! human reports, JSON or SARIF.
//!
//! Each `DIR` is checked on its own: an installed tree (`.../lib/modules/VERSION`, read
//! as `depmod` reads it; or `-b BASEDIR VERSION`) or a build directory holding
//! `modules.order` and the objects it lists (`X.o` as modpost reads them, else the final
//! `X.ko`; an absolute line, as an `M=` build writes it, is looked up by its basename
//! in `DIR` first, then at its own path). A
//! build directory without `vmlinux.o` is an external (`M=`) build, modpost's `-e` mode.
//!
//! The first `--symvers` is the kernel's `Module.symvers` (vmlinux's exports, and the
//! exports of in-tree modules the input does not hold); more are extra symbol dumps
//! (`KBUILD_EXTRA_SYMBOLS`). Without `--symvers`, vmlinux's exports are unknown and
//! undefined symbols are not checked (a note says so).
//!
//! Exit code: 0 clean, 1 an error-level finding, 2 bad invocation or unreadable input.

use super::tree::{load_tree, parse_overrides, today, Log, TreeOptions};
use crate::check::subject::{DumpExport, ModuleFacts, Subject, SymbolInfo};
use crate::check::CheckContext;
use crate::diag::{Code, Finding, Level, RuleRef};
use crate::emit::diag::{human, json, modpost, sarif, Report};
use crate::graph::{ExportGraph, GraphInput, ModuleId, SymbolPrefix};
use crate::load::symvers::{parse_symvers, KernelSymbol, SymversEntry};
use crate::load::walk::{modname_of, strerror, ModuleSource};
use crate::load::{read_modules, Limits};
use crate::policy::engine::PolicyEngine;
use crate::policy::Policy;
use crate::resolve::resolve;
use clap::{Args, ValueEnum};
use rustc_hash::FxHashSet as HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// modpost's lines (`ERROR: modpost: ...`), in modpost's order and wording.
    Modpost,
    /// miette reports with spans into the policy, and a summary.
    Human,
    /// The versioned JSON schema of docs/json-schema.md.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
}

/// Arguments of `modpolicy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy file (repeatable; later files are higher layers). Default: every code at
    /// its default level, kmod's provider rules. `policies/modpost.kdl` gives modpost's
    /// verdicts.
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<PathBuf>,
    /// The kernel's Module.symvers first, then extra symbol dumps (repeatable).
    #[arg(long = "symvers", value_name = "FILE")]
    symvers: Vec<PathBuf>,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "human")]
    format: Format,
    /// Root directory: check BASEDIR/lib/modules/VERSION (then the one positional
    /// argument is VERSION), as for depmod.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    basedir: Option<String>,
    /// depmod configuration file or directory for installed trees (repeatable).
    #[arg(short = 'C', long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
    /// Undefined symbols are warnings, not errors (modpost -w, KBUILD_MODPOST_WARN=1).
    #[arg(short = 'w', long = "warn-undefined")]
    warn_undefined: bool,
    /// Missing namespace imports are warnings, not errors (modpost -N).
    #[arg(short = 'N', long = "allow-missing-ns-imports")]
    warn_missing_ns: bool,
    /// Report findings with this code at no level (repeatable).
    #[arg(long = "allow", value_name = "CODE")]
    allow: Vec<String>,
    /// Report findings with this code as warnings (repeatable).
    #[arg(long = "warn-code", value_name = "CODE")]
    warn_code: Vec<String>,
    /// Report findings with this code as errors (repeatable).
    #[arg(long = "deny", value_name = "CODE")]
    deny: Vec<String>,
    /// Where compiled plugins are cached. Default: $MODPOLICY_PLUGIN_CACHE, else
    /// $XDG_CACHE_HOME/modpolicy/plugins, else ~/.cache/modpolicy/plugins.
    #[arg(long = "plugin-cache", value_name = "DIR")]
    plugin_cache: Option<PathBuf>,
    /// Compile plugins afresh and cache nothing.
    #[arg(long = "no-plugin-cache", conflicts_with = "plugin_cache")]
    no_plugin_cache: bool,
    /// Module trees or build directories (with -b: the kernel VERSION).
    #[arg(required = true, value_name = "DIR")]
    inputs: Vec<String>,
}

fn bad(msg: &str) -> ExitCode {
    eprintln!("modpolicy check: error: {msg}");
    ExitCode::from(2)
}

/// One input, resolved from the command line.
enum Input {
    /// `basedir` (None: `/`) and version.
    Tree(Option<String>, String),
    /// A build directory.
    Build(String),
}

fn classify(dir: &str) -> Result<Input, String> {
    let p = Path::new(dir);
    let parent = p.parent();
    let is_tree = parent
        .and_then(Path::file_name)
        .is_some_and(|n| n == "modules")
        && parent
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .is_some_and(|n| n == "lib");
    if is_tree {
        let version = p
            .file_name()
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        let root = parent
            .and_then(Path::parent)
            .and_then(Path::parent)
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_default();
        let root = if root.is_empty() || root == "/" {
            None
        } else {
            Some(root)
        };
        return Ok(Input::Tree(root, version));
    }
    if p.join("modules.order").is_file() {
        return Ok(Input::Build(dir.trim_end_matches('/').to_string()));
    }
    if !p.is_dir() {
        return Err(format!("{dir}: no such directory"));
    }
    Err(format!("{dir}: neither an installed module tree (lib/modules/VERSION) nor a build directory with modules.order"))
}

/// The symbol files given with `--symvers`, parsed.
struct Symvers {
    kernel: Option<Vec<SymversEntry>>,
    extra: Vec<SymversEntry>,
}

fn info_of(e: &SymversEntry) -> SymbolInfo {
    SymbolInfo {
        crc: Some(e.crc),
        gpl_only: e.is_gpl_only(),
        namespace: (!e.namespace.is_empty()).then(|| e.namespace.clone()),
    }
}

/// Builds the subject of one input: vmlinux and dump exports (minus the dump lines of
/// modules the input holds), facts, built-in names, and resolved imports.
fn subject(
    graph: &ExportGraph,
    sv: &Symvers,
    facts: Vec<ModuleFacts>,
    builtin: HashSet<String>,
) -> Subject {
    let mut s = Subject {
        facts,
        builtin,
        ..Default::default()
    };
    let held: HashSet<&str> = graph.modules.iter().map(|m| m.name()).collect();
    let mut add_dump = |e: &SymversEntry| {
        let name = modname_of(e.module.rsplit('/').next().unwrap_or(&e.module));
        if !held.contains(name.as_str()) {
            s.dumps.insert(
                e.name.clone(),
                DumpExport {
                    module: e.module.clone(),
                    info: info_of(e),
                },
            );
        }
    };
    if let Some(k) = &sv.kernel {
        let mut map = rustc_hash::FxHashMap::default();
        for e in k {
            if e.is_vmlinux() {
                map.insert(e.name.clone(), info_of(e));
            } else {
                add_dump(e);
            }
        }
        for e in sv.extra.iter().filter(|e| !e.is_vmlinux()) {
            add_dump(e);
        }
        for e in sv.extra.iter().filter(|e| e.is_vmlinux()) {
            map.entry(e.name.clone()).or_insert_with(|| info_of(e));
        }
        s.kernel = Some(map);
    } else {
        for e in &sv.extra {
            add_dump(e);
        }
    }
    s
}

fn read_builtin(path: &Path) -> HashSet<String> {
    crate::load::order::read_builtin_file(&path.to_string_lossy())
        .map(|t| {
            let t = String::from_utf8_lossy(&t);
            t.lines()
                .filter_map(|l| l.rsplit('/').next())
                .map(modname_of)
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Loads a build directory: `modules.order`, each object it lists, and the graph.
fn load_build(
    dir: &str,
    kernel: Option<Vec<KernelSymbol>>,
) -> Result<(ExportGraph, Vec<ModuleFacts>), String> {
    let order_path = format!("{dir}/modules.order");
    let order = crate::load::order::read_modules_order(Path::new(&order_path))
        .map_err(|e| format!("cannot read {order_path}: {}", strerror(&e)))?;
    if let Some(n) = order.unterminated_line {
        return Err(format!("{order_path}:{n}: line does not end in a newline"));
    }
    let external = !Path::new(dir).join("vmlinux.o").exists();
    let mut sources = Vec::new();
    let mut facts = std::collections::HashMap::new();
    for line in &order.lines {
        let stem = line
            .strip_suffix(".ko")
            .or_else(|| line.strip_suffix(".o"))
            .unwrap_or(line);
        let base = stem.rsplit('/').next().unwrap_or(stem);
        // A relative line is under DIR (an in-tree build, named as modpost names it); an
        // absolute one (an M= build) is looked up in DIR by its basename first, so that a
        // copied build directory reads its own objects, then at its own path.
        let (given, named) = if stem.starts_with('/') {
            (stem.to_string(), stem.to_string())
        } else {
            (format!("{dir}/{stem}"), stem.to_string())
        };
        let fallback = format!("{dir}/{base}");
        let candidates = if stem.starts_with('/') {
            [(&fallback, &fallback), (&given, &named)]
        } else {
            [(&given, &named), (&fallback, &fallback)]
        };
        let found = candidates
            .into_iter()
            .flat_map(|(p, n)| {
                [
                    (format!("{p}.o"), n.clone()),
                    (format!("{p}.ko"), n.clone()),
                ]
            })
            .find(|(p, _)| Path::new(p).is_file());
        let Some((path, name)) = found else {
            return Err(format!("{order_path} lists {line}, but neither {given}.o nor {given}.ko (nor {fallback}.o/.ko) exists"));
        };
        let src = ModuleSource {
            name: modname_of(&format!("{base}.o")),
            path: path.clone(),
            relpath: Some(line.clone()),
        };
        facts.insert(path, ModuleFacts::from_path(&name, false, external));
        sources.push(src);
    }
    let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
    let images = read_modules(&paths, &Limits::default());
    let modules = sources
        .into_iter()
        .zip(images)
        .map(|(s, r)| (s, r.map_err(|e| e.to_string())))
        .collect();
    let graph = ExportGraph::build(GraphInput {
        modules,
        order: Some(&order),
        order_first_wins: false,
        kernel,
        prefix: SymbolPrefix::default(),
    });
    let facts = graph
        .modules
        .iter()
        .map(|m| {
            facts
                .remove(&m.source.path)
                .expect("facts for every module")
        })
        .collect();
    Ok((graph, facts))
}

/// The plugin cache directory: `--plugin-cache`, else `$MODPOLICY_PLUGIN_CACHE`, else
/// the XDG cache directory; `None` with `--no-plugin-cache` or when nothing says where.
fn plugin_cache(args: &CheckArgs) -> Option<crate::plugin::host::Cache> {
    if args.no_plugin_cache {
        return None;
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = args
        .plugin_cache
        .clone()
        .or_else(|| env("MODPOLICY_PLUGIN_CACHE"))
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("modpolicy/plugins")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/modpolicy/plugins")))?;
    Some(crate::plugin::host::Cache::new(dir))
}

/// Splits `--allow/--warn-code/--deny` arguments naming plugin codes (`PLUGIN/CODE`)
/// from the built-in codes.
fn split_plugin_codes(list: &[String]) -> (Vec<String>, Vec<String>) {
    list.iter().cloned().partition(|c| !c.contains('/'))
}

/// Applies `-w`, `-N` and `--allow/--warn-code/--deny` to the findings.
fn apply_overrides(
    findings: &mut [Finding],
    args: &CheckArgs,
    overrides: &[(Code, Level)],
    plugin_overrides: &[(String, Level)],
) {
    let cli = |what: String| RuleRef {
        file: "<command line>".into(),
        line: 0,
        span: (0, 0),
        kind: what,
        reason: None,
    };
    for f in findings {
        if args.warn_undefined && f.code == Code::UndefinedSymbol && f.level == Level::Deny {
            f.level = Level::Warn;
            f.rule = Some(cli("-w".into()));
        }
        if args.warn_missing_ns && f.code == Code::MissingNamespaceImport && f.level == Level::Deny
        {
            f.level = Level::Warn;
            f.rule = Some(cli("-N".into()));
        }
        if let Some((c, l)) = overrides.iter().rev().find(|(c, _)| *c == f.code) {
            let flag = match l {
                Level::Allow => "--allow",
                Level::Warn => "--warn-code",
                Level::Deny => "--deny",
            };
            f.level = *l;
            f.rule = Some(cli(format!("{flag} {c}")));
        }
        if f.plugin.as_ref().is_some_and(|p| p.code.is_some()) {
            let name = f.code_name().into_owned();
            if let Some((c, l)) = plugin_overrides.iter().rev().find(|(c, _)| *c == name) {
                let flag = match l {
                    Level::Allow => "--allow",
                    Level::Warn => "--warn-code",
                    Level::Deny => "--deny",
                };
                f.level = *l;
                f.rule = Some(cli(format!("{flag} {c}")));
            }
        }
    }
}

/// Runs `modpolicy check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let (allow, allow_p) = split_plugin_codes(&args.allow);
    let (warn, warn_p) = split_plugin_codes(&args.warn_code);
    let (deny, deny_p) = split_plugin_codes(&args.deny);
    let overrides = match parse_overrides(&allow, &warn, &deny) {
        Ok(o) => o,
        Err(e) => return bad(&e),
    };
    let mut plugin_overrides: Vec<(String, Level)> = Vec::new();
    for (list, level) in [
        (&allow_p, Level::Allow),
        (&warn_p, Level::Warn),
        (&deny_p, Level::Deny),
    ] {
        for c in list.iter() {
            match c.split_once('/') {
                Some((p, code))
                    if crate::plugin::abi::valid_code(p)
                        && crate::plugin::abi::valid_code(code) =>
                {
                    plugin_overrides.push((c.clone(), level))
                }
                _ => return bad(&format!("`{c}` is not a plugin code (PLUGIN/CODE)")),
            }
        }
    }
    let inputs: Vec<Input> = if let Some(b) = &args.basedir {
        if args.inputs.len() != 1 {
            return bad("with -b, give exactly one argument: the kernel VERSION");
        }
        vec![Input::Tree(Some(b.clone()), args.inputs[0].clone())]
    } else {
        let mut v = Vec::new();
        for d in &args.inputs {
            match classify(d) {
                Ok(i) => v.push(i),
                Err(e) => return bad(&e),
            }
        }
        v
    };
    let mut sv = Symvers {
        kernel: None,
        extra: Vec::new(),
    };
    for (i, f) in args.symvers.iter().enumerate() {
        let entries = match crate::load::symvers::read_symbol_file(f) {
            Ok(t) => match parse_symvers(f, &t) {
                Ok(e) => e,
                Err(e) => return bad(&e.to_string()),
            },
            Err(e) => return bad(&format!("cannot read {}: {}", f.display(), strerror(&e))),
        };
        if i == 0 {
            sv.kernel = Some(entries);
        } else {
            sv.extra.extend(entries);
        }
    }
    let kver = inputs
        .iter()
        .find_map(|i| {
            if let Input::Tree(_, v) = i {
                Some(v.clone())
            } else {
                None
            }
        })
        .unwrap_or_default();
    let policy = if args.policy.is_empty() {
        Policy::builtin()
    } else {
        match crate::policy::load(&args.policy, &kver) {
            Ok(p) => p,
            Err(e) => {
                for r in e.reports() {
                    eprintln!("{r:?}");
                }
                return bad(&format!(
                    "{} problem(s) in the policy; nothing was checked",
                    e.diagnostics.len()
                ));
            }
        }
    };
    // The plugin stage's IO: read, verify and compile (or load) every declared plugin.
    let cache = plugin_cache(&args);
    let plugins = crate::plugin::prepare(&policy, cache.as_ref());
    if sv.kernel.is_none() {
        eprintln!("modpolicy check: note: no --symvers: vmlinux's exports are unknown, undefined symbols are not checked");
    }

    let log = Log::new("modpolicy", 0);
    let mut findings: Vec<Finding> = Vec::new();
    let mut unreadable = false;
    for input in &inputs {
        let (graph, search, facts, builtin) = match input {
            Input::Tree(root, version) => {
                let opts = TreeOptions {
                    basedir: root.clone(),
                    version: Some(version.clone()),
                    config: args.config.clone(),
                    filesyms: None,
                    symvers: args.symvers.first().cloned(),
                    symbol_prefix: None,
                    gzip: false,
                    order_first_wins: false,
                    modules: Vec::new(),
                    limits: Limits::default(),
                };
                let tree = match load_tree(&opts, &policy, &log, &mut false) {
                    Ok(t) => t,
                    Err(_) => return ExitCode::from(2),
                };
                let facts = tree
                    .graph
                    .modules
                    .iter()
                    .map(|m| {
                        let external = !m.modinfo(b"intree").any(|v| v == b"Y");
                        ModuleFacts::from_path(
                            m.source.relpath.as_deref().unwrap_or(&m.source.path),
                            true,
                            external,
                        )
                    })
                    .collect();
                let builtin = read_builtin(&Path::new(&tree.dirname).join("modules.builtin"));
                (tree.graph, tree.search, facts, builtin)
            }
            Input::Build(dir) => {
                let kernel = sv.kernel.as_ref().map(|k| {
                    k.iter()
                        .filter(|e| e.is_vmlinux())
                        .map(|e| KernelSymbol {
                            name: e.name.clone(),
                            crc: e.crc,
                        })
                        .collect()
                });
                match load_build(dir, kernel) {
                    Ok((g, f)) => (
                        g,
                        Vec::new(),
                        f,
                        read_builtin(&Path::new(dir).join("modules.builtin")),
                    ),
                    Err(e) => {
                        log.flush();
                        return bad(&e);
                    }
                }
            }
        };
        let engine = PolicyEngine::new(&policy, today(), search);
        let res = resolve(&graph, &engine);
        let mut s = subject(&graph, &sv, facts, builtin);
        s.resolve_imports(&graph, &res);
        let cx = CheckContext {
            graph: &graph,
            resolution: &res,
            engine: &engine,
        };
        for (i, m) in graph.modules.iter().enumerate() {
            if let Some(e) = &m.error {
                unreadable = true;
                let mut f = crate::check::finding(
                    &cx,
                    Code::UnreadableModule,
                    Some(ModuleId(i as u32)),
                    None,
                    format!("{}: {e}", m.source.path),
                );
                f.level = f.level.max(Level::Warn);
                findings.push(f);
            }
        }
        findings.extend(crate::check::run_check(&cx, &s));
        findings.extend(crate::plugin::run_plugins(&plugins, &cx, &s));
        findings.extend(engine.lints());
    }
    apply_overrides(&mut findings, &args, &overrides, &plugin_overrides);
    findings.retain(|f| f.level != Level::Allow);

    let report = Report {
        findings: &findings,
        sources: &policy.sources,
        inputs: &args.inputs,
    };
    let text = match args.format {
        Format::Modpost => modpost::render(&report),
        Format::Human => human::render(&report),
        Format::Json => json::render(&report),
        Format::Sarif => sarif::render(&report),
    };
    log.flush();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    if unreadable {
        ExitCode::from(2)
    } else if report.errors() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
