//! A `depmod.d` file applied to a configuration: its statements, the kernel-version
//! patterns of `override` and `external` (POSIX extended regexes, matched against a
//! version), and the effective search order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::load::config::{parse_config, SearchConfig};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let file = Path::new("/etc/depmod.d/fuzz.conf");
    let mut msgs = Vec::new();
    let mut cfg = SearchConfig::default();
    parse_config(file, &text, "6.1.0-47-amd64", &mut cfg, &mut msgs);
    let _ = cfg.effective_search();
});
