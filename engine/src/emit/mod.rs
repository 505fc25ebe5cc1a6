//! Stage 5, **emit**: turning resolved results into artifacts.
//!
//! [`depmod`] renders the files `modprobe` reads. Rendering happens fully in memory;
//! the caller writes the set with [`crate::util::atomic::write_set`], so a failure
//! never leaves a half-written artifact. [`diag`] renders the findings of
//! `modpolicy check` as modpost text, human-readable reports, JSON and SARIF.

pub mod depmod;
pub mod diag;
