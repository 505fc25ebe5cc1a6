//! The `check` job: modpost's diagnostics and the checks no tool has, levelled by the
//! policy, over installed module trees or build directories.
//!
//! Each input is checked on its own: an installed tree (`.../lib/modules/VERSION`, read
//! as `depmod` reads it, see [`super::tree`]) or a build directory holding
//! `modules.order` and the objects it lists (see [`super::build`]).
//!
//! The policy is the `--policy` files, and with [`CheckOptions::system_policy`] the
//! system policy layers below them (see [`super::system`]) of the system the first
//! installed tree belongs to (`-b BASEDIR`, or `ROOT` of `ROOT/lib/modules/VERSION`), as
//! `depmod` there reads them: `check` then judges a tree under the rules its `depmod`
//! applies. Build directories belong to no installed system: checking only those reads
//! no system layer.
//!
//! The first symbol file is the kernel's `Module.symvers` (vmlinux's exports, and the
//! exports of in-tree modules the input does not hold); more are extra symbol dumps
//! (`KBUILD_EXTRA_SYMBOLS`). Without one, vmlinux's exports are unknown and undefined
//! symbols are not checked (a note says so).

use super::build::{build_kernel_release, load_build};
use super::log::Log;
use super::tree::{load_tree, TreeOptions};
use super::{today, Stop};
use crate::check::level::{Basis, Levels, Raw};
use crate::check::subject::{DumpExport, KernelVersion, ModuleFacts, Subject, SymbolInfo};
use crate::check::CheckContext;
use crate::diag::{Code, CommandLine, Finding, Level};
use crate::graph::{ExportGraph, ModuleId};
use crate::load::symvers::{parse_symvers, KernelSymbol, SymversEntry};
use crate::load::walk::{modname_of, strerror};
use crate::load::Limits;
use crate::policy::engine::PolicyEngine;
use crate::policy::Policy;
use crate::resolve::resolve;
use rustc_hash::FxHashSet as HashSet;
use std::path::{Path, PathBuf};

/// What to check, and how.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Policy files, lowest layer first (none, and no system layer: every code at its
    /// default level, kmod's provider rules).
    pub policy: Vec<PathBuf>,
    /// Whether the system policy layers of the first installed tree's root are read
    /// below `policy` (the command line's default; `--no-system-policy` turns it off).
    pub system_policy: bool,
    /// The kernel's `Module.symvers` first, then extra symbol dumps.
    pub symvers: Vec<PathBuf>,
    /// The inputs.
    pub inputs: Vec<Input>,
    /// depmod configuration files or directories for installed trees.
    pub config: Vec<PathBuf>,
    /// The command line's levels: `--allow/--warn-code/--deny` (built-in and plugin
    /// codes), modpost's `-w` and `-N`.
    pub levels: CommandLine,
    /// Where compiled plugins are cached (`None`: nowhere, compile afresh).
    pub plugin_cache: Option<PathBuf>,
    /// The kernel release whose modpost rules apply (`--kernel-version`); `None`: each
    /// input's own: a module's `vermagic`, the tree's version, or the kernel build tree
    /// of the first symbol file.
    pub kernel_version: Option<String>,
    /// Keep what the HTML report shows of each input's export graph
    /// ([`CheckOutcome::maps`]).
    pub export_maps: bool,
}

/// What `check` found.
pub struct CheckOutcome {
    /// The policy applied (its sources, for spans into them).
    pub policy: Policy,
    /// The findings in output order, levelled, `allow`ed ones removed.
    pub findings: Vec<Finding>,
    /// Whether a module could not be read (the run is then incomplete: exit 2).
    pub unreadable: bool,
    /// With [`CheckOptions::export_maps`], each input's export map, in input order.
    pub maps: Vec<crate::emit::diag::html::ExportMap>,
}

/// Why `check` stopped.
#[derive(Debug)]
pub enum CheckError {
    /// Bad input: a file that cannot be read, a directory that is neither a tree nor a
    /// build directory, a malformed symbol file.
    Input(String),
    /// Stopped while loading the policy or a tree (see [`Stop`]).
    Stop(Stop),
}

impl From<Stop> for CheckError {
    fn from(s: Stop) -> Self {
        CheckError::Stop(s)
    }
}

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// An installed tree: `basedir` (None: `/`) and version.
    Tree(Option<String>, String),
    /// A build directory.
    Build(String),
}

impl Input {
    /// What `dir` is: `.../lib/modules/VERSION` is an installed tree, a directory with
    /// `modules.order` a build directory.
    pub fn classify(dir: &str) -> Result<Input, String> {
        classify(dir)
    }
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
        namespace: (!e.namespace.is_empty()).then(|| (&*e.namespace).into()),
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
                    module: (&*e.module).into(),
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

/// Where compiled plugins are cached by default: `$MODPOLICY_PLUGIN_CACHE`, else
/// `$XDG_CACHE_HOME/modpolicy/plugins`, else `~/.cache/modpolicy/plugins`; `None` when
/// nothing says where.
pub fn default_plugin_cache() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("MODPOLICY_PLUGIN_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("modpolicy/plugins")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/modpolicy/plugins")))
}

