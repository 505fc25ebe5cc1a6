//! The `depmod` job: kmod's `depmod` over the modpolicy pipeline, from loading the tree
//! to the atomic commit of the artifacts.
//!
//! Messages go to the [`Log`] as kmod words them (`depmod: WARNING: ...`), so that
//! scripts and tests comparing with kmod see the same text; `-v`'s lines go to the
//! sink's output stream. With a policy, the policy chooses providers and may deny what
//! it finds (then nothing is written). Rendering overlaps resolution, and staging the
//! early artifacts overlaps the findings and the dependency sort (see [`run`]).

use super::log::Log;
use super::tree::{
    absolute_unnormalised, kernel_version, load_tree_cached, CacheUse, Rereads, Shipped, Tree,
    TreeOptions,
};
use super::{today, Stop};
use crate::check::level::{Levels, Raw};
use crate::check::CheckContext;
use crate::diag::{Code, CommandLine, Decider, Finding, Level};
use crate::emit::depmod::{
    finish, render_deps, render_from_modules, render_symbols_early, BuiltinFiles, Deps, Early,
    Flavor, Message, RenderInput, Rendered, Resolved,
};
use crate::graph::{ExportGraph, Provider};
use crate::load::elf::name_bytes;
use crate::load::walk::{strerror, Extensions};
use crate::load::Limits;
use crate::policy::engine::PolicyEngine;
use crate::resolve::{choose, dependency_order, resolve_imports, DepOrder, Resolution};
use crate::util::atomic::{Staging, WriteError, WriteOptions};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which kmod release to reproduce where their outputs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KmodVersion {
    /// kmod 30 (Debian bookworm): post-order `.bin`, last duplicate `modules.order` line
    /// wins, no `modules.weakdep`.
    #[default]
    V30,
    /// kmod 34: pre-order `.bin`, first duplicate `modules.order` line wins,
    /// `modules.weakdep` written.
    V34,
}

/// Where the module cache of a run lives (see [`crate::cache`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheChoice {
    /// The usual place: `OUTDIR/var/cache/modpolicy` with `-o` (the input tree is only
    /// read), `BASEDIR/var/cache/modpolicy` with `-b`, else `/var/cache/modpolicy` for root, else `$XDG_CACHE_HOME/modpolicy` or
    /// `~/.cache/modpolicy` ([`crate::cache::default_dir`]).
    #[default]
    Default,
    /// `--cache DIR`.
    Dir(PathBuf),
    /// `--no-cache`: every module file is read.
    Off,
}

/// What `depmod` is asked to do: kmod's options, and modpolicy's.
#[derive(Debug, Clone, Default)]
pub struct DepmodOptions {
    /// `-a`: probe all modules (the default when no module paths are given).
    pub all: bool,
    /// `-A`: do nothing if `modules.dep` is newer than every module file.
    pub quick: bool,
    /// `-b`: modules are read from BASEDIR/lib/modules/VERSION.
    pub basedir: Option<String>,
    /// `-m` (kmod 34): modules are read from BASEDIR/MODULEDIR/VERSION (an absolute or
    /// relative MODULEDIR, both under BASEDIR) instead of the built-in `/lib/modules`.
    pub moduledir: Option<String>,
    /// `-o`: the artifacts are written under OUTDIR/lib/modules/VERSION.
    pub outdir: Option<String>,
    /// `-C`: configuration files or directories (replacing the default directories).
    pub config: Vec<PathBuf>,
    /// `-F`: `System.map`.
    pub filesyms: Option<PathBuf>,
    /// `-E`: `Module.symvers` (wins over `-F`).
    pub symvers: Option<PathBuf>,
    /// `-e`: report unknown symbols and CRC disagreements.
    pub errsyms: bool,
    /// `-n`: return the text artifacts instead of writing files.
    pub show: bool,
    /// `-w`: warn about duplicate values inside an index.
    pub warn: bool,
    /// `-v` count: kmod's verbosity.
    pub verbose: u8,
    /// `-P`: symbol prefix to ignore (one character).
    pub symbol_prefix: Option<String>,
    /// Which kmod release to reproduce.
    pub kmod: KmodVersion,
    /// Treat `.ko.gz` files as modules.
    pub gzip: bool,
    /// Flush each artifact to disk before it replaces the old one.
    pub sync: bool,
    /// Policy files, lowest layer first (none: the built-in kmod policy).
    pub policy: Vec<PathBuf>,
    /// The command line's levels for codes (`--allow/--warn-code/--deny`).
    pub levels: CommandLine,
    /// The largest module file accepted, decompressed (`None`: the default).
    pub max_module_size: Option<u64>,
    /// The kernel version (`None`: the running kernel's release).
    pub version: Option<String>,
    /// Module files (absolute paths) for manual mode.
    pub modules: Vec<PathBuf>,
    /// The module cache (`--cache DIR`, `--no-cache`).
    pub cache: CacheChoice,
    /// `--write-shipped-cache`: read every module file whole and write the shipped cache
    /// into the module directory ([`crate::cache::SHIPPED_NAME`]), for a kernel package
    /// to ship beside its modules.
    pub write_shipped_cache: bool,
}

