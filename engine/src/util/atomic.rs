//! Writing a set of artifacts so that a failure never leaves a half-written file.
//!
//! Every file is first written in full to a temporary name in its own directory (so the
//! final `rename` stays on one filesystem and is atomic); only when every temporary file
//! of the set is complete are they renamed over the old names. Any failure before the
//! renames removes the temporaries and leaves the previous artifacts untouched.

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

/// Writes every `(name, contents)` pair into `dir`, all or nothing up to the renames.
///
/// The renames happen in the order given, after every temporary file was written
/// successfully. Returns the first error; temporaries are always cleaned up.
pub fn write_set(
    dir: &Path,
    files: &[(&str, &[u8])],
    opts: WriteOptions,
) -> Result<(), WriteError> {
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (t, _) in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (name, contents) in files {
        let tmp = temp_name(dir, name);
        let target = dir.join(name);
        let res = write_one(&tmp, contents, opts);
        if let Err((what, source)) = res {
            let _ = fs::remove_file(&tmp);
            cleanup(&temps);
            return Err(WriteError {
                path: target,
                what,
                source,
            });
        }
        temps.push((tmp, target));
    }
    for i in 0..temps.len() {
        let (tmp, target) = &temps[i];
        if let Err(source) = fs::rename(tmp, target) {
            cleanup(&temps[i..]);
            return Err(WriteError {
                path: target.clone(),
                what: "cannot rename into place",
                source,
            });
        }
    }
    if opts.sync {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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
