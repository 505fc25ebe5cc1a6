//! What the machine-readable reports ([`super::json`], [`super::sarif`]) read of a
//! finding: [`FindingView`], borrowed from a [`Finding`] by [`view`], the one function
//! that knows the finding's layout. A change to `Finding` is absorbed here.

use super::Report;
use crate::diag::{Code, Decider, Finding, Level};
use std::borrow::Cow;

/// A finding as the reports print it; every string is borrowed from the finding.
pub struct FindingView<'a> {
    /// The code as reported: `PLUGIN/CODE` for a plugin's own finding, else the built-in
    /// code's name.
    pub code: Cow<'a, str>,
    /// The built-in code (`plugin-finding` for a plugin's own finding).
    pub builtin: Code,
    /// The level after policy and command line (never `allow` here).
    pub level: Level,
    /// The message.
    pub message: &'a str,
    /// The module concerned, if any.
    pub module: Option<&'a str>,
    /// The module's file, if any.
    pub file: Option<&'a str>,
    /// The symbol concerned, if any.
    pub symbol: Option<&'a str>,
    /// What decided the level, or tolerated the finding, if a rule did.
    pub rule: Option<RuleView<'a>>,
    /// A rule tolerates the finding: shown, not counted.
    pub tolerated: bool,
    /// The plugin behind the finding, if any.
    pub plugin: Option<PluginView<'a>>,
}

/// The deciding rule of a finding.
pub struct RuleView<'a> {
    /// The policy file as displayed, or `<command line>`.
    pub file: Cow<'a, str>,
    /// 1-based line (0 for the command line).
    pub line: usize,
    /// The rule's node name, or the command-line flag.
    pub kind: Cow<'a, str>,
    /// The rule's `reason`, if it has one.
    pub reason: Option<&'a str>,
}

/// The plugin behind a finding.
pub struct PluginView<'a> {
    /// The plugin's name in the policy.
    pub name: &'a str,
    /// The plugin's own code (`None` for `plugin-failed` and `plugin-refused`).
    pub code: Option<&'a str>,
}

/// Borrows what the reports print of `f`. `_r` gives access to the policy sources, for
/// rule references that need resolving.
pub fn view<'a>(_r: &Report<'a>, f: &'a Finding) -> FindingView<'a> {
    FindingView {
        code: f.code_name(),
        builtin: f.code,
        level: f.level,
        message: &f.message,
        module: f.module.as_deref(),
        file: f.file.as_deref(),
        symbol: f.symbol.as_deref(),
        rule: match &f.decided_by {
            Decider::Default => None,
            Decider::Rule(x) => Some(RuleView {
                file: Cow::Borrowed(&x.file),
                line: x.line,
                kind: Cow::Borrowed(&x.kind),
                reason: x.reason.as_deref(),
            }),
            Decider::CommandLine(flag) => Some(RuleView {
                file: Cow::Borrowed("<command line>"),
                line: 0,
                kind: Cow::Owned(flag.to_string()),
                reason: None,
            }),
        },
        tolerated: f.tolerated,
        plugin: f.plugin.as_deref().map(|p| PluginView {
            name: &p.plugin,
            code: p.code.as_deref(),
        }),
    }
}

/// The findings a report lists (every one but `allow`ed ones), in output order.
pub fn listed<'r, 'a: 'r>(r: &'r Report<'a>) -> impl Iterator<Item = FindingView<'a>> + 'r {
    r.findings
        .iter()
        .filter(|f| f.level != Level::Allow)
        .map(move |f| view(r, f))
}
