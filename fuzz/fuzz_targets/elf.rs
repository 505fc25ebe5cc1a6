//! The module ELF reader on an in-memory image (what a decompressed module goes through).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = modpolicy::load::elf::parse(data) {
        // Whatever was read must be usable: walk every record once.
        let mut n = 0usize;
        for e in &img.exports {
            n = n.wrapping_add(e.name.len());
        }
        for i in &img.imports {
            n = n.wrapping_add(i.name.len());
        }
        std::hint::black_box(n);
    }
});
