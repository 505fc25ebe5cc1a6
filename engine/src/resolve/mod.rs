//! Stage 3, **resolve**: one provider per symbol, the dependencies that follow, and the
//! order modprobe loads them in.
//!
//! The provider of a symbol with several exporters is chosen by a [`ProviderRule`]; the
//! default, [`KmodRule`], is kmod's ("the exporter added last wins", i.e. latest in
//! array order, any module beating vmlinux). Every choice records which rule made it, so
//! `modules.dep`, `modules.symbols` and diagnostics all come from one decision.
//!
//! This stage reads the graph and writes nothing; it does no IO.

pub mod depsort;

pub use depsort::{dependency_order, DepOrder};

use crate::diag::RuleRef;
use crate::graph::{ExportGraph, Exporter, ModuleId, Provider};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

/// What decided a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Only one exporter: nothing to decide.
    Only,
    /// The default strategy (kmod's built-in rule, or a policy's `defaults`).
    Default {
        /// The strategy's name, e.g. `last-in-order`.
        strategy: String,
        /// Where the default was set, if a policy set it.
        set_at: Option<RuleRef>,
        /// Why the default applied although a rule matched the symbol, if it did.
        note: Option<String>,
    },
    /// A policy rule decided.
    Rule {
        /// The rule.
        rule: RuleRef,
        /// What it said, e.g. `prefer updates/*` or `vmlinux wins`.
        how: String,
    },
}

/// The chosen exporter of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Index into the symbol's exporter list ([`ExportGraph::exporters`]).
    pub index: usize,
    /// Who decided.
    pub decision: Decision,
}

/// Picks one exporter among several.
pub trait ProviderRule: Sync {
    /// Chooses among `exporters` (never empty) of `symbol`.
    fn choose(&self, graph: &ExportGraph, symbol: &str, exporters: &[Exporter]) -> Choice;
}

/// kmod's rule: the exporter inserted last (latest in array order; modules after vmlinux).
#[derive(Debug, Clone, Copy, Default)]
pub struct KmodRule;

impl ProviderRule for KmodRule {
    fn choose(&self, _: &ExportGraph, _: &str, exporters: &[Exporter]) -> Choice {
        let decision = if exporters.len() == 1 {
            Decision::Only
        } else {
            Decision::Default {
                strategy: "last-in-order".into(),
                set_at: None,
                note: None,
            }
        };
        Choice {
            index: exporters.len() - 1,
            decision,
        }
    }
}

/// How one import of one module resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImport {
    /// The provider, or `None` when nobody exports the symbol.
    pub provider: Option<Provider>,
    /// The CRC of the chosen export (meaningful when `provider` is set).
    pub provider_crc: u64,
}

/// The outcome of resolution over a whole graph.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// The choice for every symbol with more than one exporter. A symbol with one
    /// exporter is provided by it (see [`Resolution::choice`]).
    pub chosen: HashMap<crate::load::elf::Name, Choice>,
    /// Per module (array order), per import (import order), its outcome.
    pub imports: Vec<Vec<ResolvedImport>>,
    /// Per module, its direct module dependencies in first-use order.
    pub deps: Vec<Vec<ModuleId>>,
}

impl Resolution {
    /// The chosen exporter of `symbol` (an export key), if anyone exports it.
    pub fn provider_of<'g>(&self, graph: &'g ExportGraph, symbol: &str) -> Option<&'g Exporter> {
        match graph.exporters(symbol) {
            // One exporter: no choice was made (see `chosen`); spares a second lookup.
            [only] => Some(only),
            exporters => exporters.get(self.chosen.get(symbol)?.index),
        }
    }

    /// The choice for `symbol` (an export key): the recorded one, or "only exporter".
    pub fn choice(&self, graph: &ExportGraph, symbol: &str) -> Option<Choice> {
        match self.chosen.get(symbol) {
            Some(c) => Some(c.clone()),
            None if graph.exporters(symbol).len() == 1 => Some(Choice {
                index: 0,
                decision: Decision::Only,
            }),
            None => None,
        }
    }

    /// Every exported symbol with its provider, in no particular order.
    pub fn providers<'g>(
        &'g self,
        graph: &'g ExportGraph,
    ) -> impl Iterator<Item = (&'g str, &'g Exporter)> + 'g {
        graph
            .symbols()
            .keys()
            .filter_map(move |name| self.provider_of(graph, name).map(|e| (&**name, e)))
    }
}

/// Resolves every symbol and every import of `graph` under `rule`: [`choose`], then
/// [`resolve_imports`].
pub fn resolve(graph: &ExportGraph, rule: &dyn ProviderRule) -> Resolution {
    let mut res = choose(graph, rule);
    (res.imports, res.deps) = resolve_imports(graph, &res);
    res
}

/// The first half of [`resolve`]: a choice for every symbol with several exporters. The
/// result answers [`Resolution::provider_of`] and [`Resolution::providers`]; its
/// `imports` and `deps` stay empty until [`resolve_imports`] fills them (the depmod
/// path renders `modules.symbols` meanwhile).
pub fn choose(graph: &ExportGraph, rule: &dyn ProviderRule) -> Resolution {
    let mut chosen = HashMap::default();
    for (name, exporters) in graph.symbols() {
        if exporters.len() > 1 {
            chosen.insert(name.clone(), rule.choose(graph, name, exporters));
        }
    }
    Resolution {
        chosen,
        imports: Vec::new(),
        deps: Vec::new(),
    }
}

/// Per-import outcomes and per-module dependencies, by module (array order).
pub type ImportOutcomes = (Vec<Vec<ResolvedImport>>, Vec<Vec<ModuleId>>);

/// The second half of [`resolve`]: every import of every module resolved under the
/// choices in `res` (from [`choose`]), and each module's direct dependencies in
/// first-use order.
pub fn resolve_imports(graph: &ExportGraph, res: &Resolution) -> ImportOutcomes {
    // Each module's imports resolve independently: do them on all cores, in order.
    let per_module: Vec<(Vec<ResolvedImport>, Vec<ModuleId>)> = graph
        .modules
        .par_iter()
        .map(|m| {
            let mut outs = Vec::with_capacity(m.image.imports.len());
            let mut deps: Vec<ModuleId> = Vec::new();
            for imp in &m.image.imports {
                let key = graph.prefix.import_key(&imp.name);
                let out = match res.provider_of(graph, key) {
                    None => ResolvedImport {
                        provider: None,
                        provider_crc: 0,
                    },
                    Some(e) => {
                        if let Provider::Module(id) = e.provider {
                            if !deps.contains(&id) {
                                deps.push(id);
                            }
                        }
                        ResolvedImport {
                            provider: Some(e.provider),
                            provider_crc: e.crc,
                        }
                    }
                };
                outs.push(out);
            }
            (outs, deps)
        })
        .collect();
    per_module.into_iter().unzip()
}
