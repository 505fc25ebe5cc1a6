//! `modpolicy check`: the command line of the `check` job ([`modpolicy::job::check`]),
//! and its output: modpost text, human reports, JSON, SARIF or an HTML page on stdout.
//!
//! Each `DIR` is an installed tree (`.../lib/modules/VERSION`; or `-b BASEDIR VERSION`)
//! or a build directory holding `modules.order`.
//!
//! Exit code: 0 clean, 1 an error-level finding, 2 bad invocation or unreadable input.

use super::args::{LevelArgs, PolicyArgs, ProgressArgs};
use clap::{Args, ValueEnum};
use modpolicy::diag::{CommandLine, Selector};
use modpolicy::emit::diag::{html, human, json, modpost, sarif, Report};
use modpolicy::job::check::{default_plugin_cache, CheckError, CheckOptions, Input};
use modpolicy::job::{Log, Stop};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// modpost's lines (`ERROR: modpost: ...`), in modpost's order and wording.
    Modpost,
    /// miette reports with spans into the policy, and a summary.
    Human,
    /// The versioned JSON schema of docs/json-schema.md.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// One self-contained HTML page: summary, filterable findings, contested symbols
    /// with their deciding rules, and a drawing of the export graph.
    Html,
}

/// Arguments of `modpolicy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The kernel's Module.symvers first, then extra symbol dumps (repeatable).
    #[arg(long = "symvers", value_name = "FILE")]
    symvers: Vec<PathBuf>,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "human")]
    format: Format,
    /// Root directory: check BASEDIR/lib/modules/VERSION (then the one positional
    /// argument is VERSION), as for depmod.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    basedir: Option<String>,
    /// depmod configuration file or directory for installed trees (repeatable).
    #[arg(short = 'C', long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
    /// Undefined symbols are warnings, not errors (modpost -w, KBUILD_MODPOST_WARN=1).
    #[arg(short = 'w', long = "warn-undefined")]
    warn_undefined: bool,
    /// Missing namespace imports are warnings, not errors (modpost -N).
    #[arg(short = 'N', long = "allow-missing-ns-imports")]
    warn_missing_ns: bool,
    /// The kernel release whose modpost rules apply (e.g. 6.18.0; `module:` namespaces
    /// from 6.16). Default: each input's own, from a module's `vermagic`, the tree's
    /// version, or the kernel build tree of the first `--symvers`.
    #[arg(long = "kernel-version", value_name = "RELEASE")]
    kernel_version: Option<String>,
    #[command(flatten)]
    levels: LevelArgs,
    /// Where compiled plugins are cached. Default: $MODPOLICY_PLUGIN_CACHE, else
    /// $XDG_CACHE_HOME/modpolicy/plugins, else ~/.cache/modpolicy/plugins.
    #[arg(long = "plugin-cache", value_name = "DIR")]
    plugin_cache: Option<PathBuf>,
    /// Compile plugins afresh and cache nothing.
    #[arg(long = "no-plugin-cache", conflicts_with = "plugin_cache")]
    no_plugin_cache: bool,
    #[command(flatten)]
    progress: ProgressArgs,
    /// Read no system policy (/usr/lib/modpolicy/policy.d, /etc/modpolicy/policy.d under
    /// the first tree's root, as its depmod reads them): only the --policy files.
    #[arg(long = "no-system-policy")]
    no_system_policy: bool,
    /// Module trees or build directories (with -b: the kernel VERSION).
    #[arg(required = true, value_name = "DIR")]
    inputs: Vec<String>,
}

fn bad(msg: &str) -> ExitCode {
    eprintln!("modpolicy check: error: {msg}");
    ExitCode::from(2)
}

/// The job's options from the arguments, or what is wrong with them.
fn options(args: &CheckArgs) -> Result<CheckOptions, String> {
    let mut opts = CheckOptions {
        policy: args.policy.policy.clone(),
        system_policy: !args.no_system_policy,
        symvers: args.symvers.clone(),
        config: args.config.clone(),
        levels: CommandLine {
            warn_undefined: args.warn_undefined,
            allow_missing_ns_imports: args.warn_missing_ns,
            levels: Vec::new(),
        },
        kernel_version: args.kernel_version.clone(),
        plugin_cache: if args.no_plugin_cache {
            None
        } else {
            args.plugin_cache.clone().or_else(default_plugin_cache)
        },
        export_maps: args.format == Format::Html,
        ..Default::default()
    };
    // Built-in codes first, then `PLUGIN/CODE`s: an unknown built-in code is reported
    // before a malformed plugin code.
    for (name, level) in args.levels.each().filter(|(c, _)| !c.contains('/')) {
        let code = super::args::code(name)?;
        opts.levels.levels.push((Selector::Code(code), level));
    }
    for (name, level) in args.levels.each().filter(|(c, _)| c.contains('/')) {
        match name.split_once('/') {
            Some((p, code))
                if modpolicy::plugin::abi::valid_code(p)
                    && modpolicy::plugin::abi::valid_code(code) =>
            {
                let plugin = Selector::Plugin(name.to_string());
                opts.levels.levels.push((plugin, level))
            }
            _ => return Err(format!("`{name}` is not a plugin code (PLUGIN/CODE)")),
        }
    }
    opts.inputs = if let Some(b) = &args.basedir {
        if args.inputs.len() != 1 {
            return Err("with -b, give exactly one argument: the kernel VERSION".into());
        }
        vec![Input::Tree(Some(b.clone()), args.inputs[0].clone())]
    } else {
        args.inputs
            .iter()
            .map(|d| Input::classify(d))
            .collect::<Result<_, _>>()?
    };
    Ok(opts)
}

/// Runs `modpolicy check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => return bad(&e),
    };
    let bar = super::progress::Bar::new(!args.progress.no_progress);
    let log = Log::new("modpolicy", 0, &bar).with_progress(&bar);
    let result = modpolicy::job::check::run(&opts, &log);
    bar.finish();
    let outcome = match result {
        Ok(o) => o,
        Err(CheckError::Input(e)) => {
            log.flush();
            return bad(&e);
        }
        Err(CheckError::Stop(Stop::Policy(e))) => {
            log.flush();
            for r in e.reports() {
                eprintln!("{r:?}");
            }
            return bad(&format!(
                "{} problem(s) in the policy; nothing was checked",
                e.diagnostics.len()
            ));
        }
        Err(CheckError::Stop(stop)) => {
            super::report_stop(&log, stop, "nothing was checked");
            return ExitCode::from(2);
        }
    };
    let report = Report {
        findings: &outcome.findings,
        sources: &outcome.policy.sources,
        inputs: &args.inputs,
    };
    let text = match args.format {
        Format::Modpost => Some(modpost::render(&report)),
        Format::Human => Some(human::render(&report)),
        Format::Json | Format::Sarif | Format::Html => None,
    };
    log.flush();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // JSON, SARIF and HTML stream to stdout, one finding at a time.
    let written = match (text, args.format) {
        (Some(text), _) => out.write_all(text.as_bytes()),
        (None, Format::Json) => json::write(&report, &mut out),
        (None, Format::Html) => html::write(
            &html::Page {
                report: &report,
                title: "modpolicy check",
                layers: &args.policy.layer_names(),
                maps: &outcome.maps,
                affected: None,
                notes: &[],
            },
            &mut out,
        ),
        (None, _) => sarif::write(&report, &mut out),
    };
    if written.and_then(|_| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    if outcome.unreadable {
        ExitCode::from(2)
    } else if report.errors() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
