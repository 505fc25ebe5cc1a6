//! `Module.symvers`: the strict reader (`check`) and kmod's `depmod -E` reading.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::load::symvers::{kmod_symvers, parse_symvers};

fuzz_target!(|data: &[u8]| {
    let _ = parse_symvers(std::path::Path::new("Module.symvers"), data);
    let mut msgs = 0usize;
    let _ = kmod_symvers("Module.symvers", data, None, |_| msgs += 1);
    let _ = kmod_symvers("Module.symvers", data, Some(b'_'), |_| msgs += 1);
});
