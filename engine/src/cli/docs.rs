//! `modpolicy generate-docs DIR` (hidden): the man pages (one per command and
//! subcommand, from the clap definitions, with `clap_mangen`) and the bash, zsh and fish
//! completions (`clap_complete`), written as the repository keeps them:
//! `DIR/docs/man/*.1` and `DIR/completions/{modpolicy.bash,_modpolicy,modpolicy.fish}`.
//! The hand-written `docs/man/modpolicy-policy.5` is not touched. The distro test suite
//! checks the committed files against a fresh run.

use clap::{Args, CommandFactory};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `generate-docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Directory to write `docs/man/` and `completions/` under (the repository root).
    dir: PathBuf,
}

/// Writes every page and completion file; exit 1 naming the file that failed.
pub fn run(args: DocsArgs) -> ExitCode {
    match generate(&args.dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("modpolicy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(dir: &Path) -> Result<(), String> {
    let man = dir.join("docs/man");
    let comp = dir.join("completions");
    for d in [&man, &comp] {
        std::fs::create_dir_all(d).map_err(|e| format!("could not create {}: {e}", d.display()))?;
    }
    let cmd = public_command();
    clap_mangen::generate_to(cmd.clone(), &man)
        .map_err(|e| format!("could not write man pages to {}: {e}", man.display()))?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let mut c = cmd.clone();
        clap_complete::generate_to(shell, &mut c, "modpolicy", &comp).map_err(|e| {
            format!(
                "could not write {shell} completions to {}: {e}",
                comp.display()
            )
        })?;
    }
    Ok(())
}

/// The command as users see it, with the version alone (the build-time settings
/// `--version` prints are not part of the pages).
fn public_command() -> clap::Command {
    super::Cli::command().long_version(env!("CARGO_PKG_VERSION"))
}