/// What a `depmod` run that did not stop produced.
pub enum DepmodOutcome {
    /// `-A`: the artifacts were up to date (or `-A -n`): nothing done.
    UpToDate,
    /// The artifacts were written.
    Written(Retained),
    /// `-n`: the artifacts, in kmod's order, to print.
    Shown(Retained),
    /// Nothing changed since a run with the same options: its output was printed again
    /// and nothing was read or written (see [`super::shortcut`]).
    Replayed,
}

impl DepmodOutcome {
    /// `-n`'s text artifacts, in the order kmod prints them (empty otherwise).
    pub fn shown(&self) -> impl Iterator<Item = &[u8]> {
        let files = match self {
            DepmodOutcome::Shown(r) => &r.rendered.files[..],
            _ => &[],
        };
        files.iter().map(|(_, c)| c.as_slice())
    }
}

/// Everything a run built: the tree, its resolution and the rendered artifacts.
///
/// Dropping it frees hundreds of thousands of small allocations one by one, which takes
/// longer than the work after reading; a process that is about to exit should
/// `std::mem::forget` it and let the OS reclaim the memory.
pub struct Retained {
    rendered: Rendered,
    _resolution: Resolution,
    _builtin: BuiltinFiles,
    _tree: Tree,
}

/// Runs `depmod`: loads the tree, resolves, reports (kmod's messages and the policy's
/// findings, through `log`), sorts, renders and writes the artifacts (or returns them,
/// for `-n`). Nothing is written when it stops.
///
/// The schedule: every artifact but `modules.dep` is rendered while the symbol index is
/// built, providers are chosen and the imports resolved; those rendered are staged
/// (written to temporary names in the locked output directory) while the findings are
/// decided and the modules sorted; then `modules.dep` is rendered and staged and the
/// whole set is committed.
///
/// With a module cache, a run first checks the record of the last run (see
/// [`super::shortcut`]): when nothing it depended on changed, its output is printed again
/// and the run ends ([`DepmodOutcome::Replayed`]). A full run that succeeds writes a new
/// record.
pub fn run(args: &DepmodOptions, log: &Log<'_>) -> Result<DepmodOutcome, Stop> {
    let quiet_version = args
        .version
        .as_deref()
        .is_none_or(super::tree::looks_like_version);
    let paths = quiet_version.then(|| run_paths(args, log).ok()).flatten();
    let Some(plan) = super::shortcut::plan(args, paths.as_ref()) else {
        return run_full(args, log, None, Rereads::default());
    };
    let mut rereads = Rereads::default();
    if plan.replay(log, &mut rereads) {
        return Ok(DepmodOutcome::Replayed);
    }
    log.flush();
    let tee = super::shortcut::Tee::new(log.sink());
    let mut seen = super::shortcut::Observed::default();
    let outcome = {
        let inner = Log::new(log.prog, log.verbose, &tee).with_progress(log.progress());
        let r = run_full(args, &inner, Some(&mut seen), rereads);
        inner.flush();
        r
    };
    if matches!(outcome, Ok(DepmodOutcome::Written(_))) {
        plan.record(seen, tee.into_kept());
    }
    outcome
}

/// How a run with these options reads module files.
pub fn limits(args: &DepmodOptions) -> Limits {
    Limits {
        max_module_size: args
            .max_module_size
            .unwrap_or(Limits::default().max_module_size),
    }
}

