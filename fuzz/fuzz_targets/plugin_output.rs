//! The decoder of a WebAssembly plugin's output (`plugin::abi::decode_output`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small `keep` so both the kept and the counted paths run.
    if let Ok(out) = modpolicy::plugin::abi::decode_output(data, 2) {
        assert!(out.findings.len() <= 2);
        for f in out.findings {
            assert!(modpolicy::plugin::abi::valid_code(&f.code), "{f:?}");
        }
    }
});
