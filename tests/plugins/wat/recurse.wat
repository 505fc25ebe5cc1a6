;; Recurses without end: the stack cap stops it.
(module
  (memory (export "memory") 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024))
  (func $r (param i32) (result i32) (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "modpolicy_check") (param i32 i32) (result i64) (drop (call $r (i32.const 0))) (i64.const 0)))
