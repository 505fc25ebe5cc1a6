;; Lacks the modpolicy_check export.
(module
  (memory (export "memory") 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024)))
