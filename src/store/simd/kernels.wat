;; SIMD scan kernels for exact search (WebAssembly SIMD, 128-bit lanes; V8 maps them to SSE/AVX on x86 and NEON
;; on ARM, so the same bytes run on AVX2 and AVX-512 machines).
;;
;; Every scan scores `rows` stored rows against `nq` queries and writes only the (query, row, value) triplets that
;; pass that query's threshold, so a scan of a million rows hands JavaScript a few hundred candidates instead of a
;; million scores. The float scans accumulate in float32 in 16 lanes; callers rescore the candidates in the exact
;; arithmetic of exact-search.ts and use the error bound in simd-scan.ts to prove nothing was missed.
;;
;; Pointers are byte offsets into the imported shared memory. Output triplets are 12 bytes:
;; i32 query, i32 row, then f32 score (float scans) or i32 hamming distance (binary scan).
;;
;; Regenerate the committed binary after editing: node scripts/build-kernels.mjs (a test checks they agree).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Sum of the four f32 lanes, pairwise: (l0 + l1) + (l2 + l3).
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; f16 → f32 for four halves held in the low 16 bits of i32 lanes: the magnitude bits moved into place and scaled
  ;; by 2^112 (exact for normal and subnormal halves), then the sign. Stored halves are finite.
  (func $half4 (param $h v128) (result v128)
    (v128.or
      (f32x4.mul
        (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)) (i32.const 13))
        (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
      (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))

  ;; Append one triplet at out + 12·n.
  (func $emit (param $out i32) (param $n i32) (param $qi i32) (param $row i32) (param $v v128)
    (local $p i32)
    (local.set $p (i32.add (local.get $out) (i32.mul (local.get $n) (i32.const 12))))
    (i32.store (local.get $p) (local.get $qi))
    (i32.store offset=4 (local.get $p) (local.get $row))
    (i32.store offset=8 (local.get $p) (i32x4.extract_lane 0 (local.get $v))))

  ;; float32 rows; dim a multiple of 16. thr: nq f32 minimum scores.
  (func (export "scan_f32")
    (param $q i32) (param $nq i32) (param $x i32) (param $rows i32) (param $dim i32) (param $thr i32) (param $out i32)
    (result i32)
    (local $rb i32) (local $r i32) (local $qi i32) (local $xp i32) (local $qp i32) (local $i i32) (local $n i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f32)
    (local.set $rb (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $qi (i32.const 0))
        (local.set $qp (local.get $q))
        (block $q_done
          (loop $query
            (br_if $q_done (i32.ge_u (local.get $qi) (local.get $nq)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $i (i32.const 0))
            (loop $dot
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (v128.load (i32.add (local.get $xp) (local.get $i))) (v128.load (i32.add (local.get $qp) (local.get $i))))))
              (local.set $a1 (f32x4.add (local.get $a1)
                (f32x4.mul (v128.load offset=16 (i32.add (local.get $xp) (local.get $i))) (v128.load offset=16 (i32.add (local.get $qp) (local.get $i))))))
              (local.set $a2 (f32x4.add (local.get $a2)
                (f32x4.mul (v128.load offset=32 (i32.add (local.get $xp) (local.get $i))) (v128.load offset=32 (i32.add (local.get $qp) (local.get $i))))))
              (local.set $a3 (f32x4.add (local.get $a3)
                (f32x4.mul (v128.load offset=48 (i32.add (local.get $xp) (local.get $i))) (v128.load offset=48 (i32.add (local.get $qp) (local.get $i))))))
              (local.set $i (i32.add (local.get $i) (i32.const 64)))
              (br_if $dot (i32.lt_u (local.get $i) (local.get $rb))))
            (local.set $s (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
            (if (f32.ge (local.get $s) (f32.load (i32.add (local.get $thr) (i32.shl (local.get $qi) (i32.const 2)))))
              (then
                (call $emit (local.get $out) (local.get $n) (local.get $qi) (local.get $r) (f32x4.splat (local.get $s)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))))
            (local.set $qi (i32.add (local.get $qi) (i32.const 1)))
            (local.set $qp (i32.add (local.get $qp) (local.get $rb)))
            (br $query)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $xp (i32.add (local.get $xp) (local.get $rb)))
        (br $row)))
    (local.get $n))

  ;; float16 rows (IEEE halves); dim a multiple of 16; queries are float32.
  (func (export "scan_f16")
    (param $q i32) (param $nq i32) (param $x i32) (param $rows i32) (param $dim i32) (param $thr i32) (param $out i32)
    (result i32)
    (local $rb i32) (local $r i32) (local $qi i32) (local $xp i32) (local $qp i32) (local $i i32) (local $j i32) (local $n i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $h v128) (local $s f32)
    (local $mag v128) (local $sgn v128) (local $scale v128)
    ;; $half4 written out in the loop (constants in locals): V8 does not inline calls in hot wasm loops.
    (local.set $mag (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
    (local.set $sgn (v128.const i32x4 0x8000 0x8000 0x8000 0x8000))
    (local.set $scale (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
    (local.set $rb (i32.shl (local.get $dim) (i32.const 1)))
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $qi (i32.const 0))
        (local.set $qp (local.get $q))
        (block $q_done
          (loop $query
            (br_if $q_done (i32.ge_u (local.get $qi) (local.get $nq)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $i (i32.const 0))
            (local.set $j (local.get $qp))
            (loop $dot
              (local.set $h (v128.load (i32.add (local.get $xp) (local.get $i))))
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (v128.load (local.get $j)))))
              (local.set $a1 (f32x4.add (local.get $a1)
                (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (v128.load offset=16 (local.get $j)))))
              (local.set $h (v128.load offset=16 (i32.add (local.get $xp) (local.get $i))))
              (local.set $a2 (f32x4.add (local.get $a2)
                (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (v128.load offset=32 (local.get $j)))))
              (local.set $a3 (f32x4.add (local.get $a3)
                (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (v128.load offset=48 (local.get $j)))))
              (local.set $i (i32.add (local.get $i) (i32.const 32)))
              (local.set $j (i32.add (local.get $j) (i32.const 64)))
              (br_if $dot (i32.lt_u (local.get $i) (local.get $rb))))
            (local.set $s (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
            (if (f32.ge (local.get $s) (f32.load (i32.add (local.get $thr) (i32.shl (local.get $qi) (i32.const 2)))))
              (then
                (call $emit (local.get $out) (local.get $n) (local.get $qi) (local.get $r) (f32x4.splat (local.get $s)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))))
            (local.set $qi (i32.add (local.get $qi) (i32.const 1)))
            (local.set $qp (i32.add (local.get $qp) (i32.shl (local.get $dim) (i32.const 2))))
            (br $query)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $xp (i32.add (local.get $xp) (local.get $rb)))
        (br $row)))
    (local.get $n))

  ;; int8 rows; dim a multiple of 16; "queries" are the per-dimension float32 weights a = q ⊙ step (the affine
  ;; offset is added by the caller).
  (func (export "scan_i8")
    (param $q i32) (param $nq i32) (param $x i32) (param $rows i32) (param $dim i32) (param $thr i32) (param $out i32)
    (result i32)
    (local $r i32) (local $qi i32) (local $xp i32) (local $qp i32) (local $i i32) (local $j i32) (local $n i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $v v128) (local $w v128) (local $s f32)
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $qi (i32.const 0))
        (local.set $qp (local.get $q))
        (block $q_done
          (loop $query
            (br_if $q_done (i32.ge_u (local.get $qi) (local.get $nq)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $i (i32.const 0))
            (local.set $j (local.get $qp))
            (loop $dot
              (local.set $v (v128.load (i32.add (local.get $xp) (local.get $i))))
              (local.set $w (i16x8.extend_low_i8x16_s (local.get $v)))
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (v128.load (local.get $j)))))
              (local.set $a1 (f32x4.add (local.get $a1)
                (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (v128.load offset=16 (local.get $j)))))
              (local.set $w (i16x8.extend_high_i8x16_s (local.get $v)))
              (local.set $a2 (f32x4.add (local.get $a2)
                (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (v128.load offset=32 (local.get $j)))))
              (local.set $a3 (f32x4.add (local.get $a3)
                (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (v128.load offset=48 (local.get $j)))))
              (local.set $i (i32.add (local.get $i) (i32.const 16)))
              (local.set $j (i32.add (local.get $j) (i32.const 64)))
              (br_if $dot (i32.lt_u (local.get $i) (local.get $dim))))
            (local.set $s (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
            (if (f32.ge (local.get $s) (f32.load (i32.add (local.get $thr) (i32.shl (local.get $qi) (i32.const 2)))))
              (then
                (call $emit (local.get $out) (local.get $n) (local.get $qi) (local.get $r) (f32x4.splat (local.get $s)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))))
            (local.set $qi (i32.add (local.get $qi) (i32.const 1)))
            (local.set $qp (i32.add (local.get $qp) (i32.shl (local.get $dim) (i32.const 2))))
            (br $query)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $xp (i32.add (local.get $xp) (local.get $dim)))
        (br $row)))
    (local.get $n))

  ;; Packed sign bits; bytes per row a multiple of 16 and at most 496 (byte lanes count to 255). thr: nq i32 maximum
  ;; distances. Hamming distances are integers, so this scan is exact.
  (func (export "scan_b1")
    (param $q i32) (param $nq i32) (param $x i32) (param $rows i32) (param $bytes i32) (param $thr i32) (param $out i32)
    (result i32)
    (local $r i32) (local $qi i32) (local $xp i32) (local $qp i32) (local $i i32) (local $n i32)
    (local $acc v128) (local $d i32)
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $qi (i32.const 0))
        (local.set $qp (local.get $q))
        (block $q_done
          (loop $query
            (br_if $q_done (i32.ge_u (local.get $qi) (local.get $nq)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $i (i32.const 0))
            (loop $pop
              (local.set $acc (i8x16.add (local.get $acc)
                (i8x16.popcnt (v128.xor (v128.load (i32.add (local.get $xp) (local.get $i))) (v128.load (i32.add (local.get $qp) (local.get $i)))))))
              (local.set $i (i32.add (local.get $i) (i32.const 16)))
              (br_if $pop (i32.lt_u (local.get $i) (local.get $bytes))))
            (local.set $acc (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $acc))))
            (local.set $d (i32.add
              (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
              (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
            (if (i32.le_s (local.get $d) (i32.load (i32.add (local.get $thr) (i32.shl (local.get $qi) (i32.const 2)))))
              (then
                (call $emit (local.get $out) (local.get $n) (local.get $qi) (local.get $r) (i32x4.splat (local.get $d)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))))
            (local.set $qi (i32.add (local.get $qi) (i32.const 1)))
            (local.set $qp (i32.add (local.get $qp) (local.get $bytes)))
            (br $query)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $xp (i32.add (local.get $xp) (local.get $bytes)))
        (br $row)))
    (local.get $n))

  ;; Largest squared row norm of float32 (half = 0) or float16 (half = 1) rows, for the error bound.
  (func (export "max_norm2")
    (param $x i32) (param $rows i32) (param $dim i32) (param $half i32) (result f32)
    (local $r i32) (local $i i32) (local $xp i32) (local $rb i32) (local $acc v128) (local $v v128) (local $h v128) (local $s f32) (local $m f32)
    (local.set $rb (i32.shl (local.get $dim) (i32.sub (i32.const 2) (local.get $half))))
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (loop $sq
          (if (local.get $half)
            (then
              (local.set $h (v128.load (i32.add (local.get $xp) (local.get $i))))
              (local.set $v (call $half4 (i32x4.extend_low_i16x8_u (local.get $h))))
              (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v))))
              (local.set $v (call $half4 (i32x4.extend_high_i16x8_u (local.get $h))))
              (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v)))))
            (else
              (local.set $v (v128.load (i32.add (local.get $xp) (local.get $i))))
              (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v))))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $sq (i32.lt_u (local.get $i) (local.get $rb))))
        (local.set $s (call $hsum (local.get $acc)))
        (if (f32.gt (local.get $s) (local.get $m)) (then (local.set $m (local.get $s))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $xp (i32.add (local.get $xp) (local.get $rb)))
        (br $row)))
    (local.get $m))

  ;; Read `bytes` (a multiple of 64) once, as the scans do, and return a checksum so the reads cannot be skipped: the
  ;; benchmark's measure of how fast this thread streams memory.
  (func (export "stream_sum") (param $x i32) (param $bytes i32) (result i32)
    (local $i i32) (local $a v128) (local $b v128)
    (block $done
      (loop $read
        (br_if $done (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $a (i32x4.add (local.get $a) (v128.load (i32.add (local.get $x) (local.get $i)))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=16 (i32.add (local.get $x) (local.get $i)))))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=32 (i32.add (local.get $x) (local.get $i)))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=48 (i32.add (local.get $x) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 64)))
        (br $read)))
    (local.set $a (i32x4.add (local.get $a) (local.get $b)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $a)) (i32x4.extract_lane 1 (local.get $a)))
      (i32.add (i32x4.extract_lane 2 (local.get $a)) (i32x4.extract_lane 3 (local.get $a)))))

  ;; One query, four rows per step: a single row's popcounts leave the core idle while its cache lines arrive, and
  ;; four independent rows keep four times as many loads in flight. rows must be a multiple of 4 (the caller scans
  ;; the rest with scan_b1); thr is the query's maximum distance.
  (func (export "scan_b1_x4")
    (param $q i32) (param $x i32) (param $rows i32) (param $bytes i32) (param $t i32) (param $out i32)
    (result i32)
    (local $r i32) (local $i i32) (local $n i32) (local $d i32) (local $qv v128)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $p0 (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $p1 (i32.add (local.get $p0) (local.get $bytes)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $bytes)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $bytes)))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0))
        (local.set $c3 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (loop $pop
          (local.set $qv (v128.load (i32.add (local.get $q) (local.get $i))))
          (local.set $c0 (i8x16.add (local.get $c0) (i8x16.popcnt (v128.xor (local.get $qv) (v128.load (i32.add (local.get $p0) (local.get $i)))))))
          (local.set $c1 (i8x16.add (local.get $c1) (i8x16.popcnt (v128.xor (local.get $qv) (v128.load (i32.add (local.get $p1) (local.get $i)))))))
          (local.set $c2 (i8x16.add (local.get $c2) (i8x16.popcnt (v128.xor (local.get $qv) (v128.load (i32.add (local.get $p2) (local.get $i)))))))
          (local.set $c3 (i8x16.add (local.get $c3) (i8x16.popcnt (v128.xor (local.get $qv) (v128.load (i32.add (local.get $p3) (local.get $i)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $pop (i32.lt_u (local.get $i) (local.get $bytes))))
        (local.set $c0 (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $c0))))
        (local.set $d (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $c0)) (i32x4.extract_lane 1 (local.get $c0)))
          (i32.add (i32x4.extract_lane 2 (local.get $c0)) (i32x4.extract_lane 3 (local.get $c0)))))
        (if (i32.le_s (local.get $d) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 0)) (i32x4.splat (local.get $d)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $c1 (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $c1))))
        (local.set $d (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $c1)) (i32x4.extract_lane 1 (local.get $c1)))
          (i32.add (i32x4.extract_lane 2 (local.get $c1)) (i32x4.extract_lane 3 (local.get $c1)))))
        (if (i32.le_s (local.get $d) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 1)) (i32x4.splat (local.get $d)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $c2 (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $c2))))
        (local.set $d (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $c2)) (i32x4.extract_lane 1 (local.get $c2)))
          (i32.add (i32x4.extract_lane 2 (local.get $c2)) (i32x4.extract_lane 3 (local.get $c2)))))
        (if (i32.le_s (local.get $d) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 2)) (i32x4.splat (local.get $d)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $c3 (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $c3))))
        (local.set $d (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $c3)) (i32x4.extract_lane 1 (local.get $c3)))
          (i32.add (i32x4.extract_lane 2 (local.get $c3)) (i32x4.extract_lane 3 (local.get $c3)))))
        (if (i32.le_s (local.get $d) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 3)) (i32x4.splat (local.get $d)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $p0 (i32.add (local.get $p3) (local.get $bytes)))
        (br $row)))
    (local.get $n))

  ;; f16 rows, one query, four rows per step: the conversion makes one row at a time too slow to keep memory busy,
  ;; four independent rows keep more loads in flight. One float32x4 accumulator per row. rows a multiple of 4, dim of
  ;; 16; t is the query's minimum score.
  (func (export "scan_f16_x4")
    (param $q i32) (param $x i32) (param $rows i32) (param $dim i32) (param $t f32) (param $out i32)
    (result i32)
    (local $r i32) (local $i i32) (local $j i32) (local $n i32) (local $rb i32) (local $s f32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $h v128) (local $w v128)
    (local $mag v128) (local $sgn v128) (local $scale v128)
    (local.set $mag (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
    (local.set $sgn (v128.const i32x4 0x8000 0x8000 0x8000 0x8000))
    (local.set $scale (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
    (local.set $rb (i32.shl (local.get $dim) (i32.const 1)))
    (local.set $p0 (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0))
        (local.set $c3 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (local.set $j (local.get $q))
        (loop $dot
          (local.set $q0 (v128.load (local.get $j)))
          (local.set $q1 (v128.load offset=16 (local.get $j)))
          (local.set $h (v128.load (i32.add (local.get $p0) (local.get $i))))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.add (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q0)) (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q1)))))
          (local.set $h (v128.load (i32.add (local.get $p1) (local.get $i))))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.add (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q0)) (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q1)))))
          (local.set $h (v128.load (i32.add (local.get $p2) (local.get $i))))
          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.add (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q0)) (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q1)))))
          (local.set $h (v128.load (i32.add (local.get $p3) (local.get $i))))
          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.add (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_low_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q0)) (f32x4.mul (v128.or (f32x4.mul (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $mag)) (i32.const 13)) (local.get $scale)) (i32x4.shl (v128.and (i32x4.extend_high_i16x8_u (local.get $h)) (local.get $sgn)) (i32.const 16))) (local.get $q1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (local.set $j (i32.add (local.get $j) (i32.const 32)))
          (br_if $dot (i32.lt_u (local.get $i) (local.get $rb))))
        (local.set $s (call $hsum (local.get $c0)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 0)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $s (call $hsum (local.get $c1)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 1)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $s (call $hsum (local.get $c2)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 2)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $s (call $hsum (local.get $c3)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 3)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $p0 (i32.add (local.get $p3) (local.get $rb)))
        (br $row)))
    (local.get $n))

  ;; i8 rows (weights as for scan_i8), one query, four rows per step, for the same reason. One float32x4 accumulator
  ;; per row. rows a multiple of 4, dim of 16; t is the query's minimum score minus the affine offset.
  (func (export "scan_i8_x4")
    (param $q i32) (param $x i32) (param $rows i32) (param $dim i32) (param $t f32) (param $out i32)
    (result i32)
    (local $r i32) (local $i i32) (local $j i32) (local $n i32) (local $rb i32) (local $s f32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $h v128) (local $w v128)
    (local $mag v128) (local $sgn v128) (local $scale v128)
    (local.set $rb (local.get $dim))
    (local.set $p0 (local.get $x))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0))
        (local.set $c3 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (local.set $j (local.get $q))
        (loop $dot
          (local.set $q0 (v128.load (local.get $j)))
          (local.set $q1 (v128.load offset=16 (local.get $j)))
          (local.set $q2 (v128.load offset=32 (local.get $j)))
          (local.set $q3 (v128.load offset=48 (local.get $j)))
          (local.set $h (v128.load (i32.add (local.get $p0) (local.get $i))))
          (local.set $w (i16x8.extend_low_i8x16_s (local.get $h)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q0)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q1)))))
          (local.set $w (i16x8.extend_high_i8x16_s (local.get $h)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q2)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q3)))))
          (local.set $h (v128.load (i32.add (local.get $p1) (local.get $i))))
          (local.set $w (i16x8.extend_low_i8x16_s (local.get $h)))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q0)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q1)))))
          (local.set $w (i16x8.extend_high_i8x16_s (local.get $h)))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q2)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q3)))))
          (local.set $h (v128.load (i32.add (local.get $p2) (local.get $i))))
          (local.set $w (i16x8.extend_low_i8x16_s (local.get $h)))
          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q0)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q1)))))
          (local.set $w (i16x8.extend_high_i8x16_s (local.get $h)))
          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q2)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q3)))))
          (local.set $h (v128.load (i32.add (local.get $p3) (local.get $i))))
          (local.set $w (i16x8.extend_low_i8x16_s (local.get $h)))
          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q0)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q1)))))
          (local.set $w (i16x8.extend_high_i8x16_s (local.get $h)))
          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $w))) (local.get $q2)) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $w))) (local.get $q3)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (local.set $j (i32.add (local.get $j) (i32.const 64)))
          (br_if $dot (i32.lt_u (local.get $i) (local.get $rb))))
        (local.set $s (call $hsum (local.get $c0)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 0)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $s (call $hsum (local.get $c1)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 1)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $s (call $hsum (local.get $c2)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 2)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $s (call $hsum (local.get $c3)))
        (if (f32.ge (local.get $s) (local.get $t))
          (then
            (call $emit (local.get $out) (local.get $n) (i32.const 0) (i32.add (local.get $r) (i32.const 3)) (f32x4.splat (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $p0 (i32.add (local.get $p3) (local.get $rb)))
        (br $row)))
    (local.get $n))
)
