//! What a long run reports as it goes, for a caller that shows progress: phases and
//! counts of work, never how (or whether) they are shown.
//!
//! The library knows no terminal. A job takes its observer from the [`Log`] it is given
//! ([`Log::with_progress`]); the loader counts module files found and read
//! ([`crate::load::read_modules_hashed`], and the walk's visitor in `job/tree.rs`),
//! and `check` names its later phases. The `modpolicy` binary's observer draws a bar on
//! a terminal; the default, [`Silent`], does nothing.
//!
//! [`Log`]: crate::job::Log
//! [`Log::with_progress`]: crate::job::Log::with_progress

/// An observer of a run's progress. Calls come from any thread (the module readers run
/// in parallel), once per unit of work, so an implementation must be cheap.
pub trait Progress: Sync {
    /// A new phase starts: `what` names it (`reading modules of 6.1.0-47-amd64`);
    /// `total` is its units of work, 0 while unknown. The count starts at 0.
    fn phase(&self, what: &str, total: u64) {
        let _ = (what, total);
    }
    /// `n` more units of work are known (the walk found more module files to read).
    fn grow(&self, n: u64) {
        let _ = n;
    }
    /// `n` units of work are done.
    fn advance(&self, n: u64) {
        let _ = n;
    }
}

/// The observer that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// An observer that records every call, for tests.
    #[derive(Default)]
    pub struct Recorded {
        /// `(phase, total, grown, done)` per phase, in order.
        pub phases: Mutex<Vec<(String, u64, u64, u64)>>,
    }

    impl Progress for Recorded {
        fn phase(&self, what: &str, total: u64) {
            self.phases
                .lock()
                .unwrap()
                .push((what.to_string(), total, 0, 0));
        }
        fn grow(&self, n: u64) {
            if let Some(p) = self.phases.lock().unwrap().last_mut() {
                p.2 += n;
            }
        }
        fn advance(&self, n: u64) {
            if let Some(p) = self.phases.lock().unwrap().last_mut() {
                p.3 += n;
            }
        }
    }
}
