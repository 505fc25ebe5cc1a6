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
use crate::load::walk::{
    discover_listing_dirs, modname_of, strerror, Extensions, FoundFile, ModuleSource,
};
use crate::load::{
    is_compressed, read_module_file_hashed, read_modules_hashed, Hashing, Limits, ModuleError,
    ModuleImage,
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
    /// The shipped cache to write, when asked ([`Tree::write_shipped_cache`]).
    pub shipped_write: Option<ShippedWrite>,
    /// What the run's output depends on besides the module files, for the "nothing
    /// changed" shortcut ([`crate::cache::shortcut`]).
    pub inputs: TreeInputs,
}

/// The files and directories a load looked at, besides the module files themselves.
#[derive(Debug, Default, Clone)]
pub struct TreeInputs {
    /// Every directory whose entries the walk read, with the hash of what it read (none
    /// in manual mode).
    pub walked_dirs: Vec<crate::load::walk::WalkedDir>,
    /// Whether the walk reported a problem (an entry it could not `stat`, a directory it
    /// could not open, a file of another type): such a tree is not summarised.
    pub walk_problems: bool,
    /// The depmod.d files and directories read (none when the policy gives the search
    /// settings).
    pub config: Vec<PathBuf>,
    /// How many module files were read (not taken from a cache): all of them without one.
    pub modules_read: usize,
    /// Whether the module cache was ignored with a warning (a run that printed it is not
    /// summarised: the next run, with the cache rewritten, prints no such warning).
    pub cache_problem: bool,
    /// Whether a module file changed within [`crate::cache::RACY_WINDOW_NS`] of the run's
    /// start (by the identity taken before it was read): such a run is not summarised.
    pub racy_modules: bool,
}

/// The module cache one load reads and writes (see [`crate::cache`]).
#[derive(Debug, Clone)]
pub struct CacheUse {
    /// The cache file.
    pub path: PathBuf,
    /// Whether to write it back when anything changed (not for `-n`).
    pub write: bool,
    /// What to do with the shipped cache (`MODULEDIR/VERSION/`[`crate::cache::SHIPPED_NAME`]).
    pub shipped: Shipped,
    /// Module files the "nothing changed" check has just read (see [`Rereads`]).
    pub rereads: Rereads,
}

/// Module files read by the "nothing changed" check that found them changed, by path:
/// the identity of the open file (taken before it was read), its content hash where the
/// load computes one (compressed modules), and what was read. The load takes such an
/// image instead of reading the file again when the file's identity is still that one.
/// A change since then within the same tick of the file system's clock would not show;
/// such a change is within the racy window of this run, so nothing this run writes
/// vouches for it (the next run reads the file again).
pub type Rereads = rustc_hash::FxHashMap<String, (crate::cache::FileId, Option<u128>, ModuleImage)>;

/// What a run does with the shipped cache, the one written where the modules were built
/// and shipped beside them (see [`crate::cache`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shipped {
    /// Read it (only when the local cache has no record for a module file): a record
    /// whose size and content hash match the file's is used.
    #[default]
    Read,
    /// `--write-shipped-cache`: read every module file whole, hash it, and write the
    /// shipped cache ([`Tree::write_shipped_cache`]); neither cache is read.
    Write,
}

/// What writing the shipped cache needs besides the graph.
pub struct ShippedWrite {
    path: PathBuf,
    header: crate::cache::Header,
    /// Each module's size and content hash, by path.
    hashes: rustc_hash::FxHashMap<String, (u64, u128)>,
}

/// What writing the next module cache needs besides the graph.
pub struct CacheWrite {
    path: PathBuf,
    header: crate::cache::Header,
    run_start_ns: i128,
    /// Each module read (or taken from the cache), by path: its identity and content
    /// hash.
    ids: rustc_hash::FxHashMap<String, (crate::cache::FileId, Option<u128>)>,
}

impl Tree {
    /// A cache record for each module read without error that `meta` knows (its
    /// identity and content hash, by path).
    fn cache_records(
        &self,
        meta: impl Fn(&str) -> Option<(crate::cache::FileId, Option<u128>)>,
    ) -> Vec<crate::cache::Record<'_>> {
        let dirname = self.dirname.as_str();
        self.graph
            .modules
            .iter()
            .filter(|m| m.error.is_none())
            .filter_map(|m| {
                let (id, hash) = meta(&m.source.path)?;
                Some(crate::cache::Record {
                    key: cache_key(dirname, &m.source.path),
                    id,
                    hash,
                    image: &m.image,
                })
            })
            .collect()
    }

    /// Writes the module cache, if anything changed since it was read: the caller does
    /// so once the artifacts are written, so that the cache never takes the disk space
    /// they need. A failure costs only speed: it is said at `-v` (modpolicy's), never
    /// printed otherwise.
    pub fn write_cache(&self) {
        let Some(w) = &self.cache_write else { return };
        let records = self.cache_records(|path| w.ids.get(path).copied());
        let r = crate::util::timed("cache write", || {
            crate::cache::write(&w.path, &w.header, &records, w.run_start_ns)
        });
        if let Err(e) = r {
            tracing::info!("module cache {} not written: {e}", w.path.display());
        }
    }
}

