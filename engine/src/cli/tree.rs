//! Loading a module tree the way `depmod` does, shared by `depmod`, `explain` and
//! `check`: version, paths, vmlinux symbols, configuration or policy search settings,
//! discovery, reading every module, and the ordered export graph.
//!
//! Messages are printed as kmod prints them (`depmod: WARNING: ...`), in kmod's order.

use crate::diag::Level;
use crate::graph::{ExportGraph, GraphInput, SymbolPrefix};
use crate::load::config::{
    load_config, ConfigMessage, SearchConfig, SearchEntry, DEFAULT_CONFIG_DIRS,
};
use crate::load::order::{read_modules_order, ModulesOrder};
use crate::load::symvers::{kmod_symvers, kmod_system_map, KernelSymbol};
use crate::load::walk::{discover_with, modname_of, strerror, Extensions, FoundFile, ModuleSource};
use crate::load::{
    is_compressed, read_module_file, read_modules, Limits, ModuleError, ModuleImage,
};
use crate::policy::model::Date;
use crate::policy::Policy;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// kmod-style messages on stderr, with the program name kmod uses.
///
/// Messages are buffered (a tree with a stub `System.map` and `-e` prints one warning per
/// vmlinux import: 147,544 lines on a full Debian 6.1 tree) and reach stderr, in order,
/// when the buffer fills, on [`Log::flush`], on `FATAL`, and when the `Log` is dropped.
/// Code that prints to stderr directly while a `Log` is alive must call [`Log::flush`]
/// first.
pub struct Log {
    /// kmod's verbosity (`-v` count).
    pub verbose: u8,
    /// The prefix, `depmod`.
    pub prog: &'static str,
    out: std::sync::Mutex<Vec<u8>>,
}

/// How much [`Log`] keeps before writing.
const LOG_BUFFER: usize = 64 << 10;

