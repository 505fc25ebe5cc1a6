//! kmod's `depmod` command line as glibc's `getopt_long` reads it, in front of clap.
//!
//! kmod parses its options with `getopt_long`, and scripts (and people) rely on what that
//! accepts and prints: abbreviated long options (`--base=DIR`), clustered short options
//! (`-aeF FILE`), an option's argument taken from the next word whatever it looks like
//! (`-P -x`), options after the version (argument permutation), the messages for a bad
//! command line (`depmod: invalid option -- 'Z'`, exit 1), `-V`, and the deprecated
//! options kmod ignores with a warning (`-u -q -r -m`). Clap's own parsing differs in each
//! of these, so the `depmod` arguments go through [`rewrite`] first: it reads them exactly
//! as `getopt_long` would with kmod 30's option table, prints kmod's message and returns
//! the exit code when kmod would stop, and otherwise hands clap an unambiguous argument
//! list (every option spelled `--name=value`, then `--`, then the operands).
//!
//! modpolicy's own options (`--kmod`, `--policy`, `--gzip`, ...) are accepted only when
//! spelled in full, so they change none of kmod's abbreviations (`--w` is still
//! `--warn`); `-o/--outdir` is kmod 31's and abbreviates as there. Messages name the
//! program `depmod`, as kmod's name themselves when it is run as `depmod`.
//!
//! With `--kmod 34` the table is kmod 34's: `-m/--moduledir DIR` replaces the deprecated
//! `-m/--map`.
//!
//! `-V` prints what the kmod release being reproduced prints: Debian bookworm's kmod 30
//! (`kmod version 30` and its feature line `+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL`),
//! or with `--kmod 34` kmod 34's (`kmod version 34`, `+ZSTD +XZ -ZLIB +LIBCRYPTO`: meson
//! builds print no `EXPERIMENTAL`). `ZLIB` is `+` with `--gzip`, as a kmod built with
//! zlib reads `.ko.gz`.
//!
//! `-h`/`--help` run through a link named `depmod` print kmod's usage text (kmod 30's, or
//! kmod 34's with `--kmod 34`) on stdout and exit 0, as kmod does; as `modpolicy depmod`
//! they print modpolicy's own help (clap), which lists the options kmod lacks.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::ExitCode;

/// The program name in kmod's own messages (kmod's `program_invocation_short_name`), and
/// in getopt's when run as `modpolicy depmod`. Run through a link named `depmod`,
/// getopt's messages name `argv[0]` as invoked (`/usr/sbin/depmod: invalid option`), as
/// glibc's do.
const PROG: &str = "depmod";

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HasArg {
    No,
    Required,
}

/// What an option does here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Passed to clap as `--name` / `--name=value`.
    Clap(&'static str),
    /// kmod ignores it with `WARNING: Ignored deprecated option`.
    Deprecated,
    /// `-V`.
    Version,
    /// `-h`: kmod's usage when run as `depmod`, else clap's help.
    Help,
}

/// One option: its short letter (if any), long name (if any), argument, action.
struct Opt {
    short: Option<u8>,
    long: Option<&'static str>,
    has_arg: HasArg,
    action: Action,
    /// The kmod generation that has it: `None` both, `Some(Gen::V30)` kmod 30 only.
    only: Option<Gen>,
}

/// Which kmod's option table is read: kmod 30's, or with `--kmod 34` kmod 34's, where
/// `-m` is `--moduledir DIR` instead of the deprecated `--map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gen {
    V30,
    V34,
}

const fn opt(short: u8, long: &'static str, has_arg: HasArg, action: Action) -> Opt {
    Opt {
        short: Some(short),
        long: Some(long),
        has_arg,
        action,
        only: None,
    }
}

impl Opt {
    /// Whether generation `g`'s table has it.
    fn in_table(&self, g: Gen) -> bool {
        self.only.is_none_or(|o| o == g)
    }
}

