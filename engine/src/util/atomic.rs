//! Writing a set of artifacts so that a failure never leaves a half-written file or a
//! half-replaced set.
//!
//! [`write_set`] works in three phases, all under an exclusive `flock` on the output
//! directory itself (so two runs on one tree take turns instead of interleaving, and no
//! lock file is left behind):
//!
//! 1. **Clean up** temporaries a killed earlier run left behind: only names of our own
//!    pattern, `.<name>.modpolicy-<pid>-<n>.tmp` (see [`is_own_temp`]). (On a filesystem
//!    without `flock` the set is written unlocked and this step is skipped.)
//! 2. **Write** every file in full to a temporary name in its own directory (so the final
//!    `rename` stays on one filesystem and is atomic). Any failure here (disk full, a
//!    file-size limit, a read-only directory) removes the temporaries and leaves the
//!    previous artifacts untouched.
//! 3. **Replace**, transactionally: each existing artifact is first hard-linked to a
//!    backup name (costs no space), then the temporaries are renamed over the old names
//!    in order. If a rename fails half way, the artifacts already replaced are restored
//!    from their backups (or removed, if they did not exist before) and the set is as it
//!    was. On success the backups are removed.
//!
//! A process killed (SIGKILL) during phase 2 leaves only temporaries, removed by the next
//! run. Killed during the few renames of phase 3, every file is still whole (old or new),
//! but the set may mix both until the next successful run.

use rayon::prelude::*;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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
    // The lock is released when `_lock` is dropped (or the process dies).
    let d = File::open(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        what: "cannot open the output directory",
        source,
    })?;
    let _lock = match d.lock() {
        Ok(()) => {
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

    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (t, _) in temps {
            let _ = fs::remove_file(t);
        }
    };
    // The temporary files are written in parallel; the renames below stay in order.
    let written: Vec<Result<(PathBuf, PathBuf), WriteError>> = files
        .par_iter()
        .map(|(name, contents)| {
            let tmp = temp_name(dir, name);
            let target = dir.join(name);
            match write_one(&tmp, contents, opts) {
                Ok(()) => Ok((tmp, target)),
                Err((what, source)) => {
                    let _ = fs::remove_file(&tmp);
                    Err(WriteError {
                        path: target,
                        what,
                        source,
                    })
                }
            }
        })
        .collect();
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    let mut first_err = None;
    for w in written {
        match w {
            Ok(t) => temps.push(t),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        cleanup(&temps);
        return Err(e);
    }

    // Backups of the artifacts about to be replaced: hard links, so no data is copied.
    // `None`: there was no file of that name (a directory is not backed up: renaming
    // over it fails, and the rollback below starts there).
    let mut backups: Vec<Option<PathBuf>> = Vec::with_capacity(temps.len());
    for (_, target) in &temps {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let existing = fs::symlink_metadata(target).ok().filter(|m| !m.is_dir());
        let backup = match existing {
            None => None,
            Some(_) => {
                let b = temp_name(dir, &name);
                match fs::hard_link(target, &b) {
                    Ok(()) => Some(b),
                    Err(source) => {
                        remove_backups(&backups);
                        cleanup(&temps);
                        return Err(WriteError {
                            path: target.clone(),
                            what: "cannot back up before replacing",
                            source,
                        });
                    }
                }
            }
        };
        backups.push(backup);
    }

    for i in 0..temps.len() {
        let (tmp, target) = &temps[i];
        if let Err(source) = rename(tmp, target) {
            // Undo the renames already done, newest first, then drop the rest.
            for j in (0..i).rev() {
                let t = &temps[j].1;
                match &backups[j] {
                    Some(b) => {
                        let _ = fs::rename(b, t);
                    }
                    None => {
                        let _ = fs::remove_file(t);
                    }
                }
            }
            remove_backups(&backups[i..]);
            cleanup(&temps[i..]);
            return Err(WriteError {
                path: target.clone(),
                what: "cannot rename into place (every artifact was restored)",
                source,
            });
        }
    }
    remove_backups(&backups);
    if opts.sync {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Removes the backups, on all cores: unlinking the last name of a replaced file frees
/// its pages, which for a megabyte-sized index takes longer than writing it did.
fn remove_backups(backups: &[Option<PathBuf>]) {
    backups.par_iter().flatten().for_each(|b| {
        let _ = fs::remove_file(b);
    });
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
