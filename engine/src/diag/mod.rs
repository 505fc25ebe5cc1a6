//! Diagnostics shared by every stage: the code table, levels, and the finding record.
//!
//! A [`Code`] is stable: its kebab-case name is the `--allow/--warn/--deny` argument, the
//! JSON `code` and the SARIF `ruleId`, and it is never renamed or reused (retired codes
//! stay listed). Each code has a default [`Level`]; a policy and the command line may
//! change it. This module knows nothing of how findings are printed.

use std::fmt;

/// How serious a finding is, after policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Not reported.
    Allow,
    /// Reported, does not fail the run.
    Warn,
    /// Reported, fails the run (exit 1).
    Deny,
}

impl Level {
    /// The policy and command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }

    /// Parses `allow`, `warn` or `deny`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $level:ident, $summary:literal; )*) => {
        /// Every diagnostic code modpolicy can emit.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case name.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The level used when neither policy nor command line says otherwise.
            pub fn default_level(self) -> Level {
                match self { $(Code::$variant => Level::$level,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    /// Two or more modules export the same symbol.
    DuplicateExport = "duplicate-export", Warn, "a symbol is exported by more than one module";
    /// A module exports a symbol that vmlinux exports too.
    VmlinuxConflict = "vmlinux-conflict", Deny, "a module exports a symbol vmlinux already exports";
    /// A policy rule matched nothing in the graph.
    UnmatchedRule = "unmatched-rule", Warn, "a policy rule matched nothing";
    /// A policy rule can never apply: an earlier rule always wins.
    ShadowedRule = "shadowed-rule", Warn, "a policy rule is always preceded by an earlier rule that matches the same";
    /// An allowlist entry passed its `expires` date and no longer applies.
    ExpiredRule = "expired-rule", Warn, "a policy entry has expired and no longer applies";
    /// A module file could not be read.
    UnreadableModule = "unreadable-module", Warn, "a module file could not be read or parsed";
    /// A module uses a symbol nobody exports (modpost: `"sym" [mod.ko] undefined!`).
    UndefinedSymbol = "undefined-symbol", Deny, "a module uses a symbol that neither vmlinux nor any module exports";
    /// A GPL-incompatible module uses a GPL-only export.
    GplOnlySymbol = "gpl-only-symbol", Deny, "a GPL-incompatible module uses a GPL-only symbol";
    /// A module uses a namespaced symbol without `MODULE_IMPORT_NS()`.
    MissingNamespaceImport = "missing-namespace-import", Deny, "a module uses a symbol from a namespace it does not import";
    /// A module has no `MODULE_LICENSE()`.
    MissingLicense = "missing-license", Deny, "a module has no MODULE_LICENSE()";
    /// A module has no `MODULE_DESCRIPTION()` (modpost 6.10+ with W=1).
    MissingDescription = "missing-description", Warn, "a module has no MODULE_DESCRIPTION()";
    /// A module's `__versions` CRC differs from its provider's CRC.
    CrcMismatch = "crc-mismatch", Deny, "a module was built against a different version of a symbol than its provider exports";
    /// A module's recorded `depends=` differs from the providers the policy resolves.
    StaleDepends = "stale-depends", Warn, "a module's recorded depends= disagrees with the providers the policy resolves";
    /// A module imports a namespace it uses no symbol from.
    UnneededNamespaceImport = "unneeded-namespace-import", Warn, "a module imports a namespace it uses no symbol from";
    /// Modules depend on each other in a cycle.
    DependencyCycle = "dependency-cycle", Deny, "modules depend on each other in a cycle";
    /// A `softdep` or `weakdep` names a module that does not exist.
    MissingSoftdepTarget = "missing-softdep-target", Warn, "a softdep or weakdep names a module that does not exist";
    /// A finding a WebAssembly plugin reported (its own code is `PLUGIN/CODE`).
    PluginFinding = "plugin-finding", Warn, "a WebAssembly plugin declared by the policy reported a finding";
    /// A plugin ran and failed: trap, fuel, deadline, memory, stack or malformed output.
    PluginFailed = "plugin-failed", Deny, "a plugin trapped, ran out of fuel or time, exceeded its memory or stack, or returned malformed output";
    /// A plugin was not run: unreadable, wrong sha256, invalid, or not the plugin ABI.
    PluginRefused = "plugin-refused", Deny, "a plugin was not loaded: unreadable, wrong sha256, invalid wasm, forbidden imports or another ABI";
    /// A module imports a `module:` namespace explicitly (modpost 6.16+:
    /// `<mod>: explicitly importing namespace "module:..." is not allowed.`).
    ModuleNamespaceImport = "module-namespace-import", Deny, "a module imports a module: namespace explicitly, which only the modules it names may use, without importing";
    /// `abi`: an export of the baseline is missing from the new side.
    AbiExportRemoved = "abi-export-removed", Deny, "an export of the baseline ABI is gone";
    /// `abi`: an export's CRC differs between the baseline and the new side.
    AbiCrcChanged = "abi-crc-changed", Deny, "an export's CRC changed since the baseline ABI";
    /// `abi`: an export moved (to or from vmlinux, or between modules).
    AbiExportMoved = "abi-export-moved", Deny, "an export moved to another module, or to or from vmlinux";
    /// `abi`: `EXPORT_SYMBOL` became `EXPORT_SYMBOL_GPL`.
    AbiLicenseTightened = "abi-license-tightened", Deny, "an export became GPL-only";
    /// `abi`: `EXPORT_SYMBOL_GPL` became `EXPORT_SYMBOL`.
    AbiLicenseLoosened = "abi-license-loosened", Warn, "a GPL-only export became usable by any module";
    /// `abi`: an export was put in a namespace.
    AbiNamespaceAdded = "abi-namespace-added", Deny, "an export was put in a symbol namespace";
    /// `abi`: an export left its namespace.
    AbiNamespaceRemoved = "abi-namespace-removed", Warn, "an export left its symbol namespace";
    /// `abi`: an export moved to another namespace.
    AbiNamespaceChanged = "abi-namespace-changed", Deny, "an export moved to another symbol namespace";
    /// `abi`: a new export (reported, does not fail the gate).
    AbiExportAdded = "abi-export-added", Warn, "a new export, not in the baseline ABI";
    /// `abi`: an export has CRC 0x00000000 (not versioned) on one side.
    AbiUnversioned = "abi-unversioned", Warn, "an export has no CRC (0x00000000): its ABI cannot be compared";
}

impl Code {
    /// Looks a code up by its name.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The documentation anchor of the code (in `docs/codes.md`).
    pub fn doc_anchor(self) -> String {
        format!("docs/codes.md#{}", self.name())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a deciding rule lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The policy file, by its id in the policy's [`Sources`](crate::policy::source::Sources).
    pub source: crate::policy::source::FileId,
    /// The policy file's path, as shown.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Byte span in the file (offset, length).
    pub span: (usize, usize),
    /// The rule's kind (node name), e.g. `allow-duplicate`.
    pub kind: String,
    /// The rule's `reason`, if it has one.
    pub reason: Option<String>,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} ({})", self.file, self.line, self.kind)
    }
}

/// The plugin behind a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginOrigin {
    /// The plugin's name in the policy.
    pub plugin: String,
    /// The plugin's own code (`None` for `plugin-failed` and `plugin-refused`).
    pub code: Option<String>,
}

/// What decided a finding's level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// The code's default level: neither the policy nor the command line set it.
    Default,
    /// A rule of the policy: a `severity` entry, an `allow-duplicate` or
    /// `vmlinux-conflict` rule, a plugin's declaration, ... (or the rule that tolerated
    /// the finding).
    Rule(RuleRef),
    /// A command-line flag.
    CommandLine(Flag),
}

