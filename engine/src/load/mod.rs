//! Stage 1, **load**: read build outputs into plain records.
//!
//! Each input format has its own module: module images ([`elf`], through
//! [`compress`]), the kernel's symbol files ([`symvers`]), `modules.order` and the
//! built-in lists ([`order`]), `depmod.d` ([`config`]) and module discovery ([`walk`]).
//! This stage knows file formats and nothing about policy: it never decides which
//! provider wins or whether a finding is an error.

pub mod compress;
pub mod config;
pub mod elf;
pub mod order;
pub mod symvers;
pub mod walk;

use rayon::prelude::*;
use std::path::Path;

pub use compress::Limits;
pub use elf::ModuleImage;

/// Why one module file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The compressed stream is bad or too large.
    #[error("{0}")]
    Decompress(#[from] compress::DecompressError),
    /// The ELF image is bad.
    #[error("{0}")]
    Elf(#[from] elf::ElfError),
}

impl ModuleError {
    /// The `strerror` text kmod prints for this failure (`failed to load symbols from
    /// X: <this>`).
    pub fn kmod_reason(&self) -> String {
        match self {
            ModuleError::Io(e) => {
                let s = e.to_string();
                // Rust appends " (os error N)"; kmod prints strerror only.
                match s.find(" (os error") {
                    Some(i) => s[..i].to_string(),
                    None => s,
                }
            }
            ModuleError::Decompress(_) => "Invalid argument".into(),
            ModuleError::Elf(_) => "Exec format error".into(),
        }
    }

    /// Whether kmod would keep going (list the module without symbols) rather than stop.
    pub fn is_fatal_for_indexes(&self) -> bool {
        matches!(self, ModuleError::Elf(elf::ElfError::BadSymbolName { .. }))
    }
}

/// Reads and parses one module file (any supported compression).
pub fn read_module(path: &Path, limits: &Limits) -> Result<ModuleImage, ModuleError> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Err(elf::ElfError::NotElf.into());
    }
    // SAFETY: the map is read-only and lives only for this call; a module file changed
    // underneath us can give wrong bytes, which the bounds-checked parser tolerates.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let c = compress::Compression::detect(&map);
    if c == compress::Compression::None {
        Ok(elf::parse(&map)?)
    } else {
        let data = compress::decompress(c, &map, limits)?;
        drop(map);
        Ok(elf::parse(&data)?)
    }
}

/// Reads every path on all cores; results come back in input order, so output never
/// depends on scheduling.
pub fn read_modules<P: AsRef<Path> + Sync>(
    paths: &[P],
    limits: &Limits,
) -> Vec<Result<ModuleImage, ModuleError>> {
    paths
        .par_iter()
        .with_max_len(1)
        .map(|p| read_module(p.as_ref(), limits))
        .collect()
}
