;; Grows its memory one page at a time until the host's cap stops it.
(module
  (memory (export "memory") 1)
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "modpolicy_check") (param i32 i32) (result i64)
    (loop $l (drop (memory.grow (i32.const 1))) (br $l)) (i64.const 0)))
