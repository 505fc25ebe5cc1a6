//! Writing a set of artifacts so that a failure never leaves a half-written file or a
//! half-replaced set.
//!
//! [`write_set`] (or [`Staging`], the same in steps) works in three phases, all under an
//! exclusive `flock` on the output directory itself (so two runs on one tree take turns
//! instead of interleaving, and no lock file is left behind):
//!
//! 1. **Clean up** temporaries a killed earlier run left behind: only names of our own
//!    pattern, `.<name>.modpolicy-<pid>-<n>.tmp` (see [`is_own_temp`]). (On a filesystem
//!    without `flock` the set is written unlocked and this step is skipped.)
//! 2. **Write** every file in full to a temporary name in its own directory (so the final
//!    `rename` stays on one filesystem and is atomic), start its writeback, and hard-link
//!    the artifact it will replace to a backup name (costs no space). Any failure here
//!    (disk full, a file-size limit, a read-only directory) removes the temporaries and
//!    backups and leaves the previous artifacts untouched.
//! 3. **Replace**, transactionally: the temporaries are renamed over the old names in
//!    order. If a rename fails half way, the artifacts already replaced are restored
//!    from their backups (or removed, if they did not exist before) and the set is as it
//!    was. On success the backups are removed.
//!
//! Before the first rename, a **journal** (`.modpolicy-journal`) listing the set (each
//! artifact's temporary and backup names, size and CRC-32) is written and flushed to
//! disk with the directory; it is removed after the last rename. A run that finds a
//! journal (phase 1, under the lock, before anything else) completes the interrupted set:
//! forward, when every new file is whole (it always is after a kill: the temporaries
//! were complete before the journal was written), or back to the backups, when one is
//! not (after a crash that lost data not yet on disk). See [`recover`].
//!
//! A process killed (SIGKILL) during phase 2 leaves only temporaries, removed by the next
//! run. Killed during the few renames of phase 3, every file is still whole (old or new),
//! and the set may mix both until the next run that writes to the directory, which
//! completes it first (a `modprobe` reading during the renames, or before that next run,
//! can see the mix).

use rayon::prelude::*;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// A failure while writing an artifact set; names the file involved.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}: {source}", path.display())]
pub struct WriteError {
    /// The file being written or renamed.
    pub path: PathBuf,
    /// What was being done.
    pub what: &'static str,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn temp_name(dir: &Path, name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.modpolicy-{}-{n}.tmp", std::process::id()))
}

/// The journal's name in the output directory (not a temporary name: the clean-up of
/// phase 1 leaves it to [`recover`]).
pub const JOURNAL: &str = ".modpolicy-journal";

/// The journal's first line (format version).
const JOURNAL_HEADER: &str = "modpolicy-journal 1";

/// Options for [`write_set`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Flush each temporary file to stable storage before renaming it (`fsync`).
    pub sync: bool,
}

/// Whether `file_name` is one of our temporary (or backup) names,
/// `.<name>.modpolicy-<pid>-<n>.tmp`: the only names the clean-up phase removes.
pub fn is_own_temp(file_name: &str) -> bool {
    let Some(rest) = file_name
        .strip_prefix('.')
        .and_then(|r| r.strip_suffix(".tmp"))
    else {
        return false;
    };
    let Some((name, ids)) = rest.rsplit_once(".modpolicy-") else {
        return false;
    };
    let Some((pid, n)) = ids.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !name.is_empty() && digits(pid) && digits(n)
}

