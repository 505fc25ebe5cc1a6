//! Small helpers shared by several stages: kmod's string hash, atomic file writing,
//! opening inputs without blocking and reading them bounded, timing a step for `-vvv`,
//! and the progress observer a long run reports to.
//!
//! Nothing here knows about modules, policies or the export graph.

pub mod atomic;
pub mod fs;
pub mod hash;
pub mod heap;
pub mod progress;

/// Runs one step of a run, reporting how long it took at trace level (`-vvv`).
pub fn timed<T>(step: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    tracing::trace!(step, took = ?start.elapsed(), "done");
    out
}

/// Reorders `items` so that the `k`-th item is the one that was at `order[k]`; `order`
/// is a permutation of `0..items.len()`. Each item is moved twice, whatever its size
/// (sorting large items in place moves each of them many times).
pub fn permute<T>(items: &mut Vec<T>, order: impl IntoIterator<Item = usize>) {
    let mut taken: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .into_iter()
            .map(|i| taken[i].take().expect("a permutation names each item once")),
    );
}
