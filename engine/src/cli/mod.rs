//! The command line: clap definitions, one file per subcommand, printing and exit
//! codes. Each subcommand turns its arguments into a job's options, runs the job
//! ([`modpolicy::job`]) and prints what it returns; argument groups several subcommands
//! share are in [`args`].
//!
//! Only this module knows about clap, terminals (the progress bar, [`progress`]), logging
//! setup and exit codes.

mod abi;
mod args;
mod check;
mod depmod;
mod depmod_getopt;
mod docs;
mod explain;
mod plugin;
mod policy;
mod progress;

use clap::{Parser, Subcommand};
use modpolicy::job::{Log, Stop};
use std::process::ExitCode;

/// What `modpolicy --version` prints: the version and the build-time settings.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nmodule directory: ",
    env!("MODPOLICY_BUILT_MODULE_DIRECTORY"),
    "\nsystem policies: /usr/lib/modpolicy/policy.d, /etc/modpolicy/policy.d",
);

/// Declarative policy for Linux kernel module exports.
#[derive(Debug, Parser)]
#[command(name = "modpolicy", version, long_version = LONG_VERSION, about, long_about = None)]
struct Cli {
    /// More log output (repeatable): -v info, -vv debug, -vvv trace. Logs go to stderr.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = false)]
    verbose: u8,
    /// Only errors in the log.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write depmod artifacts (modules.dep, .alias, .symbols, ... and .bin indexes),
    /// byte-identical to kmod's depmod; kmod's command line.
    Depmod(depmod::DepmodArgs),
    /// Check modules as modpost does, and more, under a policy: modpost text, human,
    /// JSON or SARIF output; exit 1 on an error-level finding, 2 on bad input.
    Check(check::CheckArgs),
    /// Explain a symbol's provider (every exporter, the deciding rule, the importers) or
    /// a module's imports and dependencies.
    Explain(explain::ExplainArgs),
    /// Compare a kernel's exports with a baseline ABI under the policy's ABI rules:
    /// every removed, changed, moved export with the modules that import it; exit 1 on a
    /// denied change, 2 on bad input.
    Abi(abi::AbiArgs),
    /// Tools for policy files.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Tools for WebAssembly plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    GenerateDocs(docs::DocsArgs),
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = if quiet {
        tracing::Level::ERROR
    } else {
        match verbose {
            0 => tracing::Level::WARN,
            1 => tracing::Level::INFO,
            2 => tracing::Level::DEBUG,
            _ => tracing::Level::TRACE,
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(progress::log_writer)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Prints why a job stopped, if the job has not: a fatal error last, as kmod prints it,
/// or the policy's problems (`tail` says what was not done).
fn report_stop(log: &Log<'_>, stop: Stop, tail: &str) {
    match stop {
        Stop::Reported => {}
        Stop::Fatal(m) => log.fatal(&m),
        Stop::Policy(e) => {
            log.flush();
            for r in e.reports() {
                eprintln!("{r:?}");
            }
            eprintln!(
                "modpolicy: {} problem(s) in the policy; {tail}",
                e.diagnostics.len()
            );
        }
        Stop::Denied { count } => log.line(format_args!(
            "modpolicy: {count} finding(s) denied by policy; nothing was written"
        )),
    }
}

/// The command line as `modpolicy` reads it: run through a link named `depmod` (the
/// basename of `argv[0]`), the binary is `modpolicy depmod`, so that the kernel packages'
/// scripts, DKMS and `make modules_install` calling `depmod` get kmod's command line.
fn as_invoked(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let invoked_as_depmod = argv
        .first()
        .and_then(|a0| std::path::Path::new(a0).file_name())
        .is_some_and(|n| n == "depmod");
    if invoked_as_depmod {
        argv.insert(1, "depmod".into());
    }
    argv
}

/// Run as `depmod` (the link) with `-b BASEDIR` or `-o OUTDIR` and no `--cache`/`--no-cache`,
/// the module cache is off: kmod writes nothing under BASEDIR (OUTDIR) but
/// `lib/modules/VERSION`, and callers pack the whole tree (initramfs-tools' `mkinitramfs`
/// runs `depmod -b` on the tree it turns into the initramfs, which would carry
/// `var/cache/modpolicy`). `argv` is
/// [`depmod_getopt::rewrite`]'s output: options spelled `--name=value` before `--`.
fn depmod_cache_off_under_basedir(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let invoked_as_depmod = argv
        .first()
        .and_then(|a0| std::path::Path::new(a0).file_name())
        .is_some_and(|n| n == "depmod");
    if !invoked_as_depmod || argv.get(1).is_none_or(|s| s != "depmod") {
        return argv;
    }
    let options = argv.iter().skip(2).take_while(|a| *a != "--");
    let (mut basedir, mut cache_chosen) = (false, false); // -b or -o; --cache or --no-cache
    for a in options {
        let a = a.as_encoded_bytes();
        basedir |= a.starts_with(b"--basedir=") || a.starts_with(b"--outdir=");
        cache_chosen |= a.starts_with(b"--cache=") || a == b"--no-cache";
    }
    if basedir && !cache_chosen {
        argv.insert(2, "--no-cache".into());
    }
    argv
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    modpolicy::job::elapsed();
    let argv = as_invoked(std::env::args_os().collect());
    // `depmod`'s arguments are read as kmod's getopt_long reads them (messages, exit 1).
    let argv = match depmod_getopt::rewrite(argv) {
        depmod_getopt::Outcome::Parse(argv) => depmod_cache_off_under_basedir(argv),
        depmod_getopt::Outcome::Exit(code) => return code,
    };
    let cli = Cli::parse_from(argv);
    init_logging(cli.verbose, cli.quiet);
    match cli.command {
        Command::Depmod(args) => depmod::run(args),
        Command::Check(args) => check::run(args),
        Command::Abi(args) => abi::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Plugin(cmd) => plugin::run(cmd),
        Command::GenerateDocs(args) => docs::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::depmod_cache_off_under_basedir as cache_off;
    use std::ffi::OsString;

    fn v(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn depmod_link_under_basedir_or_outdir_has_no_cache_unless_asked() {
        let off = |w: &[&str]| cache_off(v(w)).iter().any(|a| a == "--no-cache");
        assert!(off(&[
            "/sbin/depmod",
            "depmod",
            "--basedir=/r",
            "--",
            "6.1"
        ]));
        assert!(off(&["depmod", "depmod", "--outdir=/o", "--"]));
        // No -b/-o: the usual cache; an explicit choice stands.
        assert!(!off(&["/sbin/depmod", "depmod", "--all", "--", "6.1"]));
        assert!(!off(&[
            "depmod",
            "depmod",
            "--basedir=/r",
            "--cache=/c",
            "--"
        ]));
        assert_eq!(
            cache_off(v(&["depmod", "depmod", "--basedir=/r", "--no-cache", "--"])).len(),
            5
        );
        // An operand spelled like an option is not one; `modpolicy depmod -b` keeps its cache.
        assert!(!off(&["depmod", "depmod", "--", "--basedir=/r"]));
        assert!(!off(&[
            "/usr/bin/modpolicy",
            "depmod",
            "--basedir=/r",
            "--"
        ]));
    }
}
