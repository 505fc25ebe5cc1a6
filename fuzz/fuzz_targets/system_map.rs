//! `System.map` as `depmod -F` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::load::symvers::kmod_system_map;

fuzz_target!(|data: &[u8]| {
    let mut msgs = 0usize;
    let _ = kmod_system_map("System.map", data, None, |_| msgs += 1);
    let _ = kmod_system_map("System.map", data, Some(b'_'), |_| msgs += 1);
});
