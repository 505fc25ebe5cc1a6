//! Applying a policy to the export graph: provider choice, verdicts on duplicate and
//! vmlinux exports, and lints on the policy itself.
//!
//! [`PolicyEngine`] implements [`ProviderRule`], so the same object that chooses each
//! symbol's provider (feeding `modules.dep` and `modules.symbols`) also answers the
//! checks' questions; the two cannot disagree. It records which rules matched, for the
//! `unmatched-rule` lint. It does no IO.

use super::lookup::{self, SymbolLookup};
use super::model::*;
use super::source::Loc;
use crate::diag::{Code, Finding, Level, RuleRef};
use crate::graph::{ExportGraph, Exporter, Provider};
use crate::load::config::SearchEntry;
use crate::resolve::{Choice, Decision, ProviderRule};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A policy ready to apply to one graph.
pub struct PolicyEngine<'p> {
    policy: &'p Policy,
    today: Date,
    /// The effective search list, highest priority first (for `search-order`).
    search: Vec<SearchEntry>,
    used_providers: Vec<AtomicBool>,
    used_allow: Vec<AtomicBool>,
    used_vmlinux: Vec<AtomicBool>,
    /// The rules of each kind, filed by symbol-pattern prefix.
    provider_lookup: SymbolLookup,
    allow_lookup: SymbolLookup,
    vmlinux_lookup: SymbolLookup,
    /// Rules tried against a name or compared with another rule (see [`Self::rules_tried`]).
    tried: AtomicUsize,
}

impl<'p> PolicyEngine<'p> {
    /// Prepares `policy` for one run. `today` decides which entries have expired;
    /// `search` is the search list in force, highest priority first.
    pub fn new(policy: &'p Policy, today: Date, search: Vec<SearchEntry>) -> Self {
        let flags = |n: usize| (0..n).map(|_| AtomicBool::new(false)).collect();
        PolicyEngine {
            policy,
            today,
            search,
            used_providers: flags(policy.providers.len()),
            used_allow: flags(policy.allow_duplicates.len()),
            used_vmlinux: flags(policy.vmlinux.len()),
            provider_lookup: SymbolLookup::new(policy.providers.iter().map(|r| &r.symbols[..])),
            allow_lookup: SymbolLookup::new(policy.allow_duplicates.iter().map(|r| &r.symbols[..])),
            vmlinux_lookup: SymbolLookup::new(policy.vmlinux.iter().map(|r| &r.symbols[..])),
            tried: AtomicUsize::new(0),
        }
    }

    /// How many times a rule was tried against a symbol or compared with another rule so
    /// far: the work that grew with (rules × symbols) and (rules × rules) before rules
    /// were looked up by prefix. For tests and benchmarks.
    pub fn rules_tried(&self) -> usize {
        self.tried.load(Ordering::Relaxed)
    }

    /// The first live `provider` rule whose patterns match `symbol`, with its index: the
    /// rule that decides the symbol's provider.
    pub fn first_provider_rule(
        &self,
        symbol: &str,
    ) -> Option<(usize, &'p super::model::ProviderRule)> {
        let rules = &self.policy.providers;
        let mut tried = 0;
        let found = self.provider_lookup.first(
            symbol,
            |i| {
                let r = &rules[i];
                self.live(&r.meta) && r.symbols.iter().any(|g| g.matches_symbol(symbol))
            },
            &mut tried,
        );
        self.count(tried);
        found.map(|i| (i, &rules[i]))
    }

    fn count(&self, n: usize) {
        self.tried.fetch_add(n, Ordering::Relaxed);
    }

    /// The policy.
    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    /// A reference to the rule at `loc`, for decisions and findings.
    pub fn rule_ref(&self, loc: &Loc, kind: &str, reason: Option<&str>) -> RuleRef {
        self.policy.rule_ref(loc, kind, reason)
    }

    /// Whether a rule with this metadata still applies (it has not expired).
    pub fn live(&self, m: &Meta) -> bool {
        m.expires.is_none_or(|(d, _)| d >= self.today)
    }

