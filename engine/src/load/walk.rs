//! Module discovery: walking the module directory (and `external` directories) in raw
//! `readdir` order, and settling modules that share a name by kmod's priority rules.
//!
//! Input: the module directory and a [`SearchConfig`]. Output: one [`ModuleSource`] per
//! module name. The walk reads directory entries only; what happens to a module file is
//! the caller's: [`discover_with`] hands each one found to a visitor while the walk goes on
//! (the depmod path reads uncompressed modules there, so reading overlaps the walk).

use super::config::{SearchConfig, SearchEntry};
use crate::util::fs::{open_input_at_stat, open_input_stat, Accept};
use rayon::prelude::*;
use rustix::fs::{open, Mode, OFlags};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// A module file chosen for a module name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSource {
    /// The normalised module name (`-` folded to `_`, up to the first `.`).
    pub name: String,
    /// The path as kmod spells it in messages (the module directory joined unnormalised).
    pub path: String,
    /// The path relative to the module directory; `None` for external modules.
    pub relpath: Option<String>,
}

impl ModuleSource {
    /// The relpath's directory plus the basename cut to the module name's length plus
    /// `.ko`: what `modules.order` lines are matched against.
    pub fn uncompressed_relpath(&self) -> Option<String> {
        let rel = self.relpath.as_deref()?;
        let (dir, base) = match rel.rfind('/') {
            Some(i) => (&rel[..=i], &rel[i + 1..]),
            None => ("", rel),
        };
        let cut = base.get(..self.name.len()).unwrap_or(base);
        Some(format!("{dir}{cut}.ko"))
    }

    /// What `modules.dep` names this module by: the relpath, else the absolute path.
    pub fn dep_path(&self) -> &str {
        self.relpath.as_deref().unwrap_or(&self.path)
    }
}

/// A module file the walk met, as [`discover_with`] hands it to its visitor.
pub struct FoundFile<'a> {
    /// The full path.
    pub path: &'a str,
    /// The file name.
    name: &'a str,
    /// The directory it is in, when the walk holds it open.
    dir: Option<&'a OwnedFd>,
}

impl FoundFile<'_> {
    /// Opens the file for reading: relative to its directory when the walk holds that
    /// open (which spares the kernel a lookup of every component of the path), else by
    /// its path. Either way the result (and any error) is what opening the path gives.
    /// Only a regular file is opened: one replaced by a FIFO or a device since the walk
    /// saw it is an error, never a blocked open or an endless read.
    pub fn open(&self) -> std::io::Result<std::fs::File> {
        self.open_stat().map(|(f, _)| f)
    }

    /// [`FoundFile::open`], with the `fstat` of the open file.
    pub fn open_stat(&self) -> std::io::Result<(std::fs::File, rustix::fs::Stat)> {
        match self.dir {
            Some(d) => open_input_at_stat(d, self.name, Accept::Regular),
            None => open_input_stat(Path::new(self.path), Accept::Regular),
        }
    }

    /// `stat` of the file (following a symlink, as kmod does), relative to its
    /// directory when the walk holds that open.
    pub fn stat(&self) -> std::io::Result<rustix::fs::Stat> {
        Ok(match self.dir {
            Some(d) => rustix::fs::statat(d, self.name, rustix::fs::AtFlags::empty())?,
            None => rustix::fs::stat(self.path)?,
        })
    }
}

/// Which file extensions count as modules.
#[derive(Debug, Clone, Copy)]
pub struct Extensions {
    /// Accept `.ko.gz` (kmod built with zlib; Debian's kmod 30 is not).
    pub gzip: bool,
}

