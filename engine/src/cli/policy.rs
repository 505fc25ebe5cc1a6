//! `modpolicy policy ...`: tools for policy files.
//!
//! - `import-depmod-conf DIR...` prints a KDL policy equivalent to depmod.d files: the
//!   same search order, overrides, excludes and external directories, plus kmod's
//!   defaults, so `depmod --policy` on it writes the same artifacts as `depmod -C DIR`.
//! - `lint FILE...` loads and validates policies (every mistake, with spans) and reports
//!   rules that can never apply.

use crate::load::config::{config_files, parse_statements, ConfigMessage, Statement};
use clap::{Args, Subcommand};
use kdl::KdlValue;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// `modpolicy policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print a KDL policy equivalent to depmod.d configuration (files or directories,
    /// read with kmod's precedence rules).
    ImportDepmodConf(ImportArgs),
    /// Validate policy files and report rules that can never apply.
    Lint(LintArgs),
}

/// Arguments of `import-depmod-conf`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// depmod.d directories or files, highest precedence first (like depmod's `-C`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Policy files, lowest layer first.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Kernel version for `kernel=` patterns.
    #[arg(long, default_value = "0.0.0")]
    kernel: String,
}

/// Runs a `policy` subcommand.
pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::ImportDepmodConf(a) => import(&a.paths),
        PolicyCommand::Lint(a) => lint(&a.files, &a.kernel),
    }
}

fn kdl_str(s: &str) -> String {
    KdlValue::String(s.to_string()).to_string()
}

/// Renders the KDL policy for depmod.d `paths`; messages about bad lines go to `msgs`.
pub fn import_text(paths: &[PathBuf], msgs: &mut Vec<ConfigMessage>) -> String {
    let mut out = String::new();
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let _ = writeln!(
        out,
        "// Imported from depmod.d configuration: {}",
        shown.join(", ")
    );
    let _ = writeln!(
        out,
        "// by `modpolicy policy import-depmod-conf`. kmod's defaults plus the same search"
    );
    let _ = writeln!(
        out,
        "// settings: `modpolicy depmod --policy` on this file writes what `depmod -C` writes."
    );
    let _ = writeln!(out, "version 1\n");
    let _ = writeln!(
        out,
        "defaults {{\n    provider \"last-in-order\"\n    vmlinux-winner \"module\"\n}}\n"
    );
    let _ = writeln!(
        out,
        "severity {{\n    duplicate-export \"allow\"\n    vmlinux-conflict \"allow\"\n}}\n"
    );
    let _ = writeln!(out, "depmod {{");
    for f in config_files(paths, msgs) {
        let text = match crate::load::config::read_config(&f, paths) {
            Ok(t) => t,
            Err(e) => {
                msgs.push(ConfigMessage::Error(format!(
                    "could not open '{}': {}",
                    f.display(),
                    crate::load::walk::strerror(&e)
                )));
                continue;
            }
        };
        for (line, st) in parse_statements(&f, &text, msgs) {
            let _ = writeln!(out, "    // {}:{line}", f.display());
            let node = match st {
                Statement::Search(t) => format!(
                    "search {}",
                    t.iter().map(|x| kdl_str(x)).collect::<Vec<_>>().join(" ")
                ),
                Statement::Override {
                    modname,
                    kver,
                    subdir,
                } => format!(
                    "override {} {} kernel={}",
                    kdl_str(&modname),
                    kdl_str(&subdir),
                    kdl_str(&kver)
                ),
                Statement::Exclude(t) => format!(
                    "exclude {}",
                    t.iter().map(|x| kdl_str(x)).collect::<Vec<_>>().join(" ")
                ),
                Statement::External { kver, dir } => {
                    format!("external {} kernel={}", kdl_str(&dir), kdl_str(&kver))
                }
            };
            let _ = writeln!(out, "    {}", node.trim_end());
        }
    }
    let _ = writeln!(out, "}}");
    out
}

fn import(paths: &[PathBuf]) -> ExitCode {
    let mut msgs = Vec::new();
    let text = import_text(paths, &mut msgs);
    for m in &msgs {
        match m {
            ConfigMessage::Error(e) => eprintln!("modpolicy: warning: {e}"),
            ConfigMessage::Info(i) => tracing::info!("{i}"),
        }
    }
    print!("{text}");
    ExitCode::SUCCESS
}

fn lint(files: &[PathBuf], kver: &str) -> ExitCode {
    let policy = match crate::policy::load(files, kver) {
        Ok(p) => p,
        Err(e) => {
            for r in e.reports() {
                eprintln!("{r:?}");
            }
            return ExitCode::from(1);
        }
    };
    let engine =
        crate::policy::engine::PolicyEngine::new(&policy, super::tree::today(), Vec::new());
    // Without a module tree, "unmatched" means nothing; report shadowed and expired rules.
    let findings: Vec<_> = engine
        .lints()
        .into_iter()
        .filter(|f| f.code != crate::diag::Code::UnmatchedRule)
        .collect();
    for f in &findings {
        let at = f
            .rule
            .as_ref()
            .map(|r| format!("{}:{}: ", r.file, r.line))
            .unwrap_or_default();
        eprintln!("{at}{}[{}]: {}", f.level, f.code, f.message);
    }
    let n = policy.providers.len() + policy.allow_duplicates.len() + policy.vmlinux.len();
    println!(
        "{} file(s), {n} rule(s), {} finding(s)",
        policy.sources.files.len(),
        findings.len()
    );
    if findings.iter().any(|f| f.level == crate::diag::Level::Deny) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
