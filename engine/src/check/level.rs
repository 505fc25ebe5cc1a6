//! The one levelling step: every finding's level is decided here, the policy's say first
//! (its `severity` entries and rules, recorded as [`Decider::Rule`]), then the command
//! line's ([`CommandLine::apply`], recorded as [`Decider::CommandLine`]).
//!
//! A check (or a plugin, or the policy's lints) makes a [`Raw`] finding: what was found
//! and where, at its code's default level, with the [`Basis`] the policy decides on:
//! which rules can apply to it. [`Levels::decide`] is the only place where policy rules
//! set a level or tolerate a finding; `depmod`, `check` and `explain` all pass their
//! findings through it.

use crate::diag::{CommandLine, Decider, Finding, Level, RuleRef};
use crate::policy::engine::{vmlinux_verdict, PolicyEngine};
use crate::policy::model::PluginDecl;

/// What the policy's say on a finding depends on, besides its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The policy's `severity` for the code (else the code's default level) decides.
    Severity,
    /// As [`Basis::Severity`], but never below this level (a module `check` could not
    /// read is at least a warning).
    AtLeast(Level),
    /// The policy's `severity` sets the level; the decider recorded is the rule the
    /// finding is about (a lint's rule, the rule that chose a provider), or none.
    About(Option<RuleRef>),
    /// A module exports a symbol vmlinux exports: the `vmlinux-conflict` rules for the
    /// symbol (an export key) and the module (name and path) decide, else `severity`.
    Vmlinux {
        /// The symbol, as an export key.
        symbol: String,
        /// The module's name.
        name: String,
        /// The module's path as rules match it (`dep_path`).
        path: String,
    },
    /// A symbol exported by several modules: the `severity` of the code sets the level;
    /// an `allow-duplicate` entry covering the symbol and every module tolerates it.
    Duplicate {
        /// The symbol, as an export key.
        symbol: String,
        /// Every exporter concerned, `(name, path)`.
        modules: Vec<(String, String)>,
        /// When no entry tolerates it: the reason modpost itself accepts it (its
        /// external-build exemption), appended to the message; it is then tolerated,
        /// decided by no rule.
        exempt: Option<&'static str>,
    },
    /// A plugin's own finding: the plugin's `severity`, else the `plugin-finding`
    /// severity, else the level the plugin gave (decided by its declaration); an
    /// `allow-finding` entry may tolerate it.
    Plugin {
        /// The plugin's index in the policy's `plugins`.
        decl: usize,
        /// The level the plugin reported.
        level: Level,
        /// The module's path as rules match it (empty when the module is unknown).
        path: String,
    },
    /// A plugin that failed or was refused: its `on-failure` level, else the code's
    /// `severity`, decided by that entry or by the plugin's declaration.
    PluginFailure {
        /// The plugin's index in the policy's `plugins`.
        decl: usize,
    },
}

/// A finding as a check makes it: [`Finding::level`] is the code's default and
/// [`Finding::decided_by`] is [`Decider::Default`] until [`Levels::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// What was found, where.
    pub finding: Finding,
    /// What the policy decides on.
    pub basis: Basis,
}

impl Raw {
    /// A finding of a built-in code, at its default level.
    pub fn new(
        code: crate::diag::Code,
        module: Option<&crate::graph::Module>,
        symbol: Option<&str>,
        message: String,
        basis: Basis,
    ) -> Raw {
        Raw {
            finding: Finding {
                plugin: None,
                code,
                level: code.default_level(),
                message,
                module: module.map(|m| m.name().to_string()),
                file: module.map(|m| m.source.path.clone()),
                symbol: symbol.map(str::to_string),
                decided_by: Decider::Default,
                tolerated: false,
            },
            basis,
        }
    }

    /// A finding the policy's lints made (level and rule set by `policy::engine`): its
    /// level is decided again here, from `severity`, about the rule it names.
    pub fn lint(f: Finding) -> Raw {
        let about = f.rule().cloned();
        Raw {
            finding: f,
            basis: Basis::About(about),
        }
    }
}

