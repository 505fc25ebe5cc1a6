//! The validated policy: typed rules, each with its location.
//!
//! Produced by [`super::decode`] from KDL and merged across layers by [`super::load`];
//! consumed by the resolver ([`super::engine`]) and the checks. Rules are kept in
//! precedence order (see `policies/README.md`, "Layering").

use super::glob::Pattern;
use super::source::Loc;
use crate::diag::{Code, Level};
use crate::load::config::SearchEntry;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A calendar date (`YYYY-MM-DD`), for `expires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u32,
    /// Day, 1-31.
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.split('-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let dim = match date.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0) => 29,
            2 => 28,
            _ => return None,
        };
        (date.day >= 1 && date.day <= dim).then_some(date)
    }

    /// Today's date (UTC) from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days((secs / 86_400) as i64)
    }

    /// The civil date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
        Date {
            year: y,
            month: m,
            day: d,
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// How to pick one provider among several module exporters.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// The exporter first in `modules.order` (the 2019 LKML proposal).
    FirstInOrder,
    /// The exporter last in `modules.order`; unlisted modules count as later than
    /// listed ones (kmod's and modpost's rule today).
    LastInOrder,
    /// The exporter in the highest-priority search directory (depmod.d `search`); ties
    /// go to the last in `modules.order`.
    SearchOrder,
    /// The first pattern that matches an exporter wins.
    Prefer(Vec<Pattern>),
}

impl Strategy {
    /// The policy spelling.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::FirstInOrder => "first-in-order",
            Strategy::LastInOrder => "last-in-order",
            Strategy::SearchOrder => "search-order",
            Strategy::Prefer(_) => "prefer",
        }
    }
}

/// Common metadata of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// The rule's node.
    pub loc: Loc,
    /// Why it exists.
    pub reason: Option<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// When it stops applying.
    pub expires: Option<(Date, Loc)>,
    /// The layer it came from (0 = lowest).
    pub layer: usize,
}

/// `allow-duplicate`: modules allowed to export the same symbols together.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowDuplicate {
    /// Symbol patterns.
    pub symbols: Vec<Pattern>,
    /// Module patterns; every exporter must match one. Empty: any modules.
    pub modules: Vec<Pattern>,
    /// Metadata.
    pub meta: Meta,
}

/// `provider`: how the provider of matching symbols is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRule {
    /// Symbol patterns.
    pub symbols: Vec<Pattern>,
    /// The strategy.
    pub strategy: Strategy,
    /// Metadata.
    pub meta: Meta,
}

/// Who provides a symbol exported by both vmlinux and a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// The module (kmod's behaviour: the module replaces the built-in export).
    Module,
    /// vmlinux (the module's export is ignored).
    Vmlinux,
}

impl Winner {
    /// The policy spelling.
    pub fn name(self) -> &'static str {
        match self {
            Winner::Module => "module",
            Winner::Vmlinux => "vmlinux",
        }
    }
}

/// `vmlinux-conflict`: a module exporting a symbol vmlinux exports.
#[derive(Debug, Clone, PartialEq)]
pub struct VmlinuxRule {
    /// Symbol patterns.
    pub symbols: Vec<Pattern>,
    /// Module patterns (empty: any module).
    pub modules: Vec<Pattern>,
    /// The level of the `vmlinux-conflict` finding.
    pub action: Level,
    /// Who provides the symbol.
    pub winner: Winner,
    /// Metadata.
    pub meta: Meta,
}

/// The limits a `plugin` node sets (`None`: the host's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginLimits {
    /// `fuel`: the instruction budget.
    pub fuel: Option<u64>,
    /// `memory`: the linear-memory cap, bytes.
    pub memory: Option<u64>,
    /// `stack`: the wasm stack cap, bytes.
    pub stack: Option<u64>,
    /// `timeout-ms`: the wall-clock deadline.
    pub timeout_ms: Option<u64>,
    /// `max-output`: the largest output accepted, bytes.
    pub max_output: Option<u64>,
}

/// `plugin`: a WebAssembly check the policy loads.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginDecl {
    /// Its name (`[a-z0-9][a-z0-9-]*`); its findings' codes are `NAME/CODE`.
    pub name: String,
    /// The `.wasm` (or `.wat`) file, resolved relative to the policy file.
    pub path: PathBuf,
    /// The lowercase hex sha256 the file must have.
    pub sha256: String,
    /// Limits.
    pub limits: PluginLimits,
    /// `config` entries, in order.
    pub config: Vec<(String, String)>,
    /// `files`: the name as written, and the path resolved relative to the policy file.
    pub files: Vec<(String, PathBuf)>,
    /// `on-failure`: the level of this plugin's `plugin-failed`/`plugin-refused` findings.
    pub on_failure: Option<Level>,
    /// Metadata (the node's location, `reason`, `owner`).
    pub meta: Meta,
}

/// `allow-finding`: plugin findings that are acceptable, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowFinding {
    /// Code patterns (`PLUGIN/CODE`, wildcards allowed).
    pub codes: Vec<Pattern>,
    /// Module patterns (empty: any module).
    pub modules: Vec<Pattern>,
    /// Symbol patterns (empty: any symbol).
    pub symbols: Vec<Pattern>,
    /// Metadata.
    pub meta: Meta,
}

/// What an ABI rule does with the changes it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiVerdict {
    /// `abi-tolerate`: the change is reported as tolerated and does not fail the gate.
    Tolerate,
    /// `abi-deny`: the change fails the gate, whatever its code's level.
    Deny,
}

/// `abi-tolerate` / `abi-deny`: a verdict on changes between a baseline ABI and a new
/// one, for the symbols, modules and namespaces given (each list empty: any).
#[derive(Debug, Clone, PartialEq)]
pub struct AbiRule {
    /// What the rule does.
    pub verdict: AbiVerdict,
    /// Symbol patterns (empty: any symbol).
    pub symbols: Vec<Pattern>,
    /// Module patterns: with a `/`, matched against the module's path as
    /// `Module.symvers` writes it, `*` crossing `/`; otherwise against its name (`-` and
    /// `_` alike); `vmlinux` for the kernel's own exports. Empty: any module.
    pub modules: Vec<Pattern>,
    /// Namespace patterns (empty: any namespace, or none).
    pub namespaces: Vec<Pattern>,
    /// The kinds of change it applies to (empty: every kind).
    pub changes: Vec<crate::abi::ChangeKind>,
    /// Metadata.
    pub meta: Meta,
}

impl AbiRule {
    /// The node name.
    pub fn node(&self) -> &'static str {
        match self.verdict {
            AbiVerdict::Tolerate => "abi-tolerate",
            AbiVerdict::Deny => "abi-deny",
        }
    }

    /// Whether a module pattern of this rule matches the exporter at `path` (as
    /// `Module.symvers` writes it, `vmlinux` for the kernel), or the rule has none.
    pub fn matches_module(&self, path: &str) -> bool {
        self.modules.is_empty() || self.modules.iter().any(|p| abi_module_match(p, path))
    }
}

/// Matches an ABI rule's module pattern against an exporter's `Module.symvers` path.
pub fn abi_module_match(p: &Pattern, path: &str) -> bool {
    if p.as_str().contains('/') {
        p.matches_symbol(path) || p.matches_symbol(&format!("{path}.ko"))
    } else {
        let base = path.rsplit('/').next().unwrap_or(path);
        p.matches_module(&base.replace('-', "_"), path)
    }
}

/// A setting with the location that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Set<T> {
    /// The value.
    pub value: T,
    /// Where it was set (`None`: built-in default).
    pub loc: Option<Loc>,
}

/// depmod's search settings, as policy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DepmodSettings {
    /// The search list in declaration order (highest priority first), if set.
    pub search: Option<Vec<(SearchEntry, Loc)>>,
    /// `override MODULE SUBDIR` (kernel pattern filtered at load), highest layer first.
    pub overrides: Vec<(String, String, Loc)>,
    /// Excluded basenames.
    pub excludes: Vec<(String, Loc)>,
    /// External directories (kernel pattern filtered), in declaration order.
    pub externals: Vec<(PathBuf, Loc)>,
    /// Whether any layer had a `depmod` block (then depmod.d is not read).
    pub present: bool,
}

/// A whole, merged policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The files it was read from.
    pub sources: super::source::Sources,
    /// Strategy for symbols no `provider` rule matches.
    pub default_provider: Set<Strategy>,
    /// Who wins a vmlinux conflict no rule matches.
    pub default_vmlinux_winner: Set<Winner>,
    /// Per-code levels set by `severity` blocks.
    pub severities: BTreeMap<Code, Set<Level>>,
    /// `provider` rules, in precedence order.
    pub providers: Vec<ProviderRule>,
    /// `allow-duplicate` entries, in precedence order.
    pub allow_duplicates: Vec<AllowDuplicate>,
    /// `vmlinux-conflict` rules, in precedence order.
    pub vmlinux: Vec<VmlinuxRule>,
    /// depmod settings.
    pub depmod: DepmodSettings,
    /// `plugin` declarations, lowest layer first (a higher layer's plugin of the same
    /// name replaces a lower one in place).
    pub plugins: Vec<PluginDecl>,
    /// `allow-finding` entries, in precedence order.
    pub allow_findings: Vec<AllowFinding>,
    /// Levels `severity` blocks set for plugin codes (`PLUGIN/CODE`).
    pub plugin_severities: BTreeMap<String, Set<Level>>,
    /// `abi-tolerate` and `abi-deny` rules, in precedence order.
    pub abi: Vec<AbiRule>,
}

impl Policy {
    /// A reference to the rule at `loc` (its file by source id and path, line and span),
    /// for the decisions and findings the rule makes.
    pub fn rule_ref(&self, loc: &Loc, kind: &str, reason: Option<&str>) -> crate::diag::RuleRef {
        let file = self
            .sources
            .files
            .get(loc.file.0)
            .map(|f| f.path.display().to_string())
            .unwrap_or_default();
        crate::diag::RuleRef {
            source: loc.file,
            file,
            line: loc.line,
            span: (loc.offset, loc.len),
            kind: kind.to_string(),
            reason: reason.map(str::to_string),
        }
    }

    /// The built-in policy: kmod's rules, nothing reported beyond the code table's
    /// defaults.
    pub fn builtin() -> Policy {
        Policy {
            sources: Default::default(),
            default_provider: Set {
                value: Strategy::LastInOrder,
                loc: None,
            },
            default_vmlinux_winner: Set {
                value: Winner::Module,
                loc: None,
            },
            severities: BTreeMap::new(),
            providers: Vec::new(),
            allow_duplicates: Vec::new(),
            vmlinux: Vec::new(),
            depmod: DepmodSettings::default(),
            plugins: Vec::new(),
            allow_findings: Vec::new(),
            plugin_severities: BTreeMap::new(),
            abi: Vec::new(),
        }
    }

    /// The level of a code under this policy (before command-line overrides).
    pub fn level(&self, code: Code) -> Level {
        self.severities
            .get(&code)
            .map(|s| s.value)
            .unwrap_or_else(|| code.default_level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2028-02-29").unwrap().to_string(), "2028-02-29");
        assert_eq!(Date::parse("26-1-1"), None);
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_454).to_string(), "2026-01-01");
        assert!(Date::parse("2026-11-27").unwrap() < Date::parse("2027-01-01").unwrap());
    }
}
