//! `modpolicy plugin new NAME --lang c|rust`: scaffolds a plugin directory (the job is
//! [`modpolicy::job::scaffold`]). Exit code 0, or 2 on a bad name or a write error.

use clap::{Args, Subcommand, ValueEnum};
use modpolicy::job::scaffold::{new_plugin, Lang as ScaffoldLang};
use std::path::PathBuf;
use std::process::ExitCode;

/// Plugin languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// C (Debian clang + wasm-ld, freestanding).
    C,
    /// Rust (Debian rustc 1.63, wasm32-unknown-unknown).
    Rust,
}

/// `modpolicy plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin that builds and passes its own test as generated.
    New(NewArgs),
}

/// Arguments of `modpolicy plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name (a-z, 0-9 and -): its findings' codes are NAME/CODE.
    name: String,
    /// The language.
    #[arg(long = "lang", value_enum)]
    lang: Lang,
    /// The directory to create (default: ./NAME).
    #[arg(long = "dir", value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Runs `modpolicy plugin ...`.
pub fn run(cmd: PluginCommand) -> ExitCode {
    match cmd {
        PluginCommand::New(a) => {
            let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
            let lang = match a.lang {
                Lang::C => ScaffoldLang::C,
                Lang::Rust => ScaffoldLang::Rust,
            };
            match new_plugin(&dir, &a.name, lang) {
                Ok(()) => {
                    println!(
                        "created {}: run `sh {}/test.sh` to build and test it, then `modpolicy check --policy {}/policy.kdl ...`",
                        dir.display(),
                        dir.display(),
                        dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("modpolicy plugin new: error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