/// kmod 30's long options in its table order (the order of getopt's "possibilities"),
/// with kmod 31's `outdir` where kmod 34 has it, and kmod 34's `moduledir` in place of
/// `map` for `--kmod 34`. `dry-run` has no short letter of its own (it is `n`).
static KMOD_OPTIONS: &[Opt] = &[
    opt(b'a', "all", HasArg::No, Action::Clap("all")),
    opt(b'A', "quick", HasArg::No, Action::Clap("quick")),
    opt(b'b', "basedir", HasArg::Required, Action::Clap("basedir")),
    opt(b'o', "outdir", HasArg::Required, Action::Clap("outdir")),
    opt(b'C', "config", HasArg::Required, Action::Clap("config")),
    opt(b'E', "symvers", HasArg::Required, Action::Clap("symvers")),
    opt(b'F', "filesyms", HasArg::Required, Action::Clap("filesyms")),
    opt(b'e', "errsyms", HasArg::No, Action::Clap("errsyms")),
    opt(b'u', "unresolved-error", HasArg::No, Action::Deprecated),
    opt(b'q', "quiet", HasArg::No, Action::Deprecated),
    opt(b'r', "root", HasArg::No, Action::Deprecated),
    opt(b'v', "verbose", HasArg::No, Action::Clap("verbose")),
    opt(b'n', "show", HasArg::No, Action::Clap("show")),
    Opt {
        short: None,
        long: Some("dry-run"),
        has_arg: HasArg::No,
        action: Action::Clap("show"),
        only: None,
    },
    opt(
        b'P',
        "symbol-prefix",
        HasArg::Required,
        Action::Clap("symbol-prefix"),
    ),
    opt(b'w', "warn", HasArg::No, Action::Clap("warn")),
    Opt {
        only: Some(Gen::V30),
        ..opt(b'm', "map", HasArg::No, Action::Deprecated)
    },
    Opt {
        only: Some(Gen::V34),
        ..opt(
            b'm',
            "moduledir",
            HasArg::Required,
            Action::Clap("moduledir"),
        )
    },
    opt(b'V', "version", HasArg::No, Action::Version),
    opt(b'h', "help", HasArg::No, Action::Help),
];

/// modpolicy's own long options: exact spelling only.
static OUR_OPTIONS: &[(&str, HasArg)] = &[
    ("kmod", HasArg::Required),
    ("gzip", HasArg::No),
    ("sync", HasArg::No),
    ("policy", HasArg::Required),
    ("allow", HasArg::Required),
    ("warn-code", HasArg::Required),
    ("deny", HasArg::Required),
    ("max-module-size", HasArg::Required),
    ("cache", HasArg::Required),
    ("no-cache", HasArg::No),
    ("write-shipped-cache", HasArg::No),
    ("progress", HasArg::No),
];

/// What [`rewrite`] decided.
#[derive(Debug)]
pub enum Outcome {
    /// Parse this (the whole command line, rewritten) with clap.
    Parse(Vec<OsString>),
    /// kmod would have stopped here (after `-V` or a bad option): exit with this.
    Exit(ExitCode),
}

/// The `depmod` arguments of `argv` (the whole command line of `modpolicy`) read as
/// kmod's `getopt_long` reads them; any other subcommand is returned unchanged. Prints
/// kmod's messages (to stderr; `-V` to stdout).
pub fn rewrite(argv: Vec<OsString>) -> Outcome {
    // The subcommand is the first word that is not one of modpolicy's own flags.
    let Some(sub) = argv
        .iter()
        .skip(1)
        .position(|a| !a.as_bytes().starts_with(b"-"))
        .map(|i| i + 1)
    else {
        return Outcome::Parse(argv);
    };
    if argv[sub].as_bytes() != b"depmod" {
        return Outcome::Parse(argv);
    }
    let words: Vec<Vec<u8>> = argv[sub + 1..]
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .collect();
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    let invoked = std::path::Path::new(&argv[0]);
    let as_depmod = sub == 1 && invoked.file_name().is_some_and(|n| n == PROG);
    let getopt_prog = if as_depmod {
        invoked.to_string_lossy()
    } else {
        PROG.into()
    };
    match read(&words, &getopt_prog, as_depmod, &mut err, &mut out) {
        Ok(rest) => {
            let mut v: Vec<OsString> = argv[..=sub].to_vec();
            v.extend(rest.into_iter().map(OsString::from_vec));
            Outcome::Parse(v)
        }
        Err(code) => Outcome::Exit(code),
    }
}

