//! `--format text`: one plain line per finding, for scripts and `grep`:
//!
//! ```text
//! error: abi-crc-changed: the CRC of printk (vmlinux) changed: 0x... -> 0x...
//! tolerated: abi-crc-changed: the CRC of foo (drivers/x/y) changed: ... [tolerated by p.kdl:3]
//! ```
//!
//! then a summary line, `PROG: N error(s), M warning(s), K tolerated`. Each line is
//! `SEVERITY: CODE: MESSAGE` (`error`, `warning`, or `tolerated` for a finding a rule
//! tolerates, whatever its level), with the deciding rule in brackets when a rule or a flag
//! decided (`[tolerated by FILE:LINE]`, `[abi-deny at FILE:LINE]`, `[--deny CODE]`).

use super::{severity_word, Report};
use crate::diag::{Decider, Level};
use std::fmt::Write as _;

/// Renders every listed finding, one line each, and the summary line naming `prog`.
pub fn render(r: &Report<'_>, prog: &str) -> String {
    let mut out = String::new();
    for f in r.findings.iter().filter(|f| f.level != Level::Allow) {
        let _ = write!(
            out,
            "{}: {}: {}",
            if f.tolerated {
                "tolerated"
            } else {
                severity_word(f.level)
            },
            f.code_name(),
            f.message.replace('\n', " ")
        );
        match (&f.decided_by, f.tolerated) {
            (Decider::Rule(x), true) => {
                let _ = write!(out, " [tolerated by {}:{}]", x.file, x.line);
            }
            (Decider::Rule(x), false) => {
                let _ = write!(out, " [{} at {}:{}]", x.kind, x.file, x.line);
            }
            (Decider::CommandLine(flag), t) => {
                let _ = write!(out, " [{flag}{}]", if t { ", tolerated" } else { "" });
            }
            (Decider::Default, true) => out.push_str(" [tolerated]"),
            (Decider::Default, false) => {}
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{prog}: {} error(s), {} warning(s), {} tolerated",
        r.errors(),
        r.warnings(),
        r.tolerated()
    );
    out
}
