;; Declares a 64-bit memory (memory64): a plugin is wasm32, so it is refused before it runs.
(module
  (memory (export "memory") i64 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "modpolicy_check") (param i32 i32) (result i64) (i64.const 0)))