impl Log {
    /// A log for `prog` at kmod verbosity `verbose`.
    pub fn new(prog: &'static str, verbose: u8) -> Log {
        Log {
            verbose,
            prog,
            out: std::sync::Mutex::new(Vec::with_capacity(LOG_BUFFER)),
        }
    }
    /// `WARNING: ...`
    pub fn warn(&self, m: &str) {
        self.append(|b| self.warn_into(b, format_args!("{m}")));
    }
    /// Formats a `WARNING: ...` line into `buf`, for [`Log::write_lines`] later (lines
    /// can be formatted on any thread and written in order).
    pub fn warn_into(&self, buf: &mut Vec<u8>, m: std::fmt::Arguments<'_>) {
        use std::io::Write;
        let _ = writeln!(buf, "{}: WARNING: {m}", self.prog);
    }
    /// Lines already formatted (each ending in a newline), as given.
    pub fn write_lines(&self, lines: &[u8]) {
        if !lines.is_empty() {
            self.append(|b| b.extend_from_slice(lines));
        }
    }
    /// `ERROR: ...`
    pub fn error(&self, m: &str) {
        self.line(format_args!("{}: ERROR: {m}", self.prog));
    }
    /// `FATAL: ...`, returning the failure exit code.
    pub fn fatal(&self, m: &str) -> ExitCode {
        self.line(format_args!("{}: FATAL: {m}", self.prog));
        self.flush();
        ExitCode::FAILURE
    }
    /// `INFO: ...` (shown from `-vv`).
    pub fn info(&self, m: &str) {
        if self.verbose >= 2 {
            self.line(format_args!("{}: INFO: {m}", self.prog));
        }
    }
    /// One line, as given.
    pub fn line(&self, args: std::fmt::Arguments<'_>) {
        use std::io::Write;
        self.append(|b| {
            let _ = b.write_fmt(args);
            b.push(b'\n');
        });
    }
    /// Adds to the buffer, writing it out once it holds [`LOG_BUFFER`] bytes.
    fn append(&self, add: impl FnOnce(&mut Vec<u8>)) {
        let mut b = self.out.lock().unwrap_or_else(|e| e.into_inner());
        add(&mut b);
        if b.len() >= LOG_BUFFER {
            drain(&mut b);
        }
    }
    /// Writes what is buffered to stderr.
    pub fn flush(&self) {
        drain(&mut self.out.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Writes `b` to stderr and empties it.
fn drain(b: &mut Vec<u8>) {
    use std::io::Write;
    if !b.is_empty() {
        let _ = std::io::stderr().write_all(b);
        b.clear();
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.flush();
    }
}

/// What to load.
pub struct TreeOptions {
    /// `-b`.
    pub basedir: Option<String>,
    /// The kernel version (default: the running kernel's).
    pub version: Option<String>,
    /// `-C` paths.
    pub config: Vec<PathBuf>,
    /// `-F`.
    pub filesyms: Option<PathBuf>,
    /// `-E`.
    pub symvers: Option<PathBuf>,
    /// `-P`.
    pub symbol_prefix: Option<String>,
    /// Accept `.ko.gz`.
    pub gzip: bool,
    /// kmod >= 34's first-wins rule for duplicate `modules.order` lines.
    pub order_first_wins: bool,
    /// Manual mode: these module files only.
    pub modules: Vec<PathBuf>,
    /// Bounds on each module file and what a compressed one may expand to.
    pub limits: Limits,
}

/// A loaded tree.
pub struct Tree {
    /// `BASEDIR/lib/modules/VERSION`, as kmod spells it.
    pub dirname: String,
    /// The ordered export graph.
    pub graph: ExportGraph,
    /// The search list in force, highest priority first.
    pub search: Vec<SearchEntry>,
    /// Whether vmlinux symbols were loaded (`-E` or `-F`).
    pub have_kernel: bool,
    /// For each module that could not be read, by path: what exactly is wrong (the
    /// graph keeps only the `strerror` text kmod prints).
    pub read_errors: std::collections::HashMap<String, String>,
}

/// kmod's `sscanf("%u.%u")` check on the version argument.
pub fn looks_like_version(v: &str) -> bool {
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

/// `cwd + "/" + p` without normalising, as kmod makes `-b` absolute.
pub fn absolute_unnormalised(p: &str) -> String {
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

/// Resolves the kernel version argument, printing kmod's error for a bad one.
pub fn kernel_version(v: Option<&str>, log: &Log) -> Result<String, ExitCode> {
    match v {
        Some(v) if !looks_like_version(v) => {
            log.error(&format!("Bad version passed {v}"));
            Err(ExitCode::FAILURE)
        }
        Some(v) => Ok(v.to_string()),
        None => Ok(uname_release()),
    }
}

/// Today's date for `expires`: `MODPOLICY_TODAY` (YYYY-MM-DD) if set, else the clock.
pub fn today() -> Date {
    std::env::var("MODPOLICY_TODAY")
        .ok()
        .and_then(|s| Date::parse(&s))
        .unwrap_or_else(Date::today)
}

/// Loads `--policy` files (or the built-in kmod policy), printing every problem with its
/// span. Exit code 1 on failure... or the given code.
pub fn load_policy(paths: &[PathBuf], kver: &str, fail: ExitCode) -> Result<Policy, ExitCode> {
    if paths.is_empty() {
        return Ok(crate::policy::kmod_policy(kver));
    }
    crate::policy::load(paths, kver).map_err(|e| {
        for r in e.reports() {
            eprintln!("{r:?}");
        }
        eprintln!(
            "modpolicy: {} problem(s) in the policy; nothing was done",
            e.diagnostics.len()
        );
        fail
    })
}

/// Applies `--allow/--warn/--deny CODE` to a level table check. Returns an error text
/// for an unknown code.
pub fn parse_overrides(
    allow: &[String],
    warn: &[String],
    deny: &[String],
) -> Result<Vec<(crate::diag::Code, Level)>, String> {
    let mut v = Vec::new();
    for (list, level) in [
        (allow, Level::Allow),
        (warn, Level::Warn),
        (deny, Level::Deny),
    ] {
        for c in list {
            match crate::diag::Code::from_name(c) {
                Some(code) => v.push((code, level)),
                None => {
                    let names: Vec<&str> =
                        crate::diag::Code::ALL.iter().map(|c| c.name()).collect();
                    let hint = names
                        .iter()
                        .min_by_key(|n| strsim::damerau_levenshtein(c, n))
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default();
                    return Err(format!("unknown diagnostic code `{c}`{hint}"));
                }
            }
        }
    }
    Ok(v)
}

/// Loads the tree. `errsyms` is switched off (with kmod's warning) when there are no
/// vmlinux symbols.
pub fn load_tree(
    opts: &TreeOptions,
    policy: &Policy,
    log: &Log,
    errsyms: &mut bool,
) -> Result<Tree, ExitCode> {
    let kver = kernel_version(opts.version.as_deref(), log)?;
    let manual = !opts.modules.is_empty();
    let root = opts
        .basedir
        .as_deref()
        .map(absolute_unnormalised)
        .unwrap_or_default();
    let dirname = format!("{root}/lib/modules/{kver}");
    let prefix = match opts.symbol_prefix.as_deref() {
        None => SymbolPrefix(None),
        Some(p) if p.len() == 1 => SymbolPrefix(Some(p.as_bytes()[0])),
        Some(_) => return Err(log.fatal("-P only takes a single char")),
    };

    let kernel: Option<Vec<KernelSymbol>> = if let Some(f) = &opts.symvers {
        match crate::load::symvers::read_symbol_file(f) {
            Ok(t) => Some(kmod_symvers(&f.display().to_string(), &t, prefix.0, |m| {
                log.error(&m)
            })),
            Err(e) => {
                return Err(log.fatal(&format!("could not load {}: {}", f.display(), strerror(&e))))
            }
        }
    } else if let Some(f) = &opts.filesyms {
        match crate::load::symvers::read_symbol_file(f) {
            Ok(t) => Some(kmod_system_map(
                &f.display().to_string(),
                &t,
                prefix.0,
                |m| log.error(m.trim_end_matches('\n')),
            )),
            Err(e) => {
                return Err(log.fatal(&format!("could not load {}: {}", f.display(), strerror(&e))))
            }
        }
    } else {
        if *errsyms {
            log.warn("-e needs -E or -F");
            *errsyms = false;
        }
        None
    };
    let have_kernel = kernel.is_some();

    let exts = Extensions { gzip: opts.gzip };
    let mut search_cfg = SearchConfig::default();
    // Each module found, with what was read from it if it has been read yet.
    type Found = (ModuleSource, Option<Result<ModuleImage, ModuleError>>);
    let sources: Vec<Found> = if manual {
        let mut v: Vec<Found> = Vec::new();
        for p in &opts.modules {
            let s = p.to_string_lossy().into_owned();
            if !s.starts_with('/') {
                return Err(log.fatal(&format!("{s}: not absolute path.")));
            }
            let base = p
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = modname_of(&base);
            if v.iter().any(|(m, _)| m.name == name) {
                return Err(log.fatal(&format!("could not add module {s}: File exists")));
            }
            let relpath = s
                .strip_prefix(&dirname)
                .and_then(|r| r.strip_prefix('/'))
                .map(str::to_string);
            v.push((
                ModuleSource {
                    name,
                    path: s,
                    relpath,
                },
                None,
            ));
        }
        v
    } else {
        search_cfg = match policy.search_config() {
            Some(c) => {
                tracing::info!(
                    "search settings come from the policy's `depmod` block; depmod.d is not read"
                );
                c
            }
            None => {
                let cfg_paths: Vec<PathBuf> = if opts.config.is_empty() {
                    DEFAULT_CONFIG_DIRS.iter().map(PathBuf::from).collect()
                } else {
                    opts.config.clone()
                };
                let mut msgs = Vec::new();
                let cfg = load_config(&cfg_paths, &kver, &mut msgs);
                for m in msgs {
                    match m {
                        ConfigMessage::Error(e) => log.error(&e),
                        ConfigMessage::Info(i) => log.info(&i),
                    }
                }
                cfg
            }
        };
        tracing::debug!(elapsed = ?super::elapsed(), "configuration read");
        let mut walk_msgs = Vec::new();
        // Uncompressed modules are read as the walk finds them, so reading overlaps the
        // walk; compressed ones are read after it, largest first (see `read_modules`).
        let limits = &opts.limits;
        let read_plain = |f: &FoundFile| {
            (!is_compressed(Path::new(f.path))).then(|| {
                crate::util::heap::prime_this_thread();
                f.open()
                    .map_err(ModuleError::from)
                    .and_then(|file| read_module_file(file, limits))
            })
        };
        let found = match discover_with(&dirname, &search_cfg, exts, &mut walk_msgs, &read_plain) {
            Ok(f) => f,
            Err(e) => {
                log.error(&format!(
                    "could not open directory {dirname}: {}",
                    strerror(&e)
                ));
                return Err(log.fatal(&format!("could not search modules: {}", strerror(&e))));
            }
        };
        for m in walk_msgs {
            log.error(&m);
        }
        found
    };
    tracing::debug!(elapsed = ?super::elapsed(), modules = sources.len(), "discovered");
    let mut search: Vec<SearchEntry> = search_cfg.effective_search();
    search.reverse();

    let order: Option<ModulesOrder> =
        match read_modules_order(Path::new(&format!("{dirname}/modules.order"))) {
            Ok(o) => match o.unterminated_line {
                Some(n) => {
                    log.error(&format!(
                        "{dirname}/modules.order:{n} corrupted line misses '\\n'"
                    ));
                    None
                }
                None => Some(o),
            },
            Err(e) => {
                log.warn(&format!(
                    "could not open modules.order at {dirname}: {}",
                    strerror(&e)
                ));
                None
            }
        };

    let unread: Vec<&str> = sources
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(s, _)| s.path.as_str())
        .collect();
    let mut rest = read_modules(&unread, &opts.limits).into_iter();
    let (sources, images): (Vec<ModuleSource>, Vec<Result<ModuleImage, ModuleError>>) = sources
        .into_iter()
        .map(|(s, r)| {
            let r = r.or_else(|| rest.next());
            (s, r.expect("one read result per module"))
        })
        .unzip();
    tracing::debug!(elapsed = ?super::elapsed(), "modules read");
    let mut fatal_module: Option<String> = None;
    let mut read_errors = std::collections::HashMap::new();
    let modules = sources
        .into_iter()
        .zip(images)
        .map(|(s, r)| {
            let r = r.map_err(|e| {
                if e.is_fatal_for_indexes() && fatal_module.is_none() {
                    fatal_module = Some(format!("{}: {e}", s.path));
                }
                read_errors.insert(s.path.clone(), e.to_string());
                e.kmod_reason()
            });
            (s, r)
        })
        .collect();
    if let Some(m) = fatal_module {
        return Err(log.fatal(&m));
    }
    let graph = crate::util::timed("graph", || {
        ExportGraph::build(GraphInput {
            modules,
            order: order.as_ref(),
            order_first_wins: opts.order_first_wins,
            kernel,
            prefix,
        })
    });
    for m in &graph.modules {
        if let Some(e) = &m.error {
            log.error(&format!(
                "failed to load symbols from {}: {e}",
                m.source.path
            ));
        }
    }
    Ok(Tree {
        dirname,
        graph,
        search,
        have_kernel,
        read_errors,
    })
}
