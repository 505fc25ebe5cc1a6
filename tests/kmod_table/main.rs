//! The message table: kmod 30's exact output for odd input, row by row.
//!
//! Each row names a fixture tree (`tests/fixtures/trees/<tree>`), copied twice (`<tmp>/kmod`
//! and `<tmp>/ours`), a mutation applied to both copies (a module replaced by a FIFO, a
//! device, a directory, a symlink loop, a truncated ELF, a companion file made a directory,
//! a depmod.d entry that is not a file, a Module.symvers with a bad CRC, ...) and the
//! `depmod` command line (by default `-b <copy> ARGS 6.1.0-test`). kmod's
//! `/usr/sbin/depmod` (run as `depmod`, the name its getopt messages carry) and
//! `modpolicy depmod` each run on their copy under a timeout, and everything is compared:
//! exit status, stdout, stderr (each copy's root replaced by `<ROOT>`) and every file under
//! `lib/modules/6.1.0-test`, byte for byte.
//!
//! What a row expects ([`Target`]): the same output as kmod (most rows), or, where kmod
//! itself hangs or aborts, that we finish (exit 0 or 1, no panic; after a hang, with kmod's
//! messages up to the hang as the start of ours). A row may also carry a known
//! difference ([`Row::known`]: who owns the fix, and why): then the row asserts that the
//! target is still missed, so it fails the day the difference is fixed and must be
//! updated. Nothing is skipped silently: a missing kmod fails the suite unless
//! `MODPOLICY_NO_CORPUS=1`, which skips it with a note.
//!
//! `KMOD_TABLE_ROWS=substring` runs only the rows whose name contains it; each row's
//! outcome is printed at the end (`cargo test --test kmod_table -- --nocapture`).

#[path = "../support/mod.rs"]
mod support;

use std::io::Read as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::{describe_difference, replace_bytes, Pair, RunOutput, Tool, FIXTURE_VERSION};

/// A module of the `namespaces` tree, the raw material of broken modules.
const GOOD_MODULE: &str = "kernel/drivers/ns/nsprov.ko";

/// How long a command may run in a row that does not expect a hang.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How long a command may run in a row where something is expected to hang.
const HANG_TIMEOUT: Duration = Duration::from_secs(3);

/// What a row expects of our run, compared with kmod's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Exit status, stdout, stderr and every artifact identical to kmod's.
    Same,
    /// kmod blocks (e.g. opening a FIFO); we finish with exit 0 or 1, and what kmod
    /// printed before it blocked is how our stderr begins.
    KmodHangs,
    /// kmod dies of a signal (a failed assertion); we finish with exit 0 or 1.
    KmodCrashes,
}

/// Where the commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cwd {
    /// The temporary directory holding both copies.
    Tmp,
    /// The copy's own root (for relative paths inside the tree).
    Root,
}

type Setup = Box<dyn Fn(&Path) + Send + Sync>;

/// One case of the table.
struct Row {
    name: &'static str,
    tree: &'static str,
    setup: Setup,
    /// Arguments; `@ROOT@` stands for the copy's root.
    args: Vec<String>,
    /// Whether `-b @ROOT@` goes first and the fixture version last.
    wrap: bool,
    cwd: Cwd,
    target: Target,
    /// A difference we know of: (who fixes it, why we differ).
    known: Option<(&'static str, &'static str)>,
    /// With a known difference in the artifacts only: exit status, stdout and stderr
    /// must still be kmod's.
    messages_same: bool,
    timeout: Duration,
}

impl Row {
    fn new(name: &'static str) -> Row {
        Row {
            name,
            tree: "namespaces",
            setup: Box::new(|_| {}),
            args: Vec::new(),
            wrap: true,
            cwd: Cwd::Tmp,
            target: Target::Same,
            known: None,
            messages_same: false,
            timeout: TIMEOUT,
        }
    }
    fn tree(mut self, t: &'static str) -> Row {
        self.tree = t;
        self
    }
    fn setup(mut self, f: impl Fn(&Path) + Send + Sync + 'static) -> Row {
        self.setup = Box::new(f);
        self
    }
    fn args(mut self, a: &[&str]) -> Row {
        self.args = a.iter().map(|s| s.to_string()).collect();
        self
    }
    /// The whole command line is `args` (no `-b`, no version added).
    fn raw(mut self, a: &[&str]) -> Row {
        self.wrap = false;
        self.args(a)
    }
    fn cwd(mut self, c: Cwd) -> Row {
        self.cwd = c;
        self
    }
    fn target(mut self, t: Target) -> Row {
        if t != Target::Same {
            self.timeout = HANG_TIMEOUT;
        }
        self.target = t;
        self
    }
    /// A known difference, owned by `owner`, for `why`.
    fn known(mut self, owner: &'static str, why: &'static str) -> Row {
        self.known = Some((owner, why));
        self
    }
    /// The known difference is in the artifacts only.
    fn messages_same(mut self) -> Row {
        self.messages_same = true;
        self
    }
}

