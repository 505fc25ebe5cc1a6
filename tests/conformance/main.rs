//! Conformance of `modpolicy depmod` with Debian's kmod 30 `depmod`.
//!
//! Every test copies one `-b` root twice, runs `/usr/sbin/depmod` on one copy and
//! `modpolicy depmod` on the other with the same arguments, and requires the same exit
//! status, the same stdout, the same stderr (copy paths replaced by `<ROOT>`) and the same
//! files, byte for byte, under `lib/modules/VERSION`.
//!
//! - [`corpus`]: the two Debian cloud kernels from the shared corpus (unpacked by
//!   `tests/corpus/setup.sh`), one test per (tree, mode).
//! - [`fixtures`]: the small trees in `tests/fixtures/trees/`, plain and `-e -E`, plus
//!   damaged `modules.order` files.
//! - [`cycles_random`]: seeded random graphs of real modules with dependency cycles.
//! - [`kmod34`]: `--kmod 34`, which has no oracle here, checked against kmod 30's output.
//! - [`ext_modversions`]: extended modversions (6.14+) written by `objcopy` from
//!   `__versions`, against kmod on the original modules.
//! - [`extra`]: trees named in `MODPOLICY_CONFORMANCE_TREES` (e.g. a full kernel).
//!
//! Missing shared corpus or kmod fails the tests; `MODPOLICY_NO_CORPUS=1` skips them.

#[path = "../support/mod.rs"]
mod support;

mod corpus;
mod cycles_random;
mod ext_modversions;
mod extra;
mod fixtures;
mod kmod34;
