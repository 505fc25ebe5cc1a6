//! `modules.order`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let o = modpolicy::load::order::parse_modules_order(data);
    if let Some(n) = o.unterminated_line {
        assert_eq!(n, o.lines.len());
    }
});