impl Extensions {
    fn matches(&self, name: &str) -> bool {
        let exts: &[&str] = if self.gzip {
            &[".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        } else {
            &[".ko", ".ko.xz", ".ko.zst"]
        };
        exts.iter()
            .any(|e| name.len() > e.len() && name.ends_with(e))
    }
}

/// An I/O error's text as C's `strerror` gives it (without Rust's "(os error N)").
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The module name kmod derives from a file name.
pub fn modname_of(basename: &str) -> String {
    basename.split('.').next().unwrap_or("").replace('-', "_")
}

/// Problems met during the walk, in kmod's wording (without the `depmod: ERROR: ` prefix).
pub type WalkMessages = Vec<String>;

/// Walks `dirname` then every external directory and returns the winning copy of each
/// module name (in no particular order; the caller orders them).
///
/// Errors opening `dirname` itself are returned; other unreadable directories are
/// reported in `msgs` and skipped.
pub fn discover(
    dirname: &str,
    cfg: &SearchConfig,
    exts: Extensions,
    msgs: &mut WalkMessages,
) -> Result<Vec<ModuleSource>, std::io::Error> {
    let none = |_: &FoundFile| None::<()>;
    Ok(discover_with(dirname, cfg, exts, msgs, &none)?
        .into_iter()
        .map(|(s, _)| s)
        .collect())
}

/// [`discover`], calling `visit` on every module file as the walk meets it
/// (on any thread, in any order) and returning what it gave for each winning copy.
/// A copy that loses to another of the same name was visited all the same.
pub fn discover_with<T: Send>(
    dirname: &str,
    cfg: &SearchConfig,
    exts: Extensions,
    msgs: &mut WalkMessages,
    visit: &(dyn Fn(&FoundFile) -> Option<T> + Sync),
) -> Result<Vec<(ModuleSource, Option<T>)>, std::io::Error> {
    discover_listing_dirs(dirname, cfg, exts, msgs, visit, None)
}

/// A directory the walk read: its path and the [`ListingHash`] of its entries as the walk
/// read them (`None` when an entry could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedDir {
    /// The directory's path, as the walk names it.
    pub path: String,
    /// The hash of its entries' names in `readdir` order.
    pub listing: Option<u64>,
}

/// A hash of a directory's entry names in the order `readdir` gives them (without `.`
/// and `..`): equal hashes mean the same entries in the same order, which is all a walk
/// depends on.
#[derive(Default)]
pub struct ListingHash(xxhash_rust::xxh3::Xxh3);

impl ListingHash {
    /// Adds the next entry's name.
    pub fn add(&mut self, name: &[u8]) {
        self.0.update(name);
        self.0.update(&[0]);
    }

    /// The hash of the names added.
    pub fn finish(&self) -> u64 {
        self.0.digest()
    }
}

/// [`discover_with`], also adding to `dirs` (when given) every directory whose entries
/// the walk read, the module directory and external ones included (in no particular
/// order): what a caller must watch to notice a module file added or removed later.
pub fn discover_listing_dirs<T: Send>(
    dirname: &str,
    cfg: &SearchConfig,
    exts: Extensions,
    msgs: &mut WalkMessages,
    visit: &(dyn Fn(&FoundFile) -> Option<T> + Sync),
    dirs: Option<&std::sync::Mutex<Vec<WalkedDir>>>,
) -> Result<Vec<(ModuleSource, Option<T>)>, std::io::Error> {
    // kmod opens a relative `external` directory from the working directory; its modules'
    // paths are made absolute (libkmod's `path_make_absolute_cwd`) and still rank as that
    // external directory's: so the directory is made absolute here, once, for both.
    let given = cfg;
    let absolute;
    let cfg = if cfg.externals.iter().any(|(e, _)| e.is_relative()) {
        let mut c = cfg.clone();
        if let Some(cwd) = current_dir_name() {
            for (e, _) in &mut c.externals {
                if e.is_relative() {
                    *e = PathBuf::from(format!("{cwd}/{}", e.to_string_lossy()));
                }
            }
        }
        absolute = c;
        &absolute
    } else {
        cfg
    };
    let mut w = Walker {
        dirname,
        cfg,
        search: cfg.effective_search(),
        found: HashMap::new(),
        msgs,
    };
    let scan = Scan {
        cfg,
        exts,
        visit,
        dirs,
    };
    let rd = std::fs::read_dir(dirname)?;
    for ev in scan.dir(rd, dirname, 3) {
        w.apply(ev, true);
    }
    for ((ext, _), (named, _)) in cfg.externals.iter().zip(&given.externals) {
        let e = ext.to_string_lossy().into_owned();
        match std::fs::read_dir(&e) {
            Ok(rd) => {
                for ev in scan.dir(rd, &e, 3) {
                    w.apply(ev, false);
                }
            }
            // Reported as kmod reports it (the directory as configured), a missing one
            // included.
            Err(err) => w.msgs.push(format!(
                "could not open directory {}: {}",
                named.display(),
                strerror(&err)
            )),
        }
    }
    let mut v: Vec<(ModuleSource, Option<T>)> = w.found.into_values().collect();
    // Sorted by position, then moved once: the items can be large.
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_unstable_by(|&a, &b| v[a].0.name.cmp(&v[b].0.name));
    crate::util::permute(&mut v, idx);
    Ok(v)
}

