//! `modpolicy explain VERSION NAME`: prints the `explain` job's text. Exit code 0, or 2
//! when NAME is neither a symbol nor a module or the tree cannot be loaded.

use super::args::{PolicyArgs, ProgressArgs, TreeArgs, VmlinuxArgs};
use clap::Args;
use modpolicy::job::explain::ExplainOptions;
use modpolicy::job::Log;
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
    #[command(flatten)]
    progress: ProgressArgs,
    /// Kernel version.
    version: String,
    /// A symbol or a module name (`-` and `_` alike).
    name: String,
}

/// Runs `modpolicy explain`.
pub fn run(args: ExplainArgs) -> ExitCode {
    let bar = super::progress::Bar::new(!args.progress.no_progress);
    let log = Log::new("modpolicy", 0, &bar).with_progress(&bar);
    let opts = ExplainOptions {
        policy: args.policy.policy,
        basedir: args.tree.basedir,
        config: args.tree.config,
        filesyms: args.vmlinux.filesyms,
        symvers: args.vmlinux.symvers,
        version: args.version,
        name: args.name,
    };
    let result = modpolicy::job::explain::run(&opts, &log);
    bar.finish();
    let e = match result {
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