// ---- setup helpers (each given a copy's root) ----

fn moddir(root: &Path) -> PathBuf {
    root.join("lib/modules").join(FIXTURE_VERSION)
}

/// `lib/modules/VERSION/kernel/odd/<name>`, its directory created.
fn odd(root: &Path, name: &str) -> PathBuf {
    let d = moddir(root).join("kernel/odd");
    std::fs::create_dir_all(&d).expect("mkdir kernel/odd");
    d.join(name)
}

fn good_module(root: &Path) -> Vec<u8> {
    std::fs::read(moddir(root).join(GOOD_MODULE)).expect("fixture module")
}

fn write(p: &Path, data: &[u8]) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(p, data).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn remove(p: &Path) {
    let md = std::fs::symlink_metadata(p);
    match md {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).expect("rm -r"),
        Ok(_) => std::fs::remove_file(p).expect("rm"),
        Err(_) => {}
    }
}

fn mkdir(p: &Path) {
    remove(p);
    std::fs::create_dir_all(p).expect("mkdir");
}

fn symlink(target: &str, p: &Path) {
    remove(p);
    std::os::unix::fs::symlink(target, p).expect("symlink");
}

fn run_ok(cmd: &mut Command) {
    let st = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(st.success(), "{cmd:?} failed: {st}");
}

fn mkfifo(p: &Path) {
    remove(p);
    run_ok(Command::new("mkfifo").arg(p));
}

/// A character device like `/dev/null` (1:3) at `p` (the tests run as root).
fn mknull(p: &Path) {
    remove(p);
    run_ok(Command::new("mknod").arg(p).args(["c", "1", "3"]));
}

/// `tool -c FILE` (xz, zstd, gzip).
fn compress(tool: &str, data_file: &Path) -> Vec<u8> {
    let out = Command::new(tool)
        .arg("-c")
        .arg(data_file)
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{tool} is needed: {e}"));
    assert!(out.status.success(), "{tool} failed");
    out.stdout
}

/// The good module with `f` applied to its bytes, as `kernel/odd/x.ko`.
fn patched_module(root: &Path, f: impl Fn(&mut Vec<u8>)) {
    let mut m = good_module(root);
    f(&mut m);
    write(&odd(root, "x.ko"), &m);
}