/// Removes every file of our temporary pattern in `dir` (left by a killed run). Only
/// called with the directory lock held, so no live run owns any of them.
fn remove_stray_temps(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(n) = name.to_str() else { continue };
        if is_own_temp(n) && e.file_type().is_ok_and(|t| !t.is_dir()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Writes every `(name, contents)` pair into `dir`: all of them or none.
///
/// Runs the three phases described in the [module documentation](self), holding an
/// exclusive lock on `dir`. Returns the first error; on any error the files in `dir` are
/// as they were before the call (except for stray temporaries of earlier killed runs,
/// which are removed), and no temporary or backup file of this call remains.
pub fn write_set(
    dir: &Path,
    files: &[(&str, &[u8])],
    opts: WriteOptions,
) -> Result<(), WriteError> {
    let staging = Staging::begin(dir, opts)?;
    staging.stage_all(files)?;
    let order: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    staging.commit(&order)
}

/// An artifact set being written: [`write_set`] in steps, so that files can be written
/// to their temporary names as soon as each is ready (from any thread) while the rest
/// of the set is still being computed.
///
/// [`Staging::begin`] locks the directory and cleans up (phase 1), [`Staging::stage`]
/// writes one temporary file and backs up the artifact it will replace (phase 2 and the
/// first step of phase 3), [`Staging::commit`] renames the set into place. Dropping a
/// `Staging` that was not committed removes every temporary and backup it made, so an
/// error anywhere before the commit leaves the directory as it was.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    opts: WriteOptions,
    /// The locked directory; the lock is released when this is dropped.
    _lock: Option<File>,
    /// Every file staged so far.
    staged: Mutex<Vec<Staged>>,
}

/// One staged file.
#[derive(Debug)]
struct Staged {
    /// The artifact's name in the directory.
    name: String,
    /// Its new contents, in full, under a temporary name.
    tmp: PathBuf,
    /// A hard link to the artifact it replaces (`None`: there was none).
    backup: Option<PathBuf>,
    /// The new contents' size and CRC-32, for the journal.
    len: u64,
    crc: u32,
}

impl Staged {
    fn discard(&self) {
        let _ = fs::remove_file(&self.tmp);
        if let Some(b) = &self.backup {
            let _ = fs::remove_file(b);
        }
    }
}

impl Staging {
    /// Opens and locks `dir` and removes stray temporaries of killed runs.
    pub fn begin(dir: &Path, opts: WriteOptions) -> Result<Staging, WriteError> {
        let d = File::open(dir).map_err(|source| WriteError {
            path: dir.to_path_buf(),
            what: "cannot open the output directory",
            source,
        })?;
        let lock = match d.lock() {
            Ok(()) => {
                recover(dir);
                remove_stray_temps(dir);
                Some(d)
            }
            // A filesystem without `flock` (some network filesystems): write anyway, but
            // leave other temporaries alone, since a live run may own them.
            Err(e) => {
                tracing::warn!(
                    "cannot lock {}: {e}; stray temporaries are not cleaned",
                    dir.display()
                );
                None
            }
        };
        Ok(Staging {
            dir: dir.to_path_buf(),
            opts,
            _lock: lock,
            staged: Mutex::new(Vec::new()),
        })
    }

    /// Writes `contents` in full to a temporary name for the artifact `name`, and backs
    /// up the artifact it will replace (a hard link, so no data is copied; a directory
    /// is not backed up: renaming over it fails at the commit, which then restores the
    /// set). On failure nothing of this file remains (the other staged files are removed
    /// when the `Staging` is dropped).
    pub fn stage(&self, name: &str, contents: &[u8]) -> Result<(), WriteError> {
        let tmp = temp_name(&self.dir, name);
        let target = self.dir.join(name);
        if let Err((what, source)) = write_one(&tmp, contents, self.opts) {
            let _ = fs::remove_file(&tmp);
            return Err(WriteError {
                path: target,
                what,
                source,
            });
        }
        let existing = fs::symlink_metadata(&target).ok().filter(|m| !m.is_dir());
        let backup = match existing {
            None => None,
            Some(_) => {
                let b = temp_name(&self.dir, name);
                if let Err(source) = fs::hard_link(&target, &b) {
                    let _ = fs::remove_file(&tmp);
                    return Err(WriteError {
                        path: target,
                        what: "cannot back up before replacing",
                        source,
                    });
                }
                Some(b)
            }
        };
        self.staged_list().push(Staged {
            name: name.to_string(),
            tmp,
            backup,
            len: contents.len() as u64,
            crc: crc32fast::hash(contents),
        });
        Ok(())
    }

    /// Stages every file, in parallel; the error returned is that of the first failing
    /// file in `files` order.
    pub fn stage_all(&self, files: &[(&str, &[u8])]) -> Result<(), WriteError> {
        let results: Vec<Result<(), WriteError>> = files
            .par_iter()
            .map(|(name, contents)| self.stage(name, contents))
            .collect();
        results.into_iter().collect()
    }

    /// Whether a file for the artifact `name` has been staged.
    pub fn has(&self, name: &str) -> bool {
        self.staged_list().iter().any(|s| s.name == name)
    }

    fn staged_list(&self) -> std::sync::MutexGuard<'_, Vec<Staged>> {
        // A panic while holding the lock leaves a consistent list: keep using it.
        self.staged.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Renames the staged versions of the artifacts `order` names (each staged before)
    /// over them, in that order, transactionally: if a rename fails, the artifacts
    /// already replaced are restored from their backups (or removed, if they did not
    /// exist before) and the set is as it was. On success the backups are removed.
    /// Staged files not in `order` are discarded.
    pub fn commit(self, order: &[&str]) -> Result<(), WriteError> {
        let mut staged = std::mem::take(&mut *self.staged_list());
        let mut set: Vec<Staged> = Vec::with_capacity(order.len());
        let mut missing = None;
        for name in order {
            match staged.iter().position(|s| s.name == *name) {
                Some(i) => set.push(staged.swap_remove(i)),
                None => {
                    missing.get_or_insert(*name);
                }
            }
        }
        staged.iter().for_each(Staged::discard);
        if let Some(name) = missing {
            set.iter().for_each(Staged::discard);
            return Err(WriteError {
                path: self.dir.join(name),
                what: "cannot replace",
                source: io::Error::other("it was never written"),
            });
        }
        // The journal, on disk before the first rename (only under the lock: without it,
        // another run could be using the same name).
        let journal = self.dir.join(JOURNAL);
        if self._lock.is_some() {
            if let Err(source) = write_journal(&self.dir, &set) {
                let _ = fs::remove_file(&journal);
                set.iter().for_each(Staged::discard);
                return Err(WriteError {
                    path: journal,
                    what: "cannot write the journal (nothing was replaced)",
                    source,
                });
            }
        }
        for i in 0..set.len() {
            let target = self.dir.join(&set[i].name);
            if let Err(source) = rename(&set[i].tmp, &target) {
                // Undo the renames already done, newest first, then drop the rest.
                for done in set[..i].iter().rev() {
                    let t = self.dir.join(&done.name);
                    match &done.backup {
                        Some(b) => {
                            let _ = fs::rename(b, &t);
                        }
                        None => {
                            let _ = fs::remove_file(&t);
                        }
                    }
                }
                set[i..].iter().for_each(Staged::discard);
                let _ = fs::remove_file(&journal);
                return Err(WriteError {
                    path: target,
                    what: "cannot rename into place (every artifact was restored)",
                    source,
                });
            }
        }
        set.par_iter().for_each(|s| {
            if let Some(b) = &s.backup {
                let _ = fs::remove_file(b);
            }
        });
        if self._lock.is_some() {
            let _ = fs::remove_file(&journal);
        }
        if self.opts.sync {
            if let Ok(d) = File::open(&self.dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.staged_list().drain(..).for_each(|s| s.discard());
    }
}

/// One line of the journal: what [`recover`] needs of a staged file.
fn journal_line(s: &Staged) -> serde_json::Value {
    let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    serde_json::json!({
        "name": s.name,
        "tmp": name_of(&s.tmp),
        "backup": s.backup.as_deref().and_then(name_of),
        "len": s.len,
        "crc": s.crc,
    })
}

/// Writes the journal of `set` and flushes it and the directory (so the backups' and
/// temporaries' names are on disk too) before any rename.
fn write_journal(dir: &Path, set: &[Staged]) -> io::Result<()> {
    let mut text = format!("{JOURNAL_HEADER}\n");
    for s in set {
        text.push_str(&journal_line(s).to_string());
        text.push('\n');
    }
    text.push_str("end\n");
    let path = dir.join(JOURNAL);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    File::open(dir)?.sync_all()
}

/// One journal entry, read back.
#[derive(Debug)]
struct Entry {
    name: String,
    tmp: String,
    backup: Option<String>,
    len: u64,
    crc: u32,
}

/// Reads a journal; `None` if it is incomplete or not ours (then no rename was done:
/// the journal is complete on disk before the first).
fn read_journal(text: &str) -> Option<Vec<Entry>> {
    let mut lines = text.lines();
    if lines.next()? != JOURNAL_HEADER || !text.ends_with("end\n") {
        return None;
    }
    let plain = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
    let mut out = Vec::new();
    for l in lines {
        if l == "end" {
            return Some(out);
        }
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        let e = Entry {
            name: v["name"].as_str()?.to_string(),
            tmp: v["tmp"].as_str()?.to_string(),
            backup: v["backup"].as_str().map(str::to_string),
            len: v["len"].as_u64()?,
            crc: u32::try_from(v["crc"].as_u64()?).ok()?,
        };
        // Only names inside the directory, and temporaries of our own pattern.
        if !plain(&e.tmp)
            || !is_own_temp(&e.tmp)
            || e.backup
                .as_deref()
                .is_some_and(|b| !plain(b) || !is_own_temp(b))
        {
            return None;
        }
        out.push(e);
    }
    None
}

/// Whether the file at `path` has exactly `len` bytes with CRC-32 `crc`.
fn holds(path: &Path, len: u64, crc: u32) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.len() == len => {
            fs::read(path).is_ok_and(|b| crc32fast::hash(&b) == crc)
        }
        _ => false,
    }
}

/// How [`recover`] completed an interrupted set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// No journal, or one written before any rename: nothing to do.
    Nothing,
    /// Every new file was whole: the remaining renames were done.
    Forward,
    /// A new file was missing or damaged: the replaced artifacts were restored.
    Back,
}

