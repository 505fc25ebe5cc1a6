//! `modules.builtin.modinfo` (NUL-separated `mod.key=value` records).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for r in modpolicy::load::order::parse_builtin_modinfo(data) {
        assert!(!r.module.contains('.'));
    }
});