/// The getopt reading proper: `words` are the arguments after `depmod`, `getopt_prog`
/// the name getopt's messages start with, `as_depmod` whether the binary runs as
/// `depmod` (then `-h` is kmod's). Returns clap's argument list, or the exit code after
/// writing kmod's output to `err`/`out`.
fn read(
    words: &[Vec<u8>],
    getopt_prog: &str,
    as_depmod: bool,
    err: &mut dyn std::io::Write,
    out: &mut dyn std::io::Write,
) -> Result<Vec<Vec<u8>>, ExitCode> {
    let gen = if wants_kmod34(words) {
        Gen::V34
    } else {
        Gen::V30
    };
    let mut options: Vec<Vec<u8>> = Vec::new();
    let mut operands: Vec<Vec<u8>> = Vec::new();
    let fail = |err: &mut dyn std::io::Write, msg: String| {
        let _ = writeln!(err, "{getopt_prog}: {msg}");
        Err(ExitCode::FAILURE)
    };
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if w == b"--" {
            operands.extend(words[i..].iter().cloned());
            break;
        }
        if let Some(body) = w.strip_prefix(b"--") {
            let (name, value) = match body.iter().position(|&c| c == b'=') {
                Some(p) => (&body[..p], Some(&body[p + 1..])),
                None => (body, None),
            };
            let (long, has_arg, action) = match find_long(name, gen) {
                Found::One(o) => (o.long.unwrap_or_default(), o.has_arg, o.action),
                Found::Ours(n, h) => (n, h, Action::Clap(n)),
                Found::None => {
                    return fail(
                        err,
                        format!("unrecognized option '{}'", w.escape_ascii_lossless()),
                    )
                }
                Found::Ambiguous(list) => {
                    let mut m = format!(
                        "option '{}' is ambiguous; possibilities:",
                        w.escape_ascii_lossless()
                    );
                    for o in list {
                        m.push_str(&format!(" '--{}'", o.long.unwrap_or_default()));
                    }
                    return fail(err, m);
                }
            };
            let value: Option<Vec<u8>> = match (has_arg, value) {
                (HasArg::No, Some(_)) => {
                    return fail(err, format!("option '--{long}' doesn't allow an argument"))
                }
                (HasArg::No, None) => None,
                (HasArg::Required, Some(v)) => Some(v.to_vec()),
                (HasArg::Required, None) => match words.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => return fail(err, format!("option '--{long}' requires an argument")),
                },
            };
            let shown = format!("--{long}");
            if let Some(code) = act(
                action,
                &shown,
                value,
                words,
                as_depmod,
                &mut options,
                err,
                out,
            ) {
                return Err(code);
            }
            continue;
        }
        if w.len() > 1 && w[0] == b'-' {
            // A cluster of short options; one taking an argument ends it.
            let mut j = 1;
            while j < w.len() {
                let c = w[j];
                j += 1;
                let Some(o) = KMOD_OPTIONS
                    .iter()
                    .find(|o| o.short == Some(c) && o.in_table(gen))
                else {
                    return fail(err, format!("invalid option -- '{}'", show_char(c)));
                };
                let value = match o.has_arg {
                    HasArg::No => None,
                    HasArg::Required if j < w.len() => {
                        let v = w[j..].to_vec();
                        j = w.len();
                        Some(v)
                    }
                    HasArg::Required => match words.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => {
                            return fail(
                                err,
                                format!("option requires an argument -- '{}'", show_char(c)),
                            )
                        }
                    },
                };
                let shown = format!("-{}", show_char(c));
                if let Some(code) = act(
                    o.action,
                    &shown,
                    value,
                    words,
                    as_depmod,
                    &mut options,
                    err,
                    out,
                ) {
                    return Err(code);
                }
            }
            continue;
        }
        // An operand (`-` alone is one too); getopt moves it after the options.
        operands.push(w.clone());
    }
    options.push(b"--".to_vec());
    options.extend(operands);
    Ok(options)
}

/// Carries out one option: appends it for clap, or warns, or prints the version (or
/// kmod's usage, `as_depmod`).
#[allow(clippy::too_many_arguments)]
fn act(
    action: Action,
    shown: &str,
    value: Option<Vec<u8>>,
    words: &[Vec<u8>],
    as_depmod: bool,
    options: &mut Vec<Vec<u8>>,
    err: &mut dyn std::io::Write,
    out: &mut dyn std::io::Write,
) -> Option<ExitCode> {
    match action {
        Action::Clap(name) => {
            let mut a = format!("--{name}").into_bytes();
            if let Some(v) = value {
                a.push(b'=');
                a.extend_from_slice(&v);
            }
            options.push(a);
            None
        }
        Action::Deprecated => {
            let _ = writeln!(err, "{PROG}: WARNING: Ignored deprecated option {shown}");
            None
        }
        Action::Help if as_depmod => {
            let _ = out.write_all(usage_text(words).as_bytes());
            let _ = out.flush();
            Some(ExitCode::SUCCESS)
        }
        Action::Help => {
            options.push(b"--help".to_vec());
            None
        }
        Action::Version => {
            let _ = out.write_all(version_text(words).as_bytes());
            let _ = out.flush();
            Some(ExitCode::SUCCESS)
        }
    }
}

