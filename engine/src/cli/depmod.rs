//! `modpolicy depmod`: kmod's `depmod` command line.
//!
//! The job ([`modpolicy::job::depmod`]) prints kmod's messages through the log as kmod
//! words them; this file parses the arguments, prints what the job returns (`-n`'s
//! artifacts, a fatal error, the policy's problems) and maps it to kmod's exit codes:
//! 0 on success, 1 on any fatal error (nothing is written then).

use super::args::{LevelArgs, PolicyArgs, VmlinuxArgs};
use clap::{Args, ValueEnum};
use modpolicy::diag::{CommandLine, Selector};
use modpolicy::job::depmod::{CacheChoice, DepmodOptions, DepmodOutcome, KmodVersion};
use modpolicy::job::Log;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which kmod release to reproduce where their outputs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kmod {
    /// kmod 30 (Debian bookworm): post-order `.bin`, last duplicate `modules.order` line
    /// wins, no `modules.weakdep`.
    #[value(name = "30")]
    V30,
    /// kmod 34: pre-order `.bin`, first duplicate `modules.order` line wins,
    /// `modules.weakdep` written.
    #[value(name = "34")]
    V34,
}

/// Arguments of `modpolicy depmod`, as kmod's `depmod` takes them.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct DepmodArgs {
    /// Probe all modules (the default when no module paths are given).
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Do nothing if modules.dep is newer than every module file.
    #[arg(short = 'A', long = "quick")]
    quick: bool,
    /// Root directory: modules are read from BASEDIR/lib/modules/VERSION.
    #[arg(short = 'b', long = "basedir", value_name = "BASEDIR")]
    basedir: Option<String>,
    /// kmod 34 (with `--kmod 34`): read modules from BASEDIR/DIR/VERSION instead of
    /// BASEDIR/lib/modules/VERSION (a relative DIR is under BASEDIR too).
    #[arg(short = 'm', long = "moduledir", value_name = "DIR")]
    moduledir: Option<String>,
    /// Write the artifacts under OUTDIR/lib/modules/VERSION instead (OUTDIR/DIR/VERSION
    /// with -m DIR).
    #[arg(short = 'o', long = "outdir", value_name = "OUTDIR")]
    outdir: Option<String>,
    /// Configuration file or directory (repeatable; replaces the default directories).
    #[arg(short = 'C', long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
    #[command(flatten)]
    vmlinux: VmlinuxArgs,
    /// Report unknown symbols and CRC disagreements (needs -E or -F).
    #[arg(short = 'e', long = "errsyms")]
    errsyms: bool,
    /// Print the text artifacts to stdout instead of writing files.
    #[arg(short = 'n', long = "show", visible_alias = "dry-run")]
    show: bool,
    /// Warn about duplicate values inside an index.
    #[arg(short = 'w', long = "warn")]
    warn: bool,
    /// Print each new dependency edge (kmod's NOTICE level).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// Symbol prefix character to ignore (e.g. `_`).
    #[arg(short = 'P', long = "symbol-prefix", value_name = "CHAR")]
    symbol_prefix: Option<String>,
    /// Which kmod release to reproduce.
    #[arg(long = "kmod", value_enum, default_value = "30")]
    kmod: Kmod,
    /// Treat `.ko.gz` files as modules (kmod built with zlib; Debian's kmod 30 is not).
    #[arg(long = "gzip")]
    gzip: bool,
    /// Flush each artifact to disk before it replaces the old one.
    #[arg(long = "sync")]
    sync: bool,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    levels: LevelArgs,
    /// The largest module file accepted, decompressed (suffix K, M or G for KiB, MiB,
    /// GiB; default 512M). A larger module is unreadable (`unreadable-module`), as is a
    /// compressed one that expands past it.
    #[arg(long = "max-module-size", value_name = "SIZE", value_parser = parse_size)]
    max_module_size: Option<u64>,
    /// Keep the module cache in DIR (default: BASEDIR/var/cache/modpolicy with -b,
    /// else /var/cache/modpolicy for root, else $XDG_CACHE_HOME/modpolicy or
    /// ~/.cache/modpolicy; run as `depmod` with -b or -o, none unless this is given).
    #[arg(long = "cache", value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Neither read nor write the module cache: read every module file.
    #[arg(long = "no-cache", conflicts_with = "cache")]
    no_cache: bool,
    /// Also write the shipped module cache, MODULEDIR/VERSION/modules.modpolicy-cache:
    /// every module's content hash and what it says, for a kernel package to ship beside
    /// its modules (the target's first depmod then hashes instead of decompressing).
    #[arg(long = "write-shipped-cache", conflicts_with = "no_cache")]
    write_shipped_cache: bool,
    /// Show a progress bar on stderr when it is a terminal and the run lasts more than a
    /// second (kmod's depmod shows none, so neither does this one unless asked).
    #[arg(long = "progress")]
    progress: bool,
    /// Kernel version (default: the running kernel's release).
    version: Option<String>,
    /// Module files (absolute paths) for manual mode.
    modules: Vec<PathBuf>,
}

