//! `dependency-cycle`: modules that depend on each other through the providers the
//! policy resolves. depmod refuses such a tree (`Cycle detected: a -> b -> a`); modpost
//! accepts it. The cycles are the ones kmod's depmod reports, in its order.

use super::{finding, CheckContext, Placed};
use crate::diag::Code;
use crate::resolve::{dependency_order, DepOrder};

/// One finding per cycle depmod would report.
pub fn dependency_cycles(cx: &CheckContext<'_>) -> Vec<Placed> {
    let g = cx.graph;
    let names: Vec<&str> = g.modules.iter().map(|m| m.name()).collect();
    let DepOrder::Cycles {
        reports, truncated, ..
    } = dependency_order(&cx.resolution.deps, &names)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, r) in reports.iter().enumerate() {
        let chain = r.strip_prefix("Cycle detected: ").unwrap_or(r);
        let first = chain.split(" -> ").next().unwrap_or("");
        let id = g.find_module(first);
        let msg = format!("dependency cycle: {chain}");
        out.push(Placed {
            place: (3, 0, k, 0),
            finding: finding(cx, Code::DependencyCycle, id, None, msg),
        });
    }
    if truncated {
        let msg = "dependency cycles too entangled to list them all".to_string();
        out.push(Placed {
            place: (3, 0, reports.len(), 0),
            finding: finding(cx, Code::DependencyCycle, None, None, msg),
        });
    }
    out
}
