//! Preparing glibc's heap on a thread that is about to read many uncompressed modules.
//!
//! Reading a module keeps a few small pieces of it (names, CRCs, `.modinfo`), so a whole
//! tree read on two threads allocates tens of MiB in small pieces. glibc grows a worker
//! thread's heap (a non-main arena) for that a page or so at a time, with one `mprotect`
//! call per growth, and hands freed top space back with `madvise`, to fault it in again
//! later: on the full Debian 6.1 tree (4,022 modules) that was about 1,600 calls and 900
//! extra page faults, 5 % of the run's CPU time. [`prime_this_thread`] grows the
//! thread's heap once, up front, and keeps heaps grown (a raised trim threshold). Only
//! address space is reserved: untouched pages never become resident.
//!
//! Decompressing modules is another pattern (large buffers, allocated and freed one
//! module after the other), where trimming keeps the resident size down: threads that
//! only decompress are left as they are.
//!
//! (Transparent huge pages on these heaps cut the page faults further, but here, in a
//! virtual machine, zeroing fresh 2 MiB pages cost more than it saved when another
//! memory-hungry process had just run; they were measured and left out.)

/// How far the thread's heap is grown (address space only; below glibc's 64 MiB heap
/// size).
const HEAP: usize = 48 << 20;

/// The size of the allocations that grow it (below the raised mmap threshold).
const CHUNK: usize = 16 << 20;

/// Grows the calling thread's heap once (later calls on the same thread do nothing);
/// the first call in the process raises glibc's trim and mmap thresholds. Does nothing
/// on other C libraries.
pub fn prime_this_thread() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::cell::Cell;
        thread_local! {
            static PRIMED: Cell<bool> = const { Cell::new(false) };
        }
        static SETTINGS: std::sync::Once = std::sync::Once::new();
        if PRIMED.get() {
            return;
        }
        PRIMED.set(true);
        // SAFETY: mallopt only changes allocator parameters; values are in range.
        SETTINGS.call_once(|| unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        });
        // Chunks below the mmap threshold come from this thread's heap; freeing them
        // leaves the heap grown (and, with the trim threshold raised, untrimmed).
        // `try_reserve`: under an address-space limit the heap simply stays small.
        let chunks: Vec<Vec<u8>> = (0..HEAP / CHUNK)
            .map_while(|_| {
                let mut v = Vec::new();
                v.try_reserve_exact(CHUNK - 64).ok()?;
                Some(v)
            })
            .collect();
        drop(chunks);
    }
}
