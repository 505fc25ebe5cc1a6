//! Preparing glibc's per-thread heaps for a run that allocates a lot in worker threads.
//!
//! glibc grows a worker thread's heap (a non-main arena) page by page, with one
//! `mprotect` call per growth, and hands freed top space back with `madvise`. Reading a
//! whole module tree on two threads made about 1,600 such calls. [`prime`] grows each
//! worker's heap once, up front, and raises the trim threshold so that it stays grown:
//! the address space is reserved and writable, but no page is touched, so the memory in
//! use (RSS) does not change.

/// How far each worker's heap is grown (address space only; below glibc's 64 MiB heap
/// size).
const WORKER_HEAP: usize = 48 << 20;

/// The size of the allocations that grow it (below the raised mmap threshold).
const CHUNK: usize = 16 << 20;

/// Grows the heap of every thread of the global rayon pool once and keeps it grown.
/// Does nothing on other C libraries.
pub fn prime() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; values are in range.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        }
        rayon::broadcast(|_| {
            // Chunks below the mmap threshold come from this thread's heap; freeing them
            // leaves the heap grown (and, with the trim threshold raised, untrimmed).
            let chunks: Vec<Vec<u8>> = (0..WORKER_HEAP / CHUNK)
                .map(|_| Vec::with_capacity(CHUNK - 64))
                .collect();
            drop(chunks);
        });
    }
}
