;; A well-behaved plugin in WAT: counts the `module` records of its input and reports
;; one finding with the count, logging a line through `modpolicy.log`.
(module
  (import "modpolicy" "log" (func $log (param i32 i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "finding\09modules\09warn\09-\09-\09modules seen: ")
  (data (i32.const 128) "count plugin ran")
  (func (export "modpolicy_abi_version") (result i32) (i32.const 1))
  ;; bump allocator; grows memory as needed, 0 when it cannot
  (func $alloc (export "modpolicy_alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $ok
      (br_if $ok (i32.le_u (local.get $end) (i32.mul (memory.size) (i32.const 65536))))
      (br_if $ok (i32.ne (memory.grow
        (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
        (i32.const -1)))
      (return (i32.const 0)))
    (global.set $heap (i32.add (local.get $end) (i32.const 8)))
    (local.get $p))
  (func (export "modpolicy_check") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $end i32) (local $count i32) (local $out i32) (local $o i32)
    (local $digits i32) (local $d i32)
    (call $log (i32.const 128) (i32.const 16))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; count "\nmodule\t" (the header line comes first, so every record follows a \n)
    (local.set $i (local.get $ptr))
    (block $done
      (loop $scan
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $end)))
        (if (i32.and
              (i32.eq (i32.load8_u (local.get $i)) (i32.const 10))
              (i32.and
                (i32.eq (i32.load (i32.add (local.get $i) (i32.const 1))) (i32.const 0x75646f6d)) ;; "modu"
                (i32.and
                  (i32.eq (i32.load16_u (i32.add (local.get $i) (i32.const 5))) (i32.const 0x656c)) ;; "le"
                  (i32.eq (i32.load8_u (i32.add (local.get $i) (i32.const 7))) (i32.const 9))))) ;; TAB
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    ;; output: prefix (39 bytes at 16), decimal count, "\n"
    (local.set $out (call $alloc (i32.const 64)))
    (memory.copy (local.get $out) (i32.const 16) (i32.const 39))
    (local.set $o (i32.add (local.get $out) (i32.const 39)))
    ;; write digits backwards into a scratch area at 200, then copy forward
    (local.set $d (i32.const 220))
    (loop $dig
      (local.set $d (i32.sub (local.get $d) (i32.const 1)))
      (i32.store8 (local.get $d) (i32.add (i32.const 48) (i32.rem_u (local.get $count) (i32.const 10))))
      (local.set $count (i32.div_u (local.get $count) (i32.const 10)))
      (br_if $dig (i32.ne (local.get $count) (i32.const 0))))
    (local.set $digits (i32.sub (i32.const 220) (local.get $d)))
    (memory.copy (local.get $o) (local.get $d) (local.get $digits))
    (local.set $o (i32.add (local.get $o) (local.get $digits)))
    (i32.store8 (local.get $o) (i32.const 10))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $o) (local.get $out)))))
)
