//! The jobs: each of modpolicy's commands run end to end, as library functions.
//!
//! A job takes a typed options struct and a [`Log`] (where kmod-style messages go, see
//! [`log`]), and owns everything between: loading (an installed tree, [`tree`], or a
//! build directory, [`build`]), resolution, the checks, the plugins, and for `depmod` the
//! write schedule and staging. It returns a typed outcome, or a [`Stop`] saying why it
//! stopped. The binary's `cli` module only parses arguments into options, prints
//! outcomes and maps them to exit codes.
//!
//! - [`depmod::run`]: kmod's `depmod`, writing the artifacts (or returning them for `-n`);
//! - [`check::run`]: modpost's checks and more, over trees and build directories;
//! - [`explain::run`]: why a symbol has its provider, how a module's imports resolved;
//! - [`abi::run`]: the ABI gate, a baseline's exports against a new kernel's;
//! - [`policy`]: `import-depmod-conf`, `import-kabi-rules` and `lint`;
//! - [`scaffold`]: a new plugin's directory;
//! - [`system`]: the build-time module directory and the system policy layers.

pub mod abi;
pub mod build;
pub mod check;
pub mod depmod;
pub mod explain;
pub mod export_map;
pub mod log;
pub mod policy;
pub mod scaffold;
pub mod shortcut;
pub mod system;
pub mod tree;

pub use log::{Log, Sink, StdStreams};

use crate::policy::model::Date;
use crate::policy::{Policy, PolicyError};
use std::path::PathBuf;

/// Why a job stopped without an outcome.
#[derive(Debug)]
pub enum Stop {
    /// What went wrong has been reported through the [`Log`] already (kmod's wording:
    /// a bad version, a dependency cycle, ...).
    Reported,
    /// A fatal error, not yet reported: kmod prints it last, as `PROG: FATAL: ...`.
    Fatal(String),
    /// The policy files could not be loaded (every problem, with its span).
    Policy(PolicyError),
    /// Findings at level `deny` (printed through the [`Log`]): nothing was written.
    Denied {
        /// How many.
        count: usize,
    },
}

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Time since the process started its work (the first call), for `-vv` phase timings.
pub fn elapsed() -> std::time::Duration {
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// Today's date for `expires`: `MODPOLICY_TODAY` (YYYY-MM-DD) if set, else the clock.
pub fn today() -> Date {
    std::env::var("MODPOLICY_TODAY")
        .ok()
        .and_then(|s| Date::parse(&s))
        .unwrap_or_else(Date::today)
}

/// Loads the system policy layers under `root` (`-b`, or `/`; see [`system`]) and the
/// `--policy` files above them, or `default` when there is no policy file anywhere.
pub fn load_system_policy(
    root: Option<&str>,
    paths: &[PathBuf],
    kver: &str,
    default: impl FnOnce() -> Policy,
) -> Result<Policy, Stop> {
    let layers = system::policy_layers(root, paths).map_err(Stop::Fatal)?;
    let files: Vec<PathBuf> = layers.files.into_iter().map(|l| l.path).collect();
    load_policy(&files, kver, default)
}

/// Loads `--policy` files, or `default` when there are none.
pub fn load_policy(
    paths: &[PathBuf],
    kver: &str,
    default: impl FnOnce() -> Policy,
) -> Result<Policy, Stop> {
    if paths.is_empty() {
        return Ok(default());
    }
    crate::policy::load(paths, kver).map_err(Stop::Policy)
}