/// The policy and the command line, deciding levels.
pub struct Levels<'a> {
    engine: &'a PolicyEngine<'a>,
    command_line: &'a CommandLine,
}

impl<'a> Levels<'a> {
    /// Levels under `engine`'s policy, then `command_line`.
    pub fn new(engine: &'a PolicyEngine<'a>, command_line: &'a CommandLine) -> Levels<'a> {
        Levels {
            engine,
            command_line,
        }
    }

    /// The level of `code` under the policy, and the `severity` entry that set it.
    fn severity(&self, code: crate::diag::Code) -> (Level, Option<RuleRef>) {
        let p = self.engine.policy();
        (
            p.level(code),
            p.severities
                .get(&code)
                .and_then(|s| s.loc)
                .map(|l| self.engine.rule_ref(&l, "severity", None)),
        )
    }

    fn plugin_rule(&self, d: &PluginDecl) -> RuleRef {
        let reason = d
            .meta
            .reason
            .clone()
            .unwrap_or_else(|| format!("plugin {} ({})", d.name, d.path.display()));
        self.engine.rule_ref(&d.meta.loc, "plugin", Some(&reason))
    }

    /// The policy's level for `raw` (with what decided it, and whether a rule tolerates
    /// it), then the command line's.
    pub fn decide(&self, raw: Raw) -> Finding {
        self.command_line.apply(self.by_policy(raw))
    }

    /// The policy's say alone (what `explain` shows).
    pub fn by_policy(&self, raw: Raw) -> Finding {
        let Raw { mut finding, basis } = raw;
        let f = &mut finding;
        let e = self.engine;
        let (level, decider, tolerated): (Level, Decider, bool) = match basis {
            Basis::Severity => {
                let (l, r) = self.severity(f.code);
                (l, r.into(), false)
            }
            Basis::AtLeast(floor) => {
                let (l, r) = self.severity(f.code);
                (l.max(floor), r.into(), false)
            }
            Basis::About(rule) => (self.severity(f.code).0, rule.into(), false),
            Basis::Vmlinux { symbol, name, path } => {
                let (l, r) = vmlinux_verdict(e, &symbol, &name, &path);
                (l, r.into(), false)
            }
            Basis::Duplicate {
                symbol,
                modules,
                exempt,
            } => {
                let (l, sev) = self.severity(f.code);
                let pairs: Vec<(&str, &str)> = modules
                    .iter()
                    .map(|(n, p)| (n.as_str(), p.as_str()))
                    .collect();
                if let Some(a) = e.tolerating_duplicate(&symbol, &pairs) {
                    let r = e.rule_ref(&a.meta.loc, "allow-duplicate", a.meta.reason.as_deref());
                    (l, Decider::Rule(r), true)
                } else if let Some(why) = exempt {
                    f.message = format!("{} {why}", f.message);
                    (l, Decider::Default, true)
                } else {
                    (l, sev.into(), false)
                }
            }
            Basis::Plugin { decl, level, path } => {
                let p = e.policy();
                let d = &p.plugins[decl];
                let full = f.code_name().into_owned();
                let (l, r) = if let Some(s) = p.plugin_severities.get(&full) {
                    (s.value, s.loc.map(|l| e.rule_ref(&l, "severity", None)))
                } else if let Some(s) = p.severities.get(&crate::diag::Code::PluginFinding) {
                    (s.value, s.loc.map(|l| e.rule_ref(&l, "severity", None)))
                } else {
                    (level, Some(self.plugin_rule(d)))
                };
                let name = f.module.as_deref().unwrap_or("");
                let allow = p.allow_findings.iter().find(|a| {
                    e.live(&a.meta)
                        && a.codes.iter().any(|c| c.matches_symbol(&full))
                        && (a.modules.is_empty()
                            || (f.module.is_some()
                                && a.modules.iter().any(|g| g.matches_module(name, &path))))
                        && (a.symbols.is_empty()
                            || f.symbol
                                .as_deref()
                                .is_some_and(|s| a.symbols.iter().any(|g| g.matches_symbol(s))))
                });
                match allow {
                    Some(a) => {
                        let r = e.rule_ref(&a.meta.loc, "allow-finding", a.meta.reason.as_deref());
                        (l, Decider::Rule(r), true)
                    }
                    None => (l, r.into(), false),
                }
            }
            Basis::PluginFailure { decl } => {
                let d = &e.policy().plugins[decl];
                let (l, r) = match d.on_failure {
                    Some(l) => (l, self.plugin_rule(d)),
                    None => match self.severity(f.code) {
                        (l, Some(r)) => (l, r),
                        (l, None) => (l, self.plugin_rule(d)),
                    },
                };
                (l, Decider::Rule(r), false)
            }
        };
        f.level = level;
        f.decided_by = decider;
        f.tolerated = tolerated;
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Flag, Selector};
    use crate::policy::model::Date;

    const POLICY: &str = "version 1
severity {
    duplicate-export \"warn\"
}
allow-duplicate \"shared_*\" {
    reason \"known\"
}
";