/// The working directory as glibc's `get_current_dir_name` gives it (which libkmod uses
/// to make a path absolute): `$PWD` when it is absolute and names the working directory
/// itself, else `getcwd`.
fn current_dir_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let here = std::fs::metadata(".").ok()?;
    if let Ok(pwd) = std::env::var("PWD") {
        if pwd.starts_with('/') {
            if let Ok(m) = std::fs::metadata(&pwd) {
                if m.dev() == here.dev() && m.ino() == here.ino() {
                    return Some(pwd);
                }
            }
        }
    }
    std::env::current_dir()
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// What the directory scan met, in depth-first `readdir` order.
enum Event<T> {
    /// A module file: its basename, full path, and what the visitor gave for it.
    Module(String, String, Option<T>),
    /// An error message, in kmod's wording.
    Message(String),
}

/// The directory scan: reads directories (subdirectories in parallel) and lists module
/// files and problems in exactly the order a sequential depth-first walk meets them.
struct Scan<'a, T> {
    cfg: &'a SearchConfig,
    exts: Extensions,
    visit: &'a (dyn Fn(&FoundFile) -> Option<T> + Sync),
    /// Where each directory read is listed, if anywhere.
    dirs: Option<&'a std::sync::Mutex<Vec<WalkedDir>>>,
}

impl<T: Send> Scan<'_, T> {
    fn skipped(&self, name: &str) -> bool {
        matches!(name, "." | ".." | "build" | "source")
            || self.cfg.excludes.iter().any(|(e, _)| e == name)
    }

    /// `fd` is the descriptor number kmod would hold for this directory (3 for the top,
    /// one more per level), which appears in its `fstatat` messages.
    fn dir(&self, rd: std::fs::ReadDir, path: &str, fd: u32) -> Vec<Event<T>> {
        enum Item {
            Message(String),
            Module(String, String),
            Sub(String),
        }
        let mut items = Vec::new();
        // The listing's hash, `None` once an entry could not be read.
        let mut listing = self.dirs.map(|_| ListingHash::default());
        for ent in rd {
            let Ok(ent) = ent else {
                listing = None;
                continue;
            };
            let name_os = ent.file_name();
            if let Some(l) = &mut listing {
                l.add(std::os::unix::ffi::OsStrExt::as_bytes(name_os.as_os_str()));
            }
            let name = name_os.to_string_lossy();
            if self.skipped(&name) {
                continue;
            }
            let full = format!("{path}/{name}");
            let is_dir = match ent.file_type() {
                Ok(t) if t.is_dir() => true,
                Ok(t) if t.is_file() => false,
                // kmod follows symlinks (`fstatat`) and takes only directories and
                // regular files: a FIFO or a device is reported, never opened.
                _ => match std::fs::metadata(&full) {
                    Ok(m) if m.is_dir() => true,
                    Ok(m) if m.is_file() => false,
                    Ok(m) => {
                        use std::os::unix::fs::MetadataExt;
                        items.push(Item::Message(format!(
                            "unsupported file type {full}: {:o}",
                            m.mode() & libc::S_IFMT
                        )));
                        continue;
                    }
                    Err(e) => {
                        items.push(Item::Message(format!(
                            "fstatat({fd}, {name}): {}",
                            strerror(&e)
                        )));
                        continue;
                    }
                },
            };
            if is_dir {
                items.push(Item::Sub(full));
            } else if self.exts.matches(&name) {
                items.push(Item::Module(name.into_owned(), full));
            }
        }
        if let Some(d) = self.dirs {
            d.lock().unwrap_or_else(|e| e.into_inner()).push(WalkedDir {
                path: path.to_string(),
                listing: listing.map(|l| l.finish()),
            });
        }
        // Module files are opened relative to their directory (see `FoundFile::open`).
        let dir = items
            .iter()
            .any(|it| matches!(it, Item::Module(..)))
            .then(|| {
                open(
                    path,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ok()
            })
            .flatten();
        // Each item becomes its events in place, so the order stays that of `readdir`.
        let nested: Vec<Vec<Event<T>>> = items
            .into_par_iter()
            .with_max_len(1)
            .map(|it| match it {
                Item::Message(m) => vec![Event::Message(m)],
                Item::Sub(full) => match std::fs::read_dir(&full) {
                    Ok(sub) => self.dir(sub, &full, fd + 1),
                    Err(e) => vec![Event::Message(format!(
                        "could not open directory {full}: {}",
                        strerror(&e)
                    ))],
                },
                Item::Module(name, full) => {
                    let visited = (self.visit)(&FoundFile {
                        path: &full,
                        name: &name,
                        dir: dir.as_ref(),
                    });
                    vec![Event::Module(name, full, visited)]
                }
            })
            .collect();
        nested.into_iter().flatten().collect()
    }
}