impl Tree {
    /// Writes the shipped cache (`--write-shipped-cache`): every module of the tree that
    /// could be read, by its path relative to the module directory, with its size,
    /// content hash and what was read. Written through a temporary and `rename`; the
    /// error names the file.
    pub fn write_shipped_cache(&self) -> Result<(), String> {
        let Some(w) = &self.shipped_write else {
            return Ok(());
        };
        let records = self.cache_records(|path| {
            let (size, hash) = *w.hashes.get(path)?;
            let id = crate::cache::FileId {
                size,
                ..Default::default()
            };
            Some((id, Some(hash)))
        });
        crate::cache::write(&w.path, &w.header, &records, 0).map_err(|e| {
            format!(
                "could not write the shipped module cache {}: {}",
                w.path.display(),
                strerror(&e)
            )
        })
    }
}

/// A cache record's key: the path relative to the module directory (absolute outside it).
fn cache_key<'p>(dirname: &str, path: &'p str) -> &'p str {
    path.strip_prefix(dirname)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path)
}

/// Where a module's image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hit {
    /// The file was read.
    No,
    /// The local cache, by identity.
    Identity,
    /// A cache (local or shipped), by size and content hash: the file was hashed, not
    /// decoded.
    Content,
}

/// What the walk's visitor found out about one module file.
struct Visit {
    /// Its identity and metadata (with a cache only).
    id: Option<crate::cache::FileId>,
    /// Where its image came from.
    hit: Hit,
    /// Its content hash, when known.
    hash: Option<u128>,
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
    open_result(Path::new(&format!("{dirname}/modules.softdep")))
}

/// The errors kmod's libkmod prints when it creates its context for the module
/// directory and parses `DIR/modules.softdep` as a modprobe configuration file (after
/// depmod.d is read, before anything else). A file that cannot be read, or is larger
/// than any real one (16 MiB), says nothing.
fn libkmod_softdep_errors(dirname: &str, log: &Log) {
    use crate::util::fs::{open_input, read_limited, Accept};
    let path = format!("{dirname}/modules.softdep");
    let Ok(text) = open_input(Path::new(&path), Accept::Regular)
        .and_then(|f| read_limited(f, "modules.softdep", 16 << 20))
    else {
        return;
    };
    for line in crate::load::modprobe_conf::softdep_file_errors(path.as_bytes(), &text) {
        log.write_lines(&line);
    }
}