fn put_u16(m: &mut [u8], at: usize, v: u16) {
    m[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// A depmod.d directory inside the copy, with `files` as (name, contents).
fn conf_dir(root: &Path, files: &[(&str, &str)]) -> PathBuf {
    let d = root.join("etc/odd.d");
    mkdir(&d);
    for (n, c) in files {
        write(
            &d.join(n),
            c.replace("@TREE@", root.to_str().unwrap()).as_bytes(),
        );
    }
    d
}

/// The tree's `Module.symvers` with each line passed through `f` (None drops it), plus
/// `extra` lines, written as `<root>/odd.symvers`.
fn edit_symvers(root: &Path, f: impl Fn(&str) -> Option<String>, extra: &str) {
    let s = std::fs::read_to_string(root.join("Module.symvers")).expect("Module.symvers");
    let mut out = String::new();
    for l in s.lines() {
        if let Some(l) = f(l) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str(extra);
    write(&root.join("odd.symvers"), out.as_bytes());
}

/// A System.map naming the symbols of `Module.symvers` the way `nm` does for vmlinux.
fn system_map(root: &Path, extra: &str) {
    let s = std::fs::read_to_string(root.join("Module.symvers")).expect("Module.symvers");
    let mut out = String::new();
    for (i, l) in s.lines().enumerate() {
        if let Some(name) = l.split('\t').nth(1) {
            out.push_str(&format!("ffffffff8{i:07x} r __ksymtab_{name}\n"));
        }
    }
    out.push_str(extra);
    write(&root.join("odd.map"), out.as_bytes());
}

// ---- the table ----

/// Every row. Add rows here; names are unique.
fn rows() -> Vec<Row> {
    const DELIBERATE: &str = "deliberate";
    let mut v = vec![
        Row::new("baseline"),
        Row::new("baseline_show").args(&["-n"]),
        // --- module files of odd types ---
        Row::new("module_fifo")
            .setup(|r| mkfifo(&odd(r, "x.ko"))),
        Row::new("module_symlink_to_fifo")
            .setup(|r| {
                mkfifo(&r.join("fifo"));
                symlink("../../../../../fifo", &odd(r, "x.ko"));
            }),
        Row::new("module_chardev")
            .setup(|r| mknull(&odd(r, "x.ko"))),
        Row::new("module_symlink_to_dev_null")
            .setup(|r| symlink("/dev/null", &odd(r, "x.ko"))),
        Row::new("module_fifo_not_a_module_name")
            .setup(|r| mkfifo(&odd(r, "notes"))),
        Row::new("module_directory_named_ko").setup(|r| mkdir(&odd(r, "x.ko"))),
        Row::new("module_directory_named_ko_with_module").setup(|r| {
            let m = good_module(r);
            mkdir(&odd(r, "x.ko"));
            write(&odd(r, "x.ko/inner.ko"), &m);
        }),
        Row::new("module_symlink_loop").setup(|r| symlink("x.ko", &odd(r, "x.ko"))),
        Row::new("module_symlink_dangling").setup(|r| symlink("nowhere.ko", &odd(r, "x.ko"))),
        Row::new("module_symlink_to_directory").setup(|r| symlink("../drivers", &odd(r, "x.ko"))),
        Row::new("module_empty").setup(|r| write(&odd(r, "x.ko"), b"")),
        Row::new("module_text").setup(|r| write(&odd(r, "x.ko"), b"hello\n")),
        // --- ELF headers kmod rejects ---
        Row::new("module_elf32_class").setup(|r| patched_module(r, |m| m[4] = 1)),
        Row::new("module_big_endian").setup(|r| patched_module(r, |m| m[5] = 2)),
        Row::new("module_ident_version_0")
            .setup(|r| patched_module(r, |m| m[6] = 0)),
        Row::new("module_e_machine_i386").setup(|r| patched_module(r, |m| put_u16(m, 0x12, 3))),
        Row::new("module_e_type_exec").setup(|r| patched_module(r, |m| put_u16(m, 0x10, 2))),
        Row::new("module_shoff_past_eof").setup(|r| {
            patched_module(r, |m| {
                let past = (m.len() as u64 + 0x1000).to_le_bytes();
                m[0x28..0x30].copy_from_slice(&past);
            })
        }),
        Row::new("module_shentsize_10").setup(|r| patched_module(r, |m| put_u16(m, 0x3a, 10))),
        Row::new("module_shnum_0")
            .setup(|r| patched_module(r, |m| put_u16(m, 0x3c, 0)))
            .target(Target::KmodCrashes),
        Row::new("module_shstrndx_out_of_range")
            .setup(|r| patched_module(r, |m| put_u16(m, 0x3e, 0xfff0)))
            .target(Target::KmodCrashes),
        // --- compressed modules ---
        Row::new("module_xz_empty").setup(|r| write(&odd(r, "x.ko.xz"), b"")),
        Row::new("module_xz_garbage").setup(|r| write(&odd(r, "x.ko.xz"), b"garbage\n")),
        Row::new("module_xz_truncated").setup(|r| {
            let x = compress("xz", &moddir(r).join(GOOD_MODULE));
            write(&odd(r, "x.ko.xz"), &x[..100]);
        }),
        Row::new("module_xz_of_text").setup(|r| {
            write(&r.join("text"), b"hello\n");
            let x = compress("xz", &r.join("text"));
            write(&odd(r, "x.ko.xz"), &x);
        }),
        Row::new("module_zst_empty").setup(|r| write(&odd(r, "x.ko.zst"), b"")),
        Row::new("module_zst_garbage").setup(|r| write(&odd(r, "x.ko.zst"), b"garbage\n")),
        Row::new("module_zst_truncated").setup(|r| {
            let x = compress("zstd", &moddir(r).join(GOOD_MODULE));
            write(&odd(r, "x.ko.zst"), &x[..100]);
        }),
        Row::new("module_gz_not_a_module_for_kmod30").setup(|r| {
            let x = compress("gzip", &moddir(r).join(GOOD_MODULE));
            write(&odd(r, "x.ko.gz"), &x);
        }),
        // --- companion files in lib/modules/VERSION ---
        Row::new("build_symlink_dangling").setup(|r| symlink("/nonexistent/build", &moddir(r).join("build"))),
        Row::new("build_fifo").setup(|r| mkfifo(&moddir(r).join("build"))),
        Row::new("artifact_modules_alias_is_directory")
            .setup(|r| mkdir(&moddir(r).join("modules.alias")))
            .known(DELIBERATE, "kmod's rename fails after renaming the files before it and leaves its temporary; we restore every file (atomic set) and say so"),
        Row::new("artifact_modules_dep_is_nonempty_directory")
            .setup(|r| mkdir(&moddir(r).join("modules.dep/x")))
            .known(DELIBERATE, "kmod leaves its temporary `modules.dep.PID.*`; we remove ours (atomic set)"),
        // --- command line ---
        Row::new("version_short").raw(&["-V"]),
        Row::new("version_long").raw(&["--version"]),
        Row::new("version_abbreviated").raw(&["--vers"]),
        Row::new("version_after_options").raw(&["-aV", "-Z"]),
        Row::new("unknown_short_option").raw(&["-Z"]),
        Row::new("unknown_short_option_in_cluster").raw(&["-aeZ", "6.1.0-test"]),
        Row::new("unknown_long_option").raw(&["--bogus"]),
        Row::new("unknown_long_option_with_value").raw(&["--bogus=3"]),
        Row::new("ambiguous_long_option").raw(&["--s"]),
        Row::new("ambiguous_long_option_with_value").raw(&["--ver=1"]),
        Row::new("flag_given_a_value").raw(&["--al=3"]),
        Row::new("missing_argument_short").raw(&["-ab"]),
        Row::new("missing_argument_long").raw(&["--basedir"]),
        Row::new("missing_argument_config").raw(&["-n", "-C"]),
        Row::new("deprecated_options").args(&["-n", "-u", "-q", "-r", "-m"]),
        Row::new("deprecated_long_options")
            .args(&["-n", "--unres", "--quiet", "--ro", "--ma"]),
        Row::new("abbreviated_long_options")
            .raw(&["--base=@ROOT@", "--sh", "--w", "--e", "6.1.0-test"]),
        Row::new("options_after_version").raw(&["-b", "@ROOT@", "6.1.0-test", "-n"]),
        Row::new("symbol_prefix_takes_the_version").raw(&["-b", "@ROOT@", "-n", "-P", "6.1.0-test"]),
        Row::new("symbol_prefix_two_chars").args(&["-n", "-Pab"]),
        Row::new("symbol_prefix_underscore").args(&["-n", "--symbol-prefix=_"]),
        Row::new("bad_version").raw(&["-b", "@ROOT@", "six"]),
        Row::new("dash_as_version").raw(&["-b", "@ROOT@", "-"]),
        Row::new("help")
            .raw(&["-h"])
            .known(DELIBERATE, "`-h` prints modpolicy's help, which lists the options kmod lacks"),
        Row::new("outdir_option")
            .args(&["-o", "@ROOT@/out"])
            .known(DELIBERATE, "kmod 30 has no -o; modpolicy takes kmod 31's -o/--outdir"),
        // --- -A ---
        Row::new("quick_without_modules_dep").args(&["-A"]),
        Row::new("quick_up_to_date").args(&["-A"]).setup(|r| {
            let p = moddir(r).join("modules.dep");
            write(&p, b"");
            run_ok(Command::new("touch").args(["-d", "2100-01-01"]).arg(&p));
        }),
        Row::new("quick_show_without_modules_dep").args(&["-A", "-n"]),
        // --- -b ---
        Row::new("basedir_missing").raw(&["-b", "@ROOT@/nowhere", "6.1.0-test"]),
        Row::new("basedir_is_a_file")
            .raw(&["-b", "@ROOT@/lib/modules/6.1.0-test/modules.order", "6.1.0-test"]),
        Row::new("basedir_empty").raw(&["-b", "", "6.1.0-test"]),
        Row::new("basedir_relative_dot").raw(&["-b", ".", "-n", "6.1.0-test"]).cwd(Cwd::Root),
        Row::new("basedir_trailing_slashes").raw(&["-b", "@ROOT@//", "6.1.0-test"]),
        Row::new("version_directory_missing").raw(&["-b", "@ROOT@", "9.9.9"]),
        // --- -E / -F ---
        Row::new("symvers_missing").args(&["-E", "@ROOT@/nowhere"]),
        Row::new("symvers_is_a_directory").args(&["-E", "@ROOT@/lib", "-e"]),
        Row::new("symvers_empty")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| write(&r.join("odd.symvers"), b"")),
        Row::new("symvers_bad_crc")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| {
                edit_symvers(r, |l| Some(l.replacen("0x", "0xZZ", 1)), "")
            }),
        Row::new("symvers_bad_crc_after_a_run")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| {
                edit_symvers(r, |l| Some(l.replacen("0x", "0xZZ", 1)), "");
                write(&moddir(r).join("modules.softdep"), b"");
            }),
        // libkmod parses the previous modules.softdep as a modprobe.d file and reports
        // each line it rejects (the run's own modules.softdep replaces it).
        Row::new("softdep_bad_lines").setup(|r| {
            write(
                &moddir(r).join("modules.softdep"),
                b"bogus line\n# comment\n\n  \nalias\nalias a b\noptions m\noptions m x=1\n\
                  install m \nremove m\nsoftdep m\nsoftdep m pre: x\nblacklist\ninclude foo\n\
                  config bar\nweakdep m x\nsoftdep \\\nm\n\t# tab\nalias a] b\nalias a[ b\n\
                  bad\\\\\nzz\0yy\nalias a b\\",
            )
        }),
        Row::new("symvers_bad_crc_softdep_is_directory")
            .args(&["-E", "@ROOT@/odd.symvers", "-e", "-n"])
            .setup(|r| {
                edit_symvers(r, |l| Some(l.replacen("0x", "0xZZ", 1)), "");
                mkdir(&moddir(r).join("modules.softdep"));
            }),
        Row::new("symvers_bad_crc_softdep_is_a_symlink_loop")
            .args(&["-E", "@ROOT@/odd.symvers", "-e", "-n"])
            .setup(|r| {
                edit_symvers(r, |l| Some(l.replacen("0x", "0xZZ", 1)), "");
                symlink("modules.softdep", &moddir(r).join("modules.softdep"));
            }),
        // kmod reads /dev/zero as modules.order without end; we stop at its first
        // (corrupted) line.
        Row::new("modules_order_dev_zero")
            .setup(|r| symlink("/dev/zero", &moddir(r).join("modules.order")))
            .target(Target::KmodHangs),
        Row::new("symvers_crc_not_hex")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| edit_symvers(r, |l| Some(l.replacen("0x", "", 1)), "")),
        Row::new("symvers_short_lines")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| edit_symvers(r, |l| Some(l.to_string()), "0x12345678\n0x1\tonly_name\n\n\t\t\t\n")),
        Row::new("symvers_wrong_crc_value")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| {
                edit_symvers(
                    r,
                    |l| {
                        Some(if l.contains("\tmodule_layout\t") {
                            l.replacen("0x", "0x1", 1)
                        } else {
                            l.to_string()
                        })
                    },
                    "",
                )
            }),
        Row::new("symvers_no_newline_at_end")
            .args(&["-E", "@ROOT@/odd.symvers", "-e"])
            .setup(|r| {
                edit_symvers(r, |l| Some(l.to_string()), "0x00000001\tlast_one\tvmlinux\tEXPORT_SYMBOL")
            }),
        Row::new("filesyms_missing").args(&["-F", "@ROOT@/nowhere"]),
        Row::new("filesyms_is_a_directory").args(&["-F", "@ROOT@/lib", "-e"]),
        Row::new("filesyms_empty")
            .args(&["-F", "@ROOT@/odd.map", "-e"])
            .setup(|r| write(&r.join("odd.map"), b"")),
        Row::new("filesyms_good").args(&["-F", "@ROOT@/odd.map", "-e"]).setup(|r| system_map(r, "")),
        Row::new("filesyms_odd_lines")
            .args(&["-F", "@ROOT@/odd.map", "-e"])
            .setup(|r| system_map(r, "zzzz\nffffffff81000000\nffffffff81000000 T\n\nffffffff81000000 r __ksymtab_\n")),
        Row::new("symvers_and_filesyms").args(&["-F", "@ROOT@/odd.map", "-E", "@ROOT@/Module.symvers", "-e"])
            .setup(|r| system_map(r, "")),
        Row::new("errsyms_without_symbols").args(&["-e"]),
        // --- -C and depmod.d ---
        Row::new("config_missing").args(&["-C", "@ROOT@/nowhere"]),
        Row::new("config_empty_file")
            .args(&["-C", "@ROOT@/etc/odd.d/e.conf"])
            .setup(|r| {
                conf_dir(r, &[("e.conf", "")]);
            }),
        Row::new("config_subdirectory")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                let d = conf_dir(r, &[]);
                mkdir(&d.join("d.conf"));
            }),
        Row::new("config_dangling_symlink")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                let d = conf_dir(r, &[]);
                symlink("nowhere", &d.join("x.conf"));
            }),
        Row::new("config_symlink_loop")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                let d = conf_dir(r, &[]);
                symlink("x.conf", &d.join("x.conf"));
            }),
        Row::new("config_symlink_to_dev_null")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                let d = conf_dir(r, &[]);
                symlink("/dev/null", &d.join("x.conf"));
            }),
        Row::new("config_dev_null_itself").args(&["-C", "/dev/null"]),
        Row::new("config_fifo_entry")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                let d = conf_dir(r, &[]);
                mkfifo(&d.join("x.conf"));
            })
            .target(Target::KmodHangs),
        Row::new("config_is_a_fifo")
            .args(&["-C", "@ROOT@/fifo"])
            .setup(|r| mkfifo(&r.join("fifo")))
            .target(Target::KmodHangs),
        Row::new("config_is_a_symlink_loop")
            .args(&["-C", "@ROOT@/loop"])
            .setup(|r| symlink("loop", &r.join("loop"))),
        Row::new("symvers_is_a_fifo")
            .args(&["-E", "@ROOT@/fifo"])
            .setup(|r| mkfifo(&r.join("fifo")))
            .target(Target::KmodHangs),
        Row::new("symvers_is_a_symlink_loop")
            .args(&["-E", "@ROOT@/loop"])
            .setup(|r| symlink("loop", &r.join("loop"))),
        Row::new("basedir_is_a_symlink_loop")
            .raw(&["-b", "@ROOT@/loop", "6.1.0-test"])
            .setup(|r| symlink("loop", &r.join("loop"))),
        Row::new("config_not_conf_names_ignored")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                let d = conf_dir(r, &[("x.txt", "bogus line\n")]);
                mkfifo(&d.join("fifo"));
            }),
        Row::new("config_unknown_keyword")
            .args(&["-C", "@ROOT@/etc/odd.d"])
            .setup(|r| {
                conf_dir(r, &[("x.conf", "frobnicate all\nsearch\noverride\nexternal 6.1.0-test\n")]);
            }),
        Row::new("config_external_relative")
            .tree("depmod-conf-external")
            .args(&["-C", "@ROOT@/etc/odd.d", "-n"])
            .cwd(Cwd::Root)
            .setup(|r| {
                conf_dir(
                    r,
                    &[("x.conf", "search external updates built-in\nexternal 6.1.0-test opt/external\n")],
                );
            }),
        Row::new("config_external_relative_elsewhere")
            .tree("depmod-conf-external")
            .args(&["-C", "@ROOT@/etc/odd.d", "-n"])
            .setup(|r| {
                conf_dir(
                    r,
                    &[("x.conf", "search external updates built-in\nexternal 6.1.0-test opt/external\n")],
                );
            }),
        Row::new("config_external_missing_directory")
            .tree("depmod-conf-external")
            .args(&["-C", "@ROOT@/etc/odd.d", "-n"])
            .setup(|r| {
                conf_dir(
                    r,
                    &[("x.conf", "search external built-in\nexternal 6.1.0-test @TREE@/nowhere\n")],
                );
            }),
        Row::new("config_search_relative")
            .tree("depmod-conf-search")
            .args(&["-C", "@ROOT@/etc/odd.d", "-n"])
            .cwd(Cwd::Root)
            .setup(|r| {
                conf_dir(r, &[("x.conf", "search ../updates rel/dir extra built-in\n")]);
            }),
        // --- options on broken trees ---
        Row::new("verbose_with_broken_module")
            .args(&["-v"])
            .setup(|r| {
                let m = good_module(r);
                write(&odd(r, "x.ko"), &m[..200]);
            }),
        Row::new("warn_and_errsyms_with_symvers").args(&["-w", "-e", "-E", "@ROOT@/Module.symvers"]),
        Row::new("broken_module_wins_same_name")
            .tree("depmod-conf-search")
            .args(&["-C", "@ROOT@/etc/depmod.d"])
            .setup(|r| {
                let p = moddir(r).join("extra/prio.ko");
                let m = std::fs::read(&p).expect("extra/prio.ko");
                write(&p, &m[..100]);
            }),
        Row::new("broken_module_loses_same_name")
            .tree("depmod-conf-search")
            .args(&["-C", "@ROOT@/etc/depmod.d"])
            .setup(|r| write(&moddir(r).join("vendor/prio.ko"), b"")),
        Row::new("version_through_parent_directory").raw(&["-b", "@ROOT@", "6.1/../6.1.0-test"]),
        Row::new("version_with_trailing_text").raw(&["-b", "@ROOT@", "6.1.0-test-nowhere"]),
        // --- manual mode ---
        Row::new("manual_directory_as_module").raw(&[
            "-b",
            "@ROOT@",
            "-n",
            "6.1.0-test",
            "@ROOT@/lib/modules/6.1.0-test/kernel",
        ]),
        Row::new("manual_two_modules_same_name").raw(&[
            "-b",
            "@ROOT@",
            "-n",
            "6.1.0-test",
            "@ROOT@/lib/modules/6.1.0-test/kernel/drivers/ns/nsprov.ko",
            "@ROOT@/lib/modules/6.1.0-test/kernel/drivers/ns/../ns/nsprov.ko",
        ]),
        Row::new("manual_same_module_twice").raw(&[
            "-b",
            "@ROOT@",
            "-n",
            "6.1.0-test",
            "@ROOT@/lib/modules/6.1.0-test/kernel/drivers/ns/nsprov.ko",
            "@ROOT@/lib/modules/6.1.0-test/kernel/drivers/ns/nsprov.ko",
        ]),
        Row::new("manual_relative_module_path")
            .raw(&["-b", "@ROOT@", "6.1.0-test", "kernel/drivers/ns/nsprov.ko"]),
        Row::new("manual_missing_module")
            .raw(&["-b", "@ROOT@", "-n", "6.1.0-test", "@ROOT@/lib/modules/6.1.0-test/nowhere.ko"]),
    ];
    // --- modules.order, modules.builtin, modules.builtin.modinfo as odd files ---
    for f in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        let name = |k: &str| -> &'static str {
            Box::leak(format!("{}_{k}", f.replace('.', "_")).into_boxed_str())
        };
        v.push(Row::new(name("missing")).setup(move |r| remove(&moddir(r).join(f))));
        let dir_row = Row::new(name("is_directory")).setup(move |r| mkdir(&moddir(r).join(f)));
        v.push(if f == "modules.builtin.modinfo" {
            dir_row.known(
                DELIBERATE,
                "kmod fails writing modules.builtin.alias.bin and leaves the files before it in place; we print its message and exit 1 too, but write none (atomic set)",
            )
            .messages_same()
        } else {
            dir_row
        });
        v.push(Row::new(name("empty")).setup(move |r| write(&moddir(r).join(f), b"")));
        v.push(
            Row::new(name("is_directory_show"))
                .args(&["-n"])
                .setup(move |r| mkdir(&moddir(r).join(f))),
        );
        v.push(Row::new(name("symlink_loop")).setup(move |r| symlink(f, &moddir(r).join(f))));
        v.push(
            Row::new(name("symlink_to_dev_null"))
                .setup(move |r| symlink("/dev/null", &moddir(r).join(f))),
        );
        v.push(
            Row::new(name("fifo"))
                .setup(move |r| mkfifo(&moddir(r).join(f)))
                .target(Target::KmodHangs),
        );
    }
    // --- truncated modules: every length class of kmod's ELF checks ---
    for n in [1usize, 4, 5, 6, 15, 16, 17, 52, 63, 64, 65, 200, 1000, 4000] {
        let name: &'static str = Box::leak(format!("module_truncated_{n}").into_boxed_str());
        v.push(Row::new(name).setup(move |r| {
            let m = good_module(r);
            write(&odd(r, "x.ko"), &m[..n]);
        }));
    }
    for (tool, ext) in [("xz", "xz"), ("zstd", "zst")] {
        for (cut, what) in [(10usize, "end"), (1, "last_byte")] {
            let name: &'static str =
                Box::leak(format!("module_{ext}_truncated_at_the_{what}").into_boxed_str());
            v.push(Row::new(name).setup(move |r| {
                let x = compress(tool, &moddir(r).join(GOOD_MODULE));
                write(&odd(r, &format!("x.ko.{ext}")), &x[..x.len() - cut]);
            }));
        }
    }
    v.push(Row::new("module_truncated_last_byte").setup(|r| {
        let m = good_module(r);
        write(&odd(r, "x.ko"), &m[..m.len() - 1]);
    }));
    v
}

