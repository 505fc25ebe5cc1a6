//! The policy's verdict on each change: the first live `abi-tolerate`/`abi-deny` rule
//! that matches it (higher layers first, file order within one), else the level of the
//! change's code (`severity`, else the code's default). Also the ABI rules' own lints:
//! rules that matched no change, rules an earlier rule always pre-empts, expired rules.
//!
//! A rule matches a change when each of its lists is empty or matches: a symbol pattern
//! the symbol, a module pattern the baseline's or the new exporter, a namespace pattern
//! the baseline's or the new namespace, and `changes` the change's kind.

use super::diff::Change;
use super::side::Importers;
use crate::diag::{Code, Decider, Finding, Level, RuleRef};
use crate::load::symvers::SymversEntry;
use crate::policy::model::{AbiRule, AbiVerdict, Date, Policy};
use crate::policy::source::Loc;
use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;

/// Which rules' module lists match an exporter, if the change has one on that side.
type Bits = Option<Box<[bool]>>;

/// The ABI rules of a policy, ready to classify changes.
pub struct AbiRules<'p> {
    policy: &'p Policy,
    today: Date,
    /// Whether each rule has not expired.
    live: Vec<bool>,
    /// Whether each rule decided a change.
    used: Vec<bool>,
    /// For each exporter path met, which rules' module lists match it (computed once
    /// per path: a few thousand paths, whatever the number of changes).
    module_bits: HashMap<Box<str>, Box<[bool]>>,
    /// Whether any rule has a module list (otherwise no bits are computed).
    any_modules: bool,
}

impl<'p> AbiRules<'p> {
    /// Prepares `policy`'s ABI rules; `today` decides which have expired.
    pub fn new(policy: &'p Policy, today: Date) -> Self {
        let live = policy
            .abi
            .iter()
            .map(|r| r.meta.expires.is_none_or(|(d, _)| d >= today))
            .collect();
        AbiRules {
            policy,
            today,
            live,
            used: vec![false; policy.abi.len()],
            module_bits: HashMap::default(),
            any_modules: policy.abi.iter().any(|r| !r.modules.is_empty()),
        }
    }

    fn bits(&mut self, path: &str) -> &[bool] {
        if !self.module_bits.contains_key(path) {
            let bits: Box<[bool]> = self
                .policy
                .abi
                .iter()
                .map(|r| r.matches_module(path))
                .collect();
            self.module_bits.insert(path.into(), bits);
        }
        &self.module_bits[path]
    }

    /// The index of the first live rule matching `c`, marking it used.
    pub fn rule_for(&mut self, c: &Change<'_>) -> Option<usize> {
        let rules = &self.policy.abi;
        if rules.is_empty() {
            return None;
        }
        let (old_mod, new_mod) = (c.old.map(|e| &*e.module), c.new.map(|e| &*e.module));
        let (bo, bn): (Bits, Bits) = if self.any_modules {
            (
                old_mod.map(|m| self.bits(m).into()),
                new_mod
                    .filter(|n| Some(*n) != old_mod)
                    .map(|m| self.bits(m).into()),
            )
        } else {
            (None, None)
        };
        fn ns(e: Option<&SymversEntry>) -> Option<&str> {
            e.map(|e| &*e.namespace).filter(|n| !n.is_empty())
        }
        let (ns_old, ns_new) = (ns(c.old), ns(c.new));
        for (i, r) in rules.iter().enumerate() {
            if !self.live[i] || (!r.changes.is_empty() && !r.changes.contains(&c.kind)) {
                continue;
            }
            if !r.modules.is_empty() {
                let hit = |b: &Bits| b.as_ref().is_some_and(|b| b[i]);
                if !hit(&bo) && !hit(&bn) {
                    continue;
                }
            }
            if !r.namespaces.is_empty()
                && ![ns_old, ns_new]
                    .iter()
                    .flatten()
                    .any(|n| r.namespaces.iter().any(|p| p.matches_symbol(n)))
            {
                continue;
            }
            if !r.symbols.is_empty() && !r.symbols.iter().any(|p| p.matches_symbol(c.symbol)) {
                continue;
            }
            self.used[i] = true;
            return Some(i);
        }
        None
    }

