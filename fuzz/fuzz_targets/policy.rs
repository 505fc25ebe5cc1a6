//! The KDL policy loader: parse, decode with spans, merge; a loaded policy is then driven
//! through the engine's lints and its `depmod` search settings.
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
            // Rendering the diagnostics (spans into the text) must not panic either.
            for r in e.reports() {
                let _ = format!("{r:?}");
            }
        }
    }
});