/// Where a run reads and writes, from its options.
pub struct RunPaths {
    /// The kernel version.
    pub kver: String,
    /// The module directory (`BASEDIR/MODULEDIR/VERSION`).
    pub dirname: String,
    /// Where the artifacts go (`OUTDIR/MODULEDIR/VERSION`, or the module directory).
    pub outdirname: String,
    /// The module cache file, if there is to be one.
    pub cache_file: Option<PathBuf>,
}

/// The paths of a run (a bad version is reported through `log`).
pub fn run_paths(args: &DepmodOptions, log: &Log<'_>) -> Result<RunPaths, Stop> {
    let kver = kernel_version(args.version.as_deref(), log)?;
    let root = args
        .basedir
        .as_deref()
        .map(absolute_unnormalised)
        .unwrap_or_default();
    let moduledir = args.moduledir.as_deref();
    let dirname = super::system::module_tree_dir(&root, moduledir, &kver);
    let outdirname = match &args.outdir {
        Some(o) => super::system::module_tree_dir(&absolute_unnormalised(o), moduledir, &kver),
        None => dirname.clone(),
    };
    let cache_dir = match &args.cache {
        // With -o the run writes nothing under BASEDIR: the cache goes with the artifacts.
        CacheChoice::Default => {
            crate::cache::default_dir(args.outdir.as_deref().or(args.basedir.as_deref()))
        }
        CacheChoice::Dir(d) => Some(d.clone()),
        CacheChoice::Off => None,
    };
    let cache_file = cache_dir.map(|d| d.join(crate::cache::file_name(&dirname, &kver)));
    Ok(RunPaths {
        kver,
        dirname,
        outdirname,
        cache_file,
    })
}

