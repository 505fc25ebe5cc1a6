//! The KDL policy loader: parse, decode with spans, merge; a loaded policy is then driven
//! through the engine's lints and its `depmod` search settings. A rejected policy must point
//! every diagnostic at a real place in a file it read (in bounds, on character boundaries,
//! with the right line number), and rendering the first one must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::policy::engine::PolicyEngine;
use modpolicy::policy::model::Date;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match modpolicy::policy::load_str("fuzz.kdl", text, "6.1.0-47-amd64") {
        Ok(p) => {
            let _ = p.search_config();
            let today = Date::parse("2026-01-01").expect("date");
            let e = PolicyEngine::new(&p, today, Vec::new());
            let _ = e.lints();
        }
        Err(e) => {
            assert!(!e.diagnostics.is_empty(), "an error without a diagnostic");
            for d in &e.diagnostics {
                let file = e
                    .sources
                    .files
                    .get(d.loc.file.0)
                    .expect("span names a file read");
                let t = file.text.as_str();
                let (start, end) = (d.loc.offset, d.loc.offset + d.loc.len);
                assert!(
                    end <= t.len(),
                    "span {start}..{end} past the end ({})",
                    t.len()
                );
                assert!(
                    t.is_char_boundary(start) && t.is_char_boundary(end),
                    "span splits a character"
                );
                let line = t.as_bytes()[..start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                assert_eq!(d.loc.line, line, "line number");
            }
            let _ = e.to_string();
            // The graphical rendering (miette) of the first report, as the CLI prints it.
            if let Some(r) = e.reports().into_iter().next() {
                let _ = format!("{r:?}");
            }
        }
    }
});
