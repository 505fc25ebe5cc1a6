//! modpolicy: declarative policy for Linux kernel module exports.
//!
//! The pipeline runs one way, one module per stage:
//!
//! 1. [`load`] reads build outputs (`.ko` files, `Module.symvers`, `System.map`,
//!    `modules.order`, `modules.builtin*`, `depmod.d`) into plain records;
//! 2. [`graph`] builds the export graph: every exporter of every symbol, every import;
//! 3. [`resolve`] picks one provider per imported symbol and orders the modules;
//! 4. [`check`] turns the resolved graph into findings, levelled by the policy;
//! 5. [`plugin`] runs the policy's WebAssembly checks in a sandbox over the same view;
//! 6. [`emit`] writes depmod artifacts and renders diagnostics.
//!
//! [`abi`] compares two kernels' exports (the ABI gate) under the policy's ABI rules.
//!
//! [`cache`] keeps what each module file said between `depmod` runs, so a re-run reads
//! only the files that changed.
//!
//! [`index`] is the `.bin` trie format that `modprobe` reads, shared by the writer and
//! by tests that read artifacts back. [`job`] runs each command end to end over these
//! stages (`depmod`, `check`, `explain`, the policy tools); the `modpolicy` binary is a
//! thin command line over it.
#![deny(missing_docs)]

pub mod abi;
pub mod cache;
pub mod check;
pub mod diag;
pub mod emit;
pub mod graph;
pub mod index;
pub mod job;
pub mod load;
pub mod plugin;
pub mod policy;
pub mod resolve;
pub mod util;