/// [`run`] without the shortcut; `seen` gathers what a record needs.
fn run_full(
    args: &DepmodOptions,
    log: &Log<'_>,
    mut seen: Option<&mut super::shortcut::Observed>,
    rereads: Rereads,
) -> Result<DepmodOutcome, Stop> {
    let RunPaths {
        kver,
        dirname,
        outdirname,
        cache_file,
    } = run_paths(args, log)?;
    let manual = !args.all && !args.modules.is_empty();
    let flavor = match args.kmod {
        KmodVersion::V30 => Flavor::KMOD30,
        KmodVersion::V34 => Flavor::KMOD34,
    };
    log.flush();
    let policy = super::load_system_policy(args.basedir.as_deref(), &args.policy, &kver, || {
        crate::policy::kmod_policy(&kver)
    })?;

    tracing::debug!(elapsed = ?super::elapsed(), "policy loaded");
    let nanos = args.kmod == KmodVersion::V34;
    if args.quick && !manual && (args.show || up_to_date(&dirname, &outdirname, nanos, log)) {
        return Ok(DepmodOutcome::UpToDate);
    }

    let opts = TreeOptions {
        basedir: args.basedir.clone(),
        moduledir: args.moduledir.clone(),
        version: Some(kver.clone()),
        config: args.config.clone(),
        filesyms: args.filesyms.clone(),
        symvers: args.symvers.clone(),
        symbol_prefix: args.symbol_prefix.clone(),
        gzip: args.gzip,
        order_first_wins: args.kmod == KmodVersion::V34,
        modules: if manual {
            args.modules.clone()
        } else {
            Vec::new()
        },
        limits: limits(args),
    };
    let mut errsyms = args.errsyms;
    let cache = cache_file.map(|path| CacheUse {
        path,
        write: !args.show,
        shipped: if args.write_shipped_cache {
            Shipped::Write
        } else {
            Shipped::Read
        },
        rereads,
    });
    let tree = load_tree_cached(&opts, &policy, log, &mut errsyms, cache.as_ref())?;
    // Before the artifacts: a failure stops the run with nothing else written.
    tree.write_shipped_cache().map_err(Stop::Fatal)?;
    let check_crcs = args.symvers.is_some();
    let graph = &tree.graph;
    tracing::debug!(elapsed = ?super::elapsed(), modules = graph.modules.len(), peak_kib = peak_rss_kib(), "graph built");

    let read_opt = |name: &str| -> Result<Vec<u8>, String> {
        super::tree::empty_if_dir(crate::load::order::read_builtin_file(&format!(
            "{}/{name}",
            tree.dirname
        )))
        .map_err(|e| strerror(&e))
    };
    let builtin = BuiltinFiles {
        builtin: read_opt("modules.builtin"),
        builtin_modinfo: read_opt("modules.builtin.modinfo"),
    };
    let render_in = &RenderInput {
        graph,
        builtin: &builtin,
        dirname: &tree.dirname,
        flavor,
        binary: !args.show,
        warn_duplicates: args.warn,
    };
    let engine = PolicyEngine::new(&policy, today(), tree.search.clone());
    // Every artifact but modules.dep is rendered while the symbol index is built,
    // providers are chosen and the imports resolved: those read from the modules alone
    // from the start, modules.symbols once the providers are chosen (see
    // `emit::depmod::render_from_modules`).
    let (from_modules, (mut res, symbols_part, outcomes)) = rayon::join(
        || render_from_modules(render_in),
        || {
            let res = crate::util::timed("choose", || choose(graph, &engine));
            let (symbols_part, outcomes) = rayon::join(
                || render_symbols_early(render_in, &res),
                || crate::util::timed("resolve imports", || resolve_imports(graph, &res)),
            );
            (res, symbols_part, outcomes)
        },
    );
    let early = Early::new(from_modules, symbols_part);
    (res.imports, res.deps) = outcomes;
    tracing::debug!(elapsed = ?super::elapsed(), "resolved");

    // While the rest is decided (findings, the dependency order, modules.dep), the
    // artifacts already rendered are written to temporary names in the output
    // directory, which is locked from here on; a failure before the commit below
    // removes them again (`Staging` on drop). Only into a directory that exists: a run
    // that fails must not leave a new, empty one behind. Any trouble here is left for
    // the writing below to report, where kmod reports it: after the findings.
    if let Some(s) = seen.as_deref_mut() {
        s.before_staging(&outdirname, &tree.dirname, args.symvers.is_some());
    }
    let out_dir = Path::new(&outdirname);
    let write_opts = WriteOptions { sync: args.sync };
    let staging = (!args.show && out_dir.is_dir())
        .then(|| Staging::begin(out_dir, write_opts).ok())
        .flatten();
    let (staged, decided) = rayon::join(
        || staging.as_ref().map(|s| s.stage_all(&early.files())),
        || -> Result<Deps, Stop> {
            let sort_index = decide(
                graph,
                &res,
                &engine,
                &tree,
                log,
                &args.levels,
                errsyms,
                check_crcs,
            )?;
            tracing::debug!(elapsed = ?super::elapsed(), "sorted");
            let resolved = Resolved {
                resolution: &res,
                sort_index: &sort_index,
            };
            Ok(render_deps(render_in, &resolved))
        },
    );
    let deps = decided?;
    let rendered = finish(deps, early).map_err(|e| Stop::Fatal(e.to_string()))?;
    tracing::debug!(elapsed = ?super::elapsed(), peak_kib = peak_rss_kib(), "rendered");
    for m in &rendered.messages {
        match m {
            Message::Warning(w) => log.warn(w),
            Message::Error(e) => log.error(e),
        }
    }
    let builtin_modinfo_is_dir =
        Path::new(&format!("{}/modules.builtin.modinfo", tree.dirname)).is_dir();
    // The module cache is written last, once the artifacts are (or, with -n, not at all).
    let retained = |rendered| {
        tree.write_cache();
        Retained {
            rendered,
            _resolution: res,
            _builtin: builtin,
            _tree: tree,
        }
    };
    if args.show {
        return Ok(DepmodOutcome::Shown(retained(rendered)));
    }
    if builtin_modinfo_is_dir {
        // kmod's iterator over modules.builtin.modinfo fails reading a directory, and
        // kmod stops writing at modules.builtin.alias.bin (the files before it in its
        // order already renamed into place; here none is written: the set is atomic).
        log.error("Could not write index 'modules.builtin.alias.bin': Invalid argument");
        return Err(Stop::Reported);
    }
    let write_fail = |e: WriteError| Stop::Fatal(format!("could not write artifacts: {e}"));
    let staging = match (staging, staged) {
        (Some(s), Some(Ok(()))) => s,
        // Nothing staged early, or a file failed to: the whole set is written now, so
        // that a failure is reported as before, for the first file in kmod's order.
        (early_staging, _) => {
            // Its lock is released before the directory is locked again.
            drop(early_staging);
            if args.outdir.is_some() {
                if let Err(e) = std::fs::create_dir_all(&outdirname) {
                    return Err(Stop::Fatal(format!(
                        "could not create directory {outdirname}: {}",
                        strerror(&e)
                    )));
                }
            }
            Staging::begin(out_dir, write_opts).map_err(write_fail)?
        }
    };
    // What is not staged yet: modules.dep and its index, or everything.
    let rest: Vec<(&str, &[u8])> = rendered
        .files
        .iter()
        .filter(|(n, _)| !staging.has(n))
        .map(|(n, c)| (*n, c.as_slice()))
        .collect();
    let order: Vec<&str> = rendered.files.iter().map(|(n, _)| *n).collect();
    if let Err(e) = staging
        .stage_all(&rest)
        .and_then(|()| staging.commit(&order))
    {
        return Err(write_fail(e));
    }
    tracing::debug!(elapsed = ?super::elapsed(), peak_kib = peak_rss_kib(), "written");
    let kept = retained(rendered);
    if let Some(s) = seen {
        s.after_commit(
            args,
            &kept._tree,
            &policy,
            &outdirname,
            &kept.rendered.files,
        );
    }
    Ok(DepmodOutcome::Written(kept))
}

