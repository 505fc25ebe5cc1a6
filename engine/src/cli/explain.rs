//! `modpolicy explain VERSION NAME`: prints the `explain` job's text. Exit code 0, or 2
//! when NAME is neither a symbol nor a module or the tree cannot be loaded.

use super::args::{PolicyArgs, TreeArgs, VmlinuxArgs};
use clap::Args;
use modpolicy::job::explain::ExplainOptions;
use modpolicy::job::{Log, StdStreams};
use std::process::ExitCode;

/// Arguments of `modpolicy explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    tree: TreeArgs,
    #[command(flatten)]
    vmlinux: VmlinuxArgs,
    /// Kernel version.
    version: String,
    /// A symbol or a module name (`-` and `_` alike).
    name: String,
}

/// Runs `modpolicy explain`.
pub fn run(args: ExplainArgs) -> ExitCode {
    let log = Log::new("modpolicy", 0, &StdStreams);
    let opts = ExplainOptions {
        policy: args.policy.policy,
        basedir: args.tree.basedir,
        config: args.tree.config,
        filesyms: args.vmlinux.filesyms,
        symvers: args.vmlinux.symvers,
        version: args.version,
        name: args.name,
    };
    let e = match modpolicy::job::explain::run(&opts, &log) {
        Ok(e) => e,
        Err(stop) => {
            super::report_stop(&log, stop, "nothing was done");
            return ExitCode::from(2);
        }
    };
    match (&e.symbol, &e.module) {
        (None, None) => {
            log.flush();
            eprintln!(
                "modpolicy: no symbol or module named `{}` in {}",
                opts.name, e.dirname
            );
            return ExitCode::from(2);
        }
        (Some(s), Some(m)) => print!("{s}\n{m}"),
        (Some(t), None) | (None, Some(t)) => print!("{t}"),
    }
    ExitCode::SUCCESS
}
