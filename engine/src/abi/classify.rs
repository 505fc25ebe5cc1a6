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

/// The ABI rules of a policy, ready to classify changes.
///
/// Each change is tried against few rules: those naming symbols only by literal names
/// are indexed by name, so a policy of thousands of `abi-tolerate "sym"` lines (an
/// imported severities file) costs a hash lookup per change, not a scan; each module
/// pattern is matched once per exporter path, not once per change.
pub struct AbiRules<'p> {
    policy: &'p Policy,
    today: Date,
    /// Whether each rule has not expired.
    live: Vec<bool>,
    /// Whether each rule decided a change.
    used: Vec<bool>,
    /// Rules tried for every symbol (no symbol list, or a pattern with a wildcard), in
    /// policy order.
    open: Vec<usize>,
    /// Rules whose symbols are all literal names, by name, each list in policy order.
    by_symbol: HashMap<&'p str, Vec<usize>>,
    /// For each exporter path met, its row in `module_rows` (computed once per path: a
    /// few thousand paths, whatever the number of changes).
    module_bits: HashMap<Box<str>, usize>,
    /// Which rules' module lists match each exporter path.
    module_rows: Vec<Box<[bool]>>,
    /// Whether any rule has a module list (otherwise no rows are computed).
    any_modules: bool,
    /// Each rule's reference, built on its first use.
    refs: Vec<Option<RuleRef>>,
}

/// Whether a symbol pattern is a plain name (no wildcard, class or escape).
fn is_literal(p: &crate::policy::glob::Pattern) -> bool {
    !p.as_str().contains(['*', '?', '[', ']', '{', '}', '\\'])
}

impl<'p> AbiRules<'p> {
    /// Prepares `policy`'s ABI rules; `today` decides which have expired.
    pub fn new(policy: &'p Policy, today: Date) -> Self {
        let live = policy
            .abi
            .iter()
            .map(|r| r.meta.expires.is_none_or(|(d, _)| d >= today))
            .collect();
        let mut open = Vec::new();
        let mut by_symbol: HashMap<&'p str, Vec<usize>> = HashMap::default();
        for (i, r) in policy.abi.iter().enumerate() {
            if r.symbols.is_empty() || !r.symbols.iter().all(is_literal) {
                open.push(i);
            } else {
                for p in &r.symbols {
                    let list = by_symbol.entry(p.as_str()).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        AbiRules {
            policy,
            today,
            live,
            used: vec![false; policy.abi.len()],
            open,
            by_symbol,
            module_bits: HashMap::default(),
            module_rows: Vec::new(),
            any_modules: policy.abi.iter().any(|r| !r.modules.is_empty()),
            refs: vec![None; policy.abi.len()],
        }
    }

    /// The row of `path` in `module_rows`, computed on first use.
    fn row(&mut self, path: &str) -> usize {
        if let Some(&r) = self.module_bits.get(path) {
            return r;
        }
        let bits: Box<[bool]> = self
            .policy
            .abi
            .iter()
            .map(|r| r.matches_module(path))
            .collect();
        self.module_rows.push(bits);
        let r = self.module_rows.len() - 1;
        self.module_bits.insert(path.into(), r);
        r
    }

    /// The index of the first live rule matching `c`, marking it used.
    pub fn rule_for(&mut self, c: &Change<'_>) -> Option<usize> {
        if self.policy.abi.is_empty() {
            return None;
        }
        let (old_mod, new_mod) = (c.old.map(|e| &*e.module), c.new.map(|e| &*e.module));
        let (bo, bn) = if self.any_modules {
            (
                old_mod.map(|m| self.row(m)),
                new_mod.filter(|n| Some(*n) != old_mod).map(|m| self.row(m)),
            )
        } else {
            (None, None)
        };
        fn ns(e: Option<&SymversEntry>) -> Option<&str> {
            e.map(|e| &*e.namespace).filter(|n| !n.is_empty())
        }
        let (ns_old, ns_new) = (ns(c.old), ns(c.new));
        let named: &[usize] = self.by_symbol.get(c.symbol).map_or(&[], Vec::as_slice);
        // Both lists ascend: merged, the candidates come in policy order.
        let (mut a, mut b) = (self.open.iter().peekable(), named.iter().peekable());
        let found = loop {
            let i = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x <= y => *a.next().unwrap(),
                (_, Some(_)) => *b.next().unwrap(),
                (Some(_), None) => *a.next().unwrap(),
                (None, None) => break None,
            };
            let r = &self.policy.abi[i];
            if !self.live[i] || (!r.changes.is_empty() && !r.changes.contains(&c.kind)) {
                continue;
            }
            if !r.modules.is_empty() {
                let hit = |row: Option<usize>| row.is_some_and(|row| self.module_rows[row][i]);
                if !hit(bo) && !hit(bn) {
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
            break Some(i);
        };
        if let Some(i) = found {
            self.used[i] = true;
        }
        found
    }

    /// Rule `i`'s reference (built once, then cloned).
    fn rule_ref_of(&mut self, i: usize) -> RuleRef {
        if self.refs[i].is_none() {
            let r: &AbiRule = &self.policy.abi[i];
            self.refs[i] = Some(self.rule_ref(&r.meta.loc, r.node(), r.meta.reason.as_deref()));
        }
        self.refs[i].clone().expect("built above")
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
                let rr = self.rule_ref_of(i);
                match self.policy.abi[i].verdict {
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