    fn search_priority(&self, rel: &str, abs: &str) -> i64 {
        // Highest priority first: position 0 is best. Unmatched paths get the built-in
        // position (or the lowest priority without one).
        let n = self.search.len() as i64;
        let mut builtin = n;
        for (i, e) in self.search.iter().enumerate() {
            match e {
                SearchEntry::BuiltIn => builtin = i as i64,
                SearchEntry::Dir(d) => {
                    if rel.len() > d.len()
                        && rel.starts_with(d.as_str())
                        && rel.as_bytes()[d.len()] == b'/'
                    {
                        return n - i as i64;
                    }
                }
                SearchEntry::External => {
                    if !abs.is_empty() && rel.is_empty() {
                        return n - i as i64;
                    }
                }
            }
        }
        n - builtin
    }

    fn apply(
        &self,
        strategy: &Strategy,
        graph: &ExportGraph,
        exporters: &[Exporter],
        mods: &[usize],
    ) -> Option<usize> {
        let module_of = |i: usize| match exporters[i].provider {
            Provider::Module(id) => graph.module(id),
            Provider::Vmlinux => unreachable!("only module exporters are passed"),
        };
        match strategy {
            Strategy::FirstInOrder => mods.first().copied(),
            Strategy::LastInOrder => mods.last().copied(),
            Strategy::SearchOrder => mods.iter().copied().max_by_key(|&i| {
                let m = module_of(i);
                (
                    self.search_priority(m.source.relpath.as_deref().unwrap_or(""), &m.source.path),
                    i,
                )
            }),
            Strategy::Prefer(pats) => pats.iter().find_map(|p| {
                mods.iter().copied().find(|&i| {
                    let m = module_of(i);
                    p.matches_module(m.name(), m.source.dep_path())
                })
            }),
        }
    }

