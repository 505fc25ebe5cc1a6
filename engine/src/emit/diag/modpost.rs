//! `--format modpost`: modpost's own lines, in modpost's order and wording.
//!
//! `ERROR: modpost: ` for a `deny` finding, `WARNING: modpost: ` for a `warn` one. Codes
//! modpost has no message for print as `ERROR: modpolicy: `/`WARNING: modpolicy: `
//! after modpost's lines; a plugin's own finding prints as
//! `ERROR: modpolicy: [PLUGIN/CODE] message`. Tolerated findings are not printed. Like modpost, only the
//! first ten `undefined-symbol` findings are printed, and the last line then says how
//! many were suppressed (with modpost's stray `)`).

use super::{modpost_message, Report};
use crate::diag::{Code, Level};

/// How many unresolved symbols modpost prints.
pub const MAX_UNRESOLVED_REPORTS: usize = 10;

/// Renders the report as modpost's text (one line per finding, each ending in `\n`).
pub fn render(r: &Report<'_>) -> String {
    let mut modpost = String::new();
    let mut others = String::new();
    let mut unresolved = 0usize;
    for f in r
        .findings
        .iter()
        .filter(|f| !f.tolerated && f.level != Level::Allow)
    {
        let level = if f.level == Level::Deny {
            "ERROR"
        } else {
            "WARNING"
        };
        if f.code == Code::UndefinedSymbol {
            unresolved += 1;
            if unresolved > MAX_UNRESOLVED_REPORTS {
                continue;
            }
        }
        match modpost_message(f.code) {
            Some(_) => modpost.push_str(&format!("{level}: modpost: {}\n", f.message)),
            None => match f.plugin.as_ref().and_then(|p| p.code.as_ref()) {
                Some(_) => others.push_str(&format!(
                    "{level}: modpolicy: [{}] {}\n",
                    f.code_name(),
                    f.message
                )),
                None => others.push_str(&format!("{level}: modpolicy: {}\n", f.message)),
            },
        }
    }
    if unresolved > MAX_UNRESOLVED_REPORTS {
        modpost.push_str(&format!(
            "WARNING: modpost: suppressed {} unresolved symbol warnings because there were too many)\n",
            unresolved - MAX_UNRESOLVED_REPORTS
        ));
    }
    modpost + &others
}