struct Walker<'a, T> {
    dirname: &'a str,
    cfg: &'a SearchConfig,
    search: Vec<SearchEntry>,
    found: HashMap<String, (ModuleSource, Option<T>)>,
    msgs: &'a mut WalkMessages,
}

impl<T> Walker<'_, T> {
    fn apply(&mut self, ev: Event<T>, under_moddir: bool) {
        match ev {
            Event::Module(name, full, visited) => self.add(&name, full, visited, under_moddir),
            Event::Message(m) => self.msgs.push(m),
        }
    }

    fn add(&mut self, basename: &str, full: String, visited: Option<T>, under_moddir: bool) {
        let name = modname_of(basename);
        let relpath = if under_moddir {
            full.strip_prefix(self.dirname)
                .and_then(|r| r.strip_prefix('/'))
                .map(str::to_string)
        } else {
            None
        };
        let new = ModuleSource {
            name: name.clone(),
            path: full,
            relpath,
        };
        match self.found.get(&name) {
            None => {
                self.found.insert(name, (new, visited));
            }
            Some((old, _)) => {
                if !keep_old(self.dirname, self.cfg, &self.search, old, &new) {
                    self.found.insert(name, (new, visited));
                }
            }
        }
    }
}

/// kmod's `depmod_module_is_higher_priority`: whether the already-found copy `old` is
/// kept over `new`.
fn keep_old(
    dirname: &str,
    cfg: &SearchConfig,
    search: &[SearchEntry],
    old: &ModuleSource,
    new: &ModuleSource,
) -> bool {
    // Relative paths are used only when the old copy lies under the module directory.
    let strip = |m: &ModuleSource| -> Option<String> {
        let rel = m.path.strip_prefix(dirname)?.strip_prefix('/')?;
        let (dir, base) = match rel.rfind('/') {
            Some(i) => (&rel[..=i], &rel[i + 1..]),
            None => ("", rel),
        };
        Some(format!("{dir}{}", base.get(..m.name.len()).unwrap_or(base)))
    };
    let (rel_new, rel_old) = if old.path.starts_with(dirname) {
        (strip(new), strip(old))
    } else {
        (None, None)
    };
    for (ov, _) in &cfg.overrides {
        let entry = format!("{}/{}", ov.subdir, ov.modname);
        if rel_new.as_deref() == Some(entry.as_str()) {
            return false;
        }
        if rel_old.as_deref() == Some(entry.as_str()) {
            return true;
        }
    }
    let under = |rel: &Option<String>, dir: &str| -> bool {
        rel.as_deref().is_some_and(|r| {
            r.len() > dir.len() && r.starts_with(dir) && r.as_bytes()[dir.len()] == b'/'
        })
    };
    let abs_under = |p: &str, dir: &str| -> bool {
        p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/'
    };
    let (mut bprio, mut oldprio, mut newprio) = (-1i64, -1i64, -1i64);
    let mut i: i64 = 0;
    for se in search {
        match se {
            SearchEntry::BuiltIn => bprio = i,
            SearchEntry::External => {
                for (ext, _) in &cfg.externals {
                    let e = ext.to_string_lossy();
                    if abs_under(&new.path, &e) {
                        newprio = i;
                    }
                    if abs_under(&old.path, &e) {
                        oldprio = i;
                    }
                    i += 1;
                }
            }
            SearchEntry::Dir(d) => {
                if under(&rel_new, d) {
                    newprio = i;
                } else if under(&rel_old, d) {
                    oldprio = i;
                }
            }
        }
        i += 1;
    }
    if newprio < 0 {
        newprio = bprio;
    }
    if oldprio < 0 {
        oldprio = bprio;
    }
    newprio <= oldprio
}

