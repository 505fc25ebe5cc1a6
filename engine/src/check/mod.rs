//! Stage 4, **check**: built-in checks over the resolved graph, one module per check.
//!
//! A check takes the graph, its resolution and the policy engine, and returns findings;
//! it does no IO and prints nothing. Levels come from the policy (and the command line,
//! applied later by the caller).

pub mod exports;

use crate::diag::Finding;
use crate::graph::ExportGraph;
use crate::policy::engine::PolicyEngine;
use crate::resolve::Resolution;

/// What every check sees.
pub struct CheckContext<'a> {
    /// The graph.
    pub graph: &'a ExportGraph,
    /// Its resolution under the policy.
    pub resolution: &'a Resolution,
    /// The policy applied.
    pub engine: &'a PolicyEngine<'a>,
}

/// Runs every built-in check, in a fixed order, and returns the findings sorted by
/// module array position, then symbol.
pub fn run_all(cx: &CheckContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(exports::duplicate_exports(cx));
    out.extend(exports::vmlinux_conflicts(cx));
    out
}
