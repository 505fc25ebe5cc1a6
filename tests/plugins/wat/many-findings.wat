;; Reports 20,000 findings (one short line each, 480,000 bytes): more than a plugin may
;; report in one run (`MAX_FINDINGS_PER_PLUGIN`, 10,000).
(module
  (memory (export "memory") 8)
  (data (i32.const 16) "finding\09x\09warn\09-\09-\09many\0a")
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  (func (export "modpolicy_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "modpolicy_check") (param i32 i32) (result i64)
    (local $i i32) (local $o i32)
    ;; the line is 24 bytes; write it 20,000 times from offset 1024 (input at 65536
    ;; is not used)
    (local.set $o (i32.const 1024))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const 20000)))
        (memory.copy (local.get $o) (i32.const 16) (i32.const 24))
        (local.set $o (i32.add (local.get $o) (i32.const 24)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 480000))))
