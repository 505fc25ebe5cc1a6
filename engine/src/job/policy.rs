//! The policy tools' jobs.
//!
//! - [`import_text`] renders a KDL policy equivalent to depmod.d files: the same search
//!   order, overrides, excludes and external directories, plus kmod's defaults, so
//!   `depmod --policy` on it writes the same artifacts as `depmod -C DIR`.
//! - [`import_kabi_text`] renders a KDL policy equivalent to SUSE's kABI severity rules
//!   (`abi-tolerate`/`abi-deny` rules for `modpolicy abi`, in the same order).
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
    /// How many rules (`provider`, `allow-duplicate`, `vmlinux-conflict`, `abi-*`).
    pub rules: usize,
}

/// Loads and validates the policy files `files` for kernel `kver` and lints them.
pub fn lint(files: &[PathBuf], kver: &str) -> Result<Lint, PolicyError> {
    let policy = crate::policy::load(files, kver)?;
    let engine = crate::policy::engine::PolicyEngine::new(&policy, super::today(), Vec::new());
    let mut findings: Vec<Finding> = engine
        .lints()
        .into_iter()
        .filter(|f| f.code != Code::UnmatchedRule)
        .collect();
    // The ABI rules: shadowed and expired ones (which changes they match is known only
    // when two ABIs are compared: `modpolicy abi` reports the unmatched ones).
    findings.extend(crate::abi::classify::AbiRules::new(&policy, super::today()).lints(false));
    Ok(Lint {
        findings,
        files: policy.sources.files.len(),
        rules: policy.providers.len()
            + policy.allow_duplicates.len()
            + policy.vmlinux.len()
            + policy.abi.len(),
    })
}

/// What one line of a kABI severities file selects by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KabiTarget {
    Module,
    Namespace,
    Symbol,
}

/// Escapes the characters of a severities pattern that are special to policy patterns
/// but literal in the severities file (only `*` and `?` are wildcards there).
fn kabi_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if matches!(c, '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether an untyped severities pattern names a namespace: capitals (with digits, `_`
/// and wildcards), at least one letter.
fn looks_like_namespace(p: &str) -> bool {
    p.bytes().any(|b| b.is_ascii_uppercase())
        && p.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'_' | b'*' | b'?')
        })
}

