;; Returns 155,344 findings of 27 bytes each, `finding many warn - - many` (4,194,288
;; bytes, just under the default 4 MiB output cap), for measuring the memory the
;; reports take. The first line is written by a data segment, the rest by doubling it.
(module
  (memory (export "memory") 66)
  (data (i32.const 65536) "finding\09many\09warn\09-\09-\09many\0a")
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  ;; the input goes after the output area; at most 64 KiB of it
  (func (export "modpolicy_alloc") (param $n i32) (result i32)
    (if (result i32) (i32.le_u (local.get $n) (i32.const 65536))
      (then (i32.const 4259840))
      (else (i32.const 0))))
  (func (export "modpolicy_check") (param i32 i32) (result i64)
    (local $len i32)
    (local.set $len (i32.const 27))
    (block $done
      (loop $double
        (br_if $done (i32.gt_u (i32.shl (local.get $len) (i32.const 1)) (i32.const 4194288)))
        (memory.copy (i32.add (i32.const 65536) (local.get $len)) (i32.const 65536) (local.get $len))
        (local.set $len (i32.shl (local.get $len) (i32.const 1)))
        (br $double)))
    (memory.copy (i32.add (i32.const 65536) (local.get $len)) (i32.const 65536)
      (i32.sub (i32.const 4194288) (local.get $len)))
    (i64.or (i64.shl (i64.const 65536) (i64.const 32)) (i64.const 4194288))))