/// Completes a set whose renames were interrupted (the process killed, or the machine
/// stopped, between the first and the last rename), from the journal in `dir`. Call with
/// the directory locked, before anything else touches it. Idempotent: a recovery that
/// is itself interrupted is completed by the next.
pub fn recover(dir: &Path) -> Recovery {
    let path = dir.join(JOURNAL);
    let Ok(text) = fs::read_to_string(&path) else {
        return Recovery::Nothing;
    };
    let Some(entries) = read_journal(&text) else {
        let _ = fs::remove_file(&path);
        return Recovery::Nothing;
    };
    // Where each new file is: still under its temporary name, or renamed into place.
    let whole = entries.iter().all(|e| {
        let tmp = dir.join(&e.tmp);
        if tmp.exists() {
            holds(&tmp, e.len, e.crc)
        } else {
            holds(&dir.join(&e.name), e.len, e.crc)
        }
    });
    let how = if whole {
        for e in &entries {
            let tmp = dir.join(&e.tmp);
            if tmp.exists() {
                let _ = fs::rename(&tmp, dir.join(&e.name));
            }
        }
        Recovery::Forward
    } else {
        // Newest first, as a failed rename is undone.
        for e in entries.iter().rev() {
            let (tmp, target) = (dir.join(&e.tmp), dir.join(&e.name));
            if tmp.exists() {
                continue; // never renamed: the artifact is the old one
            }
            match &e.backup {
                Some(b) if dir.join(b).exists() => {
                    let _ = fs::rename(dir.join(b), &target);
                }
                // Restored already by an interrupted recovery.
                Some(_) => {}
                // There was no artifact before: remove the new one.
                None => {
                    let _ = fs::remove_file(&target);
                }
            }
        }
        Recovery::Back
    };
    for e in &entries {
        let _ = fs::remove_file(dir.join(&e.tmp));
        if let Some(b) = &e.backup {
            let _ = fs::remove_file(dir.join(b));
        }
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    let _ = fs::remove_file(&path);
    tracing::info!(
        "{}: completed an interrupted artifact set ({how:?})",
        dir.display()
    );
    how
}

/// Starts writing a finished temporary file out to disk, without waiting.
///
/// Renaming a file over an existing one makes ext4 (and btrfs) push the new file's data
/// to disk first, inside the rename, so that a crash cannot leave an empty artifact; kmod
/// pays that in its renames too. Starting it here, as soon as the file is written, does
/// the same work earlier and in parallel, and the rename finds it done. Best effort:
/// errors are ignored (a filesystem without it just does what it did before).
fn start_writeback(f: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on a file descriptor we own; no memory is passed.
        unsafe {
            libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = f;
}

/// `fs::rename`, with a failure injected at the rename of a chosen file in unit tests.
fn rename(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(test)]
    if tests::FAIL_RENAME_OF
        .with(|f| f.borrow().as_deref() == to.file_name().and_then(|n| n.to_str()))
    {
        return Err(io::Error::other("injected rename failure"));
    }
    fs::rename(from, to)
}

fn write_one(
    tmp: &Path,
    contents: &[u8],
    opts: WriteOptions,
) -> Result<(), (&'static str, io::Error)> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| ("cannot create temporary file", e))?;
    f.write_all(contents).map_err(|e| ("cannot write", e))?;
    if opts.sync {
        f.sync_all().map_err(|e| ("cannot flush to disk", e))?;
    } else {
        start_writeback(&f);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// The file name whose rename [`rename`] fails (unit tests only).
        pub(super) static FAIL_RENAME_OF: std::cell::RefCell<Option<String>> =
            const { std::cell::RefCell::new(None) };
    }

    #[test]
    fn writes_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), b"old").unwrap();
        write_set(
            d.path(),
            &[("a", b"new"), ("b", b"bee")],
            WriteOptions::default(),
        )
        .unwrap();
        assert_eq!(fs::read(d.path().join("a")).unwrap(), b"new");
        assert_eq!(fs::read(d.path().join("b")).unwrap(), b"bee");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[test]
    fn failure_before_renames_keeps_old_files() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), b"old").unwrap();
        // A name with a slash into a missing directory cannot be created.
        let err = write_set(
            d.path(),
            &[("a", b"new"), ("missing/b", b"x")],
            WriteOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing/b"), "{err}");
        assert_eq!(fs::read(d.path().join("a")).unwrap(), b"old");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}

