//! Where a job's messages go: a [`Sink`] for the two output streams, and [`Log`], which
//! formats kmod's message lines (`depmod: WARNING: ...`) and buffers them in order.
//!
//! The jobs print nothing themselves: every line kmod would print goes through the `Log`
//! given to the job, so the binary and a test (or another program reusing a job) decide
//! where it lands. [`StdStreams`] is the binary's sink. A `Log` also carries the run's
//! progress observer ([`Log::with_progress`]; by default [`Silent`]).

use crate::util::progress::{Progress, Silent};
use std::io::Write;
use std::sync::Mutex;

/// The two output streams of a job.
///
/// `stderr` carries kmod's and modpolicy's messages, `stdout` what kmod prints there
/// (`depmod -v`'s dependency lines). Writes are whole lines, in order; a sink may not
/// reorder or drop them, and errors writing are ignored, as kmod ignores them.
pub trait Sink: Sync {
    /// Appends `bytes` to the message stream.
    fn stderr(&self, bytes: &[u8]);
    /// Appends `bytes` to the output stream.
    fn stdout(&self, bytes: &[u8]);
}

/// The process's own standard error and standard output.
pub struct StdStreams;

impl Sink for StdStreams {
    fn stderr(&self, bytes: &[u8]) {
        let _ = std::io::stderr().lock().write_all(bytes);
    }
    fn stdout(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }
}

/// A sink that keeps everything, for tests and for callers that want the text.
#[derive(Default)]
pub struct Captured {
    /// What went to the message stream.
    pub stderr: Mutex<Vec<u8>>,
    /// What went to the output stream.
    pub stdout: Mutex<Vec<u8>>,
}

impl Sink for Captured {
    fn stderr(&self, bytes: &[u8]) {
        lock(&self.stderr).extend_from_slice(bytes);
    }
    fn stdout(&self, bytes: &[u8]) {
        lock(&self.stdout).extend_from_slice(bytes);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// kmod-style messages, with the program name kmod uses, on a [`Sink`]'s message stream.
///
/// Messages are buffered (a tree with a stub `System.map` and `-e` prints one warning per
/// vmlinux import: 147,544 lines on a full Debian 6.1 tree) and reach the sink, in order,
/// when the buffer fills, on [`Log::flush`], and when the `Log` is dropped. Whoever
/// writes to the sink directly while a `Log` is alive must call [`Log::flush`] first.
pub struct Log<'s> {
    /// kmod's verbosity (`-v` count).
    pub verbose: u8,
    /// The prefix, e.g. `depmod`.
    pub prog: &'static str,
    sink: &'s dyn Sink,
    progress: &'s dyn Progress,
    out: Mutex<Vec<u8>>,
}

/// How much [`Log`] keeps before writing.
const LOG_BUFFER: usize = 64 << 10;

impl<'s> Log<'s> {
    /// A log for `prog` at kmod verbosity `verbose`, writing to `sink`.
    pub fn new(prog: &'static str, verbose: u8, sink: &'s dyn Sink) -> Log<'s> {
        Log {
            verbose,
            prog,
            sink,
            progress: &Silent,
            out: Mutex::new(Vec::with_capacity(LOG_BUFFER)),
        }
    }
    /// This log, with `progress` told how the job's run goes. Whatever shows progress
    /// must keep the sink's lines intact (a terminal bar is cleared while a line is
    /// written).
    pub fn with_progress(mut self, progress: &'s dyn Progress) -> Log<'s> {
        self.progress = progress;
        self
    }
    /// The sink this log writes to.
    pub fn sink(&self) -> &'s dyn Sink {
        self.sink
    }
    /// The progress observer of this run.
    pub fn progress(&self) -> &'s dyn Progress {
        self.progress
    }
    /// `WARNING: ...`
    pub fn warn(&self, m: &str) {
        self.append(|b| self.warn_into(b, format_args!("{m}")));
    }
    /// Formats a `WARNING: ...` line into `buf`, for [`Log::write_lines`] later (lines
    /// can be formatted on any thread and written in order).
    pub fn warn_into(&self, buf: &mut Vec<u8>, m: std::fmt::Arguments<'_>) {
        let _ = writeln!(buf, "{}: WARNING: {m}", self.prog);
    }
    /// [`Log::warn_into`] for a message ending in bytes that may not be text (a symbol
    /// name as the module spells it, which kmod prints as it is).
    pub fn warn_into_raw(&self, buf: &mut Vec<u8>, m: std::fmt::Arguments<'_>, raw: &[u8]) {
        let _ = write!(buf, "{}: WARNING: {m}", self.prog);
        buf.extend_from_slice(raw);
        buf.push(b'\n');
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
    /// `FATAL: ...`, then everything buffered goes to the sink.
    pub fn fatal(&self, m: &str) {
        self.line(format_args!("{}: FATAL: {m}", self.prog));
        self.flush();
    }
    /// `INFO: ...` (shown from `-vv`).
    pub fn info(&self, m: &str) {
        if self.verbose >= 2 {
            self.line(format_args!("{}: INFO: {m}", self.prog));
        }
    }
    /// One line, as given.
    pub fn line(&self, args: std::fmt::Arguments<'_>) {
        self.append(|b| {
            let _ = b.write_fmt(args);
            b.push(b'\n');
        });
    }
    /// Adds to the buffer, writing it out once it holds [`LOG_BUFFER`] bytes.
    fn append(&self, add: impl FnOnce(&mut Vec<u8>)) {
        let mut b = lock(&self.out);
        add(&mut b);
        if b.len() >= LOG_BUFFER {
            self.sink.stderr(&b);
            b.clear();
        }
    }
    /// Writes what is buffered to the sink.
    pub fn flush(&self) {
        let mut b = lock(&self.out);
        if !b.is_empty() {
            self.sink.stderr(&b);
            b.clear();
        }
    }
}

impl Drop for Log<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_the_sink_in_order_when_flushed() {
        let sink = Captured::default();
        let log = Log::new("depmod", 0, &sink);
        log.warn("one");
        log.error("two");
        log.info("hidden below -vv");
        assert!(lock(&sink.stderr).is_empty(), "buffered until flushed");
        log.fatal("three");
        assert_eq!(
            String::from_utf8_lossy(&lock(&sink.stderr)),
            "depmod: WARNING: one\ndepmod: ERROR: two\ndepmod: FATAL: three\n"
        );
    }
}
