//! `depmod.d` configuration: `search`, `override`, `exclude` and `external`, read with
//! kmod's file-selection and precedence rules.
//!
//! The result, [`SearchConfig`], is plain data: which directories rank above which,
//! which module copies are pinned, which names are skipped. A policy file can produce the
//! same struct, so the walk that consumes it does not know where it came from.

use std::path::{Path, PathBuf};

/// One entry of the search list, highest priority first... in kmod's *stored* order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchEntry {
    /// A directory relative to the module directory (e.g. `updates`).
    Dir(String),
    /// The keyword `built-in`: the kernel's own tree (anything unmatched).
    BuiltIn,
    /// The keyword `external`: the `external` directories.
    External,
}

/// `override MODNAME KVER SUBDIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The module name as written (no `-`/`_` folding: kmod compares bytes).
    pub modname: String,
    /// The subdirectory whose copy wins.
    pub subdir: String,
}

/// Where a configuration statement came from, for messages and `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

/// The module-discovery settings depmod uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchConfig {
    /// The search list in kmod's stored order (the reverse of declaration order: each
    /// `search` token is prepended). Empty means "no search line": `[updates]`.
    pub search: Vec<(SearchEntry, Option<Origin>)>,
    /// Overrides, in kmod's stored order (reverse of declaration).
    pub overrides: Vec<(Override, Option<Origin>)>,
    /// Basenames skipped by the walk (besides `.`, `..`, `build`, `source`).
    pub excludes: Vec<(String, Option<Origin>)>,
    /// External directories, in kmod's stored order (reverse of declaration).
    pub externals: Vec<(PathBuf, Option<Origin>)>,
}

impl SearchConfig {
    /// The effective search list: the configured one, or `[updates]` when none was set.
    pub fn effective_search(&self) -> Vec<SearchEntry> {
        if self.search.is_empty() {
            vec![SearchEntry::Dir("updates".into())]
        } else {
            self.search.iter().map(|(e, _)| e.clone()).collect()
        }
    }
}

/// kmod 30's default configuration directories, in precedence order.
pub const DEFAULT_CONFIG_DIRS: &[&str] = &[
    "/etc/depmod.d",
    "/run/depmod.d",
    "/usr/local/lib/depmod.d",
    "/lib/depmod.d",
];

/// Messages produced while reading configuration, in kmod's wording (without the
/// `depmod: LEVEL: ` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigMessage {
    /// An `ERROR:` line.
    Error(String),
    /// An `INFO:`-level line (shown only with `-vv`).
    Info(String),
}

/// Lists the configuration files kmod would read from `paths` (files or directories):
/// `.conf` files merged across directories, sorted by basename, earlier paths winning
/// for equal basenames.
pub fn config_files(paths: &[PathBuf], msgs: &mut Vec<ConfigMessage>) -> Vec<PathBuf> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for p in paths {
        let Ok(md) = std::fs::metadata(p) else {
            continue;
        };
        if !md.is_dir() {
            let base = p
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !files.iter().any(|(b, _)| *b == base) {
                files.push((base, p.clone()));
            }
            continue;
        }
        let Ok(rd) = std::fs::read_dir(p) else {
            continue;
        };
        let mut here: Vec<(String, PathBuf)> = Vec::new();
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if name.len() < 6 || !name.ends_with(".conf") {
                msgs.push(ConfigMessage::Info(format!(
                    "All config files need .conf: {}/{}, it will be ignored",
                    p.display(),
                    name
                )));
                continue;
            }
            let full = ent.path();
            if std::fs::metadata(&full)
                .map(|m| m.is_dir())
                .unwrap_or(false)
            {
                msgs.push(ConfigMessage::Error(format!(
                    "Directories inside directories are not supported: {}/{}",
                    p.display(),
                    name
                )));
                continue;
            }
            here.push((name, full));
        }
        for (b, f) in here {
            if !files.iter().any(|(x, _)| *x == b) {
                files.push((b, f));
            }
        }
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files.into_iter().map(|(_, f)| f).collect()
}

/// The largest compiled form of a kernel-version pattern, in bytes. Real patterns
/// (`6\.1\..*`, `^5\.`) take a few hundred; a hostile one (`(x?){20000}`) would take
/// the regex engine's default 10 MiB and milliseconds per line. A larger one matches
/// nothing.
pub const KVER_NFA_LIMIT: usize = 1 << 20;

/// Whether a kernel-version pattern from `override`/`external` matches `kver`: `*`
/// matches anything, otherwise an unanchored POSIX extended regex (at most
/// [`KVER_NFA_LIMIT`] compiled).
///
/// Each pattern is matched once, against one short string, so the matcher is the
/// cheapest to build: `regex-automata`'s meta engine (the `regex` crate's, same syntax)
/// with only its NFA engines and no literal prefilters or DFAs, whose construction was
/// most of the time spent here.
pub fn kver_matches(pattern: &str, kver: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    use regex_automata::meta::{Config, Regex};
    let config = Config::new()
        .nfa_size_limit(Some(KVER_NFA_LIMIT))
        .auto_prefilter(false)
        .hybrid(false)
        .dfa(false)
        .onepass(false);
    match Regex::builder().configure(config).build(pattern) {
        Ok(re) => re.is_match(kver),
        Err(_) => false,
    }
}

