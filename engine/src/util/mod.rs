//! Small helpers shared by several stages: kmod's string hash and atomic file writing.
//!
//! Nothing here knows about modules, policies or the export graph.

pub mod atomic;
pub mod hash;
