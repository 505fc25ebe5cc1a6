//! Dependency ordering (kmod's topological sort) and cycle reports.
//!
//! The sort gives each module a "dependency sort index"; a module's transitive
//! dependencies are listed in `modules.dep` by ascending index. When the graph has
//! cycles, kmod's report (which cycles it names, in which order) is reproduced.

use crate::graph::ModuleId;
use std::collections::VecDeque;

/// The result of ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepOrder {
    /// Every module sorted: `index[m]` is module m's dependency sort index.
    Sorted {
        /// Per module, its sort index (dependents before their dependencies).
        index: Vec<u32>,
    },
    /// Cycles: the messages kmod prints (`Cycle detected: a -> b -> a`), and how many
    /// distinct modules are in cycles.
    Cycles {
        /// One line per reported cycle, without prefix.
        reports: Vec<String>,
        /// The number of distinct modules in the reported cycles.
        modules_in_cycles: usize,
        /// Set when the report was cut short (kmod itself aborts, or reports for ever,
        /// on such graphs).
        truncated: bool,
    },
}

/// Sorts modules by dependency. `deps[m]` lists m's direct dependencies in order;
/// `names[m]` is used for cycle reports.
pub fn dependency_order(deps: &[Vec<ModuleId>], names: &[&str]) -> DepOrder {
    let n = deps.len();
    let mut users = vec![0u32; n];
    for d in deps {
        for t in d {
            users[t.index()] += 1;
        }
    }
    let mut left = users.clone();
    let mut stack: Vec<usize> = (0..n).filter(|&i| left[i] == 0).collect();
    let mut index = vec![u32::MAX; n];
    let mut sorted = 0u32;
    while let Some(s) = stack.pop() {
        index[s] = sorted;
        sorted += 1;
        for d in &deps[s] {
            let di = d.index();
            left[di] -= 1;
            if left[di] == 0 {
                stack.push(di);
            }
        }
    }
    if sorted as usize == n {
        return DepOrder::Sorted { index };
    }
    report_cycles(deps, names, &left)
}

/// Removes `m` from the circular root list (held from its handle), as kmod's
/// `kmod_list_remove_data` does: when found, the handle moves to the node that
/// followed `m`; when absent, nothing changes.
fn remove_root(roots: &mut VecDeque<usize>, m: usize) {
    if let Some(p) = roots.iter().position(|&x| x == m) {
        roots.remove(p);
        if !roots.is_empty() {
            roots.rotate_left(p % roots.len());
        }
    }
}

/// The most bytes of cycle reports, and of walk vertices, before the report is cut short
/// (kmod 30 reports for ever on some graphs of cycles sharing modules).
const MAX_REPORT_BYTES: usize = 1 << 20;
const MAX_VERTICES: usize = 1 << 22;

fn report_cycles(deps: &[Vec<ModuleId>], names: &[&str], left: &[u32]) -> DepOrder {
    struct Vertex {
        module: usize,
        parent: Option<usize>,
    }
    // kmod keeps the roots in a circular list whose handle, after any removal, moves
    // to the node that followed the removed one (wrapping to the first node).
    let mut roots: VecDeque<usize> = (0..deps.len()).filter(|&i| left[i] > 0).collect();
    let cap = roots.len();
    let mut visited = vec![false; deps.len()];
    let mut in_loop = vec![false; deps.len()];
    let mut reports = Vec::new();
    let mut truncated = false;
    let mut report_bytes = 0usize;
    while !roots.is_empty() {
        let Some(r) = roots.pop_front() else { break };
        let mut vertices: Vec<Vertex> = vec![Vertex {
            module: r,
            parent: None,
        }];
        let mut stack: Vec<usize> = vec![0];
        while let Some(vi) = stack.pop() {
            let m = vertices[vi].module;
            if visited[m] && m == r {
                // Walk the parent chain back to the root.
                let mut chain = Vec::new();
                let mut p = vertices[vi].parent;
                while let Some(pi) = p {
                    chain.push(vertices[pi].module);
                    p = vertices[pi].parent;
                }
                let mut line = String::new();
                for &c in chain.iter().rev() {
                    in_loop[c] = true;
                    line.push_str(names[c]);
                    line.push_str(" -> ");
                    remove_root(&mut roots, c);
                }
                line.push_str(names[m]);
                report_bytes += line.len();
                reports.push(format!("Cycle detected: {line}"));
                if report_bytes > MAX_REPORT_BYTES {
                    // kmod reports for ever on such graphs: a cycle not through the root
                    // is walked again and again. Stop, saying so.
                    truncated = true;
                    break;
                }
                continue;
            }
            visited[m] = true;
            if deps[m].is_empty() {
                remove_root(&mut roots, m);
                continue;
            }
            if vertices.len() > MAX_VERTICES {
                truncated = true;
                break;
            }
            for d in &deps[m] {
                if stack.len() >= cap {
                    // kmod's fixed-size stack would overflow (it asserts); stop here.
                    truncated = true;
                    break;
                }
                vertices.push(Vertex {
                    module: d.index(),
                    parent: Some(vi),
                });
                stack.push(vertices.len() - 1);
            }
            if truncated {
                break;
            }
        }
        if truncated {
            break;
        }
    }
    DepOrder::Cycles {
        reports,
        modules_in_cycles: in_loop.iter().filter(|&&b| b).count(),
        truncated,
    }
}

