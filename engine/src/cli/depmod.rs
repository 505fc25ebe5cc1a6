//! `modpolicy depmod`: kmod's `depmod` command line over the modpolicy pipeline.
//!
//! Messages go to stderr as kmod words them (`depmod: WARNING: ...`), so that scripts
//! and tests comparing with kmod see the same text. Exit code 0 on success, 1 on any
//! fatal error (nothing is written then). With `--policy`, the policy chooses providers
//! and may deny what it finds (then nothing is written either).

use super::tree::{
    absolute_unnormalised, kernel_version, load_policy, load_tree, parse_overrides, today, Log,
    Tree, TreeOptions,
};
use crate::check::CheckContext;
use crate::diag::{Code, Finding, Level};
use crate::emit::depmod::{
    finish, render_deps, render_from_modules, render_symbols_early, BuiltinFiles, Deps, Early,
    Flavor, Message, RenderInput, Resolved,
};
use crate::graph::{ExportGraph, Provider};
use crate::load::walk::{strerror, Extensions};
use crate::load::Limits;
use crate::policy::engine::PolicyEngine;
use crate::resolve::{choose, dependency_order, resolve_imports, DepOrder, Resolution};
use crate::util::atomic::{Staging, WriteError, WriteOptions};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which kmod release to reproduce where their outputs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KmodVersion {
    /// kmod 30 (Debian bookworm): post-order `.bin`, last duplicate `modules.order` line
    /// wins, no `modules.weakdep`.
    #[value(name = "30")]
    V30,
    /// kmod 34: pre-order `.bin`, first duplicate `modules.order` line wins,
    /// `modules.weakdep` written.
    #[value(name = "34")]
    V34,
}

/// Arguments of `modpolicy depmod`, as kmod's `depmod` takes them.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct DepmodArgs {
    /// Probe all modules (the default when no module paths are given).
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Do nothing if modules.dep is newer than every module file.
    #[arg(short = 'A', long = "quick")]
    quick: bool,
    /// Root directory: modules are read from BASEDIR/lib/modules/VERSION.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    basedir: Option<String>,
    /// Write the artifacts under OUTDIR/lib/modules/VERSION instead.
    #[arg(short = 'o', long = "outdir", value_name = "OUTDIR")]
    outdir: Option<String>,
    /// Configuration file or directory (repeatable; replaces the default directories).
    #[arg(short = 'C', long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
    /// System.map of the kernel, for vmlinux's exports.
    #[arg(short = 'F', long = "filesyms", value_name = "System.map")]
    filesyms: Option<PathBuf>,
    /// Module.symvers of the kernel, for vmlinux's exports and their CRCs (wins over -F).
    #[arg(short = 'E', long = "symvers", value_name = "Module.symvers")]
    symvers: Option<PathBuf>,
    /// Report unknown symbols and CRC disagreements (needs -E or -F).
    #[arg(short = 'e', long = "errsyms")]
    errsyms: bool,
    /// Print the text artifacts to stdout instead of writing files.
    #[arg(short = 'n', long = "show", visible_alias = "dry-run")]
    show: bool,
    /// Warn about duplicate values inside an index.
    #[arg(short = 'w', long = "warn")]
    warn: bool,
    /// Print each new dependency edge (kmod's NOTICE level).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// Symbol prefix character to ignore (e.g. `_`).
    #[arg(short = 'P', long = "symbol-prefix", value_name = "CHAR")]
    symbol_prefix: Option<String>,
    /// Which kmod release to reproduce.
    #[arg(long = "kmod", value_enum, default_value = "30")]
    kmod: KmodVersion,
    /// Treat `.ko.gz` files as modules (kmod built with zlib; Debian's kmod 30 is not).
    #[arg(long = "gzip")]
    gzip: bool,
    /// Flush each artifact to disk before it replaces the old one.
    #[arg(long = "sync")]
    sync: bool,
    /// Policy file (repeatable; later files are higher layers). Default: the built-in
    /// `policies/kmod.kdl`, which reproduces kmod exactly.
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<PathBuf>,
    /// Report findings with this code at no level (repeatable).
    #[arg(long = "allow", value_name = "CODE")]
    allow: Vec<String>,
    /// Report findings with this code as warnings (repeatable).
    #[arg(long = "warn-code", value_name = "CODE")]
    warn_code: Vec<String>,
    /// Report findings with this code as errors: nothing is written (repeatable).
    #[arg(long = "deny", value_name = "CODE")]
    deny: Vec<String>,
    /// The largest module file accepted, decompressed (suffix K, M or G for KiB, MiB,
    /// GiB; default 512M). A larger module is unreadable (`unreadable-module`), as is a
    /// compressed one that expands past it.
    #[arg(long = "max-module-size", value_name = "SIZE", value_parser = parse_size)]
    max_module_size: Option<u64>,
    /// Kernel version (default: the running kernel's release).
    version: Option<String>,
    /// Module files (absolute paths) for manual mode.
    modules: Vec<PathBuf>,
}

