//! `modpolicy policy ...`: tools for policy files (the jobs are in
//! [`modpolicy::job::policy`]).
//!
//! - `import-depmod-conf DIR...` prints a KDL policy equivalent to depmod.d files.
//! - `import-kabi-rules FILE` prints the ABI rules equivalent to SUSE's kABI severities.
//! - `lint FILE...` validates policies and reports rules that can never apply: exit 1
//!   on a problem or an error-level finding.
//! - `show [-b BASEDIR] [--policy FILE]...` prints the effective layers (the system
//!   policy files and `--policy` files, with their includes, lowest first): exit 1 when
//!   one of them is broken.

use clap::{Args, Subcommand};
use modpolicy::diag::Level;
use modpolicy::load::config::ConfigMessage;
use std::path::PathBuf;
use std::process::ExitCode;

/// `modpolicy policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print a KDL policy equivalent to depmod.d configuration (files or directories,
    /// read with kmod's precedence rules).
    ImportDepmodConf(ImportArgs),
    /// Print a KDL policy equivalent to SUSE's kABI severity rules (`abi-tolerate` and
    /// `abi-deny` rules for `modpolicy abi`); exit 2 naming each malformed line.
    ImportKabiRules(ImportKabiArgs),
    /// Validate policy files and report rules that can never apply.
    Lint(LintArgs),
    /// Print the effective policy layers, lowest first: the system policies
    /// (/usr/lib/modpolicy/policy.d, then /etc/modpolicy/policy.d, masking by file name)
    /// and the --policy files, with the files each includes: what depmod, explain and
    /// check read for a tree under BASEDIR.
    Show(ShowArgs),
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Root directory the system policy directories are read under.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    basedir: Option<String>,
    #[command(flatten)]
    policy: super::args::PolicyArgs,
    /// Kernel version for `kernel=` patterns.
    #[arg(long, default_value = "0.0.0")]
    kernel: String,
    /// Only the --policy files, as `check --no-system-policy` reads them.
    #[arg(long = "no-system-policy")]
    no_system_policy: bool,
}

/// Arguments of `import-depmod-conf`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// depmod.d directories or files, highest precedence first (like depmod's `-C`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Arguments of `import-kabi-rules`.
#[derive(Debug, Args)]
pub struct ImportKabiArgs {
    /// The severities file (lines `[MODULE|NAMESPACE|SYMBOL] PATTERN PASS|FAIL`).
    file: PathBuf,
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
        PolicyCommand::ImportKabiRules(a) => import_kabi(&a.file),
        PolicyCommand::Lint(a) => lint(&a.files, &a.kernel),
        PolicyCommand::Show(a) => show(&a),
    }
}

fn import(paths: &[PathBuf]) -> ExitCode {
    let mut msgs = Vec::new();
    let text = modpolicy::job::policy::import_text(paths, &mut msgs);
    for m in &msgs {
        match m {
            ConfigMessage::Error(e) => eprintln!("modpolicy: warning: {e}"),
            ConfigMessage::Info(i) => tracing::info!("{i}"),
        }
    }
    print!("{text}");
    ExitCode::SUCCESS
}

fn import_kabi(file: &std::path::Path) -> ExitCode {
    let text = match modpolicy::util::fs::read_input(
        file,
        modpolicy::util::fs::Accept::RegularOrPipe,
        "kABI severity files",
        modpolicy::policy::MAX_POLICY_SIZE,
    ) {
        Ok(t) => String::from_utf8_lossy(&t).into_owned(),
        Err(e) => {
            eprintln!(
                "modpolicy policy import-kabi-rules: error: cannot read {}: {}",
                file.display(),
                modpolicy::load::walk::strerror(&e)
            );
            return ExitCode::from(2);
        }
    };
    match modpolicy::job::policy::import_kabi_text(&file.display().to_string(), &text) {
        Ok(kdl) => {
            print!("{kdl}");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                eprintln!("modpolicy policy import-kabi-rules: error: {e}");
            }
            ExitCode::from(2)
        }
    }
}

fn lint(files: &[PathBuf], kver: &str) -> ExitCode {
    let lint = match modpolicy::job::policy::lint(files, kver) {
        Ok(l) => l,
        Err(e) => {
            for r in e.reports() {
                eprintln!("{r:?}");
            }
            return ExitCode::from(1);
        }
    };
    for f in &lint.findings {
        let at = f
            .rule()
            .map(|r| format!("{}:{}: ", r.file, r.line))
            .unwrap_or_default();
        eprintln!("{at}{}[{}]: {}", f.level, f.code, f.message);
    }
    println!(
        "{} file(s), {} rule(s), {} finding(s)",
        lint.files,
        lint.rules,
        lint.findings.len()
    );
    if lint.findings.iter().any(|f| f.level == Level::Deny) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn show(a: &ShowArgs) -> ExitCode {
    use modpolicy::job::system;
    let (layers, masked) = match system::effective_layers(
        a.basedir.as_deref(),
        &a.policy.policy,
        &a.kernel,
        !a.no_system_policy,
    ) {
        Ok(l) => l,
        Err(stop) => {
            let log = modpolicy::job::Log::new("modpolicy", 0, &modpolicy::job::StdStreams);
            super::report_stop(&log, stop, "no layer is in force");
            return ExitCode::from(1);
        }
    };
    let mut out = String::new();
    if layers.is_empty() {
        out.push_str("built-in: policies/kmod.kdl (kmod's rules; no policy file anywhere)\n");
    }
    for (i, l) in layers.iter().enumerate() {
        out.push_str(&format!(
            "layer {}: {} ({})\n",
            i + 1,
            l.file.path.display(),
            l.file.origin.label()
        ));
        for inc in &l.includes {
            out.push_str(&format!("  includes {}\n", inc.display()));
        }
    }
    for (shipped, by) in &masked {
        out.push_str(&format!(
            "masked: {} (by {})\n",
            shipped.display(),
            by.display()
        ));
    }
    print!("{out}");
    ExitCode::SUCCESS
}