    fn rule_ref(&self, loc: &Loc, kind: &str, reason: Option<&str>) -> RuleRef {
        self.policy.rule_ref(loc, kind, reason)
    }

    /// The finding for one change: its level and decider from the first matching rule
    /// or the code's level, and, for the kinds that can break modules built against the
    /// baseline, the modules of `importers` that use the symbol.
    pub fn finding(&mut self, c: &Change<'_>, importers: &Importers) -> Finding {
        let code = c.kind.code();
        let (level, tolerated, decided_by) = match self.rule_for(c) {
            Some(i) => {
                let r: &AbiRule = &self.policy.abi[i];
                let rr = self.rule_ref(&r.meta.loc, r.node(), r.meta.reason.as_deref());
                match r.verdict {
                    AbiVerdict::Tolerate => (self.policy.level(code), true, Decider::Rule(rr)),
                    AbiVerdict::Deny => (Level::Deny, false, Decider::Rule(rr)),
                }
            }
            None => {
                let set = self.policy.severities.get(&code).and_then(|s| s.loc);
                let decider = set.map_or(Decider::Default, |l| {
                    Decider::Rule(self.rule_ref(&l, "severity", None))
                });
                (self.policy.level(code), false, decider)
            }
        };
        let mut message = describe(c);
        if c.kind.affects_importers() && !importers.is_empty() {
            let users = importers.of(c.symbol);
            if users.is_empty() {
                message.push_str("; no module imports it");
            } else {
                let _ = write!(
                    message,
                    "; {} module(s) import it and must be rebuilt: {}",
                    users.len(),
                    users.join(", ")
                );
            }
        }
        let e = c.entry();
        Finding {
            plugin: None,
            code,
            level,
            message,
            module: Some(e.module.to_string()),
            file: None,
            symbol: Some(c.symbol.to_string()),
            decided_by,
            tolerated,
        }
    }

    /// Lints on the ABI rules, after every change was classified: rules that matched no
    /// change (`unmatched-rule`, only when `with_unmatched`, and not for a shadowed rule), rules an earlier rule of
    /// the same layer always pre-empts (`shadowed-rule`), expired rules (`expired-rule`).
    pub fn lints(&self, with_unmatched: bool) -> Vec<Finding> {
        let p = self.policy;
        let mut out = Vec::new();
        let shadowing = shadowed(&p.abi);
        for (i, r) in p.abi.iter().enumerate() {
            let what = describe_rule(r);
            let mut push = |code: Code, message: String| {
                out.push(Finding {
                    plugin: None,
                    code,
                    level: p.level(code),
                    message,
                    module: None,
                    file: None,
                    symbol: None,
                    decided_by: Decider::Rule(self.rule_ref(
                        &r.meta.loc,
                        r.node(),
                        r.meta.reason.as_deref(),
                    )),
                    tolerated: false,
                });
            };
            if let Some((d, _)) = r.meta.expires.filter(|(d, _)| *d < self.today) {
                push(
                    Code::ExpiredRule,
                    format!("`{what}` expired on {d} and no longer applies"),
                );
            } else if with_unmatched && !self.used[i] && shadowing[i].is_none() {
                push(
                    Code::UnmatchedRule,
                    format!("`{what}` matched no change between the two ABIs"),
                );
            }
            if let Some(j) = shadowing[i] {
                push(
                    Code::ShadowedRule,
                    format!(
                        "`{what}` never applies: the `{}` on line {} matches every change it matches, first",
                        p.abi[j].node(),
                        p.abi[j].meta.loc.line
                    ),
                );
            }
        }
        out
    }
}

/// How a rule is named in lint messages: its node and its selectors.
fn describe_rule(r: &AbiRule) -> String {
    let mut s = r.node().to_string();
    for p in &r.symbols {
        let _ = write!(s, " {}", p.as_str());
    }
    let list = |s: &mut String, name: &str, v: Vec<&str>| {
        if !v.is_empty() {
            let _ = write!(s, " {name}={}", v.join(","));
        }
    };
    list(
        &mut s,
        "modules",
        r.modules.iter().map(|p| p.as_str()).collect(),
    );
    list(
        &mut s,
        "namespaces",
        r.namespaces.iter().map(|p| p.as_str()).collect(),
    );
    list(
        &mut s,
        "changes",
        r.changes.iter().map(|k| k.name()).collect(),
    );
    s
}