impl From<Option<RuleRef>> for Decider {
    fn from(r: Option<RuleRef>) -> Decider {
        r.map_or(Decider::Default, Decider::Rule)
    }
}

/// A command-line flag that sets the level of findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// `--allow CODE`, `--warn-code CODE` or `--deny CODE`.
    Level {
        /// The level it sets.
        level: Level,
        /// The code as given: a built-in code's name, or `PLUGIN/CODE`.
        code: String,
    },
    /// modpost's `-w`: undefined symbols are warnings.
    WarnUndefined,
    /// modpost's `-N`: missing namespace imports are warnings.
    AllowMissingNsImports,
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Level { level, code } => {
                let flag = match level {
                    Level::Allow => "--allow",
                    Level::Warn => "--warn-code",
                    Level::Deny => "--deny",
                };
                write!(f, "{flag} {code}")
            }
            Flag::WarnUndefined => f.write_str("-w"),
            Flag::AllowMissingNsImports => f.write_str("-N"),
        }
    }
}

/// Which findings a `--allow/--warn-code/--deny` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every finding with this built-in code (`plugin-finding`: every plugin's).
    Code(Code),
    /// A plugin's own code, `PLUGIN/CODE`.
    Plugin(String),
}

/// The command line's say on levels: `--allow/--warn-code/--deny` in the order given
/// (a later one wins), and modpost's `-w` and `-N`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `(which findings, level)`, in order.
    pub levels: Vec<(Selector, Level)>,
    /// `-w`: `undefined-symbol` at `deny` becomes `warn`.
    pub warn_undefined: bool,
    /// `-N`: `missing-namespace-import` at `deny` becomes `warn`.
    pub allow_missing_ns_imports: bool,
}

