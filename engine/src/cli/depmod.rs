//! `modpolicy depmod`: kmod's `depmod` command line over the modpolicy pipeline.
//!
//! Messages go to stderr as kmod words them (`depmod: WARNING: ...`), so that scripts
//! and tests comparing with kmod see the same text. Exit code 0 on success, 1 on any
//! fatal error (nothing is written then).

use crate::emit::depmod::{render, BuiltinFiles, Flavor, Message, RenderInput};
use crate::graph::{ExportGraph, GraphInput, Provider, SymbolPrefix};
use crate::load::config::{load_config, ConfigMessage, SearchConfig, DEFAULT_CONFIG_DIRS};
use crate::load::order::{parse_modules_order, ModulesOrder};
use crate::load::symvers::{kmod_symvers, kmod_system_map, KernelSymbol};
use crate::load::walk::{discover, modname_of, Extensions, ModuleSource};
use crate::load::{read_modules, Limits};
use crate::resolve::{dependency_order, resolve, DepOrder, KmodRule};
use crate::util::atomic::{write_set, WriteOptions};
use clap::{Args, ValueEnum};
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
    /// Kernel version (default: the running kernel's release).
    version: Option<String>,
    /// Module files (absolute paths) for manual mode.
    modules: Vec<PathBuf>,
}

struct Log {
    verbose: u8,
}

impl Log {
    fn warn(&self, m: &str) {
        eprintln!("depmod: WARNING: {m}");
    }
    fn error(&self, m: &str) {
        eprintln!("depmod: ERROR: {m}");
    }
    fn fatal(&self, m: &str) -> ExitCode {
        eprintln!("depmod: FATAL: {m}");
        ExitCode::FAILURE
    }
    fn info(&self, m: &str) {
        if self.verbose >= 2 {
            eprintln!("depmod: INFO: {m}");
        }
    }
}

fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// kmod's `sscanf("%u.%u")` check on the version argument.
fn looks_like_version(v: &str) -> bool {
    fn num(s: &str) -> Option<&str> {
        let s = s.trim_start();
        let s = s.strip_prefix(['+', '-']).unwrap_or(s);
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| &s[n..])
    }
    num(v)
        .and_then(|r| r.strip_prefix('.'))
        .and_then(num)
        .is_some()
}

fn absolute_unnormalised(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        let cwd = std::env::current_dir()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{cwd}/{p}")
    }
}