// ---- running ----

/// Runs one tool under a timeout; `timed_out` is set when it had to be killed.
fn run_with_timeout(tool: Tool, pair: &Pair, row: &Row) -> (RunOutput, bool) {
    let root = pair.root(tool);
    let root_s = root.to_str().expect("UTF-8 temporary path");
    let mut cmd = match tool {
        Tool::Kmod => {
            let mut c = Command::new(support::KMOD_DEPMOD);
            // getopt's messages carry argv[0]: kmod run as `depmod`.
            c.arg0("depmod");
            c
        }
        Tool::Ours => {
            let mut c = Command::new(support::modpolicy_bin());
            c.arg("depmod");
            c
        }
    };
    if row.wrap {
        cmd.arg("-b").arg(root_s);
    }
    for a in &row.args {
        cmd.arg(a.replace(support::ROOT_ARG, root_s));
    }
    if row.wrap {
        cmd.arg(FIXTURE_VERSION);
    }
    cmd.current_dir(match row.cwd {
        Cwd::Tmp => pair.tmp().to_path_buf(),
        Cwd::Root => root.clone(),
    });
    cmd.env("LC_ALL", "C")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", tool.label()));
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + row.timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = RunOutput {
        code: status.code(),
        signal: status.signal(),
        stdout: t_out.join().expect("stdout reader"),
        stderr: t_err.join().expect("stderr reader"),
    };
    (out, timed_out)
}

