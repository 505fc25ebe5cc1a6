//! `modpolicy abi`: the command line of the ABI gate ([`modpolicy::job::abi`]), and its
//! output: human reports, JSON, SARIF, plain lines or an HTML page on stdout.
//!
//! `BASELINE` and `NEW` are each a `Module.symvers`, an installed tree
//! (`.../lib/modules/VERSION`) or a build directory holding `modules.order`.
//!
//! Exit code: 0 nothing denied, 1 a denied change, 2 bad input or invocation.

use super::args::{LevelArgs, PolicyArgs, ProgressArgs};
use clap::{Args, ValueEnum};
use modpolicy::diag::{CommandLine, Selector};
use modpolicy::emit::diag::{html, human, json, sarif, text, Report};
use modpolicy::job::abi::{AbiError, AbiOptions, SideInput};
use modpolicy::job::Log;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// miette reports with spans into the policy, and a summary.
    Human,
    /// The versioned JSON schema of docs/json-schema.md.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// One line per finding: `SEVERITY: CODE: MESSAGE [RULE]`, then a summary.
    Text,
    /// One self-contained HTML page: summary, filterable findings, the changes by kind
    /// with the modules they affect, and a drawing of each changed symbol's importers.
    Html,
}

/// Arguments of `modpolicy abi`.
#[derive(Debug, Args)]
pub struct AbiArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "human")]
    format: Format,
    /// A module tree or build directory whose modules' imports say who must be rebuilt
    /// (repeatable; the new side's own modules are always counted).
    #[arg(long = "consumers", value_name = "DIR")]
    consumers: Vec<String>,
    /// The baseline kernel's Module.symvers, for vmlinux's exports when BASELINE is a
    /// tree or build directory.
    #[arg(long = "baseline-kernel", value_name = "Module.symvers")]
    baseline_kernel: Option<PathBuf>,
    /// The new kernel's Module.symvers, for vmlinux's exports when NEW (or a consumer) is
    /// a tree or build directory.
    #[arg(long = "new-kernel", value_name = "Module.symvers")]
    new_kernel: Option<PathBuf>,
    /// Explain one symbol (repeatable): only its changes, its record on both sides and
    /// the modules that import it.
    #[arg(long = "symbol", value_name = "NAME")]
    symbols: Vec<String>,
    #[command(flatten)]
    levels: LevelArgs,
    #[command(flatten)]
    progress: ProgressArgs,
    /// The released ABI: a Module.symvers, a module tree or a build directory.
    #[arg(value_name = "BASELINE")]
    baseline: String,
    /// The ABI to check, in the same forms.
    #[arg(value_name = "NEW")]
    new: String,
}

fn bad(msg: &str) -> ExitCode {
    eprintln!("modpolicy abi: error: {msg}");
    ExitCode::from(2)
}

fn options(args: &AbiArgs) -> Result<AbiOptions, String> {
    let mut levels = CommandLine::default();
    for (name, level) in args.levels.each() {
        let code = super::args::code(name)?;
        levels.levels.push((Selector::Code(code), level));
    }
    Ok(AbiOptions {
        policy: args.policy.policy.clone(),
        baseline: SideInput::classify(&args.baseline, args.baseline_kernel.clone())?,
        new: SideInput::classify(&args.new, args.new_kernel.clone())?,
        consumers: args
            .consumers
            .iter()
            .map(|c| SideInput::classify(c, args.new_kernel.clone()))
            .collect::<Result<_, _>>()?,
        levels,
        symbols: args.symbols.clone(),
    })
}

/// The explanation of each `--symbol`, for the human and text formats.
fn explanations(o: &modpolicy::job::abi::AbiOutcome) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let rec = |e: &Option<modpolicy::load::symvers::SymversEntry>| match e {
        Some(e) => format!(
            "{} {} crc 0x{:08x}{}{}",
            e.module,
            e.export_type,
            e.crc,
            if e.namespace.is_empty() {
                String::new()
            } else {
                format!(" namespace {}", e.namespace)
            },
            // A record read from a module, not a Module.symvers line, has no line.
            if e.line == 0 {
                String::new()
            } else {
                format!(" (line {})", e.line)
            }
        ),
        None => "not exported".to_string(),
    };
    for s in &o.explained {
        let _ = writeln!(out, "symbol {}", s.name);
        let _ = writeln!(out, "  baseline: {}", rec(&s.baseline));
        let _ = writeln!(out, "  new:      {}", rec(&s.new));
        let changes: Vec<String> = o
            .findings
            .iter()
            .filter(|f| f.symbol.as_deref() == Some(&s.name))
            .map(|f| {
                let by = match f.rule() {
                    Some(r) => format!(", {} at {}:{}", r.kind, r.file, r.line),
                    None => String::new(),
                };
                let level = if f.tolerated {
                    "tolerated"
                } else {
                    f.level.as_str()
                };
                format!("{} ({level}{by})", f.code)
            })
            .collect();
        let _ = writeln!(
            out,
            "  changes:  {}",
            if changes.is_empty() {
                "none".to_string()
            } else {
                changes.join(", ")
            }
        );
        let _ = writeln!(
            out,
            "  imported by ({}): {}",
            s.importers.len(),
            s.importers.join(", ")
        );
    }
    out
}

/// Runs `modpolicy abi`.
pub fn run(args: AbiArgs) -> ExitCode {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => return bad(&e),
    };
    let bar = super::progress::Bar::new(!args.progress.no_progress);
    let log = Log::new("modpolicy", 0, &bar).with_progress(&bar);
    let result = modpolicy::job::abi::run(&opts, &log);
    bar.finish();
    let outcome = match result {
        Ok(o) => o,
        Err(AbiError::Input(e)) => {
            log.flush();
            return bad(&e);
        }
        Err(AbiError::Stop(stop)) => {
            super::report_stop(&log, stop, "nothing was compared");
            return ExitCode::from(2);
        }
    };
    log.flush();
    let report = Report {
        findings: &outcome.findings,
        sources: &outcome.policy.sources,
        inputs: &outcome.inputs,
    };
    let c = outcome.counts;
    let counts = explanations(&outcome)
        + &format!(
            "modpolicy abi: {} exports in {}, {} in {}, {} in both\n",
            c.baseline, outcome.inputs[0], c.new, outcome.inputs[1], c.common
        );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        Format::Human => {
            out.write_all((human::render_for(&report, "modpolicy abi") + &counts).as_bytes())
        }
        Format::Text => {
            out.write_all((text::render(&report, "modpolicy abi") + &counts).as_bytes())
        }
        Format::Json => json::write(&report, &mut out),
        Format::Sarif => sarif::write(&report, &mut out),
        Format::Html => {
            let layers = args.policy.layer_names();
            let affected = |s: &str| -> Vec<String> {
                outcome
                    .importers
                    .of(s)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            };
            let notes = [
                (
                    format!("exports in {}", outcome.inputs[0]),
                    c.baseline.to_string(),
                ),
                (
                    format!("exports in {}", outcome.inputs[1]),
                    c.new.to_string(),
                ),
                ("exports in both".to_string(), c.common.to_string()),
            ];
            html::write(
                &html::Page {
                    report: &report,
                    title: "modpolicy abi",
                    layers: &layers,
                    maps: &[],
                    affected: Some(&affected),
                    notes: &notes,
                },
                &mut out,
            )
        }
    };
    if written.and_then(|_| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    if outcome.denied() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
