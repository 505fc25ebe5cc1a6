//! Rendering the findings of `modpolicy check`, one file per output format:
//! [`modpost`] (modpost's lines), [`human`] (miette reports), [`json`] (the versioned
//! schema of `docs/json-schema.md`), [`sarif`] (SARIF 2.1.0) and [`text`] (one plain line
//! per finding; `abi`'s `--format text`) and [`html`] (one self-contained page for people,
//! with the export graph's decisions).
//!
//! Renderers receive findings already levelled (policy, then command line); they drop
//! nothing but `allow`ed findings and decide only presentation.

pub mod html;
pub mod human;
pub mod json;
pub mod modpost;
pub mod sarif;
pub mod text;
pub mod view;

use crate::diag::{Code, Finding, Level};
use crate::policy::source::Sources;

/// What a renderer needs.
pub struct Report<'a> {
    /// The findings, in output order, `allow`ed ones already removed.
    pub findings: &'a [Finding],
    /// The policy files, for spans into them.
    pub sources: &'a Sources,
    /// The inputs checked (directories as given).
    pub inputs: &'a [String],
}

impl Report<'_> {
    /// Findings that fail the run: `deny` and not tolerated.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Deny && !f.tolerated)
            .count()
    }

    /// Findings reported as warnings: `warn` and not tolerated.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Warn && !f.tolerated)
            .count()
    }

    /// Findings a policy rule (or modpost's external-build rule) tolerates.
    pub fn tolerated(&self) -> usize {
        self.findings.iter().filter(|f| f.tolerated).count()
    }
}

/// The modpost message a code mirrors, if any: a short id of ours (`U1`: unresolved
/// symbol, `N1`: missing namespace import, `G1`: GPL-only symbol, `L1`: missing licence,
/// `D1`: missing description, `X1`: exported twice, `N2`: explicit import of a
/// `module:` namespace, 6.16+) for the line Linux's `scripts/mod/modpost.c` prints.
pub fn modpost_message(code: Code) -> Option<&'static str> {
    Some(match code {
        Code::UndefinedSymbol => "U1",
        Code::MissingNamespaceImport => "N1",
        Code::ModuleNamespaceImport => "N2",
        Code::GplOnlySymbol => "G1",
        Code::MissingLicense => "L1",
        Code::MissingDescription => "D1",
        Code::DuplicateExport | Code::VmlinuxConflict => "X1",
        _ => return None,
    })
}

/// `error`, `warning` or `none`: the severity word of JSON and SARIF.
pub fn severity_word(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "none",
    }
}
