//! The module reader on a file: `read_module` detects the container, and for an
//! uncompressed module reads only the needed ranges with `pread` (`load/sparse.rs`). The
//! result must equal parsing the whole image in memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modpolicy::load::compress::Limits;
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("modpolicy-fuzz-{}.ko", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let p = scratch();
    std::fs::write(p, data).expect("scratch file");
    let limits = Limits {
        max_module_size: 8 << 20,
    };
    let sparse = modpolicy::load::read_module(p, &limits);
    if modpolicy::load::compress::Compression::detect(data)
        == modpolicy::load::compress::Compression::None
        && !data.is_empty()
    {
        // As every reader does where an image's first bytes land (kmod ignores
        // e_ident[EI_VERSION]).
        let mut image = data.to_vec();
        modpolicy::load::elf::accept_any_ident_version(&mut image);
        let full = modpolicy::load::elf::parse(&image);
        match (&full, &sparse) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "sparse and full reads differ"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("sparse and full reads disagree: {a:?} vs {b:?}"),
        }
    }
});