fn uname_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Runs `modpolicy depmod`.
pub fn run(args: DepmodArgs) -> ExitCode {
    let t0 = std::time::Instant::now();
    let log = Log {
        verbose: args.verbose,
    };
    let kver = match &args.version {
        Some(v) => {
            if !looks_like_version(v) {
                log.error(&format!("Bad version passed {v}"));
                return ExitCode::FAILURE;
            }
            v.clone()
        }
        None => uname_release(),
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
    let prefix = match args.symbol_prefix.as_deref() {
        None => SymbolPrefix(None),
        Some(p) if p.len() == 1 => SymbolPrefix(Some(p.as_bytes()[0])),
        Some(_) => return log.fatal("-P only takes a single char"),
    };
    let flavor = match args.kmod {
        KmodVersion::V30 => Flavor::KMOD30,
        KmodVersion::V34 => Flavor::KMOD34,
    };

    // vmlinux symbols.
    let mut errsyms = args.errsyms;
    let kernel: Option<Vec<KernelSymbol>> = if let Some(f) = &args.symvers {
        match std::fs::read(f) {
            Ok(t) => Some(kmod_symvers(&f.display().to_string(), &t, prefix.0, |m| {
                log.error(&m)
            })),
            Err(e) => {
                return log.fatal(&format!("could not load {}: {}", f.display(), strerror(&e)))
            }
        }
    } else if let Some(f) = &args.filesyms {
        match std::fs::read(f) {
            Ok(t) => Some(kmod_system_map(
                &f.display().to_string(),
                &t,
                prefix.0,
                |m| log.error(m.trim_end_matches('\n')),
            )),
            Err(e) => {
                return log.fatal(&format!("could not load {}: {}", f.display(), strerror(&e)))
            }
        }
    } else {
        if errsyms {
            log.warn("-e needs -E or -F");
            errsyms = false;
        }
        None
    };
    let check_crcs = args.symvers.is_some();

    if args.quick && !manual {
        if args.show {
            return ExitCode::SUCCESS;
        }
        if up_to_date(&dirname, &outdirname) {
            return ExitCode::SUCCESS;
        }
    }

    let exts = Extensions { gzip: args.gzip };
    let sources: Vec<ModuleSource> = if manual {
        let mut v: Vec<ModuleSource> = Vec::new();
        for p in &args.modules {
            let s = p.to_string_lossy().into_owned();
            if !s.starts_with('/') {
                return log.fatal(&format!("{s}: not absolute path."));
            }
            let base = p
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = modname_of(&base);
            if v.iter().any(|m| m.name == name) {
                return log.fatal(&format!("could not add module {s}: File exists"));
            }
            let relpath = s
                .strip_prefix(&dirname)
                .and_then(|r| r.strip_prefix('/'))
                .map(str::to_string);
            v.push(ModuleSource {
                name,
                path: s,
                relpath,
            });
        }
        v
    } else {
        let cfg_paths: Vec<PathBuf> = if args.config.is_empty() {
            DEFAULT_CONFIG_DIRS.iter().map(PathBuf::from).collect()
        } else {
            args.config.clone()
        };
        let mut msgs = Vec::new();
        let cfg: SearchConfig = load_config(&cfg_paths, &kver, &mut msgs);
        for m in msgs {
            match m {
                ConfigMessage::Error(e) => log.error(&e),
                ConfigMessage::Info(i) => log.info(&i),
            }
        }
        let mut walk_msgs = Vec::new();
        let found = match discover(&dirname, &cfg, exts, &mut walk_msgs) {
            Ok(f) => f,
            Err(e) => {
                log.error(&format!(
                    "could not open directory {dirname}: {}",
                    strerror(&e)
                ));
                return log.fatal(&format!("could not search modules: {}", strerror(&e)));
            }
        };
        for m in walk_msgs {
            log.error(&m);
        }
        found
    };

    // modules.order
    let order: Option<ModulesOrder> = match std::fs::read(format!("{dirname}/modules.order")) {
        Ok(t) => {
            let o = parse_modules_order(&t);
            match o.unterminated_line {
                Some(n) => {
                    log.error(&format!(
                        "{dirname}/modules.order:{n} corrupted line misses '\\n'"
                    ));
                    None
                }
                None => Some(o),
            }
        }
        Err(e) => {
            log.warn(&format!(
                "could not open modules.order at {dirname}: {}",
                strerror(&e)
            ));
            None
        }
    };

    // Read every module on all cores.
    tracing::debug!(modules = sources.len(), elapsed = ?t0.elapsed(), "discovered");
    let limits = Limits::default();
    let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
    let images = read_modules(&paths, &limits);
    let mut fatal_module: Option<String> = None;
    let modules = sources
        .into_iter()
        .zip(images)
        .map(|(s, r)| {
            let r = r.map_err(|e| {
                if e.is_fatal_for_indexes() && fatal_module.is_none() {
                    fatal_module = Some(format!("{}: {e}", s.path));
                }
                e.kmod_reason()
            });
            (s, r)
        })
        .collect();
    if let Some(m) = fatal_module {
        return log.fatal(&m);
    }
    tracing::debug!(elapsed = ?t0.elapsed(), "modules read");

    let graph = ExportGraph::build(GraphInput {
        modules,
        order: order.as_ref(),
        order_first_wins: args.kmod == KmodVersion::V34,
        kernel,
        prefix,
    });
    for m in &graph.modules {
        if let Some(e) = &m.error {
            log.error(&format!(
                "failed to load symbols from {}: {e}",
                m.source.path
            ));
        }
    }

    tracing::debug!(elapsed = ?t0.elapsed(), "graph built");
    let res = resolve(&graph, &KmodRule);
    tracing::debug!(elapsed = ?t0.elapsed(), "resolved");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, m) in graph.modules.iter().enumerate() {
        let mut announced: Vec<crate::graph::ModuleId> = Vec::new();
        for (imp, r) in m.image.imports.iter().zip(&res.imports[i]) {
            match r.provider {
                None => {
                    if errsyms && !imp.weak {
                        log.warn(&format!(
                            "{} needs unknown symbol {}",
                            m.source.path, imp.name
                        ));
                    }
                }
                Some(p) => {
                    if check_crcs && errsyms && !imp.weak && r.provider_crc != imp.crc {
                        log.warn(&format!(
                            "{} disagrees about version of symbol {}",
                            m.source.path, imp.name
                        ));
                    }
                    if let Provider::Module(id) = p {
                        if log.verbose >= 1 && !announced.contains(&id) {
                            announced.push(id);
                            let _ = writeln!(
                                out,
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
    }
    let _ = out.flush();

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
            return ExitCode::FAILURE;
        }
    };

    tracing::debug!(elapsed = ?t0.elapsed(), "sorted");
    let read_opt = |name: &str| -> Result<Vec<u8>, String> {
        std::fs::read(format!("{dirname}/{name}")).map_err(|e| strerror(&e))
    };
    let builtin = BuiltinFiles {
        builtin: read_opt("modules.builtin"),
        builtin_modinfo: read_opt("modules.builtin.modinfo"),
    };
    let rendered = match render(&RenderInput {
        graph: &graph,
        resolution: &res,
        sort_index: &sort_index,
        builtin: &builtin,
        dirname: &dirname,
        flavor,
        binary: !args.show,
        warn_duplicates: args.warn,
    }) {
        Ok(r) => r,
        Err(e) => return log.fatal(&e.to_string()),
    };
    tracing::debug!(elapsed = ?t0.elapsed(), "rendered");
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
    if args.outdir.is_some() {
        if let Err(e) = std::fs::create_dir_all(&outdirname) {
            return log.fatal(&format!(
                "could not create directory {outdirname}: {}",
                strerror(&e)
            ));
        }
    }
    let files: Vec<(&str, &[u8])> = rendered
        .files
        .iter()
        .map(|(n, c)| (*n, c.as_slice()))
        .collect();
    if let Err(e) = write_set(
        Path::new(&outdirname),
        &files,
        WriteOptions { sync: args.sync },
    ) {
        return log.fatal(&format!("could not write artifacts: {e}"));
    }
    tracing::debug!(elapsed = ?t0.elapsed(), "written");
    ExitCode::SUCCESS
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
