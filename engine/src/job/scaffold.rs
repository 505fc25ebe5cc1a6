//! The `plugin new` job: a plugin directory that builds (`build.sh`) and passes its own
//! test (`test.sh`) as generated.
//!
//! The directory is self-contained: it carries a copy of the SDK (the C header, or the
//! Rust SDK crate as a path dependency), a check (modules without
//! `MODULE_DESCRIPTION()`), a native test over a sample input, and a `policy.kdl` that
//! loads the built `.wasm` (build.sh writes its sha256 there).

use std::path::Path;

/// Plugin languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// C (Debian clang + wasm-ld, freestanding).
    C,
    /// Rust (Debian rustc 1.63, wasm32-unknown-unknown).
    Rust,
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

/// Why no plugin directory was made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not a plugin name.
    #[error("`{0}` is not a plugin name (1-64 characters of a-z, 0-9 and -)")]
    BadName(String),
    /// Writing the directory failed.
    #[error("cannot create {path}: {}", crate::load::walk::strerror(.source))]
    Io {
        /// The directory.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Creates the plugin `name` in `lang` in the new directory `dir`.
pub fn new_plugin(dir: &Path, name: &str, lang: Lang) -> Result<(), ScaffoldError> {
    if !crate::plugin::abi::valid_code(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    write_all(dir, name, lang).map_err(|source| ScaffoldError::Io {
        path: dir.display().to_string(),
        source,
    })
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