    fn raw(code: Code, basis: Basis) -> Raw {
        Raw::new(code, None, Some("sym"), "m".into(), basis)
    }

    fn duplicate(symbol: &str, exempt: Option<&'static str>) -> Raw {
        raw(
            Code::DuplicateExport,
            Basis::Duplicate {
                symbol: symbol.into(),
                modules: vec![("a".into(), "a.ko".into()), ("b".into(), "b.ko".into())],
                exempt,
            },
        )
    }

    #[test]
    fn the_policy_decides_then_the_command_line() {
        let policy = crate::policy::load_str("p.kdl", POLICY, "6.1.0").unwrap();
        let engine = PolicyEngine::new(&policy, Date::parse("2026-01-01").unwrap(), Vec::new());
        let none = CommandLine::default();
        let levels = Levels::new(&engine, &none);

        // A severity entry decides, and is recorded.
        let f = levels.decide(duplicate("other", None));
        assert_eq!(f.level, Level::Warn);
        assert!(!f.tolerated);
        assert_eq!(
            f.rule().map(|r| (r.line, r.kind.as_str())),
            Some((3, "severity"))
        );
        // An allow-duplicate entry tolerates, and is recorded.
        let f = levels.decide(duplicate("shared_x", None));
        assert!(f.tolerated);
        assert_eq!(
            f.rule().map(|r| (r.line, r.kind.as_str())),
            Some((5, "allow-duplicate"))
        );
        assert_eq!(f.rule().and_then(|r| r.reason.as_deref()), Some("known"));
        // modpost's exemption tolerates what no entry does, decided by no rule.
        let f = levels.decide(duplicate("other", Some("(accepted)")));
        assert!(f.tolerated);
        assert_eq!(
            (f.decided_by, f.message.as_str()),
            (Decider::Default, "m (accepted)")
        );
        // No severity entry: the code's default level, decided by nothing.
        let f = levels.decide(raw(Code::DependencyCycle, Basis::Severity));
        assert_eq!((f.level, f.decided_by), (Level::Deny, Decider::Default));
        // A floor.
        let f = levels.decide(raw(Code::StaleDepends, Basis::AtLeast(Level::Deny)));
        assert_eq!(f.level, Level::Deny);

        // The command line comes last and is recorded as the decider.
        let cl = CommandLine {
            levels: vec![(Selector::Code(Code::DuplicateExport), Level::Deny)],
            ..Default::default()
        };
        let levels = Levels::new(&engine, &cl);
        let f = levels.decide(duplicate("other", None));
        assert_eq!(
            (f.level, f.decided_by),
            (
                Level::Deny,
                Decider::CommandLine(Flag::Level {
                    level: Level::Deny,
                    code: "duplicate-export".into()
                })
            )
        );
        // `by_policy` leaves the command line out.
        let f = levels.by_policy(duplicate("other", None));
        assert_eq!(f.level, Level::Warn);
    }
}
