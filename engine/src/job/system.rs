//! Where a system keeps what `depmod` reads: the module directory chosen at build time
//! (kmod's `MODULE_DIRECTORY`) and its `-m` override, and the system policy layers.
//!
//! System policies are layered like `depmod.d`: every `*.kdl` file of
//! [`SHIPPED_POLICY_DIR`] (installed by packages) and of [`ADMIN_POLICY_DIR`] (the
//! administrator's), where a file of the administrator's masks the shipped file of the same
//! name, applied in name order, lowest layer first. Both directories are read under
//! `-b BASEDIR` when it is given. `--policy` files are layers above them. With no policy
//! file anywhere, the job's default applies (kmod's rules for `depmod`).

use std::path::{Path, PathBuf};

/// The module directory set at build time (`MODPOLICY_MODULE_DIRECTORY`, default
/// `/lib/modules`): trees are read from `BASEDIR/MODULE_DIRECTORY/VERSION`.
pub const MODULE_DIRECTORY: &str = env!("MODPOLICY_BUILT_MODULE_DIRECTORY");

/// Shipped system policies (packages install them here).
pub const SHIPPED_POLICY_DIR: &str = "/usr/lib/modpolicy/policy.d";

/// The administrator's system policies; a file here masks a shipped one of the same name.
pub const ADMIN_POLICY_DIR: &str = "/etc/modpolicy/policy.d";

/// `BASEDIR/MODULEDIR/VERSION` as kmod 34 spells it: `root` is the absolute `-b` (or
/// empty), `moduledir` the `-m` argument, if any. An absolute `-m` is taken under `root`
/// as it is; a relative one is relative to `root` too (kmod 34 reads `-m foo` as
/// `BASEDIR/foo`, not as relative to the working directory). Nothing is normalised.
pub fn module_tree_dir(root: &str, moduledir: Option<&str>, kver: &str) -> String {
    match moduledir {
        None => format!("{root}{MODULE_DIRECTORY}/{kver}"),
        Some(d) if d.starts_with('/') => format!("{root}{d}/{kver}"),
        Some(d) => format!("{root}/{d}/{kver}"),
    }
}

/// Where a policy layer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// [`SHIPPED_POLICY_DIR`].
    Shipped,
    /// [`ADMIN_POLICY_DIR`].
    Admin,
    /// `--policy` on the command line.
    CommandLine,
}

impl Origin {
    /// How `policy show` names it.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Shipped => "system, shipped",
            Origin::Admin => "system, administrator",
            Origin::CommandLine => "--policy",
        }
    }
}

/// One policy file, lowest layer first in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    /// The file (under `-b BASEDIR` for system layers).
    pub path: PathBuf,
    /// Where it comes from.
    pub origin: Origin,
}

/// A masking entry: an empty file or a link to `/dev/null` in [`ADMIN_POLICY_DIR`] hides
/// the shipped file of its name and adds no layer (as systemd's and depmod.d's masks).
fn is_mask(p: &Path) -> bool {
    std::fs::read_link(p).is_ok_and(|t| t == Path::new("/dev/null"))
        || std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0)
}

/// A shipped policy file and the administrator's file of the same name that masks it.
pub type Mask = (PathBuf, PathBuf);

/// The policy files in force, lowest layer first, and the shipped files masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layers {
    /// System layers in name order, then the `--policy` files.
    pub files: Vec<LayerFile>,
    /// Each shipped file hidden by the administrator's file of the same name: (shipped,
    /// administrator's).
    pub masked: Vec<Mask>,
}

/// The system policy files under `root` (`-b`, or `/`), lowest layer first, followed by
/// the `--policy` files. A directory that does not exist has no layers; one that cannot
/// be read is an error naming it.
pub fn policy_layers(root: Option<&str>, command_line: &[PathBuf]) -> Result<Layers, String> {
    let base = root.unwrap_or("").trim_end_matches('/');
    let mut by_name: std::collections::BTreeMap<std::ffi::OsString, LayerFile> =
        std::collections::BTreeMap::new();
    let mut masked = Vec::new();
    for (dir, origin) in [
        (SHIPPED_POLICY_DIR, Origin::Shipped),
        (ADMIN_POLICY_DIR, Origin::Admin),
    ] {
        let dir = PathBuf::from(format!("{base}{dir}"));
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            // No such directory: a path component is a file, or the path cannot be
            // resolved at all (a `-b BASEDIR` that is a symlink loop: kmod then reports
            // the module directory, which the run goes on to open).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => continue,
            Err(e) => return Err(format!("could not read {}: {e}", dir.display())),
        };
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| format!("could not read {}: {e}", dir.display()))?;
            names.push(entry.file_name());
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            if path.extension().is_none_or(|x| x != "kdl")
                || name.as_encoded_bytes().starts_with(b".")
            {
                continue;
            }
            if let Some(old) = by_name.insert(
                name,
                LayerFile {
                    path: path.clone(),
                    origin,
                },
            ) {
                masked.push((old.path, path));
            }
        }
    }
    let mut files: Vec<LayerFile> = by_name
        .into_values()
        .filter(|l| !(l.origin == Origin::Admin && is_mask(&l.path)))
        .collect();
    files.extend(command_line.iter().map(|p| LayerFile {
        path: p.clone(),
        origin: Origin::CommandLine,
    }));
    Ok(Layers { files, masked })
}

