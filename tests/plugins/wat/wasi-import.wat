;; Imports WASI, as a libc-based build does: no WASI here.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "modpolicy_check") (param i32 i32) (result i64) (i64.const 0)))
