//! Argument groups several subcommands share, flattened into each with
//! `#[command(flatten)]`, and their conversion into the jobs' options.

use clap::Args;
use modpolicy::diag::{Code, Level};
use std::path::PathBuf;

/// `-b` and `-C`: where an installed tree is and which depmod.d configuration applies.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Root directory: modules are read from BASEDIR/lib/modules/VERSION.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    pub basedir: Option<String>,
    /// depmod.d configuration file or directory (repeatable; replaces the default
    /// directories).
    #[arg(short = 'C', long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
}

/// `-F` and `-E`: where vmlinux's exports come from.
#[derive(Debug, Args)]
pub struct VmlinuxArgs {
    /// System.map of the kernel, for vmlinux's exports.
    #[arg(short = 'F', long = "filesyms", value_name = "System.map")]
    pub filesyms: Option<PathBuf>,
    /// Module.symvers of the kernel, for vmlinux's exports and their CRCs (wins over -F).
    #[arg(short = 'E', long = "symvers", value_name = "Module.symvers")]
    pub symvers: Option<PathBuf>,
}

/// `--policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Policy file (repeatable; later files are higher layers). Default: the built-in
    /// policy (kmod's provider rules; every code at its default level).
    #[arg(long = "policy", value_name = "FILE")]
    pub policy: Vec<PathBuf>,
}

impl PolicyArgs {
    /// The policy files as a report names its layers, lowest first.
    pub fn layer_names(&self) -> Vec<String> {
        self.policy
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// `--no-progress`: the progress bar of a long run is shown by default (on a terminal).
#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// Show no progress bar (one appears on stderr when it is a terminal and the run
    /// lasts more than a second).
    #[arg(long = "no-progress")]
    pub no_progress: bool,
}

/// `--allow`, `--warn-code` and `--deny`: the command line's levels for codes.
#[derive(Debug, Args)]
pub struct LevelArgs {
    /// Report findings with this code at no level (repeatable).
    #[arg(long = "allow", value_name = "CODE")]
    pub allow: Vec<String>,
    /// Report findings with this code as warnings (repeatable).
    #[arg(long = "warn-code", value_name = "CODE")]
    pub warn_code: Vec<String>,
    /// Report findings with this code as errors; depmod then writes nothing (repeatable).
    #[arg(long = "deny", value_name = "CODE")]
    pub deny: Vec<String>,
}

impl LevelArgs {
    /// Every `(argument, level)`, allow first, then warn, then deny, each in order.
    pub fn each(&self) -> impl Iterator<Item = (&str, Level)> {
        fn tag(v: &[String], l: Level) -> impl Iterator<Item = (&str, Level)> {
            v.iter().map(move |c| (c.as_str(), l))
        }
        tag(&self.allow, Level::Allow)
            .chain(tag(&self.warn_code, Level::Warn))
            .chain(tag(&self.deny, Level::Deny))
    }
}

/// Looks up a built-in code, or says which one was probably meant.
pub fn code(name: &str) -> Result<Code, String> {
    Code::from_name(name).ok_or_else(|| {
        let hint = Code::ALL
            .iter()
            .map(|c| c.name())
            .min_by_key(|n| strsim::damerau_levenshtein(name, n))
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        format!("unknown diagnostic code `{name}`{hint}")
    })
}