/// Runs `modpolicy depmod`.
pub fn run(args: DepmodArgs) -> ExitCode {
    let log = Log::new("depmod", args.verbose);
    let kver = match kernel_version(args.version.as_deref(), &log) {
        Ok(v) => v,
        Err(c) => return c,
    };
    let manual = !args.all && !args.modules.is_empty();
    let root = args
        .basedir
        .as_deref()
        .map(absolute_unnormalised)
        .unwrap_or_default();
    let dirname = format!("{root}/lib/modules/{kver}");
    let outdirname = match &args.outdir {
        Some(o) => format!("{}/lib/modules/{kver}", absolute_unnormalised(o)),
        None => dirname.clone(),
    };
    let flavor = match args.kmod {
        KmodVersion::V30 => Flavor::KMOD30,
        KmodVersion::V34 => Flavor::KMOD34,
    };
    let overrides = match parse_overrides(&args.allow, &args.warn_code, &args.deny) {
        Ok(o) => o,
        Err(e) => return log.fatal(&e),
    };
    log.flush();
    let policy = match load_policy(&args.policy, &kver, ExitCode::FAILURE) {
        Ok(p) => p,
        Err(c) => return c,
    };

    tracing::debug!(elapsed = ?super::elapsed(), "policy loaded");
    if args.quick && !manual {
        if args.show {
            return ExitCode::SUCCESS;
        }
        if up_to_date(&dirname, &outdirname) {
            return ExitCode::SUCCESS;
        }
    }

    let opts = TreeOptions {
        basedir: args.basedir.clone(),
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
        limits: Limits {
            max_module_size: args
                .max_module_size
                .unwrap_or(Limits::default().max_module_size),
        },
    };
    let mut errsyms = args.errsyms;
    let tree = match load_tree(&opts, &policy, &log, &mut errsyms) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let check_crcs = args.symvers.is_some();
    let graph = &tree.graph;
    tracing::debug!(elapsed = ?super::elapsed(), modules = graph.modules.len(), peak_kib = peak_rss_kib(), "graph built");

    let read_opt = |name: &str| -> Result<Vec<u8>, String> {
        std::fs::read(format!("{}/{name}", tree.dirname)).map_err(|e| strerror(&e))
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
    let out_dir = Path::new(&outdirname);
    let write_opts = WriteOptions { sync: args.sync };
    let staging = (!args.show && out_dir.is_dir())
        .then(|| Staging::begin(out_dir, write_opts).ok())
        .flatten();
    let (staged, decided) = rayon::join(
        || staging.as_ref().map(|s| s.stage_all(&early.files())),
        || -> Result<Deps, ExitCode> {
            let sort_index = decide(
                graph, &res, &engine, &tree, &log, &overrides, errsyms, check_crcs,
            )?;
            tracing::debug!(elapsed = ?super::elapsed(), "sorted");
            let resolved = Resolved {
                resolution: &res,
                sort_index: &sort_index,
            };
            Ok(render_deps(render_in, &resolved))
        },
    );
    let deps = match decided {
        Ok(deps) => deps,
        Err(code) => return code,
    };
    let rendered = match finish(deps, early) {
        Ok(r) => r,
        Err(e) => return log.fatal(&e.to_string()),
    };
    tracing::debug!(elapsed = ?super::elapsed(), peak_kib = peak_rss_kib(), "rendered");
    for m in &rendered.messages {
        match m {
            Message::Warning(w) => log.warn(w),
            Message::Error(e) => log.error(e),
        }
    }
    if args.show {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for (_, contents) in &rendered.files {
            if out.write_all(contents).is_err() {
                return ExitCode::FAILURE;
            }
        }
        let _ = out.flush();
        return ExitCode::SUCCESS;
    }
    let write_fail = |e: WriteError| log.fatal(&format!("could not write artifacts: {e}"));
    let staging = match (staging, staged) {
        (Some(s), Some(Ok(()))) => s,
        // Nothing staged early, or a file failed to: the whole set is written now, so
        // that a failure is reported as before, for the first file in kmod's order.
        (early_staging, _) => {
            // Its lock is released before the directory is locked again.
            drop(early_staging);
            if args.outdir.is_some() {
                if let Err(e) = std::fs::create_dir_all(&outdirname) {
                    return log.fatal(&format!(
                        "could not create directory {outdirname}: {}",
                        strerror(&e)
                    ));
                }
            }
            match Staging::begin(out_dir, write_opts) {
                Ok(s) => s,
                Err(e) => return write_fail(e),
            }
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
        return write_fail(e);
    }
    tracing::debug!(elapsed = ?super::elapsed(), peak_kib = peak_rss_kib(), "written");
    // The process ends here: freeing hundreds of thousands of small allocations one by
    // one would take longer than the work after reading. The OS reclaims it all at exit.
    std::mem::forget(rendered);
    std::mem::forget(res);
    std::mem::forget(builtin);
    std::mem::forget(tree);
    ExitCode::SUCCESS
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
    log: &Log,
    overrides: &[(Code, Level)],
    errsyms: bool,
    check_crcs: bool,
) -> Result<Vec<u32>, ExitCode> {
    // kmod's symbol warnings (stderr) and `-v` lines (stdout), in module order: formatted
    // in parallel, a slice of modules at a time (a -F/-E run with -e can print a
    // hundred thousand lines), and written in order.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let announce = |i: usize, m: &crate::graph::Module| -> (Vec<u8>, Vec<u8>) {
        let (mut warnings, mut lines) = (Vec::new(), Vec::new());
        let mut announced: Vec<crate::graph::ModuleId> = Vec::new();
        for (imp, r) in m.image.imports.iter().zip(&res.imports[i]) {
            match r.provider {
                None => {
                    if errsyms && !imp.weak {
                        log.warn_into(
                            &mut warnings,
                            format_args!("{} needs unknown symbol {}", m.source.path, imp.name),
                        );
                    }
                }
                Some(p) => {
                    if check_crcs && errsyms && !imp.weak && r.provider_crc != imp.crc {
                        log.warn_into(
                            &mut warnings,
                            format_args!(
                                "{} disagrees about version of symbol {}",
                                m.source.path, imp.name
                            ),
                        );
                    }
                    if let Provider::Module(id) = p {
                        if log.verbose >= 1 && !announced.contains(&id) {
                            announced.push(id);
                            let _ = writeln!(
                                lines,
                                "{} needs \"{}\": {}",
                                m.source.path,
                                imp.name,
                                graph.module(id).source.path
                            );
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
        for (warnings, lines) in texts {
            log.write_lines(&warnings);
            let _ = out.write_all(&lines);
        }
    }
    let _ = out.flush();
    drop(out);

    // Policy findings: what the policy reports about this tree (nothing under kmod.kdl).
    let cx = CheckContext {
        graph,
        resolution: res,
        engine,
    };
    // A module that could not be read: kmod's message was printed while loading and the
    // module is listed without dependencies; the policy decides whether that is fatal
    // (`unreadable-module`: allow in kmod.kdl, deny in a strict policy).
    let mut findings: Vec<Finding> = graph
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
    findings.extend(crate::check::run_all(&cx));
    findings.extend(engine.lints_summarized(log.verbose >= 1));
    let mut denied = 0;
    for f in &mut findings {
        if let Some((_, l)) = overrides.iter().rev().find(|(c, _)| *c == f.code) {
            f.level = *l;
        }
        if f.tolerated || f.level == Level::Allow {
            continue;
        }
        if f.level == Level::Deny {
            denied += 1;
        }
        let rule = f
            .rule
            .as_ref()
            .map(|r| format!(" [rule {}:{}]", r.file, r.line))
            .unwrap_or_default();
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
        log.line(format_args!(
            "modpolicy: {denied} finding(s) denied by policy; nothing was written"
        ));
        return Err(ExitCode::FAILURE);
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
            return Err(ExitCode::FAILURE);
        }
    };
    Ok(sort_index)
}

/// Parses a size: bytes, or a number with a `K`, `M` or `G` suffix (binary units, an
/// optional `iB` after the letter).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("iB").unwrap_or(t);
    let (num, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (bytes, or a number with K, M or G)"))?;
    match n.checked_mul(1 << shift) {
        Some(0) | None => Err(format!("`{s}` is not a usable size")),
        Some(v) => Ok(v),
    }
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

/// `-A`: whether `modules.dep` exists and no module file under `dirname` is newer.
fn up_to_date(dirname: &str, outdirname: &str) -> bool {
    let Ok(dep) = std::fs::metadata(format!("{outdirname}/modules.dep")) else {
        return false;
    };
    let Ok(dep_time) = dep.modified() else {
        return false;
    };
    let dep_secs = dep_time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    fn newer(dir: &Path, limit: u64) -> bool {
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
                if newer(&p, limit) {
                    return true;
                }
            } else if md.is_file()
                && crate::load::walk::is_module_file(&p, Extensions { gzip: true })
            {
                let t = md
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                if t > limit {
                    return true;
                }
            }
        }
        false
    }
    !newer(Path::new(dirname), dep_secs)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        for bad in ["", "0", "-1", "12Q", "99999999999999999999G", "M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