impl CommandLine {
    /// Applies the command line to `f`, after the policy (the second half of
    /// [`crate::check::level::Levels::decide`]): `-w` and `-N` first, then the
    /// last `--allow/--warn-code/--deny` naming its built-in code, then the last naming
    /// its plugin code. Whatever sets the level becomes the decider.
    pub fn apply(&self, mut f: Finding) -> Finding {
        let set = |f: &mut Finding, level: Level, flag: Flag| {
            f.level = level;
            f.decided_by = Decider::CommandLine(flag);
        };
        if f.level == Level::Deny {
            if self.warn_undefined && f.code == Code::UndefinedSymbol {
                set(&mut f, Level::Warn, Flag::WarnUndefined);
            }
            if self.allow_missing_ns_imports && f.code == Code::MissingNamespaceImport {
                set(&mut f, Level::Warn, Flag::AllowMissingNsImports);
            }
        }
        let last = |want: &dyn Fn(&Selector) -> bool| {
            self.levels.iter().rev().find(|(s, _)| want(s)).cloned()
        };
        if let Some((_, level)) = last(&|s| *s == Selector::Code(f.code)) {
            let code = f.code.name().to_string();
            set(&mut f, level, Flag::Level { level, code });
        }
        if f.plugin.as_ref().is_some_and(|p| p.code.is_some()) {
            let name = f.code_name().into_owned();
            if let Some((_, level)) = last(&|s| matches!(s, Selector::Plugin(p) if *p == name)) {
                set(&mut f, level, Flag::Level { level, code: name });
            }
        }
        f
    }
}

/// One finding: what was found, where, and its level with what decided it.
///
/// A check makes it at its code's default level; its level is decided once, by
/// [`crate::check::level::Levels::decide`]: the policy's say, then the command line's
/// ([`CommandLine::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The plugin that reported it, or that failed (`None`: a built-in check).
    pub plugin: Option<Box<PluginOrigin>>,
    /// The code.
    pub code: Code,
    /// The level after policy and command line.
    pub level: Level,
    /// The message, worded as modpost words it where modpost has one.
    pub message: String,
    /// The module concerned, if any.
    pub module: Option<String>,
    /// The module's file, if any.
    pub file: Option<String>,
    /// The symbol concerned, if any.
    pub symbol: Option<String>,
    /// What decided the level (or, for a tolerated finding, the rule that tolerated it).
    pub decided_by: Decider,
    /// Set when a rule tolerates this finding (kept visible, not counted).
    pub tolerated: bool,
}

impl Finding {
    /// The code as reported: `PLUGIN/CODE` for a plugin's own finding, else the built-in
    /// code's name.
    pub fn code_name(&self) -> std::borrow::Cow<'_, str> {
        match self.plugin.as_deref() {
            Some(PluginOrigin {
                plugin,
                code: Some(c),
            }) => format!("{plugin}/{c}").into(),
            _ => self.code.name().into(),
        }
    }

    /// The policy rule that decided the level (or tolerated the finding), if one did.
    pub fn rule(&self) -> Option<&RuleRef> {
        match &self.decided_by {
            Decider::Rule(r) => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        for n in &names {
            assert!(
                n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{n}"
            );
            assert_eq!(Code::from_name(n).map(|c| c.name()), Some(*n));
        }
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate code names");
    }

    fn finding(code: Code, level: Level, decided_by: Decider) -> Finding {
        Finding {
            plugin: None,
            code,
            level,
            message: String::new(),
            module: None,
            file: None,
            symbol: None,
            decided_by,
            tolerated: false,
        }
    }

    fn rule() -> RuleRef {
        RuleRef {
            source: crate::policy::source::FileId(0),
            file: "p.kdl".into(),
            line: 3,
            span: (10, 4),
            kind: "severity".into(),
            reason: None,
        }
    }

    #[test]
    fn the_command_line_decides_what_it_sets() {
        let cl = CommandLine {
            levels: vec![
                (Selector::Code(Code::DuplicateExport), Level::Warn),
                (Selector::Code(Code::DuplicateExport), Level::Deny),
            ],
            ..Default::default()
        };
        let f = cl.apply(finding(
            Code::DuplicateExport,
            Level::Allow,
            Decider::Rule(rule()),
        ));
        assert_eq!(f.level, Level::Deny);
        assert_eq!(f.rule(), None, "the policy rule did not decide");
        assert_eq!(
            f.decided_by,
            Decider::CommandLine(Flag::Level {
                level: Level::Deny,
                code: "duplicate-export".into()
            })
        );
        // A finding the command line does not name keeps its decider.
        let g = cl.apply(finding(
            Code::VmlinuxConflict,
            Level::Deny,
            Decider::Rule(rule()),
        ));
        assert_eq!(g.rule(), Some(&rule()));
    }

    #[test]
    fn modpost_flags_only_lower_errors() {
        let cl = CommandLine {
            warn_undefined: true,
            ..Default::default()
        };
        let f = cl.apply(finding(
            Code::UndefinedSymbol,
            Level::Deny,
            Decider::Default,
        ));
        assert_eq!(
            (f.level, f.decided_by),
            (Level::Warn, Decider::CommandLine(Flag::WarnUndefined))
        );
        let f = cl.apply(finding(
            Code::UndefinedSymbol,
            Level::Allow,
            Decider::Default,
        ));
        assert_eq!((f.level, f.decided_by), (Level::Allow, Decider::Default));
        assert_eq!(Flag::WarnUndefined.to_string(), "-w");
    }
}