/// The outcome of one row: `Ok` when the target holds, else why not.
fn check_target(row: &Row, pair: &Pair) -> (Result<(), String>, RunOutput) {
    let (kmod, kmod_hung) = run_with_timeout(Tool::Kmod, pair, row);
    let (ours, ours_hung) = run_with_timeout(Tool::Ours, pair, row);
    let ours_copy = ours.clone();
    let ours_ended = |why: &mut Vec<String>| {
        if ours_hung {
            why.push(format!("ours did not finish within {:?}", row.timeout));
        } else if !matches!(ours.code, Some(0 | 1)) {
            why.push(format!("ours ended with {}", ours.status()));
        }
    };
    let mut why = Vec::new();
    match row.target {
        Target::Same => {
            if kmod_hung {
                why.push(format!("kmod did not finish within {:?}", row.timeout));
            }
            if ours_hung {
                why.push(format!("ours did not finish within {:?}", row.timeout));
            }
            why.extend(pair.compare(kmod, ours).differences);
        }
        Target::KmodHangs => {
            if !kmod_hung {
                why.push(format!(
                    "kmod finished ({}): the row expects it to hang",
                    kmod.status()
                ));
            }
            ours_ended(&mut why);
            let norm = |o: &RunOutput, t: Tool| {
                replace_bytes(
                    &o.stderr,
                    pair.root(t).to_str().unwrap().as_bytes(),
                    support::ROOT_PLACEHOLDER.as_bytes(),
                )
            };
            let (k, o) = (norm(&kmod, Tool::Kmod), norm(&ours, Tool::Ours));
            if !o.starts_with(&k) {
                let head = &o[..k.len().min(o.len())];
                if let Some(d) = describe_difference("stderr before kmod hung", &k, head, None) {
                    why.push(d);
                }
            }
        }
        Target::KmodCrashes => {
            if kmod.signal.is_none() {
                why.push(format!(
                    "kmod did not crash ({}): compare the row instead",
                    kmod.status()
                ));
            }
            ours_ended(&mut why);
        }
    }
    let r = if why.is_empty() {
        Ok(())
    } else {
        Err(why.join("\n  "))
    };
    (r, ours_copy)
}