/// What opening `p` as a regular file leaves in `errno`, as text: the error, or
/// `Success`.
pub(crate) fn open_result(p: &Path) -> String {
    use crate::util::fs::{open_input, Accept};
    match open_input(p, Accept::Regular) {
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
        shipped: false,
    };
    let write_shipped = cache.is_some_and(|c| c.shipped == Shipped::Write);
    let shipped_path = PathBuf::from(format!("{dirname}/{}", crate::cache::SHIPPED_NAME));
    let shipped_header = crate::cache::Header {
        shipped: true,
        ..cache_header.clone()
    };
    // The shipped cache is opened only when the local one lacks a module's record (a
    // run on a tree whose local cache is up to date never reads it).
    let shipped_cell: std::sync::OnceLock<crate::cache::Opened> = std::sync::OnceLock::new();
    let shipped = || -> Option<&crate::cache::Cache> {
        if cache.is_none() || write_shipped {
            return None;
        }
        let o = shipped_cell.get_or_init(|| {
            crate::util::timed("shipped cache read", || {
                crate::cache::Cache::open(&shipped_path, &shipped_header)
            })
        });
        Some(&o.cache)
    };
    let opened = cache.filter(|_| !write_shipped).map(|c| {
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
    // A record of either cache with this size and content hash.
    let known = |key: &str, size: u64, hash: u128| {
        cached
            .and_then(|c| c.lookup_content(key, size, hash))
            .or_else(|| shipped()?.lookup_content(key, size, hash))
    };
    let has_content = |key: &str, size: u64| {
        cached.is_some_and(|c| c.has_content(key, size))
            || shipped().is_some_and(|c| c.has_content(key, size))
    };

    let exts = Extensions { gzip: opts.gzip };
    let mut search_cfg = SearchConfig::default();
    let mut inputs = TreeInputs::default();
    // Each module found, with what was read from it if it has been read yet.
    type Found = (ModuleSource, Option<Visit>);
    let reused = std::sync::atomic::AtomicUsize::new(0);
    let progress = log.progress();
    progress.phase(&format!("reading modules of {kver}"), 0);
    let sources: Vec<Found> = if manual {
        libkmod_softdep_errors(&dirname, log);
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
                inputs.config = cfg_paths;
                for m in msgs {
                    match m {
                        ConfigMessage::Error(e) => log.error(&e),
                        ConfigMessage::Info(i) => log.info(&i),
                    }
                }
                cfg
            }
        };
        libkmod_softdep_errors(&dirname, log);
        tracing::debug!(elapsed = ?super::elapsed(), "configuration read");
        let mut walk_msgs = Vec::new();
        // Uncompressed modules are read as the walk finds them, so reading overlaps the
        // walk; compressed ones are read after it, largest first (see `read_modules`).
        let limits = &opts.limits;
        // Module files taken from `rereads`.
        let reused = &reused;
        // With a cache, each file is `stat`ed first (before it is read: a change after
        // that shows in the next run's `stat`) and taken from the cache if it matches.
        // An uncompressed file that a record may match by content is read whole and
        // hashed (see `Hashing`); compressed ones are hashed when read, after the walk.
        //
        // A file that has no record in the local cache (every file, in a first run) cannot
        // match by identity: an uncompressed one is opened at once and its identity taken
        // from the open file (`fstat`, cheaper than a `stat` of its name, and surely the
        // file then read).
        let read_plain = |f: &FoundFile| {
            let key = cache_key(&dirname, f.path);
            let opened_first = cache.is_some()
                && !is_compressed(Path::new(f.path))
                && !cached.is_some_and(|c| c.contains(key));
            let first = opened_first.then(|| f.open_stat());
            let id = cache.and_then(|_| {
                let st = match &first {
                    Some(Ok((_, st))) => *st,
                    Some(Err(_)) => return None,
                    None => f.stat().ok()?,
                };
                Some(crate::cache::FileId::from_stat(&st))
            });
            let first = first.map(|r| r.map(|(file, _)| file));
            if let (Some((rid, hash, image)), Some(id)) = (
                cache
                    .filter(|_| !write_shipped)
                    .and_then(|c| c.rereads.get(f.path)),
                &id,
            ) {
                if rid == id {
                    reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    progress.grow(1);
                    progress.advance(1);
                    return Some(Visit {
                        id: Some(*id),
                        hit: Hit::No,
                        hash: *hash,
                        read: Some(Ok(image.clone())),
                    });
                }
            }
            if let (Some(c), Some(id)) = (cached, &id) {
                if let Some((image, hash)) = c.lookup_hashed(key, id) {
                    progress.grow(1);
                    progress.advance(1);
                    return Some(Visit {
                        id: Some(*id),
                        hit: Hit::Identity,
                        hash,
                        read: Some(Ok(image)),
                    });
                }
            }
            if is_compressed(Path::new(f.path)) {
                return id.map(|id| Visit {
                    id: Some(id),
                    hit: Hit::No,
                    hash: None,
                    read: None,
                });
            }
            crate::util::heap::prime_this_thread();
            let hashing = if write_shipped || id.is_some_and(|id| has_content(key, id.size)) {
                Hashing::Always
            } else {
                Hashing::Off
            };
            progress.grow(1);
            let r = match first.unwrap_or_else(|| f.open()) {
                Ok(file) => read_module_file_hashed(file, limits, hashing, &|size, hash| {
                    known(key, size, hash)
                }),
                Err(e) => crate::load::HashedRead {
                    image: Err(e.into()),
                    hash: None,
                    known: false,
                },
            };
            progress.advance(1);
            Some(Visit {
                id,
                hit: if r.known { Hit::Content } else { Hit::No },
                hash: r.hash,
                read: Some(r.image),
            })
        };
        let dirs = std::sync::Mutex::new(Vec::new());
        let found = match discover_listing_dirs(
            &dirname,
            &search_cfg,
            exts,
            &mut walk_msgs,
            &read_plain,
            Some(&dirs),
        ) {
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
        inputs.walk_problems = !walk_msgs.is_empty();
        inputs.walked_dirs = dirs.into_inner().unwrap_or_else(|e| e.into_inner());
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
    let hashing = match cache {
        Some(_) if write_shipped => Hashing::Always,
        Some(_) => Hashing::Compressed,
        None => Hashing::Off,
    };
    let rest = read_modules_hashed(
        &unread,
        &opts.limits,
        hashing,
        &|i, size, hash| known(cache_key(&dirname, unread[i]), size, hash),
        log.progress(),
    );
    let mut rest = rest.into_iter();
    // The previous caches have given what they could: their memory is not needed any more.
    let old_records = opened.as_ref().map_or(0, |o| o.cache.len());
    // Records of module files that are gone (the next cache drops them).
    let gone = opened.as_ref().map_or(0, |o| {
        let kept = sources
            .iter()
            .filter(|(s, _)| o.cache.contains(cache_key(&dirname, &s.path)))
            .count();
        old_records - kept
    });
    let problem = opened.is_some_and(|o| o.problem.is_some());
    let shipped_problem = shipped_cell.into_inner().and_then(|o| o.problem);
    // A run that printed a cache warning is not summarised for the shortcut: the next run,
    // with the cache rewritten, prints no such warning.
    inputs.cache_problem = problem || shipped_problem.is_some();
    if let Some(p) = shipped_problem {
        log.line(format_args!(
            "modpolicy: warning: module cache {} {p}: ignored",
            shipped_path.display()
        ));
    }
    // For the next cache: each module's identity, where its image came from, and its
    // content hash.
    type Meta = (crate::cache::FileId, Hit, Option<u128>);
    let mut meta: rustc_hash::FxHashMap<String, Meta> = Default::default();
    let mut hashes: rustc_hash::FxHashMap<String, (u64, u128)> = Default::default();
    let (sources, images): (Vec<ModuleSource>, Vec<Result<ModuleImage, ModuleError>>) = sources
        .into_iter()
        .map(|(s, v)| {
            let (mut r, id, mut hit, mut hash) = match v {
                Some(v) => (v.read, v.id, v.hit, v.hash),
                None => (None, None, Hit::No, None),
            };
            if r.is_none() {
                let h = rest.next().expect("one read result per module");
                r = Some(h.image);
                hash = h.hash;
                if h.known {
                    hit = Hit::Content;
                }
            }
            if let Some(id) = id {
                meta.insert(s.path.clone(), (id, hit, hash));
                if let (true, Some(h)) = (write_shipped, hash) {
                    hashes.insert(s.path.clone(), (id.size, h));
                }
            }
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
    let mut shipped_write = None;
    if let Some(c) = cache {
        let hits = meta.values().filter(|(_, h, _)| *h != Hit::No).count();
        let verified = meta.values().filter(|(_, h, _)| *h == Hit::Content).count();
        let read = graph.modules.len() - hits;
        inputs.modules_read = read;
        inputs.racy_modules = meta
            .values()
            .any(|(id, _, _)| crate::cache::is_racy(id, run_start_ns));
        let reused = reused.into_inner();
        tracing::debug!(hits, read, reused, "module cache");
        // For tests: how many module files came from the cache.
        if let Some(p) = std::env::var_os("MODPOLICY_CACHE_REPORT") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(p)
            {
                let reused = match reused {
                    0 => String::new(),
                    n => format!(" reused={n}"),
                };
                let _ = writeln!(f, "cached={hits} read={read} verified={verified}{reused}");
            }
        }
        // Rewritten when a module was read or matched by content only (its identity is
        // new) and its identity can be trusted, one is gone, the cache was damaged, or
        // more than a few modules changed within the racy window. A few of those alone
        // (a module installed just before the run, the usual case) are not worth a
        // rewrite: the cache could keep only their content hashes, and the next run
        // reads them again (at most [`crate::cache::shortcut::MAX_REREAD`] files),
        // out of the window, and rewrites it then.
        let (mut fresh, mut fresh_racy) = (0, 0);
        for m in graph.modules.iter().filter(|m| m.error.is_none()) {
            match meta.get(&m.source.path) {
                Some((id, h, _)) if *h != Hit::Identity => {
                    if crate::cache::is_racy(id, run_start_ns) {
                        fresh_racy += 1;
                    } else {
                        fresh += 1;
                    }
                }
                _ => {}
            }
        }
        let many_racy = fresh_racy > crate::cache::shortcut::MAX_REREAD;
        if c.write && (fresh > 0 || many_racy || gone > 0 || problem) {
            cache_write = Some(CacheWrite {
                path: c.path.clone(),
                header: cache_header,
                run_start_ns,
                ids: meta
                    .into_iter()
                    .map(|(k, (id, _, hash))| (k, (id, hash)))
                    .collect(),
            });
        }
        if write_shipped {
            shipped_write = Some(ShippedWrite {
                path: shipped_path,
                header: shipped_header,
                hashes,
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
        shipped_write,
        inputs,
    })
}
