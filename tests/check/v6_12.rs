//! `modpolicy check` against the real Debian 6.12 modpost (6.12.118+deb12), and the
//! kernel-version-dependent rules.
//!
//! `tests/modules/build-6.12.sh` built every scenario with the real 6.12 kbuild, recorded
//! modpost's output (`tests/fixtures/modpost-6.12/<build>.txt`) and kept modpost's inputs
//! of every build (`tests/fixtures/modpost-objs-6.12/<build>/`: `modules.order`, the
//! objects with their 6.5+ `.export_symbol` exports, `<module>.mod`, the `#SYMVER` lines
//! of each `.<object>.o.cmd`), and proved that those inputs alone make modpost print the
//! same lines. `tests/fixtures/modpost-6.12/kernel/` stands for the kernel build tree:
//! the `Module.symvers` lines of the vmlinux symbols the objects use, and the
//! `include/config/kernel.release` that tells `check` which kernel's rules apply.

use super::{check, lines, modpost_policy, s};
use std::path::{Path, PathBuf};

/// (build, `check` flags standing for its make variables)
const CASES: &[(&str, &[&str])] = &[
    ("composite", &[]),
    ("cycle", &[]),
    ("devices", &[]),
    ("diag-exported-twice", &[]),
    ("diag-exported-twice-warn", &["-w"]),
    ("diag-gpl-only", &[]),
    ("diag-gpl-only-warn", &["-w"]),
    ("diag-no-description", &[]),
    // W=1: 6.10 to 6.12 warn about a missing description only then.
    (
        "diag-no-description-w1",
        &["--warn-code", "missing-description"],
    ),
    ("diag-no-license", &[]),
    ("diag-no-license-warn", &["-w"]),
    ("diag-undefined", &[]),
    ("diag-undefined-many", &[]),
    ("diag-undefined-warn", &["-w"]),
    ("dup-export", &[]),
    ("namespaces", &[]),
    ("ns-missing-import", &[]),
    ("ns-missing-import-nsdeps", &["-N"]),
    ("ns-missing-import-warn", &["-w"]),
    ("ns-module", &[]),
    ("ns-string", &[]),
];

fn fixtures() -> PathBuf {
    super::support::repo_root().join("tests/fixtures")
}

fn objs(build: &str) -> PathBuf {
    fixtures().join("modpost-objs-6.12").join(build)
}

fn kernel_symvers() -> PathBuf {
    fixtures().join("modpost-6.12/kernel/Module.symvers")
}

/// modpost's lines of a 6.12 build, with the build directory replaced by `dir`.
fn expected(build: &str, dir: &Path) -> Vec<String> {
    let p = fixtures().join(format!("modpost-6.12/{build}.txt"));
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    t.lines()
        .filter(|l| {
            l.starts_with("WARNING: modpost: ")
                || l.starts_with("ERROR: modpost: ")
                || l.starts_with("FATAL: modpost: ")
        })
        .map(|l| l.replace(&format!("/tmp/modpolicy-kbuild-6.12/{build}"), &s(dir)))
        .collect()
}

fn args(dir: &Path, symvers: &Path, flags: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--policy".into(),
        modpost_policy(),
        "--symvers".into(),
        s(symvers),
    ];
    let extra = dir.join("extra.Module.symvers");
    if extra.is_file() {
        a.extend(["--symvers".into(), s(&extra)]);
    }
    a.extend(flags.iter().map(|f| f.to_string()));
    a.extend(["--format".into(), "modpost".into(), s(dir)]);
    a
}

/// Every build: exactly modpost's lines, and its verdict as the exit code.
#[test]
fn modpost_text_matches_real_6_12_modpost() {
    for (build, flags) in CASES {
        let dir = objs(build);
        let want = expected(build, &dir);
        let out = check(&args(&dir, &kernel_symvers(), flags));
        assert_eq!(
            lines(&out.stdout),
            want,
            "{build}: stdout differs; stderr:\n{}",
            out.stderr
        );
        let code = i32::from(want.iter().any(|l| l.starts_with("ERROR")));
        assert_eq!(
            out.code, code,
            "{build}: exit code; stderr:\n{}",
            out.stderr
        );
    }
}

