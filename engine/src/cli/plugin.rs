//! `modpolicy plugin new NAME --lang c|rust`: scaffolds a plugin directory that builds
//! (`build.sh`) and passes its own test (`test.sh`) as generated.
//!
//! The directory is self-contained: it carries a copy of the SDK (the C header, or the
//! Rust SDK crate as a path dependency), a check (modules without
//! `MODULE_DESCRIPTION()`), a native test over a sample input, and a `policy.kdl` that
//! loads the built `.wasm` (build.sh writes its sha256 there).

use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
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

const C_HEADER: &str = include_str!("../../../plugins/sdk-c/modpolicy_plugin.h");
const RUST_SDK_LIB: &str = include_str!("../../../plugins/sdk-rust/src/lib.rs");
const RUST_SDK_TOML: &str = include_str!("../../../plugins/sdk-rust/Cargo.toml");

fn files(lang: Lang) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("policy.kdl", include_str!("scaffold/policy.kdl"))];
    match lang {
        Lang::C => v.extend([
            ("@FILE@.c", include_str!("scaffold/c_check.c")),
            ("test.c", include_str!("scaffold/c_test.c")),
            ("build.sh", include_str!("scaffold/c_build.sh")),
            ("test.sh", include_str!("scaffold/c_test.sh")),
            ("modpolicy_plugin.h", C_HEADER),
        ]),
        Lang::Rust => v.extend([
            ("Cargo.toml", include_str!("scaffold/rust_cargo.toml")),
            ("src/lib.rs", include_str!("scaffold/rust_lib.rs")),
            ("build.sh", include_str!("scaffold/rust_build.sh")),
            ("test.sh", include_str!("scaffold/rust_test.sh")),
            ("sdk/Cargo.toml", RUST_SDK_TOML),
            ("sdk/src/lib.rs", RUST_SDK_LIB),
        ]),
    }
    v
}

fn write_all(dir: &Path, name: &str, lang: Lang) -> std::io::Result<()> {
    let file = name.replace('-', "_");
    std::fs::create_dir(dir)?;
    for (path, text) in files(lang) {
        let path = dir.join(path.replace("@FILE@", &file));
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        let text = text.replace("@NAME@", name).replace("@FILE@", &file);
        std::fs::write(&path, text)?;
    }
    std::fs::write(dir.join(".gitignore"), "/target\n/*.wasm\n/test-native\n")?;
    Ok(())
}

/// Runs `modpolicy plugin ...`.
pub fn run(cmd: PluginCommand) -> ExitCode {
    match cmd {
        PluginCommand::New(a) => {
            if !crate::plugin::abi::valid_code(&a.name) {
                eprintln!("modpolicy plugin new: error: `{}` is not a plugin name (1-64 characters of a-z, 0-9 and -)", a.name);
                return ExitCode::from(2);
            }
            let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
            match write_all(&dir, &a.name, a.lang) {
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
                    eprintln!(
                        "modpolicy plugin new: error: cannot create {}: {}",
                        dir.display(),
                        crate::load::walk::strerror(&e)
                    );
                    ExitCode::from(2)
                }
            }
        }
    }
}
