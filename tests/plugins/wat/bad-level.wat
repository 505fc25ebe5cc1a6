;; Returns a finding whose level is not allow, warn or deny.
(module
  (memory (export "memory") 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024))
  (data (i32.const 16) "finding\09x\09fatal\09-\09-\09msg\n")
  (func (export "modpolicy_check") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 24))))
