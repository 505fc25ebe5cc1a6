//! Stage 4, **check**: built-in checks over the resolved graph, one module per check.
//!
//! A check takes the graph, its resolution and the policy engine, and returns findings
//! ([`level::Raw`]: at their code's default level, with what the policy decides on); it
//! does no IO and prints nothing. Levels are decided later, in one step for every
//! finding: [`level::Levels::decide`] (the policy, then the command line).
//!
//! [`run_all`] is what `depmod` reports; [`run_check`] is `modpolicy check`: modpost's
//! checks (worded as modpost words them, in modpost's output order) and the checks no
//! tool has, over the graph plus a [`subject::Subject`].

pub mod crc;
pub mod cycles;
pub mod description;
pub mod exported_twice;
pub mod exports;
pub mod gpl_only;
pub mod level;
pub mod license;
pub mod ns_missing;
pub mod ns_unneeded;
pub mod softdeps;
pub mod stale_depends;
pub mod subject;
pub mod undefined;

use crate::diag::Code;
use crate::graph::{ExportGraph, ModuleId};
use crate::policy::engine::PolicyEngine;
use crate::resolve::Resolution;
use level::{Basis, Raw};

/// What every check sees.
pub struct CheckContext<'a> {
    /// The graph.
    pub graph: &'a ExportGraph,
    /// Its resolution under the policy.
    pub resolution: &'a Resolution,
    /// The policy applied.
    pub engine: &'a PolicyEngine<'a>,
}

/// Runs every check `depmod` reports, in a fixed order: duplicate exports by symbol,
/// then vmlinux conflicts by symbol and module.
pub fn run_all(cx: &CheckContext<'_>) -> Vec<Raw> {
    let mut out = Vec::new();
    out.extend(exports::duplicate_exports(cx));
    out.extend(exports::vmlinux_conflicts(cx));
    out
}

/// Where a finding goes in modpost's output order (as Linux 6.1's modpost prints: each
/// object is read in `modules.order` order, then each module's imports are checked):
/// `(phase, module, position, check)`. Phase 0 is reading each object (licence,
/// description, exports), phase 1 checking each module's imports in symbol-table order,
/// phase 2 the checks modpost does not have.
pub type Place = (u8, usize, usize, u8);

/// A finding with its place in the output.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The sort key.
    pub place: Place,
    /// The finding.
    pub finding: Raw,
}

/// A finding about module `m` (if any) whose level the policy's `severity` for `code`
/// decides.
pub fn finding(
    cx: &CheckContext<'_>,
    code: Code,
    m: Option<ModuleId>,
    symbol: Option<&str>,
    message: String,
) -> Raw {
    Raw::new(
        code,
        m.map(|id| cx.graph.module(id)),
        symbol,
        message,
        Basis::Severity,
    )
}

/// Runs every check of `modpolicy check` and returns the findings in modpost's output
/// order (then the checks modpost does not have), undecided: the caller levels them
/// ([`level::Levels::decide`]) and drops what is allowed.
pub fn run_check(cx: &CheckContext<'_>, s: &subject::Subject) -> Vec<Raw> {
    let mut v: Vec<Placed> = Vec::new();
    v.extend(license::missing_license(cx, s));
    v.extend(ns_missing::module_namespace_imports(cx, s));
    v.extend(description::missing_description(cx, s));
    v.extend(exported_twice::exported_twice(cx, s));
    v.extend(undefined::undefined_symbols(cx, s));
    v.extend(ns_missing::missing_namespace_imports(cx, s));
    v.extend(gpl_only::gpl_only_symbols(cx, s));
    v.extend(crc::crc_mismatches(cx, s));
    v.extend(stale_depends::stale_depends(cx, s));
    v.extend(ns_unneeded::unneeded_namespace_imports(cx, s));
    v.extend(softdeps::missing_softdep_targets(cx, s));
    v.extend(cycles::dependency_cycles(cx));
    v.sort_by_key(|p| p.place);
    v.into_iter().map(|p| p.finding).collect()
}