/// Runs one row; returns its line for the summary, or an error.
fn run_row(row: &Row) -> Result<String, String> {
    let pair = Pair::new(&support::fixture_trees().join(row.tree), FIXTURE_VERSION);
    pair.each(|root| (row.setup)(root));
    let (r, ours) = check_target(row, &pair);
    let err = ours.stderr_text();
    if err.contains("panicked") {
        return Err(format!("{}: modpolicy panicked:\n{err}", row.name));
    }
    match (r, row.known) {
        (Ok(()), None) => Ok(format!(
            "{:<48} {}",
            row.name,
            match row.target {
                Target::Same => "same as kmod",
                Target::KmodHangs => "kmod hangs; ours finishes, same messages first",
                Target::KmodCrashes => "kmod aborts; ours finishes",
            }
        )),
        (Err(e), None) => Err(format!("{}: {:?} missed:\n  {e}", row.name, row.target)),
        (Ok(()), Some((owner, why))) => Err(format!(
            "{}: now matches kmod ({:?}), but is marked as a known difference ({owner}: {why}); \
             remove the mark",
            row.name, row.target
        )),
        (Err(e), Some(_))
            if row.messages_same
                && e.split("\n  ").any(|d| {
                    ["status:", "stdout:", "stderr:"]
                        .iter()
                        .any(|p| d.starts_with(p))
                }) =>
        {
            Err(format!(
                "{}: the known difference should be in the artifacts only, but:\n  {e}",
                row.name
            ))
        }
        (Err(e), Some((owner, why))) => Ok(format!(
            "{:<48} known difference ({owner}: {why})\n{:<50}{}",
            row.name,
            "",
            e.lines().next().unwrap_or("")
        )),
    }
}

#[test]
fn table_is_large_and_names_are_unique() {
    let rows = rows();
    assert!(rows.len() >= 40, "only {} rows", rows.len());
    let mut names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate row names");
}

#[test]
fn every_row_matches_kmod_or_is_marked() {
    if support::kmod("every_row_matches_kmod_or_is_marked").is_none() {
        return;
    }
    let filter = std::env::var("KMOD_TABLE_ROWS").unwrap_or_default();
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| r.name.contains(filter.as_str()))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<String, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                let r = run_row(row);
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut failures = Vec::new();
    let (mut same, mut known) = (0, 0);
    for (_, r) in &results {
        match r {
            Ok(line) => {
                if line.contains("known difference") {
                    known += 1;
                } else {
                    same += 1;
                }
                eprintln!("{line}");
            }
            Err(e) => failures.push(e.clone()),
        }
    }
    eprintln!(
        "{} rows: {same} as kmod, {known} known differences, {} failing",
        results.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} row(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
