//! Loading an installed module tree the way `depmod` does, shared by the `depmod`,
//! `explain` and `check` jobs: version, paths, vmlinux symbols, configuration or policy
//! search settings, discovery, reading every module, and the ordered export graph.
//!
//! Messages go to the [`Log`] as kmod prints them (`depmod: WARNING: ...`), in kmod's
//! order; a fatal error is returned as [`Stop::Fatal`] for the caller to print last.

use super::log::Log;
use super::Stop;
use crate::graph::{ExportGraph, GraphInput, SymbolPrefix};
use crate::load::config::{
    load_config, ConfigMessage, SearchConfig, SearchEntry, DEFAULT_CONFIG_DIRS,
};
use crate::load::order::{read_modules_order, ModulesOrder};
use crate::load::symvers::{kmod_symvers, kmod_system_map, KernelSymbol};
use crate::load::walk::{discover_with, modname_of, strerror, Extensions, FoundFile, ModuleSource};
use crate::load::{
    is_compressed, read_module_file, read_modules_reporting, Limits, ModuleError, ModuleImage,
};
use crate::policy::Policy;
use std::path::{Path, PathBuf};

/// What to load.
pub struct TreeOptions {
    /// `-b`.
    pub basedir: Option<String>,
    /// `-m` (kmod 34): the module directory under `-b` instead of the built-in one.
    pub moduledir: Option<String>,
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
    /// `BASEDIR/MODULEDIR/VERSION` (`MODULEDIR` is `/lib/modules` by default), as kmod
    /// spells it.
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
    /// The next module cache, when it is to be written ([`Tree::write_cache`]).
    pub cache_write: Option<CacheWrite>,
}

/// The module cache one load reads and writes (see [`crate::cache`]).
#[derive(Debug, Clone)]
pub struct CacheUse {
    /// The cache file.
    pub path: PathBuf,
    /// Whether to write it back when anything changed (not for `-n`).
    pub write: bool,
}

/// What writing the next module cache needs besides the graph.
pub struct CacheWrite {
    path: PathBuf,
    header: crate::cache::Header,
    run_start_ns: i128,
    /// Each module read (or taken from the cache), by path: its identity.
    ids: rustc_hash::FxHashMap<String, crate::cache::FileId>,
}

impl Tree {
    /// Writes the module cache, if anything changed since it was read: the caller does
    /// so once the artifacts are written, so that the cache never takes the disk space
    /// they need. A failure costs only speed: it is said at `-v` (modpolicy's), never
    /// printed otherwise.
    pub fn write_cache(&self) {
        let Some(w) = &self.cache_write else { return };
        let dirname = self.dirname.as_str();
        let records: Vec<crate::cache::Record<'_>> = self
            .graph
            .modules
            .iter()
            .filter(|m| m.error.is_none())
            .filter_map(|m| {
                Some(crate::cache::Record {
                    key: cache_key(dirname, &m.source.path),
                    id: *w.ids.get(&m.source.path)?,
                    hash: None,
                    image: &m.image,
                })
            })
            .collect();
        let r = crate::util::timed("cache write", || {
            crate::cache::write(&w.path, &w.header, &records, w.run_start_ns)
        });
        if let Err(e) = r {
            tracing::info!("module cache {} not written: {e}", w.path.display());
        }
    }
}

/// A cache record's key: the path relative to the module directory (absolute outside it).
fn cache_key<'p>(dirname: &str, path: &'p str) -> &'p str {
    path.strip_prefix(dirname)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path)
}