/// Whether `p` names a module file under `exts`.
pub fn is_module_file(p: &Path, exts: Extensions) -> bool {
    p.file_name()
        .map(|n| exts.matches(&n.to_string_lossy()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::config::Override;

    fn src(path: &str) -> ModuleSource {
        let base = path.rsplit('/').next().unwrap();
        ModuleSource {
            name: modname_of(base),
            path: format!("/m/{path}"),
            relpath: Some(path.into()),
        }
    }

    #[test]
    fn names() {
        assert_eq!(modname_of("intel-uncore.ko.xz"), "intel_uncore");
        let s = src("kernel/fs/fat/fat.ko.xz");
        assert_eq!(s.uncompressed_relpath().unwrap(), "kernel/fs/fat/fat.ko");
        let e = Extensions { gzip: false };
        assert!(
            e.matches("a.ko")
                && e.matches("a.ko.zst")
                && !e.matches(".ko")
                && !e.matches("a.ko.gz")
        );
    }

    #[test]
    fn updates_beat_kernel_by_default() {
        let cfg = SearchConfig::default();
        let s = cfg.effective_search();
        assert!(!keep_old(
            "/m",
            &cfg,
            &s,
            &src("kernel/a/x.ko"),
            &src("updates/x.ko")
        ));
        assert!(keep_old(
            "/m",
            &cfg,
            &s,
            &src("updates/x.ko"),
            &src("kernel/a/x.ko")
        ));
        // Two unmatched: first found wins.
        assert!(keep_old(
            "/m",
            &cfg,
            &s,
            &src("kernel/a/x.ko"),
            &src("extra/x.ko")
        ));
        // Same search dir: the else-if quirk makes the last found win.
        assert!(!keep_old(
            "/m",
            &cfg,
            &s,
            &src("updates/a/x.ko"),
            &src("updates/b/x.ko")
        ));
    }

    /// The visitor sees every module file, the losing copy of a name included, and
    /// what it returned comes back with the copy that won; files open through it.
    #[test]
    fn visitor_sees_every_file_and_its_result_follows_the_winner() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/trees/updates-override/lib/modules/6.1.0-test"
        );
        let seen = std::sync::Mutex::new(Vec::new());
        let visit = |f: &FoundFile| {
            seen.lock().unwrap().push(f.path.to_string());
            let len = std::io::Read::read_to_end(&mut f.open().ok()?, &mut Vec::new()).ok()?;
            Some((f.path.to_string(), len))
        };
        let mut msgs = Vec::new();
        let cfg = SearchConfig::default();
        let found = discover_with(dir, &cfg, Extensions { gzip: false }, &mut msgs, &visit)
            .expect("fixture tree");
        let plain: Vec<ModuleSource> =
            discover(dir, &cfg, Extensions { gzip: false }, &mut Vec::new()).unwrap();
        assert_eq!(
            found.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
            plain
        );
        let seen = seen.into_inner().unwrap();
        assert!(found.iter().all(|(s, _)| seen.contains(&s.path)));
        assert!(
            seen.len() > found.len(),
            "the losing copy of a name is visited too: {seen:?}"
        );
        for (s, v) in &found {
            let (path, len) = v.as_ref().expect("visited and opened");
            assert_eq!(path, &s.path);
            assert_eq!(*len as u64, std::fs::metadata(&s.path).unwrap().len());
        }
    }

    #[test]
    fn override_wins() {
        let mut cfg = SearchConfig::default();
        cfg.overrides.push((
            Override {
                modname: "x".into(),
                subdir: "kernel/a".into(),
            },
            None,
        ));
        let s = cfg.effective_search();
        assert!(keep_old(
            "/m",
            &cfg,
            &s,
            &src("kernel/a/x.ko"),
            &src("updates/x.ko")
        ));
    }
}