/// Everything between resolving and rendering `modules.dep`: kmod's `-v` lines and
/// symbol warnings, the policy's findings (any denied one stops the run), and the
/// dependency order (a cycle stops the run). Returns each module's sort index.
#[allow(clippy::too_many_arguments)]
fn decide(
    graph: &ExportGraph,
    res: &Resolution,
    engine: &PolicyEngine<'_>,
    tree: &Tree,
    log: &Log<'_>,
    levels: &CommandLine,
    errsyms: bool,
    check_crcs: bool,
) -> Result<Vec<u32>, Stop> {
    // kmod's symbol warnings (stderr) and `-v` lines (stdout), in module order: formatted
    // in parallel, a slice of modules at a time (a -F/-E run with -e can print a
    // hundred thousand lines), and written in order.
    let announce = |i: usize, m: &crate::graph::Module| -> (Vec<u8>, Vec<u8>) {
        let (mut warnings, mut lines) = (Vec::new(), Vec::new());
        let mut announced: Vec<crate::graph::ModuleId> = Vec::new();
        for (imp, r) in m.image.imports.iter().zip(&res.imports[i]) {
            match r.provider {
                None => {
                    if errsyms && !imp.weak {
                        log.warn_into_raw(
                            &mut warnings,
                            format_args!("{} needs unknown symbol ", m.source.path),
                            &name_bytes(&imp.name),
                        );
                    }
                }
                Some(p) => {
                    if check_crcs && errsyms && !imp.weak && r.provider_crc != imp.crc {
                        log.warn_into_raw(
                            &mut warnings,
                            format_args!("{} disagrees about version of symbol ", m.source.path),
                            &name_bytes(&imp.name),
                        );
                    }
                    if let Provider::Module(id) = p {
                        if log.verbose >= 1 && !announced.contains(&id) {
                            announced.push(id);
                            let _ = write!(lines, "{} needs \"", m.source.path);
                            lines.extend_from_slice(&name_bytes(&imp.name));
                            let _ = writeln!(lines, "\": {}", graph.module(id).source.path);
                        }
                    }
                }
            }
        }
        (warnings, lines)
    };
    const SLICE: usize = 256;
    for start in (0..graph.modules.len()).step_by(SLICE) {
        let end = (start + SLICE).min(graph.modules.len());
        let texts: Vec<(Vec<u8>, Vec<u8>)> = (start..end)
            .into_par_iter()
            .map(|i| announce(i, &graph.modules[i]))
            .collect();
        let mut out = Vec::new();
        for (warnings, lines) in texts {
            log.write_lines(&warnings);
            out.extend_from_slice(&lines);
        }
        if !out.is_empty() {
            log.sink().stdout(&out);
        }
    }

    // Policy findings: what the policy reports about this tree (nothing under kmod.kdl).
    let cx = CheckContext {
        graph,
        resolution: res,
        engine,
    };
    // A module that could not be read: kmod's message was printed while loading and the
    // module is listed without dependencies; the policy decides whether that is fatal
    // (`unreadable-module`: allow in kmod.kdl, deny in a strict policy).
    let mut raws: Vec<Raw> = graph
        .modules
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let e = m.error.as_ref()?;
            let e = tree.read_errors.get(&m.source.path).unwrap_or(e);
            Some(crate::check::finding(
                &cx,
                Code::UnreadableModule,
                Some(crate::graph::ModuleId(i as u32)),
                None,
                format!("{}: {e}", m.source.path),
            ))
        })
        .collect();
    raws.extend(crate::check::run_all(&cx));
    // The one levelling step (the policy, then the command line), before the policy's
    // lints, since levelling marks the rules it applies as used.
    let levels = Levels::new(engine, levels);
    let mut findings: Vec<Finding> = raws.into_iter().map(|r| levels.decide(r)).collect();
    findings.extend(
        engine
            .lints_summarized(log.verbose >= 1)
            .into_iter()
            .map(|f| levels.decide(Raw::lint(f))),
    );
    let mut denied = 0;
    for f in findings {
        if f.tolerated || f.level == Level::Allow {
            continue;
        }
        if f.level == Level::Deny {
            denied += 1;
        }
        let rule = match &f.decided_by {
            Decider::Default => String::new(),
            Decider::Rule(r) => format!(" [rule {}:{}]", r.file, r.line),
            Decider::CommandLine(flag) => format!(" [command line: {flag}]"),
        };
        log.line(format_args!(
            "modpolicy: {}[{}]: {}{rule}",
            if f.level == Level::Deny {
                "error"
            } else {
                "warning"
            },
            f.code,
            f.message
        ));
    }
    if denied > 0 {
        return Err(Stop::Denied { count: denied });
    }

    let names: Vec<&str> = graph.modules.iter().map(|m| m.name()).collect();
    let sort_index = match dependency_order(&res.deps, &names) {
        DepOrder::Sorted { index } => index,
        DepOrder::Cycles {
            reports,
            modules_in_cycles,
            truncated,
        } => {
            for r in reports {
                log.error(&r);
            }
            if truncated {
                log.error("cycle report cut short: the cycles are too entangled to list");
            }
            log.error(&format!(
                "Found {modules_in_cycles} modules in dependency cycles!"
            ));
            return Err(Stop::Reported);
        }
    };
    Ok(sort_index)
}

