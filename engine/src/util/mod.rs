//! Small helpers shared by several stages: kmod's string hash, atomic file writing, and
//! timing a step for `-vvv`.
//!
//! Nothing here knows about modules, policies or the export graph.

pub mod atomic;
pub mod hash;
pub mod heap;

/// Runs one step of a run, reporting how long it took at trace level (`-vvv`).
pub fn timed<T>(step: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    tracing::trace!(step, took = ?start.elapsed(), "done");
    out
}
