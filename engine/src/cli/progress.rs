//! The progress bar on stderr, the binary's [`Progress`] observer (indicatif).
//!
//! Shown only when it was asked for (by default for `check`, `abi` and `explain`; for
//! `depmod` only with `--progress`, since kmod's `depmod` shows none), stderr is a
//! terminal and `TERM` is not `dumb`; and then only once the run has lasted
//! [`DEFAULT_DELAY`], so a fast run never flashes a bar. `NO_COLOR` leaves it uncoloured.
//! `MODPOLICY_PROGRESS_DELAY_MS` sets the delay (tests use 0, to see a bar at once).
//!
//! A [`Bar`] is also the job's [`Sink`]: every line the job prints, and every log line
//! (see [`log_writer`]), clears the bar first and lets it redraw below, so no message is
//! ever cut by it. When no bar is shown, it writes exactly as [`StdStreams`] does.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use modpolicy::job::{Sink, StdStreams};
use modpolicy::util::progress::Progress;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a run goes before its bar appears.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// The environment variable that sets the delay, in milliseconds.
pub const DELAY_ENV: &str = "MODPOLICY_PROGRESS_DELAY_MS";

/// The bar shown now, if any: log lines written while it is drawn clear it first.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A run's progress bar, or nothing when none may be shown.
pub struct Bar {
    shown: Option<Shown>,
}

/// A bar that is drawn, or will be once the delay has passed.
struct Shown {
    bar: ProgressBar,
    /// Whether the current phase counts units of work (then it is drawn as a bar).
    counted: AtomicBool,
    colour: bool,
    /// Set once the run is over; wakes the thread waiting out the delay.
    over: Arc<(Mutex<bool>, Condvar)>,
    waiting: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Whether a bar may be drawn on this process's stderr.
fn terminal_allows() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// The delay before a bar appears: [`DELAY_ENV`] if it holds a number, else the default.
fn delay() -> Duration {
    std::env::var(DELAY_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_DELAY, Duration::from_millis)
}

/// Starts drawing `bar` on stderr, ticking so that a long phase still moves.
fn reveal(bar: &ProgressBar) {
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(120));
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
}

impl Bar {
    /// A bar for this run if `wanted` and the terminal allows one; it appears after the
    /// delay unless [`Bar::finish`] came first.
    pub fn new(wanted: bool) -> Bar {
        if !wanted || !terminal_allows() {
            return Bar { shown: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let over = Arc::new((Mutex::new(false), Condvar::new()));
        let wait = delay();
        let waiting = if wait.is_zero() {
            reveal(&bar);
            None
        } else {
            let (bar, over) = (bar.clone(), over.clone());
            Some(std::thread::spawn(move || {
                let (lock, cv) = &*over;
                let done = lock.lock().unwrap_or_else(|e| e.into_inner());
                let (done, _) = cv
                    .wait_timeout_while(done, wait, |done| !*done)
                    .unwrap_or_else(|e| e.into_inner());
                if !*done {
                    reveal(&bar);
                }
            }))
        };
        let shown = Shown {
            bar,
            counted: AtomicBool::new(false),
            colour,
            over,
            waiting: Mutex::new(waiting),
        };
        shown.style(false);
        shown.bar.set_message("starting");
        Bar { shown: Some(shown) }
    }

    /// The run is over: the bar is erased (or never appears). Call it before printing
    /// the run's output.
    pub fn finish(&self) {
        let Some(s) = &self.shown else { return };
        {
            let (lock, cv) = &*s.over;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cv.notify_all();
        }
        let waiting = s.waiting.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = waiting {
            let _ = t.join();
        }
        ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).take();
        s.bar.finish_and_clear();
    }

    /// Runs `f` with the bar cleared from the screen.
    fn around<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.shown {
            Some(s) => s.bar.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Shown {
    /// A bar when the phase counts work, a spinner when it does not; the phase's name
    /// last, cut to the terminal's width (a wrapped line would not be redrawn in place).
    fn style(&self, counted: bool) {
        let template = match (counted, self.colour) {
            (true, true) => "{spinner} [{bar:30.cyan/blue}] {pos}/{len} ({elapsed}) {wide_msg}",
            (true, false) => "{spinner} [{bar:30}] {pos}/{len} ({elapsed}) {wide_msg}",
            (false, _) => "{spinner} ({elapsed}) {wide_msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
    }
}

impl Progress for Bar {
    fn phase(&self, what: &str, total: u64) {
        let Some(s) = &self.shown else { return };
        let counted = total > 0;
        s.counted.store(counted, Ordering::Relaxed);
        s.style(counted);
        s.bar.set_position(0);
        if counted {
            s.bar.set_length(total);
        } else {
            s.bar.unset_length();
        }
        s.bar.reset_elapsed();
        s.bar.set_message(what.to_string());
    }
    fn grow(&self, n: u64) {
        let Some(s) = &self.shown else { return };
        if s.counted.swap(true, Ordering::Relaxed) {
            s.bar.inc_length(n);
        } else {
            s.bar.set_length(n);
            s.style(true);
        }
    }
    fn advance(&self, n: u64) {
        if let Some(s) = &self.shown {
            s.bar.inc(n);
        }
    }
}

impl Sink for Bar {
    fn stderr(&self, bytes: &[u8]) {
        self.around(|| StdStreams.stderr(bytes));
    }
    fn stdout(&self, bytes: &[u8]) {
        self.around(|| StdStreams.stdout(bytes));
    }
}

/// Where log lines go (`tracing`): stderr, with the bar shown now, if any, cleared while
/// a line is written.
pub fn log_writer() -> LogWriter {
    LogWriter
}

/// See [`log_writer`].
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(b) => b.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_unless_wanted_and_a_terminal() {
        // `cargo test` runs with stderr captured or piped: never a terminal here.
        assert!(Bar::new(false).shown.is_none());
        if !std::io::stderr().is_terminal() {
            assert!(Bar::new(true).shown.is_none());
        }
    }

    #[test]
    fn the_delay_is_a_second_unless_set() {
        // Read only; the variable is not set by the test harness.
        if std::env::var_os(DELAY_ENV).is_none() {
            assert_eq!(delay(), Duration::from_secs(1));
        }
    }
}