/// One statement of a depmod.d file, before kernel-version filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `search TOKEN...`
    Search(Vec<String>),
    /// `override MODNAME KVER SUBDIR`
    Override {
        /// Module name as written.
        modname: String,
        /// Kernel-version pattern.
        kver: String,
        /// Subdirectory.
        subdir: String,
    },
    /// `exclude NAME...`
    Exclude(Vec<String>),
    /// `external KVER DIR`
    External {
        /// Kernel-version pattern.
        kver: String,
        /// Absolute directory.
        dir: String,
    },
}

/// Splits a depmod.d file into statements (with their line numbers), as kmod reads it:
/// `\` continuations, `#` comments, tokens split on blanks. Malformed or unsupported
/// lines are reported in `msgs` with kmod's text and skipped.
pub fn parse_statements(
    file: &Path,
    text: &str,
    msgs: &mut Vec<ConfigMessage>,
) -> Vec<(usize, Statement)> {
    // Join backslash continuations first, remembering each logical line's first line.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let (start, mut acc) = cur.take().unwrap_or((i + 1, String::new()));
        if let Some(stripped) = raw.strip_suffix('\\') {
            acc.push_str(stripped);
            cur = Some((start, acc));
        } else {
            acc.push_str(raw);
            logical.push((start, acc));
        }
    }
    if let Some(c) = cur {
        logical.push(c);
    }
    let mut out = Vec::new();
    for (lineno, line) in logical {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut toks = line.split([' ', '\t', '\r']).filter(|t| !t.is_empty());
        let Some(cmd) = toks.next() else { continue };
        let st = match cmd {
            "search" => Statement::Search(toks.map(str::to_string).collect()),
            "override" => {
                let (Some(m), Some(v), Some(s)) = (toks.next(), toks.next(), toks.next()) else {
                    bad_line(file, lineno, cmd, msgs);
                    continue;
                };
                Statement::Override {
                    modname: m.into(),
                    kver: v.into(),
                    subdir: s.into(),
                }
            }
            "exclude" => Statement::Exclude(toks.map(str::to_string).collect()),
            "external" => {
                let (Some(v), Some(d)) = (toks.next(), toks.next()) else {
                    bad_line(file, lineno, cmd, msgs);
                    continue;
                };
                Statement::External {
                    kver: v.into(),
                    dir: d.into(),
                }
            }
            "include" | "make_map_files" => {
                msgs.push(ConfigMessage::Info(format!(
                    "{}:{}: command {} not implemented yet",
                    file.display(),
                    lineno,
                    cmd
                )));
                continue;
            }
            _ => {
                bad_line(file, lineno, cmd, msgs);
                continue;
            }
        };
        out.push((lineno, st));
    }
    out
}

/// Parses one configuration file's text into `cfg`, as kmod does for `kver`.
pub fn parse_config(
    file: &Path,
    text: &str,
    kver: &str,
    cfg: &mut SearchConfig,
    msgs: &mut Vec<ConfigMessage>,
) {
    for (lineno, st) in parse_statements(file, text, msgs) {
        let origin = Some(Origin {
            file: file.to_path_buf(),
            line: lineno,
        });
        match st {
            Statement::Search(toks) => {
                for t in toks {
                    let e = match t.as_str() {
                        "built-in" => SearchEntry::BuiltIn,
                        "external" => SearchEntry::External,
                        _ => SearchEntry::Dir(t),
                    };
                    cfg.search.insert(0, (e, origin.clone()));
                }
            }
            Statement::Override {
                modname,
                kver: v,
                subdir,
            } => {
                if kver_matches(&v, kver) {
                    cfg.overrides
                        .insert(0, (Override { modname, subdir }, origin));
                }
            }
            Statement::Exclude(toks) => {
                for t in toks {
                    cfg.excludes.push((t, origin.clone()));
                }
            }
            Statement::External { kver: v, dir } => {
                if kver_matches(&v, kver) {
                    cfg.externals.insert(0, (PathBuf::from(dir), origin));
                }
            }
        }
    }
}

fn bad_line(file: &Path, line: usize, cmd: &str, msgs: &mut Vec<ConfigMessage>) {
    msgs.push(ConfigMessage::Error(format!(
        "{}:{}: ignoring bad line starting with '{}'",
        file.display(),
        line,
        cmd
    )));
}

