//! A compressed module file: container chosen by magic (xz, zstd, gzip), decompressed with
//! a small output limit (a bomb must end in `TooLarge`, never in an allocation failure),
//! then parsed as ELF. Also checks the cheap size hint never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::load::compress::{decompress, uncompressed_size_hint, Compression, Limits};

fuzz_target!(|data: &[u8]| {
    let c = Compression::detect(data);
    let _ = uncompressed_size_hint(c, data);
    let limits = Limits {
        max_module_size: 8 << 20,
    };
    if let Ok(plain) = decompress(c, data, &limits) {
        assert!(plain.len() as u64 <= limits.max_module_size);
        let _ = modpolicy::load::elf::parse(&plain);
    }
});