/// The transitive dependencies of `m`, sorted by ascending sort index.
pub fn transitive_deps(
    m: usize,
    deps: &[Vec<ModuleId>],
    index: &[u32],
    seen: &mut [bool],
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack: Vec<usize> = deps[m].iter().map(|d| d.index()).collect();
    while let Some(x) = stack.pop() {
        if seen[x] {
            continue;
        }
        seen[x] = true;
        out.push(x);
        stack.extend(deps[x].iter().map(|d| d.index()));
    }
    for &x in &out {
        seen[x] = false;
    }
    out.sort_by_key(|&x| index[x]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[usize]) -> Vec<ModuleId> {
        v.iter().map(|&i| ModuleId(i as u32)).collect()
    }

    #[test]
    fn kmod_detect_loop_case() {
        // kmod's own testsuite case `detect-loop` (a..k), in array order a..k.
        let names = [
            "mod_loop_a",
            "mod_loop_b",
            "mod_loop_c",
            "mod_loop_d",
            "mod_loop_e",
            "mod_loop_f",
            "mod_loop_g",
            "mod_loop_h",
            "mod_loop_i",
            "mod_loop_j",
            "mod_loop_k",
        ];
        let (a, b, c, d, e, f, g, h, i, j, k) = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        let mut deps = vec![vec![]; 11];
        deps[a] = ids(&[b, f, g]);
        deps[b] = ids(&[c, f, g]);
        deps[c] = ids(&[a]);
        deps[d] = ids(&[e]);
        deps[e] = ids(&[d]);
        deps[h] = ids(&[i]);
        deps[i] = ids(&[j]);
        deps[j] = ids(&[h, k]);
        deps[k] = ids(&[h]);
        match dependency_order(&deps, &names) {
            DepOrder::Cycles {
                reports,
                modules_in_cycles,
                truncated,
            } => {
                assert!(!truncated);
                assert_eq!(modules_in_cycles, 9);
                // kmod 30's output on this tree (array order a..k).
                assert_eq!(
                    reports,
                    [
                        "Cycle detected: mod_loop_a -> mod_loop_b -> mod_loop_c -> mod_loop_a",
                        "Cycle detected: mod_loop_d -> mod_loop_e -> mod_loop_d",
                        "Cycle detected: mod_loop_h -> mod_loop_i -> mod_loop_j -> mod_loop_k -> mod_loop_h",
                        "Cycle detected: mod_loop_h -> mod_loop_i -> mod_loop_j -> mod_loop_h",
                    ]
                );
            }
            other => panic!("expected cycles, got {other:?}"),
        }
    }

    #[test]
    fn root_handle_moves_to_the_next_node() {
        // A graph where kmod 30 starts the second cycle at mc, not md: removing mb
        // from the root list leaves the handle on the node after it (mc).
        let names = ["me", "md", "ma", "mb", "mf", "mg", "mc"];
        let (me, md, mb, mf, mg, mc) = (0, 1, 3, 4, 5, 6);
        let mut deps = vec![vec![]; 7];
        deps[mb] = ids(&[me, mg]);
        deps[mc] = ids(&[md]);
        deps[md] = ids(&[mc]);
        deps[me] = ids(&[mb]);
        deps[mf] = ids(&[me, mc]);
        let DepOrder::Cycles { reports, .. } = dependency_order(&deps, &names) else {
            panic!("expected cycles")
        };
        assert_eq!(
            reports,
            [
                "Cycle detected: me -> mb -> me",
                "Cycle detected: mc -> md -> mc"
            ]
        );
    }

    /// Two cycles sharing a module (the figure-8 shape, on which kmod 30 reports cycles
    /// for ever): the walk ends, its report cut short and bounded.
    #[test]
    fn entangled_cycles_end_cut_short() {
        let names = ["user", "a", "b", "c", "d", "leaf"];
        let (user, a, b, c, d, leaf) = (0, 1, 2, 3, 4, 5);
        let mut deps = vec![vec![]; 6];
        deps[user] = ids(&[a]);
        deps[a] = ids(&[b]);
        deps[b] = ids(&[a, c]);
        deps[c] = ids(&[d, leaf]);
        deps[d] = ids(&[b]);
        let DepOrder::Cycles {
            reports, truncated, ..
        } = dependency_order(&deps, &names)
        else {
            panic!("expected cycles")
        };
        assert!(truncated);
        assert!(reports.iter().map(String::len).sum::<usize>() <= MAX_REPORT_BYTES + 4096);
    }

    #[test]
    fn sorted_closure() {
        // 0 -> 1 -> 2, 0 -> 2
        let deps = vec![ids(&[1, 2]), ids(&[2]), vec![]];
        let DepOrder::Sorted { index } = dependency_order(&deps, &["a", "b", "c"]) else {
            panic!()
        };
        assert!(index[0] < index[1] && index[1] < index[2]);
        let mut seen = vec![false; 3];
        assert_eq!(transitive_deps(0, &deps, &index, &mut seen), vec![1, 2]);
    }
}
