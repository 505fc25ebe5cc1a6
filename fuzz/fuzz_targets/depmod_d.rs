//! A `depmod.d` file: statements, then the kernel-version patterns of `override` and
//! `external` (POSIX extended regexes), then the whole file applied to a configuration.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::load::config::{kver_matches, parse_config, parse_statements, SearchConfig, Statement};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let file = Path::new("/etc/depmod.d/fuzz.conf");
    let mut msgs = Vec::new();
    for (_, st) in parse_statements(file, &text, &mut msgs) {
        match st {
            Statement::Override { kver, .. } | Statement::External { kver, .. } => {
                let _ = kver_matches(&kver, "6.1.0-47-amd64");
            }
            _ => {}
        }
    }
    let mut cfg = SearchConfig::default();
    parse_config(file, &text, "6.1.0-47-amd64", &mut cfg, &mut msgs);
    let _ = cfg.effective_search();
});