#[test]
fn every_6_12_build_is_an_oracle_case() {
    let mut dirs: Vec<String> = std::fs::read_dir(fixtures().join("modpost-objs-6.12"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let cased: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    assert_eq!(dirs, cased);
}

/// A copy of a 6.12 build and of the kernel files, the kernel release set to `release`
/// (`None`: no `include/config/kernel.release` at all).
fn with_release(build: &str, release: Option<&str>) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(build);
    super::support::copy_tree(&objs(build), &dir);
    let kernel = tmp.path().join("kernel");
    std::fs::create_dir_all(kernel.join("include/config")).unwrap();
    std::fs::copy(kernel_symvers(), kernel.join("Module.symvers")).unwrap();
    if let Some(r) = release {
        std::fs::write(
            kernel.join("include/config/kernel.release"),
            format!("{r}\n"),
        )
        .unwrap();
    }
    let symvers = kernel.join("Module.symvers");
    (tmp, dir, symvers)
}

/// Linux 6.16+ rules for `module:` namespaces (the wording of a 6.18 modpost): a module
/// the namespace names (`nsuser`; `ns_dash` as `ns-dash`; `nswildcard` by `nswild*`)
/// uses the symbol without an import, the explicit import of `nsother` is an error, and
/// `nsthird` misses the import. Chosen from the kernel build tree's release, or from
/// `--kernel-version`, which also brings back 6.12's rules.
#[test]
fn module_namespaces_follow_the_kernel_version() {
    let build = "ns-module";
    let (_tmp, dir, symvers) = with_release(build, Some("6.18.0-1-amd64"));
    let want_6_18 = vec![
        format!(
            "ERROR: modpost: {}/nsother: explicitly importing namespace \"module:nsuser\" is not allowed.",
            s(&dir)
        ),
        "ERROR: modpost: module nsthird uses symbol f_for_user from namespace module:nsuser, but does not import it.".to_string(),
    ];
    let out = check(&args(&dir, &symvers, &[]));
    assert_eq!(
        (out.code, lines(&out.stdout)),
        (1, want_6_18.clone()),
        "{}",
        out.stderr
    );
    // The override, both ways.
    let out = check(&args(
        &dir,
        &symvers,
        &["--kernel-version", "6.12.118+deb12-amd64"],
    ));
    assert_eq!(lines(&out.stdout), expected(build, &dir), "{}", out.stderr);
    let (_tmp2, dir2, symvers2) = with_release(build, None);
    let out = check(&args(&dir2, &symvers2, &["--kernel-version", "6.16"]));
    let want: Vec<String> = want_6_18
        .iter()
        .map(|l| l.replace(&s(&dir), &s(&dir2)))
        .collect();
    assert_eq!(lines(&out.stdout), want, "{}", out.stderr);
    // No release known: the rules before 6.16, as 6.12's modpost.
    let out = check(&args(&dir2, &symvers2, &[]));
    assert_eq!(lines(&out.stdout), expected(build, &dir2), "{}", out.stderr);
    // The explicit import has its own code in JSON.
    let mut a = args(&dir, &symvers, &[]);
    let n = a.len();
    a[n - 2] = "json".into();
    let out = check(&a);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    super::validate_json(&v);
    let f = super::findings(&v, "module-namespace-import");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["module"], "nsother");
    // A bad --kernel-version is a usage error naming it.
    let out = check(&args(&dir, &symvers, &["--kernel-version", "six"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--kernel-version six"),
        "{}",
        out.stderr
    );
}

/// 6.13+ string-literal namespaces (`EXPORT_SYMBOL_NS_GPL(sym, "NS")`,
/// `MODULE_IMPORT_NS("NS")`) leave the same bytes as before: `struser` imports and
/// is fine, `strbad` gets modpost's error (the ns-string build), also under 6.18's rules.
#[test]
fn string_literal_namespaces_read_as_before() {
    let build = "ns-string";
    let (_tmp, dir, symvers) = with_release(build, Some("6.18.0"));
    let out = check(&args(&dir, &symvers, &[]));
    assert_eq!(
        (out.code, lines(&out.stdout)),
        (1, expected(build, &dir)),
        "{}",
        out.stderr
    );
    let out = check(&[
        "--symvers".into(),
        s(&symvers),
        "--format".into(),
        "json".into(),
        s(&dir),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let f = super::findings(&v, "missing-namespace-import");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(
        (f[0]["module"].as_str(), f[0]["symbol"].as_str()),
        (Some("strbad"), Some("str_fn"))
    );
}
