//! `modules.order`: any bytes parse; a corrupted line is numbered right after the lines
//! kept, and no kept line is longer than kmod's `fgets` buffer allows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let o = modpolicy::load::order::parse_modules_order(data);
    if let Some(n) = o.unterminated_line {
        assert_eq!(n, o.lines.len() + 1);
    }
    for l in &o.lines {
        assert!(l.len() < 4 * modpolicy::load::order::ORDER_LINE_MAX, "line kept too long");
    }
});