    /// The `allow-duplicate` entry that tolerates `symbol` exported by all of
    /// `modules` (name, path pairs), if any.
    pub fn tolerating_duplicate(
        &self,
        symbol: &str,
        modules: &[(&str, &str)],
    ) -> Option<&'p AllowDuplicate> {
        let rules = &self.policy.allow_duplicates;
        let mut tried = 0;
        let found = self.allow_lookup.first(
            symbol,
            |i| {
                let a = &rules[i];
                self.live(&a.meta)
                    && a.symbols.iter().any(|p| p.matches_symbol(symbol))
                    && (a.modules.is_empty()
                        || modules
                            .iter()
                            .all(|(n, p)| a.modules.iter().any(|g| g.matches_module(n, p))))
            },
            &mut tried,
        );
        self.count(tried);
        let i = found?;
        self.used_allow[i].store(true, Ordering::Relaxed);
        Some(&rules[i])
    }

    /// The `vmlinux-conflict` rule for `symbol` exported by module `(name, path)`.
    pub fn vmlinux_rule(&self, symbol: &str, name: &str, path: &str) -> Option<&'p VmlinuxRule> {
        let rules = &self.policy.vmlinux;
        let mut tried = 0;
        let found = self.vmlinux_lookup.first(
            symbol,
            |i| {
                let r = &rules[i];
                self.live(&r.meta)
                    && r.symbols.iter().any(|p| p.matches_symbol(symbol))
                    && (r.modules.is_empty()
                        || r.modules.iter().any(|g| g.matches_module(name, path)))
            },
            &mut tried,
        );
        self.count(tried);
        let i = found?;
        self.used_vmlinux[i].store(true, Ordering::Relaxed);
        Some(&rules[i])
    }

    /// [`Self::lints`] for a run that prints a line per finding (`depmod`): unless
    /// `list_unmatched`, two or more `unmatched-rule` findings (one per rule: thousands,
    /// for a large policy applied to a small tree) become one, saying how many rules
    /// matched nothing and how to list them.
    pub fn lints_summarized(&self, list_unmatched: bool) -> Vec<Finding> {
        let mut out = self.lints();
        let n = out.iter().filter(|f| f.code == Code::UnmatchedRule).count();
        if list_unmatched || n < 2 {
            return out;
        }
        let first = out
            .iter()
            .position(|f| f.code == Code::UnmatchedRule)
            .expect("n >= 2");
        let mut summary = out[first].clone();
        summary.decided_by = crate::diag::Decider::Default;
        summary.message =
            format!("{n} policy rules matched nothing in this tree (run with -v to list them)");
        out.retain(|f| f.code != Code::UnmatchedRule);
        out.insert(first.min(out.len()), summary);
        out
    }

    /// Lints on the policy itself, to run after resolution and checks: rules that
    /// matched nothing, rules shadowed by an earlier one, expired entries.
    pub fn lints(&self) -> Vec<Finding> {
        let p = self.policy;
        let mut out = Vec::new();
        let mut push =
            |code: Code, loc: &Loc, kind: &str, reason: Option<&str>, message: String| {
                out.push(Finding {
                    plugin: None,
                    code,
                    level: p.level(code),
                    message,
                    module: None,
                    file: None,
                    symbol: None,
                    decided_by: crate::diag::Decider::Rule(self.rule_ref(loc, kind, reason)),
                    tolerated: false,
                });
            };
        let pats =
            |v: &[super::glob::Pattern]| v.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ");
        let mut tried = 0;
        let shadowed_providers = lookup::shadowed(
            &p.providers
                .iter()
                .map(|x| (&x.symbols[..], &[][..], x.meta.layer))
                .collect::<Vec<_>>(),
            &mut tried,
        );
        let shadowed_vmlinux = lookup::shadowed(
            &p.vmlinux
                .iter()
                .map(|x| (&x.symbols[..], &x.modules[..], x.meta.layer))
                .collect::<Vec<_>>(),
            &mut tried,
        );
        self.count(tried);
        for (i, r) in p.providers.iter().enumerate() {
            if let Some(e) = expired(&r.meta, self.today) {
                push(
                    Code::ExpiredRule,
                    &r.meta.loc,
                    "provider",
                    r.meta.reason.as_deref(),
                    format!(
                        "`provider {}` expired on {e} and no longer applies",
                        pats(&r.symbols)
                    ),
                );
            } else if !self.used_providers[i].load(Ordering::Relaxed) {
                push(
                    Code::UnmatchedRule,
                    &r.meta.loc,
                    "provider",
                    r.meta.reason.as_deref(),
                    format!(
                        "`provider {}` matched no symbol with several exporters",
                        pats(&r.symbols)
                    ),
                );
            }
            if let Some(j) = shadowed_providers[i] {
                push(Code::ShadowedRule, &r.meta.loc, "provider", r.meta.reason.as_deref(), format!("`provider {}` never applies: the rule on line {} matches the same symbols first", pats(&r.symbols), p.providers[j].meta.loc.line));
            }
        }
        for (i, a) in p.allow_duplicates.iter().enumerate() {
            if let Some(e) = expired(&a.meta, self.today) {
                push(
                    Code::ExpiredRule,
                    &a.meta.loc,
                    "allow-duplicate",
                    a.meta.reason.as_deref(),
                    format!(
                        "`allow-duplicate {}` expired on {e} and no longer applies",
                        pats(&a.symbols)
                    ),
                );
            } else if !self.used_allow[i].load(Ordering::Relaxed) {
                push(
                    Code::UnmatchedRule,
                    &a.meta.loc,
                    "allow-duplicate",
                    a.meta.reason.as_deref(),
                    format!(
                        "`allow-duplicate {}` tolerated no duplicate export",
                        pats(&a.symbols)
                    ),
                );
            }
        }
        for (i, r) in p.vmlinux.iter().enumerate() {
            if let Some(e) = expired(&r.meta, self.today) {
                push(
                    Code::ExpiredRule,
                    &r.meta.loc,
                    "vmlinux-conflict",
                    r.meta.reason.as_deref(),
                    format!(
                        "`vmlinux-conflict {}` expired on {e} and no longer applies",
                        pats(&r.symbols)
                    ),
                );
            } else if !self.used_vmlinux[i].load(Ordering::Relaxed) {
                push(
                    Code::UnmatchedRule,
                    &r.meta.loc,
                    "vmlinux-conflict",
                    r.meta.reason.as_deref(),
                    format!(
                        "`vmlinux-conflict {}` matched no module exporting a vmlinux symbol",
                        pats(&r.symbols)
                    ),
                );
            }
            if let Some(j) = shadowed_vmlinux[i] {
                push(Code::ShadowedRule, &r.meta.loc, "vmlinux-conflict", r.meta.reason.as_deref(), format!("`vmlinux-conflict {}` never applies: the rule on line {} matches the same first", pats(&r.symbols), p.vmlinux[j].meta.loc.line));
            }
        }
        out
    }
}

fn expired(m: &Meta, today: Date) -> Option<Date> {
    m.expires.map(|(d, _)| d).filter(|d| *d < today)
}