/// Runs `modpolicy depmod`.
pub fn run(args: DepmodArgs) -> ExitCode {
    let bar = super::progress::Bar::new(args.progress);
    let log = Log::new("depmod", args.verbose, &bar).with_progress(&bar);
    let mut levels = CommandLine::default();
    for (name, level) in args.levels.each() {
        match super::args::code(name) {
            Ok(c) => levels.levels.push((Selector::Code(c), level)),
            Err(e) => {
                log.fatal(&e);
                return ExitCode::FAILURE;
            }
        }
    }
    let opts = DepmodOptions {
        all: args.all,
        quick: args.quick,
        basedir: args.basedir,
        moduledir: args.moduledir,
        outdir: args.outdir,
        config: args.config,
        filesyms: args.vmlinux.filesyms,
        symvers: args.vmlinux.symvers,
        errsyms: args.errsyms,
        show: args.show,
        warn: args.warn,
        verbose: args.verbose,
        symbol_prefix: args.symbol_prefix,
        kmod: match args.kmod {
            Kmod::V30 => KmodVersion::V30,
            Kmod::V34 => KmodVersion::V34,
        },
        gzip: args.gzip,
        sync: args.sync,
        policy: args.policy.policy,
        levels,
        max_module_size: args.max_module_size,
        version: args.version,
        modules: args.modules,
        cache: match (args.no_cache, args.cache) {
            (true, _) => CacheChoice::Off,
            (false, Some(d)) => CacheChoice::Dir(d),
            (false, None) => CacheChoice::Default,
        },
        write_shipped_cache: args.write_shipped_cache,
    };
    let result = modpolicy::job::depmod::run(&opts, &log);
    bar.finish();
    match result {
        Ok(outcome) => {
            let mut code = ExitCode::SUCCESS;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for contents in outcome.shown() {
                if out.write_all(contents).is_err() {
                    code = ExitCode::FAILURE;
                    break;
                }
            }
            let _ = out.flush();
            // The process ends here: freeing the run's hundreds of thousands of small
            // allocations one by one would take longer than the work after reading.
            // The OS reclaims it all at exit.
            if !matches!(outcome, DepmodOutcome::UpToDate) {
                std::mem::forget(outcome);
            }
            code
        }
        Err(stop) => {
            super::report_stop(&log, stop, "nothing was done");
            ExitCode::FAILURE
        }
    }
}

/// Parses a size: bytes, or a number with a `K`, `M` or `G` suffix (binary units, an
/// optional `iB` after the letter).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("iB").unwrap_or(t);
    let (num, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (bytes, or a number with K, M or G)"))?;
    match n.checked_mul(1 << shift) {
        Some(0) | None => Err(format!("`{s}` is not a usable size")),
        Some(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        for bad in ["", "0", "-1", "12Q", "99999999999999999999G", "M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
