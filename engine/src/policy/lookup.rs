//! Finding the rules that apply to a name without trying every rule.
//!
//! A policy may hold 100,000 rules. Trying each rule's patterns against each duplicate
//! symbol, or comparing each rule with every earlier one for the `shadowed-rule` lint,
//! is quadratic. [`SymbolLookup`] files each rule under the literal prefix of each of its
//! patterns (the text before the first wildcard): only the rules filed under a prefix of
//! the name can match it. [`shadowed`] finds each rule's shadowing rule through maps.

use super::glob::Pattern;
use std::collections::HashMap;

/// The literal text a pattern's matches must start with: everything before its first
/// special character (`*`, `?`, `[`, `{`, `\`, and the closing ones, to be safe).
fn literal_prefix(p: &str) -> &str {
    let end = p
        .find(['*', '?', '[', ']', '{', '}', '\\'])
        .unwrap_or(p.len());
    &p[..end]
}

/// Rules filed by the literal prefixes of their symbol patterns.
#[derive(Debug, Default)]
pub struct SymbolLookup {
    /// Rule indexes (ascending, each once per list) by literal prefix.
    by_prefix: HashMap<Box<str>, Vec<u32>>,
    /// The distinct prefix lengths, ascending.
    lens: Vec<usize>,
}

impl SymbolLookup {
    /// Files rules `0..` under their patterns (`rules` in policy order).
    pub fn new<'a>(rules: impl Iterator<Item = &'a [Pattern]>) -> SymbolLookup {
        let mut by_prefix: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (i, pats) in rules.enumerate() {
            for p in pats {
                let list = by_prefix
                    .entry(literal_prefix(p.as_str()).into())
                    .or_default();
                if list.last() != Some(&(i as u32)) {
                    list.push(i as u32);
                }
            }
        }
        let mut lens: Vec<usize> = by_prefix.keys().map(|k| k.len()).collect();
        lens.sort_unstable();
        lens.dedup();
        SymbolLookup { by_prefix, lens }
    }

    /// The first rule (lowest index) for which `applies` is true, trying only rules with
    /// a pattern whose literal prefix starts `name`. `applies(i)` must test rule `i`'s
    /// patterns against `name` itself (a rule is filed under every pattern's prefix).
    /// `tried` counts the calls of `applies`.
    pub fn first(
        &self,
        name: &str,
        mut applies: impl FnMut(usize) -> bool,
        tried: &mut usize,
    ) -> Option<usize> {
        let mut best = u32::MAX;
        for &l in &self.lens {
            if l > name.len() {
                break;
            }
            let Some(list) = name.get(..l).and_then(|k| self.by_prefix.get(k)) else {
                continue;
            };
            for &i in list {
                if i >= best {
                    break;
                }
                *tried += 1;
                if applies(i as usize) {
                    best = i;
                    break;
                }
            }
        }
        (best != u32::MAX).then_some(best as usize)
    }
}

/// How many earlier rules sharing a pattern are compared with a rule, at most, when
/// looking for one whose patterns cover all of its patterns but are not the same list
/// (identical lists and catch-alls are always found, through maps).
const SUPERSET_TRIES: usize = 64;

/// One rule as [`shadowed`] sees it: symbol patterns, module patterns, layer.
pub type RuleShape<'a> = (&'a [Pattern], &'a [Pattern], usize);