/// Runs `check`: loads the policy and the symbol files, prepares the plugins, and
/// checks each input (messages from loading a tree go to `log`), then applies `-w`, `-N`
/// and the command line's levels.
pub fn run(args: &CheckOptions, log: &Log<'_>) -> Result<CheckOutcome, CheckError> {
    let mut sv = Symvers {
        kernel: None,
        extra: Vec::new(),
    };
    for (i, f) in args.symvers.iter().enumerate() {
        let t = crate::load::symvers::read_symbol_file(f).map_err(|e| {
            CheckError::Input(format!("cannot read {}: {}", f.display(), strerror(&e)))
        })?;
        let entries = parse_symvers(f, &t).map_err(|e| CheckError::Input(e.to_string()))?;
        if i == 0 {
            sv.kernel = Some(entries);
        } else {
            sv.extra.extend(entries);
        }
    }
    let kver = args
        .inputs
        .iter()
        .find_map(|i| match i {
            Input::Tree(_, v) => Some(v.clone()),
            Input::Build(_) => None,
        })
        .unwrap_or_default();
    let root = args.inputs.iter().find_map(|i| match i {
        Input::Tree(root, _) => Some(root.as_deref()),
        Input::Build(_) => None,
    });
    let policy = match root {
        Some(root) if args.system_policy => {
            super::load_system_policy(root, &args.policy, &kver, Policy::builtin)?
        }
        _ => super::load_policy(&args.policy, &kver, Policy::builtin)?,
    };
    // The plugin stage's IO: read, verify and compile (or load) every declared plugin.
    let cache = args
        .plugin_cache
        .clone()
        .map(crate::plugin::host::Cache::new);
    if !policy.plugins.is_empty() {
        log.progress().phase("preparing plugins", 0);
    }
    let plugins = crate::plugin::prepare(&policy, cache.as_ref());
    if sv.kernel.is_none() {
        log.flush();
        log.sink().stderr(b"modpolicy check: note: no --symvers: vmlinux's exports are unknown, undefined symbols are not checked\n");
    }

    let forced = match &args.kernel_version {
        Some(v) => Some(KernelVersion::parse(v).ok_or_else(|| {
            CheckError::Input(format!(
                "--kernel-version {v}: not a kernel release (it starts with MAJOR.MINOR, e.g. 6.12.118)"
            ))
        })?),
        None => None,
    };
    let mut findings: Vec<Finding> = Vec::new();
    let mut unreadable = false;
    let mut maps = Vec::new();
    for input in &args.inputs {
        let (graph, search, facts, builtin, release) = match input {
            Input::Tree(root, version) => {
                let opts = TreeOptions {
                    basedir: root.clone(),
                    moduledir: None,
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
                let tree = load_tree(&opts, &policy, log, &mut false)?;
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
                let release = tree
                    .graph
                    .modules
                    .iter()
                    .find_map(|m| m.modinfo(b"vermagic").next())
                    .and_then(|v| {
                        String::from_utf8_lossy(v)
                            .split_whitespace()
                            .next()
                            .map(str::to_string)
                    })
                    .or_else(|| Some(version.clone()));
                (tree.graph, tree.search, facts, builtin, release)
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
                let build = load_build(dir, kernel).map_err(CheckError::Input)?;
                for n in &build.notes {
                    log.line(format_args!("modpolicy check: note: {n}"));
                }
                let paths: Vec<&str> = build
                    .graph
                    .modules
                    .iter()
                    .map(|m| m.source.path.as_str())
                    .collect();
                let release =
                    build_kernel_release(dir, &paths, args.symvers.first().map(PathBuf::as_path));
                (
                    build.graph,
                    Vec::new(),
                    build.facts,
                    read_builtin(&Path::new(dir).join("modules.builtin")),
                    release,
                )
            }
        };
        let engine = PolicyEngine::new(&policy, today(), search);
        let res = resolve(&graph, &engine);
        let mut s = subject(&graph, &sv, facts, builtin);
        s.kernel_version = forced.or_else(|| release.as_deref().and_then(KernelVersion::parse));
        s.resolve_imports(&graph, &res);
        if args.export_maps {
            let label = match input {
                Input::Tree(root, version) => format!(
                    "{}/lib/modules/{version}",
                    root.as_deref().unwrap_or("").trim_end_matches('/')
                ),
                Input::Build(dir) => dir.clone(),
            };
            maps.push(super::export_map::build(
                &label,
                args.kernel_version.clone().or(release.clone()),
                &graph,
                &res,
            ));
        }
        let cx = CheckContext {
            graph: &graph,
            resolution: &res,
            engine: &engine,
        };
        let mut raws = Vec::new();
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
                f.basis = Basis::AtLeast(Level::Warn);
                raws.push(f);
            }
        }
        log.progress().phase("checking", 0);
        raws.extend(crate::check::run_check(&cx, &s));
        if !plugins.prepared.is_empty() {
            log.progress().phase("running plugins", 0);
        }
        raws.extend(crate::plugin::run_plugins(&plugins, &cx, &s));
        // The one levelling step: the policy, then the command line. The policy's lints
        // come after it, since levelling marks the rules it applies as used.
        let levels = Levels::new(&engine, &args.levels);
        let mut decided: Vec<Finding> = raws.into_iter().map(|r| levels.decide(r)).collect();
        decided.extend(
            engine
                .lints()
                .into_iter()
                .map(|f| levels.decide(Raw::lint(f))),
        );
        findings.extend(decided.into_iter().filter(|f| f.level != Level::Allow));
    }
    Ok(CheckOutcome {
        policy,
        findings,
        unreadable,
        maps,
    })
}