/// What `-V` prints, for the `--kmod` and `--gzip` found anywhere on the command line.
fn version_text(words: &[Vec<u8>]) -> String {
    let kmod34 = wants_kmod34(words);
    let zlib = if words.iter().any(|w| w == b"--gzip") {
        '+'
    } else {
        '-'
    };
    if kmod34 {
        format!("kmod version 34\n+ZSTD +XZ {zlib}ZLIB +LIBCRYPTO\n")
    } else {
        format!("kmod version 30\n+ZSTD +XZ {zlib}ZLIB +LIBCRYPTO -EXPERIMENTAL\n")
    }
}

/// What `-h` prints as `depmod`: kmod's usage, for the `--kmod` found anywhere on the
/// command line. kmod 34's names the build-time module directory, as kmod's names its
/// own `MODULE_DIRECTORY`.
fn usage_text(words: &[Vec<u8>]) -> String {
    let common = "Usage:\n\
        \tdepmod -[aA] [options] [forced_version]\n\
        \n\
        If no arguments (except options) are given, \"depmod -a\" is assumed\n\
        \n\
        depmod will output a dependency list suitable for the modprobe utility.\n\
        \n\
        Options:\n\
        \t-a, --all            Probe all modules\n\
        \t-A, --quick          Only does the work if there's a new module\n\
        \t-e, --errsyms        Report not supplied symbols\n\
        \t-n, --show           Write the dependency file on stdout only\n\
        \t-P, --symbol-prefix  Architecture symbol prefix\n\
        \t-C, --config=PATH    Read configuration from PATH\n\
        \t-v, --verbose        Enable verbose mode\n\
        \t-w, --warn           Warn on duplicates\n\
        \t-V, --version        show version\n\
        \t-h, --help           show this help\n\
        \n\
        The following options are useful for people managing distributions:\n";
    let dirs = if wants_kmod34(words) {
        format!(
            "\t-b, --basedir=DIR    Root path (default: /).\n\
             \t-m, --moduledir=DIR  Module directory (default: {}).\n\
             \t-o, --outdir=DIR     Output root path (default: same as <basedir>).\n",
            modpolicy::job::system::MODULE_DIRECTORY
        )
    } else {
        "\t-b, --basedir=DIR    Use an image of a module tree.\n".to_string()
    };
    let syms = "\t-F, --filesyms=FILE  Use the file instead of the\n\
        \t                     current kernel symbols.\n\
        \t-E, --symvers=FILE   Use Module.symvers file to check\n\
        \t                     symbol versions.\n";
    format!("{common}{dirs}{syms}")
}

/// Whether `--kmod 34` (or `--kmod=34`) is anywhere on the command line.
fn wants_kmod34(words: &[Vec<u8>]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        w == b"--kmod=34" || (w == b"--kmod" && words.get(i + 1).is_some_and(|v| v == b"34"))
    })
}