/// Renders the KDL policy equivalent to SUSE's kABI severity rules in `text` (read from
/// `file`, named in comments and reasons): each line `[MODULE|NAMESPACE|SYMBOL] PATTERN
/// PASS|FAIL` becomes an `abi-tolerate` (PASS) or `abi-deny` (FAIL) rule, in file order
/// (first match wins in both). Without a type, a pattern with `/` or exactly `vmlinux`
/// is a module, one in capitals a namespace, anything else a symbol. `#` starts a
/// comment. Every malformed line is an error naming `file:line`.
pub fn import_kabi_text(file: &str, text: &str) -> Result<String, Vec<String>> {
    let mut out = String::new();
    let mut errors = Vec::new();
    let _ = writeln!(out, "// Imported from kABI severity rules: {file}");
    let _ = writeln!(
        out,
        "// by `modpolicy policy import-kabi-rules`. One rule per line, in the file's order (the"
    );
    let _ = writeln!(
        out,
        "// first match wins); a breaking change no rule matches fails the gate, as in the file."
    );
    let _ = writeln!(out, "version 1");
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.split('#').next().unwrap_or("").trim();
        if body.is_empty() {
            continue;
        }
        let fields: Vec<&str> = body.split_whitespace().collect();
        let (typ, pattern, verdict) = match fields[..] {
            [p, v] => (None, p, v),
            [t, p, v] => (Some(t), p, v),
            _ => {
                errors.push(format!(
                    "{file}:{line}: expected `[TYPE] PATTERN PASS|FAIL`, found {} field(s)",
                    fields.len()
                ));
                continue;
            }
        };
        let target = match typ {
            Some("MODULE") => KabiTarget::Module,
            Some("NAMESPACE") => KabiTarget::Namespace,
            Some("SYMBOL") => KabiTarget::Symbol,
            Some(t) => {
                errors.push(format!(
                    "{file}:{line}: unknown rule type `{t}` (MODULE, NAMESPACE or SYMBOL)"
                ));
                continue;
            }
            None if pattern.contains('/') || pattern == "vmlinux" => KabiTarget::Module,
            None if looks_like_namespace(pattern) => KabiTarget::Namespace,
            None => KabiTarget::Symbol,
        };
        let node = match verdict {
            "PASS" => "abi-tolerate",
            "FAIL" => "abi-deny",
            v => {
                errors.push(format!(
                    "{file}:{line}: unknown verdict `{v}` (PASS or FAIL)"
                ));
                continue;
            }
        };
        let pat = kdl_str(&kabi_pattern(pattern));
        let _ = writeln!(out, "\n// {file}:{line}: {body}");
        match target {
            KabiTarget::Symbol => {
                let _ = writeln!(out, "{node} {pat} {{");
            }
            KabiTarget::Module => {
                let _ = writeln!(out, "{node} {{\n    modules {pat}");
            }
            KabiTarget::Namespace => {
                let _ = writeln!(out, "{node} {{\n    namespaces {pat}");
            }
        }
        let _ = writeln!(
            out,
            "    reason {}\n}}",
            kdl_str(&format!("{file}:{line}: {verdict}"))
        );
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::AbiVerdict;

    #[test]
    fn kabi_severities_become_abi_rules_in_order() {
        let text = "# comment\n\
                    kvm_x86_ops\t\tFAIL\n\
                    arch/x86/kvm/*\t\tPASS   # trailing\n\
                    vmlinux FAIL\n\
                    IWLWIFI PASS\n\
                    NAMESPACE lower_ns PASS\n\
                    MODULE drivers/[x]* PASS\n\
                    SYMBOL ABC_* FAIL\n";
        let kdl = import_kabi_text("sev", text).unwrap();
        let p = crate::policy::load_str("imported.kdl", &kdl, "6.1.0").expect(&kdl);
        type Shape<'a> = (AbiVerdict, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>);
        let got: Vec<Shape<'_>> = p
            .abi
            .iter()
            .map(|r| {
                fn s(v: &[crate::policy::glob::Pattern]) -> Vec<&str> {
                    v.iter().map(|p| p.as_str()).collect()
                }
                (r.verdict, s(&r.symbols), s(&r.modules), s(&r.namespaces))
            })
            .collect();
        use AbiVerdict::*;
        let e: Vec<&str> = Vec::new();
        assert_eq!(
            got,
            vec![
                (Deny, vec!["kvm_x86_ops"], e.clone(), e.clone()),
                (Tolerate, e.clone(), vec!["arch/x86/kvm/*"], e.clone()),
                (Deny, e.clone(), vec!["vmlinux"], e.clone()),
                (Tolerate, e.clone(), e.clone(), vec!["IWLWIFI"]),
                (Tolerate, e.clone(), e.clone(), vec!["lower_ns"]),
                (Tolerate, e.clone(), vec!["drivers/\\[x\\]*"], e.clone()),
                (Deny, vec!["ABC_*"], e.clone(), e.clone()),
            ]
        );
        assert!(p.abi[5].matches_module("drivers/[x]/y"));
        assert!(!p.abi[5].matches_module("drivers/x/y"));
        assert_eq!(p.abi[1].meta.reason.as_deref(), Some("sev:3: PASS"));
        let bad = import_kabi_text("sev", "a b c d\nfoo MAYBE\nTHING x PASS\n").unwrap_err();
        assert_eq!(bad.len(), 3);
        assert!(bad[0].starts_with("sev:1: ") && bad[1].starts_with("sev:2: unknown verdict"));
        assert!(bad[2].contains("unknown rule type `THING`"));
    }
}