#[cfg(test)]
mod transaction_tests {
    use super::tests::FAIL_RENAME_OF;
    use super::*;

    fn listing(d: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let c = fs::read(e.path()).unwrap_or_default();
                (n, c)
            })
            .collect();
        v.sort();
        v
    }

    /// A set whose renames stopped after `k` of 3 (a kill), optionally with one new file
    /// damaged (a crash that lost data): the next `recover` completes it forward, or
    /// back to the old set, and leaves nothing else behind.
    #[test]
    fn interrupted_renames_are_completed_by_recovery() {
        for k in 0..=3 {
            for damage in [false, true] {
                let d = tempfile::tempdir().unwrap();
                fs::write(d.path().join("a"), b"old-a").unwrap();
                fs::write(d.path().join("b"), b"old-b").unwrap();
                let old = listing(d.path());
                let st = Staging::begin(d.path(), WriteOptions::default()).unwrap();
                st.stage_all(&[("a", b"new-a"), ("b", b"new-b"), ("c", b"new-c")])
                    .unwrap();
                let mut set = std::mem::take(&mut *st.staged_list());
                set.sort_by(|x, y| x.name.cmp(&y.name));
                write_journal(d.path(), &set).unwrap();
                for s in &set[..k] {
                    fs::rename(&s.tmp, d.path().join(&s.name)).unwrap();
                }
                if damage {
                    let c = if k == 3 {
                        d.path().join("c")
                    } else {
                        set[2].tmp.clone()
                    };
                    fs::write(c, b"new-").unwrap();
                }
                drop(st);
                let how = recover(d.path());
                let want = if damage {
                    old.clone()
                } else {
                    vec![
                        ("a".to_string(), b"new-a".to_vec()),
                        ("b".to_string(), b"new-b".to_vec()),
                        ("c".to_string(), b"new-c".to_vec()),
                    ]
                };
                assert_eq!(listing(d.path()), want, "k={k} damage={damage}");
                let expect = if damage {
                    Recovery::Back
                } else {
                    Recovery::Forward
                };
                assert_eq!(how, expect, "k={k} damage={damage}");
                assert_eq!(recover(d.path()), Recovery::Nothing);
            }
        }
    }

    /// A journal cut short was written before any rename: it is dropped, and the
    /// artifacts stay as they are.
    #[test]
    fn incomplete_journal_is_ignored() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), b"old-a").unwrap();
        fs::write(
            d.path().join(JOURNAL),
            format!("{JOURNAL_HEADER}\n{{\"name\":"),
        )
        .unwrap();
        assert_eq!(recover(d.path()), Recovery::Nothing);
        assert_eq!(
            listing(d.path()),
            vec![("a".to_string(), b"old-a".to_vec())]
        );
    }

    #[test]
    fn own_temp_pattern() {
        assert!(is_own_temp(".modules.dep.modpolicy-123-0.tmp"));
        assert!(is_own_temp(".modules.dep.bin.modpolicy-1-99.tmp"));
        for n in [
            "modules.dep",
            ".modules.dep.modpolicy-12a-0.tmp",
            ".modules.dep.modpolicy--0.tmp",
            ".modpolicy-1-2.tmp",
            ".x.modpolicy-1-2.tmp.bak",
            ".x.other-1-2.tmp",
        ] {
            assert!(!is_own_temp(n), "{n}");
        }
    }

    /// A rename failing at each position restores the whole set, byte for byte, and
    /// leaves no temporary or backup; a file that did not exist before is removed again.
    #[test]
    fn failing_rename_at_any_position_restores_the_set() {
        let names = ["a", "b", "c", "d"];
        for fail in names {
            let d = tempfile::tempdir().unwrap();
            for n in &names[..3] {
                fs::write(d.path().join(n), format!("old {n}")).unwrap();
            }
            let before = listing(d.path());
            FAIL_RENAME_OF.with(|f| *f.borrow_mut() = Some(fail.to_string()));
            let files: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &b"new"[..])).collect();
            let err = write_set(d.path(), &files, WriteOptions::default()).unwrap_err();
            FAIL_RENAME_OF.with(|f| *f.borrow_mut() = None);
            assert!(err.to_string().contains("restored"), "{err}");
            assert_eq!(listing(d.path()), before, "failing at {fail}");
        }
    }

    /// A directory holding one artifact `a`, and its listing.
    fn dir_with_old_a() -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), b"old a").unwrap();
        let before = listing(d.path());
        (d, before)
    }

    /// A set staged in steps and dropped before the commit (a later stage failed):
    /// the directory is as it was, with no temporary or backup left.
    #[test]
    fn dropping_an_uncommitted_staging_leaves_the_directory_as_it_was() {
        let (d, before) = dir_with_old_a();
        let s = Staging::begin(d.path(), WriteOptions::default()).unwrap();
        s.stage("a", b"new a").unwrap();
        s.stage("b", b"new b").unwrap();
        assert!(s.has("a") && s.has("b") && !s.has("c"));
        assert!(
            listing(d.path()).len() > before.len(),
            "temporaries and a backup"
        );
        drop(s);
        assert_eq!(listing(d.path()), before);
    }

    /// Files staged early and late are committed in the order given; a name never
    /// staged fails the commit and changes nothing.
    #[test]
    fn commit_in_order_and_refuse_an_unstaged_name() {
        let (d, before) = dir_with_old_a();
        let s = Staging::begin(d.path(), WriteOptions::default()).unwrap();
        s.stage_all(&[("b", b"new b")]).unwrap();
        s.stage("a", b"new a").unwrap();
        let err = s.commit(&["a", "b", "c"]).unwrap_err();
        assert!(err.to_string().contains("never written"), "{err}");
        assert_eq!(listing(d.path()), before);

        let s = Staging::begin(d.path(), WriteOptions::default()).unwrap();
        s.stage("b", b"new b").unwrap();
        s.stage("a", b"new a").unwrap();
        s.stage("x", b"not in the set").unwrap();
        s.commit(&["a", "b"]).unwrap();
        assert_eq!(
            listing(d.path()),
            [
                ("a".into(), b"new a".to_vec()),
                ("b".into(), b"new b".to_vec())
            ]
        );
    }

    #[test]
    fn stray_temps_of_killed_runs_are_removed() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(".a.modpolicy-999999-3.tmp"), b"half").unwrap();
        fs::write(d.path().join(".keep.me.tmp"), b"not ours").unwrap();
        write_set(d.path(), &[("a", b"new")], WriteOptions::default()).unwrap();
        let names: Vec<String> = listing(d.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [".keep.me.tmp", "a"]);
    }

    #[test]
    fn directory_in_the_way_fails_and_restores() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), b"old").unwrap();
        fs::create_dir(d.path().join("b")).unwrap();
        fs::write(d.path().join("b/x"), b"x").unwrap();
        let err = write_set(
            d.path(),
            &[("a", b"new"), ("b", b"new"), ("c", b"new")],
            WriteOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/b:"), "{err}");
        assert_eq!(fs::read(d.path().join("a")).unwrap(), b"old");
        let names: Vec<String> = listing(d.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