/// The result of looking up a long option name.
enum Found {
    One(&'static Opt),
    Ours(&'static str, HasArg),
    Ambiguous(Vec<&'static Opt>),
    None,
}

/// getopt_long's lookup: an exact name, else the one option the name abbreviates (or
/// several that all mean the same), else ambiguous. modpolicy's options: exact only.
fn find_long(name: &[u8], gen: Gen) -> Found {
    if let Some(&(n, h)) = OUR_OPTIONS.iter().find(|(n, _)| n.as_bytes() == name) {
        return Found::Ours(n, h);
    }
    let long = |o: &Opt| o.long.unwrap_or_default().as_bytes();
    let table = || KMOD_OPTIONS.iter().filter(|o| o.in_table(gen));
    if let Some(o) = table().find(|o| long(o) == name) {
        return Found::One(o);
    }
    let matches: Vec<&'static Opt> = table().filter(|o| long(o).starts_with(name)).collect();
    match matches.as_slice() {
        [] => Found::None,
        [o] => Found::One(o),
        [first, rest @ ..]
            if rest
                .iter()
                .all(|o| o.has_arg == first.has_arg && o.action == first.action) =>
        {
            Found::One(first)
        }
        _ => Found::Ambiguous(matches),
    }
}

/// A byte as getopt's `%c` prints it (as is; anything but printable ASCII escaped, since
/// our messages are text).
fn show_char(c: u8) -> String {
    if c.is_ascii_graphic() || c == b' ' {
        (c as char).to_string()
    } else {
        std::ascii::escape_default(c).to_string()
    }
}

/// Bytes shown in a message: UTF-8 as is, other bytes escaped.
trait EscapeLossless {
    fn escape_ascii_lossless(&self) -> String;
}

impl EscapeLossless for [u8] {
    fn escape_ascii_lossless(&self) -> String {
        match std::str::from_utf8(self) {
            Ok(s) => s.to_string(),
            Err(_) => self.escape_ascii().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs [`read`] on `words`; returns (clap arguments or exit status, stderr, stdout).
    fn run(words: &[&str]) -> (Result<Vec<String>, bool>, String, String) {
        let words: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let (mut err, mut out) = (Vec::new(), Vec::new());
        let r = read(&words, PROG, false, &mut err, &mut out)
            .map(|v| {
                v.into_iter()
                    .map(|a| String::from_utf8(a).unwrap())
                    .collect()
            })
            .map_err(|c| c == ExitCode::SUCCESS);
        (
            r,
            String::from_utf8(err).unwrap(),
            String::from_utf8(out).unwrap(),
        )
    }

    #[test]
    fn options_are_spelled_out_and_operands_follow() {
        let (r, err, _) = run(&["6.1.0", "-aeF", "/m", "--base", "/r", "-P", "-x", "-v"]);
        assert_eq!(err, "");
        assert_eq!(
            r.unwrap(),
            [
                "--all",
                "--errsyms",
                "--filesyms=/m",
                "--basedir=/r",
                "--symbol-prefix=-x",
                "--verbose",
                "--",
                "6.1.0"
            ]
        );
        let (r, _, _) = run(&["--", "-a", "--dry", "-"]);
        assert_eq!(r.unwrap(), ["--", "-a", "--dry", "-"]);
        let (r, _, _) = run(&["--dry", "--policy", "p.kdl", "--w", "-bx"]);
        assert_eq!(
            r.unwrap(),
            ["--show", "--policy=p.kdl", "--warn", "--basedir=x", "--"]
        );
    }

    #[test]
    fn bad_command_lines_print_getopts_messages() {
        for (words, msg) in [
            (&["-Z"][..], "depmod: invalid option -- 'Z'\n"),
            (&["-ab"], "depmod: option requires an argument -- 'b'\n"),
            (&["--bogus=3"], "depmod: unrecognized option '--bogus=3'\n"),
            (&["--al=3"], "depmod: option '--all' doesn't allow an argument\n"),
            (&["--basedir"], "depmod: option '--basedir' requires an argument\n"),
            (
                &["--s=x"],
                "depmod: option '--s=x' is ambiguous; possibilities: '--symvers' '--show' '--symbol-prefix'\n",
            ),
            (&["--pol"], "depmod: unrecognized option '--pol'\n"),
        ] {
            let (r, err, _) = run(words);
            assert_eq!(r, Err(false), "{words:?}");
            assert_eq!(err, msg, "{words:?}");
        }
    }

    #[test]
    fn deprecated_options_warn_and_version_stops() {
        let (r, err, _) = run(&["-au", "--unres", "--m"]);
        assert_eq!(r.unwrap(), ["--all", "--"]);
        assert_eq!(
            err,
            "depmod: WARNING: Ignored deprecated option -u\n\
             depmod: WARNING: Ignored deprecated option --unresolved-error\n\
             depmod: WARNING: Ignored deprecated option --map\n"
        );
        let (r, err, out) = run(&["-V", "-Z"]);
        assert_eq!((r, err.as_str()), (Err(true), ""));
        assert_eq!(
            out,
            "kmod version 30\n+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL\n"
        );
        let (_, _, out) = run(&["--vers", "--kmod", "34", "--gzip"]);
        assert_eq!(out, "kmod version 34\n+ZSTD +XZ +ZLIB +LIBCRYPTO\n");
    }

    #[test]
    fn kmod34_reads_m_as_moduledir() {
        let (r, err, _) = run(&["-m", "/foo", "--kmod=34", "--mod", "bar", "-am/x"]);
        assert_eq!(err, "");
        assert_eq!(
            r.unwrap(),
            [
                "--moduledir=/foo",
                "--kmod=34",
                "--moduledir=bar",
                "--all",
                "--moduledir=/x",
                "--"
            ]
        );
        // kmod 30 has no --moduledir, and -m takes no argument there.
        let (r, err, _) = run(&["--moduledir=/foo"]);
        assert_eq!(r, Err(false));
        assert_eq!(err, "depmod: unrecognized option '--moduledir=/foo'\n");
        let (r, _, _) = run(&["-m", "6.1.0"]);
        assert_eq!(r.unwrap(), ["--", "6.1.0"]);
        let (r, err, _) = run(&["--kmod", "34", "-m"]);
        assert_eq!(r, Err(false));
        assert_eq!(err, "depmod: option requires an argument -- 'm'\n");
        let (_, _, out) = run(&["--kmod", "34", "-V", "--gzip"]);
        assert_eq!(out, "kmod version 34\n+ZSTD +XZ +ZLIB +LIBCRYPTO\n");
    }
}