/// One layer as `policy show` prints it: the file and the files it includes (lower
/// layers of its own, in the order they are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLayer {
    /// The layer's file.
    pub file: LayerFile,
    /// Files it includes, directly or not.
    pub includes: Vec<PathBuf>,
}

/// The effective policy layers under `root` with `--policy` files on top (only those
/// when `system` is false, as `check --no-system-policy` reads them), each file read
/// and checked as a run would (so a broken file is reported here too). An empty list
/// means kmod's built-in rules.
pub fn effective_layers(
    root: Option<&str>,
    command_line: &[PathBuf],
    kver: &str,
    system: bool,
) -> Result<(Vec<ShownLayer>, Vec<Mask>), super::Stop> {
    let layers = if system {
        policy_layers(root, command_line).map_err(super::Stop::Fatal)?
    } else {
        Layers {
            files: command_line
                .iter()
                .map(|p| LayerFile {
                    path: p.clone(),
                    origin: Origin::CommandLine,
                })
                .collect(),
            masked: Vec::new(),
        }
    };
    if layers.files.is_empty() {
        return Ok((Vec::new(), layers.masked));
    }
    let paths: Vec<PathBuf> = layers.files.iter().map(|l| l.path.clone()).collect();
    let policy = crate::policy::load(&paths, kver).map_err(super::Stop::Policy)?;
    // Sources are recorded as read: each layer's file, then what it includes.
    let mut shown: Vec<ShownLayer> = Vec::new();
    let mut next = layers.files.into_iter().peekable();
    for src in &policy.sources.files {
        if next.peek().is_some_and(|l| l.path == src.path) {
            let file = next.next().expect("peeked");
            shown.push(ShownLayer {
                file,
                includes: Vec::new(),
            });
        } else if let Some(last) = shown.last_mut() {
            last.includes.push(src.path.clone());
        }
    }
    Ok((shown, layers.masked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_dirs_as_kmod_34_combines_them() {
        assert_eq!(
            module_tree_dir("/r", None, "6.1"),
            format!("/r{MODULE_DIRECTORY}/6.1")
        );
        assert_eq!(module_tree_dir("", Some("/foobar"), "6.1"), "/foobar/6.1");
        assert_eq!(
            module_tree_dir("/r", Some("/usr/lib/modules"), "6.1"),
            "/r/usr/lib/modules/6.1"
        );
        assert_eq!(
            module_tree_dir("/r", Some("foobar2"), "6.1"),
            "/r/foobar2/6.1"
        );
        assert_eq!(module_tree_dir("", Some("foobar2"), "6.1"), "/foobar2/6.1");
    }

    #[test]
    fn admin_files_mask_shipped_ones_and_all_sort_by_name() {
        let t = tempfile::tempdir().unwrap();
        let shipped = t.path().join("usr/lib/modpolicy/policy.d");
        let admin = t.path().join("etc/modpolicy/policy.d");
        std::fs::create_dir_all(&shipped).unwrap();
        std::fs::create_dir_all(&admin).unwrap();
        for n in [
            "20-b.kdl",
            "10-a.kdl",
            "30-c.kdl",
            "README",
            ".40-hidden.kdl",
        ] {
            std::fs::write(shipped.join(n), "x").unwrap();
        }
        std::fs::write(admin.join("20-b.kdl"), "y").unwrap();
        std::fs::write(admin.join("15-site.kdl"), "z").unwrap();
        std::os::unix::fs::symlink("/dev/null", admin.join("30-c.kdl")).unwrap();
        let root = t.path().to_str().unwrap();
        let layers = policy_layers(Some(root), &[PathBuf::from("top.kdl")]).unwrap();
        assert_eq!(
            layers.masked,
            [
                (shipped.join("20-b.kdl"), admin.join("20-b.kdl")),
                (shipped.join("30-c.kdl"), admin.join("30-c.kdl"))
            ]
        );
        let got: Vec<(String, Origin)> = layers
            .files
            .into_iter()
            .map(|l| {
                let p = l
                    .path
                    .strip_prefix(t.path())
                    .map(Path::to_path_buf)
                    .unwrap_or(l.path);
                (p.display().to_string(), l.origin)
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "usr/lib/modpolicy/policy.d/10-a.kdl".to_string(),
                    Origin::Shipped
                ),
                (
                    "etc/modpolicy/policy.d/15-site.kdl".to_string(),
                    Origin::Admin
                ),
                ("etc/modpolicy/policy.d/20-b.kdl".to_string(), Origin::Admin),
                ("top.kdl".to_string(), Origin::CommandLine),
            ]
        );
        let none = tempfile::tempdir().unwrap();
        assert_eq!(
            policy_layers(none.path().to_str(), &[]).unwrap(),
            Layers::default()
        );
    }
}
