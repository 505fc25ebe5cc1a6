//! The decoder of a WebAssembly plugin's output (`plugin::abi::decode_output`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(findings) = modpolicy::plugin::abi::decode_output(data) {
        for f in findings {
            assert!(modpolicy::plugin::abi::valid_code(&f.code), "{f:?}");
        }
    }
});