/// Whether every value list `a` matches is matched by `b` as well: `b` empty (matches
/// anything), a catch-all, or holding each of `a`'s patterns (and `a` not empty).
fn covers(b: &[crate::policy::glob::Pattern], a: &[crate::policy::glob::Pattern]) -> bool {
    b.is_empty()
        || b.iter().any(|p| p.is_catch_all())
        || (!a.is_empty() && a.iter().all(|x| b.iter().any(|y| y.as_str() == x.as_str())))
}

/// How many earlier rules are compared with each rule at most: a policy of ABI rules is
/// hundreds of lines; beyond this a rule is compared with the nearest earlier ones only.
const SHADOW_WINDOW: usize = 4096;

/// For each rule, the first earlier rule of the same layer that matches every change it
/// matches (each of its lists covers the later rule's), so the later one never applies.
fn shadowed(rules: &[AbiRule]) -> Vec<Option<usize>> {
    (0..rules.len())
        .map(|i| {
            let a = &rules[i];
            (i.saturating_sub(SHADOW_WINDOW)..i).find(|&j| {
                let b = &rules[j];
                b.meta.layer == a.meta.layer
                    && b.meta.expires.is_none()
                    && covers(&b.symbols, &a.symbols)
                    && covers(&b.modules, &a.modules)
                    && covers(&b.namespaces, &a.namespaces)
                    && (b.changes.is_empty()
                        || (!a.changes.is_empty()
                            && a.changes.iter().all(|k| b.changes.contains(k))))
            })
        })
        .collect()
}

fn hex(crc: u64) -> String {
    format!("0x{crc:08x}")
}

/// The message of a change.
pub fn describe(c: &Change<'_>) -> String {
    use super::ChangeKind as K;
    let (o, n) = (c.old, c.new);
    let s = c.symbol;
    let ns = |e: &SymversEntry| e.namespace.to_string();
    match (c.kind, o, n) {
        (K::Removed, Some(o), _) => format!("{s} ({}) is no longer exported", o.module),
        (K::Added, _, Some(n)) => format!("{s} is a new export of {}", n.module),
        (K::CrcChanged, Some(o), Some(n)) => format!(
            "the CRC of {s} ({}) changed: {} -> {}",
            n.module,
            hex(o.crc),
            hex(n.crc)
        ),
        (K::Moved, Some(o), Some(n)) => {
            format!("{s} moved from {} to {}", o.module, n.module)
        }
        (K::LicenseTightened, Some(o), Some(n)) => format!(
            "{s} ({}) became GPL-only: {} -> {}",
            n.module, o.export_type, n.export_type
        ),
        (K::LicenseLoosened, Some(o), Some(n)) => format!(
            "{s} ({}) is no longer GPL-only: {} -> {}",
            n.module, o.export_type, n.export_type
        ),
        (K::NamespaceAdded, _, Some(n)) => {
            format!("{s} ({}) is now in namespace {}", n.module, ns(n))
        }
        (K::NamespaceRemoved, Some(o), Some(n)) => {
            format!("{s} ({}) left namespace {}", n.module, ns(o))
        }
        (K::NamespaceChanged, Some(o), Some(n)) => format!(
            "{s} ({}) moved from namespace {} to {}",
            n.module,
            ns(o),
            ns(n)
        ),
        (K::Unversioned, o, n) => {
            let sides: Vec<&str> = [(o, "the baseline"), (n, "the new ABI")]
                .iter()
                .filter(|(e, _)| e.is_some_and(|e| e.crc == 0))
                .map(|(_, w)| *w)
                .collect();
            format!(
                "{s} ({}) has no CRC (0x00000000) in {}: its ABI cannot be compared",
                c.entry().module,
                sides.join(" and ")
            )
        }
        (k, _, _) => format!("{s}: {}", k.name()),
    }
}