/// For each rule, the index of the first earlier rule in the same layer whose patterns
/// cover all of its patterns (a catch-all `*`, or a superset of its pattern list) with a
/// module filter that is absent or identical: such a rule always applies first. Counts
/// the rule comparisons in `tried`.
pub fn shadowed<'a>(rules: &[RuleShape<'a>], tried: &mut usize) -> Vec<Option<usize>> {
    type Key<'k> = Vec<&'k str>;
    let key = |v: &'a [Pattern]| v.iter().map(Pattern::as_str).collect::<Key<'a>>();
    // (layer, module key) → first catch-all rule; an empty module key = no module filter.
    let mut catch_all: HashMap<(usize, Key<'a>), usize> = HashMap::new();
    // (layer, symbol key, module key) → first rule with exactly these lists.
    let mut exact: HashMap<(usize, Key<'a>, Key<'a>), usize> = HashMap::new();
    // (layer, pattern) → earlier rules having it, ascending.
    let mut having: HashMap<(usize, &'a str), Vec<usize>> = HashMap::new();
    let mut out = Vec::with_capacity(rules.len());
    for (i, &(syms, mods, layer)) in rules.iter().enumerate() {
        let mk = key(mods);
        let sk = key(syms);
        let mut best: Option<usize> = None;
        let consider = |j: Option<&usize>, best: &mut Option<usize>| {
            if let Some(&j) = j {
                *best = Some(best.map_or(j, |b| b.min(j)));
            }
        };
        consider(catch_all.get(&(layer, Vec::new())), &mut best);
        consider(catch_all.get(&(layer, mk.clone())), &mut best);
        consider(exact.get(&(layer, sk.clone(), Vec::new())), &mut best);
        consider(exact.get(&(layer, sk.clone(), mk.clone())), &mut best);
        // Supersets: scan the shortest list of earlier rules having one of its patterns.
        let shortest = syms
            .iter()
            .filter_map(|p| having.get(&(layer, p.as_str())))
            .min_by_key(|l| l.len());
        let all_present = syms
            .iter()
            .all(|p| having.contains_key(&(layer, p.as_str())));
        if let (Some(list), true) = (shortest, all_present) {
            for &j in list.iter().take(SUPERSET_TRIES) {
                if best.is_some_and(|b| j >= b) {
                    break;
                }
                *tried += 1;
                let (s, m, _) = rules[j];
                if syms.iter().all(|p| s.contains(p)) && (m.is_empty() || m == mods) {
                    best = Some(j);
                    break;
                }
            }
        }
        out.push(best);
        // File this rule for the later ones.
        if syms.iter().any(Pattern::is_catch_all) {
            catch_all.entry((layer, mk.clone())).or_insert(i);
        }
        exact.entry((layer, sk, mk)).or_insert(i);
        for p in syms {
            let l = having.entry((layer, p.as_str())).or_default();
            if l.last() != Some(&i) {
                l.push(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(v: &[&str]) -> Vec<Pattern> {
        v.iter().map(|s| Pattern::symbol(s).unwrap()).collect()
    }

    /// The definition, by comparing every pair (the old, quadratic way).
    fn shadowed_naive(rules: &[RuleShape<'_>]) -> Vec<Option<usize>> {
        (0..rules.len())
            .map(|i| {
                let (symbols, modules, layer) = rules[i];
                rules[..i].iter().position(|(s, m, l)| {
                    *l == layer
                        && (s.iter().any(|p| p.is_catch_all())
                            || symbols.iter().all(|p| s.contains(p)))
                        && (m.is_empty() || *m == modules)
                })
            })
            .collect()
    }

    #[test]
    fn shadowed_agrees_with_the_definition() {
        let sets: Vec<Vec<Pattern>> = [
            &["a"][..],
            &["a", "b"],
            &["b"],
            &["*"],
            &["c_*"],
            &["a", "b", "c_*"],
            &["b", "a"],
            &["d"],
        ]
        .iter()
        .map(|v| pats(v))
        .collect();
        let mods: Vec<Vec<Pattern>> = vec![
            vec![],
            vec![Pattern::module("m1").unwrap()],
            vec![Pattern::module("m2").unwrap()],
        ];
        // Every sequence of a few rules drawn from these shapes, deterministically.
        let mut seed = 12345u64;
        for _ in 0..2000 {
            let n = 1 + (seed % 7) as usize;
            let mut rules = Vec::new();
            for _ in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let s = &sets[(seed >> 33) as usize % sets.len()];
                let m = &mods[(seed >> 20) as usize % mods.len()];
                let layer = (seed >> 50) as usize % 2;
                rules.push((&s[..], &m[..], layer));
            }
            let mut tried = 0;
            assert_eq!(
                shadowed(&rules, &mut tried),
                shadowed_naive(&rules),
                "{rules:?}"
            );
        }
    }

    #[test]
    fn lookup_finds_the_first_matching_rule() {
        let rules: Vec<Vec<Pattern>> = [
            &["drm_*"][..],
            &["nvme_core_*", "x"],
            &["*_fn"],
            &["drm_foo"],
            &["[d]rm_*"],
        ]
        .iter()
        .map(|v| pats(v))
        .collect();
        let lk = SymbolLookup::new(rules.iter().map(|r| &r[..]));
        for name in ["drm_foo", "nvme_core_x", "x", "dup_fn", "drm_fn", "zzz", ""] {
            let want = rules
                .iter()
                .position(|r| r.iter().any(|p| p.matches_symbol(name)));
            let mut tried = 0;
            let got = lk.first(
                name,
                |i| rules[i].iter().any(|p| p.matches_symbol(name)),
                &mut tried,
            );
            assert_eq!(got, want, "{name}");
        }
    }
}
