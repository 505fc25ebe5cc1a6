;; Claims 60000 bytes of output (all in its memory), over a 1 KiB output cap.
(module
  (memory (export "memory") 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "modpolicy_check") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 60000))))