/// The process's peak resident memory so far (`VmHWM`), for `-vv` diagnostics.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `-A`: whether `modules.dep` exists and no module file under `dirname` is newer. A
/// `modules.dep` that cannot be `stat`ed gets kmod's error (and the run goes on).
///
/// kmod 30 compares whole seconds (a module changed in the same second as `modules.dep`
/// counts as older); kmod 34 (`nanos`) compares nanoseconds. Like kmod, only module
/// files are compared, not configuration files.
fn up_to_date(dirname: &str, outdirname: &str, nanos: bool, log: &Log<'_>) -> bool {
    let dep = match std::fs::metadata(format!("{outdirname}/modules.dep")) {
        Ok(d) => d,
        Err(e) => {
            log.error(&format!(
                "could not fstatat({outdirname}, modules.dep): {}",
                strerror(&e)
            ));
            return false;
        }
    };
    let Ok(dep_time) = dep.modified() else {
        return false;
    };
    // Times as nanoseconds since the epoch, cut to whole seconds for kmod 30.
    let stamp = |t: std::time::SystemTime| -> i128 {
        let ns = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        if nanos {
            ns
        } else {
            ns.div_euclid(1_000_000_000) * 1_000_000_000
        }
    };
    let dep_stamp = stamp(dep_time);
    fn newer(dir: &Path, limit: i128, stamp: &dyn Fn(std::time::SystemTime) -> i128) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        for ent in rd.flatten() {
            let name = ent.file_name();
            let n = name.to_string_lossy();
            if matches!(n.as_ref(), "." | ".." | "build" | "source") {
                continue;
            }
            let p = ent.path();
            let Ok(md) = std::fs::metadata(&p) else {
                continue;
            };
            if md.is_dir() {
                if newer(&p, limit, stamp) {
                    return true;
                }
            } else if md.is_file()
                && crate::load::walk::is_module_file(&p, Extensions { gzip: true })
            {
                let t = md.modified().map(stamp).unwrap_or(i128::MAX);
                if t > limit {
                    return true;
                }
            }
        }
        false
    }
    !newer(Path::new(dirname), dep_stamp, &stamp)
}
