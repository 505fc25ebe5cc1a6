//! `--format human`: one miette report per finding, with a labelled span into the policy
//! when a policy rule decided the finding's level (or tolerated it), or the command-line
//! flag that decided it, then a summary.
//! Colourless, so the text is the same on a terminal and in a file.

use super::Report;
use crate::diag::{Decider, Finding, Level};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, Severity};

fn one(f: &Finding, r: &Report<'_>) -> miette::Report {
    let mut d = MietteDiagnostic::new(f.message.clone())
        .with_code(f.code_name().into_owned())
        .with_severity(if f.level == Level::Deny && !f.tolerated {
            Severity::Error
        } else {
            Severity::Warning
        });
    let mut help = Vec::new();
    if let Some(m) = &f.module {
        help.push(match &f.file {
            Some(file) => format!("module {m} ({file})"),
            None => format!("module {m}"),
        });
    }
    if let Some(s) = &f.symbol {
        help.push(format!("symbol {s}"));
    }
    if let Some(p) = &f.plugin {
        help.push(format!("reported by plugin {}", p.plugin));
    }
    if f.tolerated {
        help.push("tolerated: not counted".to_string());
    }
    let mut source = None;
    match &f.decided_by {
        Decider::Default => {}
        Decider::CommandLine(flag) => help.push(format!("decided by `{flag}` on the command line")),
        Decider::Rule(rule) => {
            let reason = rule
                .reason
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default();
            help.push(format!(
                "decided by `{}` at {}:{}{reason}",
                rule.kind, rule.file, rule.line
            ));
            // The rule's file, by its id among the policy's sources.
            if rule.source.0 < r.sources.files.len() {
                d = d.with_label(LabeledSpan::at(
                    rule.span,
                    format!("this `{}` decided", rule.kind),
                ));
                source = Some(r.sources.named(rule.source));
            }
        }
    }
    if !help.is_empty() {
        d = d.with_help(help.join("; "));
    }
    let report = miette::Report::new(d);
    match source {
        Some(s) => report.with_source_code(s),
        None => report,
    }
}

/// Renders every finding and a closing summary line.
pub fn render(r: &Report<'_>) -> String {
    render_for(r, "modpolicy check")
}

/// [`render`], the summary line naming `prog` (`modpolicy abi`, ...).
pub fn render_for(r: &Report<'_>, prog: &str) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for f in r.findings.iter().filter(|f| f.level != Level::Allow) {
        let report = one(f, r);
        if handler.render_report(&mut out, report.as_ref()).is_err() {
            out.push_str(&format!("{}[{}]: {}\n", f.level, f.code_name(), f.message));
        }
    }
    out.push_str(&format!(
        "{prog}: {} error(s), {} warning(s), {} tolerated\n",
        r.errors(),
        r.warnings(),
        r.tolerated()
    ));
    out
}