/// What the walk's visitor found out about one module file.
struct Visit {
    /// Its identity and metadata (with a cache only).
    id: Option<crate::cache::FileId>,
    /// Whether it was taken from the cache.
    hit: bool,
    /// What was read from it, if it has been read yet.
    read: Option<Result<ModuleImage, ModuleError>>,
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

/// Resolves the kernel version argument, reporting kmod's error for a bad one.
pub fn kernel_version(v: Option<&str>, log: &Log) -> Result<String, Stop> {
    match v {
        Some(v) if !looks_like_version(v) => {
            log.error(&format!("Bad version passed {v}"));
            Err(Stop::Reported)
        }
        Some(v) => Ok(v.to_string()),
        None => Ok(uname_release()),
    }
}

/// A text input read as kmod reads it with `fopen` and `fgets`: a directory opens, and
/// its first read fails, which kmod takes for the end of an empty file. Maps the
/// `EISDIR` of a bounded reader (`util::fs`) to an empty input.
pub fn empty_if_dir<T: Default>(read: std::io::Result<T>) -> std::io::Result<T> {
    match read {
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Ok(T::default()),
        r => r,
    }
}

/// The `%m` of kmod's `Invalid symbol version` message: the errno libkmod left when it
/// read `DIR/modules.softdep` (checked with kmod 30: missing, a dangling symlink, a loop,
/// a directory each give their error; a readable file none, `Success`).
fn kmod_errno_before_symvers(dirname: &str) -> String {
    use crate::util::fs::{open_input, Accept};
    match open_input(
        Path::new(&format!("{dirname}/modules.softdep")),
        Accept::Regular,
    ) {
        Err(e) if e.raw_os_error().is_some() => strerror(&e),
        _ => "Success".into(),
    }
}

/// Loads the tree. `errsyms` is switched off (with kmod's warning) when there are no
/// vmlinux symbols.
pub fn load_tree(
    opts: &TreeOptions,
    policy: &Policy,
    log: &Log,
    errsyms: &mut bool,
) -> Result<Tree, Stop> {
    load_tree_cached(opts, policy, log, errsyms, None)
}

/// [`load_tree`] with a module cache: a module file whose identity and metadata match its
/// record is not read, and the cache is rewritten (on a thread of its own, see
/// [`Tree::cache_write`]) when anything changed. Not used in manual mode. A damaged
/// cache gets one warning (`modpolicy: warning: module cache ...`) and is rewritten;
/// a cache that cannot be written costs only speed (said at `-v`).
pub fn load_tree_cached(
    opts: &TreeOptions,
    policy: &Policy,
    log: &Log,
    errsyms: &mut bool,
    cache: Option<&CacheUse>,
) -> Result<Tree, Stop> {
    let run_start_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    let kver = kernel_version(opts.version.as_deref(), log)?;
    let manual = !opts.modules.is_empty();
    let root = opts
        .basedir
        .as_deref()
        .map(absolute_unnormalised)
        .unwrap_or_default();
    let dirname = super::system::module_tree_dir(&root, opts.moduledir.as_deref(), &kver);
    let prefix = match opts.symbol_prefix.as_deref() {
        None => SymbolPrefix(None),
        Some(p) if p.len() == 1 => SymbolPrefix(Some(p.as_bytes()[0])),
        Some(_) => return Err(Stop::Fatal("-P only takes a single char".into())),
    };

    let kernel: Option<Vec<KernelSymbol>> = if let Some(f) = &opts.symvers {
        match empty_if_dir(crate::load::symvers::read_symbol_file(f)) {
            Ok(t) => {
                let errno = kmod_errno_before_symvers(&dirname);
                Some(kmod_symvers(&f.display().to_string(), &t, prefix.0, |m| {
                    log.error(&format!("{m}: {errno}"))
                }))
            }
            Err(e) => {
                return Err(Stop::Fatal(format!(
                    "could not load {}: {}",
                    f.display(),
                    strerror(&e)
                )))
            }
        }
    } else if let Some(f) = &opts.filesyms {
        match empty_if_dir(crate::load::symvers::read_symbol_file(f)) {
            Ok(t) => Some(kmod_system_map(
                &f.display().to_string(),
                &t,
                prefix.0,
                // kmod's text ends with the line as read, its newline included.
                |m| log.error(m.strip_suffix('\n').unwrap_or(&m)),
            )),
            Err(e) => {
                return Err(Stop::Fatal(format!(
                    "could not load {}: {}",
                    f.display(),
                    strerror(&e)
                )))
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
    let cache = cache.filter(|_| !manual);
    let cache_header = crate::cache::Header {
        tree: dirname.clone(),
        max_module_size: opts.limits.max_module_size,
    };
    let opened = cache.map(|c| {
        let o = crate::util::timed("cache read", || {
            crate::cache::Cache::open(&c.path, &cache_header)
        });
        if let Some(p) = &o.problem {
            log.line(format_args!(
                "modpolicy: warning: module cache {} {p}: ignored{}",
                c.path.display(),
                if c.write { " and rewritten" } else { "" }
            ));
        }
        o
    });
    let cached = opened.as_ref().map(|o| &o.cache);

    let exts = Extensions { gzip: opts.gzip };
    let mut search_cfg = SearchConfig::default();
    // Each module found, with what was read from it if it has been read yet.
    type Found = (ModuleSource, Option<Visit>);
    let progress = log.progress();
    progress.phase(&format!("reading modules of {kver}"), 0);
    let sources: Vec<Found> = if manual {
        let mut v: Vec<Found> = Vec::new();
        for p in &opts.modules {
            let s = p.to_string_lossy().into_owned();
            if !s.starts_with('/') {
                return Err(Stop::Fatal(format!("{s}: not absolute path.")));
            }
            // libkmod `stat`s the path to create the module.
            if let Err(e) = std::fs::metadata(p) {
                return Err(Stop::Fatal(format!(
                    "could not create module {s}: {}",
                    strerror(&e)
                )));
            }
            let base = p
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = modname_of(&base);
            if let Some((old, _)) = v.iter().find(|(m, _)| m.name == name) {
                // libkmod refuses a second path for a module name; the same path twice
                // gets as far as depmod's own table.
                if old.path == s {
                    log.error(&format!("hash_add_unique {name}: File exists"));
                    return Err(Stop::Fatal(format!(
                        "could not add module {s}: File exists"
                    )));
                }
                log.error(&format!(
                    "../libkmod/libkmod-module.c:428 kmod_module_new_from_path() kmod_module \
                     '{name}' already exists with different path: new-path='{s}' old-path='{}'",
                    old.path
                ));
                return Err(Stop::Fatal(format!(
                    "could not create module {s}: File exists"
                )));
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
        // With a cache, each file is `stat`ed first (before it is read: a change after
        // that shows in the next run's `stat`) and taken from the cache if it matches.
        let read_plain = |f: &FoundFile| {
            let id =
                cached.and_then(|_| f.stat().ok().map(|st| crate::cache::FileId::from_stat(&st)));
            if let (Some(c), Some(id)) = (cached, &id) {
                if let Some(image) = c.lookup(cache_key(&dirname, f.path), id) {
                    progress.grow(1);
                    progress.advance(1);
                    return Some(Visit {
                        id: Some(*id),
                        hit: true,
                        read: Some(Ok(image)),
                    });
                }
            }
            let read = (!is_compressed(Path::new(f.path))).then(|| {
                crate::util::heap::prime_this_thread();
                progress.grow(1);
                let r = f
                    .open()
                    .map_err(ModuleError::from)
                    .and_then(|file| read_module_file(file, limits));
                progress.advance(1);
                r
            });
            (read.is_some() || id.is_some()).then_some(Visit {
                id,
                hit: false,
                read,
            })
        };
        let found = match discover_with(&dirname, &search_cfg, exts, &mut walk_msgs, &read_plain) {
            Ok(f) => f,
            Err(e) => {
                log.error(&format!(
                    "could not open directory {dirname}: {}",
                    strerror(&e)
                ));
                return Err(Stop::Fatal(format!(
                    "could not search modules: {}",
                    strerror(&e)
                )));
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

    let order: Option<ModulesOrder> = match empty_if_dir(read_modules_order(Path::new(&format!(
        "{dirname}/modules.order"
    )))) {
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
        .filter(|(_, v)| v.as_ref().is_none_or(|v| v.read.is_none()))
        .map(|(s, _)| s.path.as_str())
        .collect();
    // The previous cache has given what it could: its memory is not needed any more.
    let old_records = opened.as_ref().map_or(0, |o| o.cache.len());
    let problem = opened.is_some_and(|o| o.problem.is_some());
    let mut rest = read_modules_reporting(&unread, &opts.limits, log.progress()).into_iter();
    // For the next cache: each module's identity, and whether it came from the cache.
    let mut meta: rustc_hash::FxHashMap<String, (crate::cache::FileId, bool)> = Default::default();
    let (sources, images): (Vec<ModuleSource>, Vec<Result<ModuleImage, ModuleError>>) = sources
        .into_iter()
        .map(|(s, v)| {
            let (r, id, hit) = match v {
                Some(v) => (v.read, v.id, v.hit),
                None => (None, None, false),
            };
            if let Some(id) = id {
                meta.insert(s.path.clone(), (id, hit));
            }
            let r = r.or_else(|| rest.next());
            (s, r.expect("one read result per module"))
        })
        .unzip();
    tracing::debug!(elapsed = ?super::elapsed(), "modules read");
    let mut read_errors = std::collections::HashMap::new();
    let modules = sources
        .into_iter()
        .zip(images)
        .map(|(s, r)| {
            let r = r.map_err(|e| {
                read_errors.insert(s.path.clone(), e.to_string());
                e.kmod_reason()
            });
            (s, r)
        })
        .collect();
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
    let mut cache_write = None;
    if let Some(c) = cache {
        let hits = meta.values().filter(|(_, h)| *h).count();
        let read = graph.modules.len() - hits;
        tracing::debug!(hits, read, "module cache");
        // For tests: how many module files came from the cache.
        if let Some(p) = std::env::var_os("MODPOLICY_CACHE_REPORT") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(p)
            {
                let _ = writeln!(f, "cached={hits} read={read}");
            }
        }
        // Rewritten when a module was read, one is gone, or the cache was damaged.
        let fresh = graph
            .modules
            .iter()
            .filter(|m| m.error.is_none() && meta.get(&m.source.path).is_some_and(|(_, h)| !h))
            .count();
        if c.write && (fresh > 0 || hits != old_records || problem) {
            cache_write = Some(CacheWrite {
                path: c.path.clone(),
                header: cache_header,
                run_start_ns,
                ids: meta.into_iter().map(|(k, (id, _))| (k, id)).collect(),
            });
        }
    }
    Ok(Tree {
        dirname,
        graph,
        search,
        have_kernel,
        read_errors,
        cache_write,
    })
}
