//! Opening and reading input files without blocking and without unbounded reads.
//!
//! A FIFO or a device can sit where a module, a configuration file or a companion file
//! belongs (also behind a symlink). Opening a FIFO with no writer blocks, and reading
//! `/dev/zero` never ends, so every input is opened with `O_NONBLOCK | O_NOCTTY` and its
//! type checked on the open descriptor (`fstat`, no race with a rename) before a byte is
//! read: regular files always pass, pipes only where [`Accept::RegularOrPipe`] says so
//! (a `<(...)` process substitution on the command line), anything else is refused with
//! an error naming the file type. Text inputs are read with a limit; going past it is an
//! error naming the file's role and the limit.

use rustix::fs::{fcntl_getfl, fcntl_setfl, fstat, FileType, Mode, OFlags, Stat};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;

/// Which file types an input may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Regular files only (files inside a tree, included files).
    Regular,
    /// Regular files, and pipes (a path given on the command line, e.g. `<(zcat ...)`).
    /// A named FIFO with no writer reads as empty instead of blocking.
    RegularOrPipe,
    /// Regular files and character devices, read with a bound: where kmod reads a file
    /// with `fopen`/`fgets` whatever its type (`/dev/null` is an empty configuration;
    /// `/dev/zero` meets the bound instead of reading forever).
    RegularOrDevice,
    /// [`Accept::RegularOrDevice`] and pipes (a path given on the command line).
    Stream,
}

/// The name of a file type, as `ls -l` and `stat` word it.
pub fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

/// The error for a file of a type that is not accepted.
fn not_regular(t: FileType) -> io::Error {
    match t {
        FileType::Directory => io::Error::from_raw_os_error(libc::EISDIR),
        t => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file (a {})", type_name(t)),
        ),
    }
}

/// Opens `path` for reading without blocking on a FIFO or a device, and checks its type
/// on the open descriptor. The returned file reads in blocking mode (a regular file keeps
/// `O_NONBLOCK`, which reads of regular files ignore).
pub fn open_input(path: &Path, accept: Accept) -> io::Result<File> {
    open_input_stat(path, accept).map(|(f, _)| f)
}

/// [`open_input`], with the `fstat` of the open file.
pub fn open_input_stat(path: &Path, accept: Accept) -> io::Result<(File, Stat)> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    checked(File::from(fd), accept)
}

/// Opens `name` relative to the directory `dir` as [`open_input`] does.
pub fn open_input_at(dir: impl AsFd, name: &str, accept: Accept) -> io::Result<File> {
    open_input_at_stat(dir, name, accept).map(|(f, _)| f)
}

/// [`open_input_at`], with the `fstat` of the open file.
pub fn open_input_at_stat(dir: impl AsFd, name: &str, accept: Accept) -> io::Result<(File, Stat)> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    checked(File::from(fd), accept)
}

/// Checks the type of an open file and puts it back in blocking mode; returns it with
/// its `fstat`.
fn checked(file: File, accept: Accept) -> io::Result<(File, Stat)> {
    let st = fstat(&file)?;
    let t = FileType::from_raw_mode(st.st_mode);
    match (t, accept) {
        (FileType::RegularFile, _)
        | (FileType::Fifo, Accept::RegularOrPipe | Accept::Stream)
        | (FileType::CharacterDevice, Accept::RegularOrDevice | Accept::Stream) => {}
        (t, _) => return Err(not_regular(t)),
    }
    // `O_NONBLOCK` does nothing to reads of a regular file, so only a pipe or a device is
    // put back in blocking mode: two system calls saved per module file.
    if t != FileType::RegularFile {
        let fl = fcntl_getfl(&file)?;
        fcntl_setfl(&file, fl - OFlags::NONBLOCK)?;
    }
    Ok((file, st))
}

/// The error for an input larger than its limit: names the role and the limit.
pub fn too_large(what: &str, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than {limit} bytes, modpolicy's limit for {what}"),
    )
}

/// Reads an open file whole, failing with [`too_large`] past `limit` bytes (the read
/// itself stops there, whatever the file claims to be).
pub fn read_limited(file: File, what: &str, limit: u64) -> io::Result<Vec<u8>> {
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    if hint > limit {
        return Err(too_large(what, limit));
    }
    let mut out = Vec::with_capacity(hint as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(too_large(what, limit));
    }
    Ok(out)
}

/// [`open_input`] then [`read_limited`]: a text input, bounded, of an accepted type.
pub fn read_input(path: &Path, accept: Accept, what: &str, limit: u64) -> io::Result<Vec<u8>> {
    read_limited(open_input(path, accept)?, what, limit)
}

/// Limit on a `depmod.d` configuration file (real ones are a few hundred bytes).
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;
/// Limit on `Module.symvers` and `System.map` (a full kernel's are 2 and 6 MB).
pub const MAX_SYMBOL_FILE_SIZE: u64 = 512 << 20;
/// Limit on `modules.builtin` and `modules.builtin.modinfo` (a full kernel's are 20 and
/// 400 KB).
pub const MAX_BUILTIN_SIZE: u64 = 256 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn fifo(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        p
    }

    #[test]
    fn fifo_and_devices_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let f = fifo(d.path());
        let start = Instant::now();
        let e = open_input(&f, Accept::Regular).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a FIFO)");
        let e = read_input(Path::new("/dev/zero"), Accept::RegularOrPipe, "x", 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a character device)");
        // A writer-less FIFO where pipes are accepted reads as empty.
        assert_eq!(read_input(&f, Accept::RegularOrPipe, "x", 10).unwrap(), b"");
        assert!(start.elapsed() < Duration::from_secs(5));
        let e = open_input(d.path(), Accept::Regular).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EISDIR));
    }

    #[test]
    fn reads_are_bounded_and_name_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(
            read_input(&p, Accept::Regular, "tests", 10).unwrap(),
            b"0123456789"
        );
        let e = read_input(&p, Accept::Regular, "tests", 9).unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 9 bytes, modpolicy's limit for tests"
        );
        // A file whose size `stat` does not tell is cut at the limit all the same.
        let e =
            read_limited(File::open("/proc/self/status").unwrap(), "status files", 16).unwrap_err();
        assert!(e.to_string().contains("limit for status files"), "{e}");
    }
}