impl ProviderRule for PolicyEngine<'_> {
    fn choose(&self, graph: &ExportGraph, symbol: &str, exporters: &[Exporter]) -> Choice {
        if exporters.len() == 1 {
            return Choice {
                index: 0,
                decision: Decision::Only,
            };
        }
        let mods: Vec<usize> = exporters
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.provider, Provider::Module(_)))
            .map(|(i, _)| i)
            .collect();
        let vm = exporters
            .iter()
            .rposition(|e| e.provider == Provider::Vmlinux);
        if mods.is_empty() {
            return Choice {
                index: vm.unwrap_or(exporters.len() - 1),
                decision: Decision::Only,
            };
        }
        let p = self.policy;
        let (mut index, mut decision) = (mods[0], Decision::Only);
        if mods.len() > 1 {
            let rule = self.first_provider_rule(symbol);
            let mut decided = None;
            if let Some((i, r)) = rule {
                self.used_providers[i].store(true, Ordering::Relaxed);
                if let Some(ix) = self.apply(&r.strategy, graph, exporters, &mods) {
                    let how = match &r.strategy {
                        Strategy::Prefer(ps) => format!(
                            "prefer {}",
                            ps.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")
                        ),
                        s => s.name().to_string(),
                    };
                    decided = Some((
                        ix,
                        Decision::Rule {
                            rule: self.rule_ref(&r.meta.loc, "provider", r.meta.reason.as_deref()),
                            how,
                        },
                    ));
                }
            }
            let (ix, d) = decided.unwrap_or_else(|| {
                let s = &p.default_provider;
                let ix = self.apply(&s.value, graph, exporters, &mods).unwrap_or(*mods.last().expect("non-empty"));
                // A `prefer` rule that matched the symbol but none of whose patterns matched
                // an exporter: say so.
                let note = rule.map(|(_, r)| {
                    let rr = self.rule_ref(&r.meta.loc, "provider", None);
                    format!("the `provider` rule at {}:{} matched the symbol, but none of its patterns matched an exporter", rr.file, rr.line)
                });
                (ix, Decision::Default { strategy: s.value.name().to_string(), set_at: s.loc.map(|l| self.rule_ref(&l, "defaults", None)), note })
            });
            index = ix;
            decision = d;
        }
        if let Some(v) = vm {
            let Provider::Module(id) = exporters[index].provider else {
                unreachable!("a module exporter")
            };
            let m = graph.module(id);
            let (winner, d) = match self.vmlinux_rule(symbol, m.name(), m.source.dep_path()) {
                Some(r) => {
                    let how = match r.winner {
                        Winner::Module => format!("the module ({}) wins over vmlinux", m.name()),
                        Winner::Vmlinux => format!("vmlinux wins over the module ({})", m.name()),
                    };
                    (
                        r.winner,
                        Decision::Rule {
                            rule: self.rule_ref(
                                &r.meta.loc,
                                "vmlinux-conflict",
                                r.meta.reason.as_deref(),
                            ),
                            how,
                        },
                    )
                }
                None => {
                    let s = &p.default_vmlinux_winner;
                    (
                        s.value,
                        Decision::Default {
                            strategy: format!("vmlinux conflict: {} wins", s.value.name()),
                            set_at: s.loc.map(|l| self.rule_ref(&l, "defaults", None)),
                            note: None,
                        },
                    )
                }
            };
            if winner == Winner::Vmlinux {
                return Choice {
                    index: v,
                    decision: d,
                };
            }
            if matches!(decision, Decision::Only) {
                decision = d;
            }
        }
        Choice { index, decision }
    }
}

/// The verdict on a module exporting a vmlinux symbol: its level and deciding rule.
pub fn vmlinux_verdict(
    engine: &PolicyEngine<'_>,
    symbol: &str,
    name: &str,
    path: &str,
) -> (Level, Option<RuleRef>) {
    match engine.vmlinux_rule(symbol, name, path) {
        Some(r) => (
            r.action,
            Some(engine.rule_ref(&r.meta.loc, "vmlinux-conflict", r.meta.reason.as_deref())),
        ),
        None => (
            engine.policy().level(Code::VmlinuxConflict),
            engine
                .policy()
                .severities
                .get(&Code::VmlinuxConflict)
                .and_then(|s| s.loc)
                .map(|l| engine.rule_ref(&l, "severity", None)),
        ),
    }
}
