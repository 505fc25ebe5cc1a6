//! Build-time settings, as kmod's `configure`/meson options are:
//!
//! - `MODPOLICY_MODULE_DIRECTORY`: where module trees are installed (kmod's
//!   `MODULE_DIRECTORY`), `/lib/modules` by default, `/usr/lib/modules` on distributions
//!   that moved it. It must be an absolute path without a trailing `/`.

fn main() {
    println!("cargo:rerun-if-env-changed=MODPOLICY_MODULE_DIRECTORY");
    let dir = std::env::var("MODPOLICY_MODULE_DIRECTORY").unwrap_or_else(|_| "/lib/modules".into());
    if !dir.starts_with('/') || dir.len() < 2 || dir.ends_with('/') || dir.contains("//") {
        panic!(
            "MODPOLICY_MODULE_DIRECTORY={dir:?}: an absolute directory without a trailing '/' is needed (e.g. /usr/lib/modules)"
        );
    }
    println!("cargo:rustc-env=MODPOLICY_BUILT_MODULE_DIRECTORY={dir}");
}