/// Reads one configuration file of [`config_files`], bounded by
/// [`MAX_CONFIG_SIZE`](crate::util::fs::MAX_CONFIG_SIZE) and without blocking. kmod reads
/// a configuration file whatever its type: `/dev/null` is empty for both; kmod blocks on
/// a FIFO and reads a
/// device such as `/dev/zero` until its buffer size overflows (a gigabyte later), where
/// the bound stops us with an error naming the file. A FIFO is refused in a configuration
/// directory; one named in `paths` (the command line) may be a pipe (`-C <(...)`).
pub fn read_config(file: &Path, paths: &[PathBuf]) -> std::io::Result<String> {
    use crate::util::fs::{read_input, Accept, MAX_CONFIG_SIZE};
    let accept = if paths.iter().any(|p| p == file) {
        Accept::Stream
    } else {
        Accept::RegularOrDevice
    };
    let bytes = read_input(
        file,
        accept,
        "depmod.d configuration files",
        MAX_CONFIG_SIZE,
    )?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads the configuration from `paths` (kmod's `-C` list, or the defaults).
pub fn load_config(paths: &[PathBuf], kver: &str, msgs: &mut Vec<ConfigMessage>) -> SearchConfig {
    let mut cfg = SearchConfig::default();
    for f in config_files(paths, msgs) {
        match read_config(&f, paths) {
            Ok(text) => parse_config(&f, &text, kver, &mut cfg, msgs),
            // What the system refused (a dangling symlink, a loop, no permission):
            // kmod's `fopen` failure, in its words.
            Err(e) if e.raw_os_error().is_some() => msgs.push(ConfigMessage::Error(format!(
                "file parse {}: {}",
                f.display(),
                super::walk::strerror(&e)
            ))),
            // What modpolicy refuses (a FIFO in a directory, a file past the limit).
            Err(e) => msgs.push(ConfigMessage::Error(format!(
                "could not open '{}': {}",
                f.display(),
                super::walk::strerror(&e)
            ))),
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_prepended() {
        let mut c = SearchConfig::default();
        let mut m = vec![];
        parse_config(
            Path::new("a.conf"),
            "search updates built-in\n# c\nsearch extra\n",
            "6.1.0",
            &mut c,
            &mut m,
        );
        let s: Vec<SearchEntry> = c.search.iter().map(|x| x.0.clone()).collect();
        assert_eq!(
            s,
            vec![
                SearchEntry::Dir("extra".into()),
                SearchEntry::BuiltIn,
                SearchEntry::Dir("updates".into())
            ]
        );
        assert!(m.is_empty());
    }

    #[test]
    fn overrides_and_externals_filter_on_kver() {
        let mut c = SearchConfig::default();
        let mut m = vec![];
        let t = "override a 6\\.1\\..* x\noverride b 5.* y\nexternal * /ext\nbogus line\nexclude foo bar\n";
        parse_config(Path::new("a.conf"), t, "6.1.0", &mut c, &mut m);
        assert_eq!(c.overrides.len(), 1);
        assert_eq!(c.overrides[0].0.modname, "a");
        assert_eq!(c.externals[0].0, PathBuf::from("/ext"));
        assert_eq!(
            c.excludes.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["foo", "bar"]
        );
        assert_eq!(
            m,
            vec![ConfigMessage::Error(
                "a.conf:4: ignoring bad line starting with 'bogus'".into()
            )]
        );
    }

    #[test]
    fn kver_patterns_are_unanchored_extended_regexes() {
        let k = "6.1.0-47-amd64";
        for (p, want) in [
            ("*", true),
            ("6\\.1\\..*", true),
            ("47", true),
            ("^6\\.1", true),
            ("^5\\.", false),
            ("amd64$", true),
            ("-(cloud|rt)-", false),
            ("[[:digit:]]+\\.[0-9]+", true),
            ("6\\.(1|12)\\.0-4[0-9]", true),
            ("(", false),
            ("[", false),
            // Would match, but compiles to more than KVER_NFA_LIMIT.
            ("(x?){100}6", true),
            ("(x?){20000}6", false),
        ] {
            assert_eq!(kver_matches(p, k), want, "{p}");
        }
    }

    #[test]
    fn continuation_lines() {
        let mut c = SearchConfig::default();
        let mut m = vec![];
        parse_config(
            Path::new("a.conf"),
            "search a \\\n b\n",
            "1.0",
            &mut c,
            &mut m,
        );
        assert_eq!(c.search.len(), 2);
    }

    #[test]
    fn files_sorted_by_basename_first_dir_wins() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        std::fs::write(d1.path().join("b.conf"), "").unwrap();
        std::fs::write(d2.path().join("b.conf"), "").unwrap();
        std::fs::write(d2.path().join("a.conf"), "").unwrap();
        std::fs::write(d2.path().join("x.txt"), "").unwrap();
        let mut m = vec![];
        let f = config_files(&[d1.path().into(), d2.path().into()], &mut m);
        assert_eq!(f, vec![d2.path().join("a.conf"), d1.path().join("b.conf")]);
        assert_eq!(m.len(), 1);
    }
}
