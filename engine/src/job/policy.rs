//! The policy tools' jobs.
//!
//! - [`import_text`] renders a KDL policy equivalent to depmod.d files: the same search
//!   order, overrides, excludes and external directories, plus kmod's defaults, so
//!   `depmod --policy` on it writes the same artifacts as `depmod -C DIR`.
//! - [`lint`] loads and validates policies (every mistake, with spans) and reports rules
//!   that can never apply.

use crate::diag::{Code, Finding};
use crate::load::config::{config_files, parse_statements, ConfigMessage, Statement};
use crate::policy::PolicyError;
use kdl::KdlValue;
use std::fmt::Write as _;
use std::path::PathBuf;

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

/// What [`lint`] found.
#[derive(Debug)]
pub struct Lint {
    /// Shadowed and expired rules (without a module tree, `unmatched-rule` means
    /// nothing and is not reported).
    pub findings: Vec<Finding>,
    /// How many files the policy has, includes counted.
    pub files: usize,
    /// How many rules (`provider`, `allow-duplicate`, `vmlinux-conflict`).
    pub rules: usize,
}

/// Loads and validates the policy files `files` for kernel `kver` and lints them.
pub fn lint(files: &[PathBuf], kver: &str) -> Result<Lint, PolicyError> {
    let policy = crate::policy::load(files, kver)?;
    let engine = crate::policy::engine::PolicyEngine::new(&policy, super::today(), Vec::new());
    let findings = engine
        .lints()
        .into_iter()
        .filter(|f| f.code != Code::UnmatchedRule)
        .collect();
    Ok(Lint {
        findings,
        files: policy.sources.files.len(),
        rules: policy.providers.len() + policy.allow_duplicates.len() + policy.vmlinux.len(),
    })
}
