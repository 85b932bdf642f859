// The hot loop of vector search: dot products of one int8 query against many int8 rows, in WebAssembly SIMD.
// Plain JavaScript over Float32Array needs ~30 ms for 100,000 × 384 dimensions on this kind of machine; this
// kernel needs ~5 ms, which is what keeps search inside its 20 ms budget. The module is a few dozen bytes,
// assembled here so no build step or binary file is involved. Its text form:
//
//   (func (export "scan") (param $query i32) (param $row i32) (param $rows i32) (param $width i32) (param $out i32)
//     (local $j i32) (local $a v128) (local $b v128) (local $acc v128)
//     (block $done (loop $next_row
//       (br_if $done (i32.eqz (local.get $rows)))
//       (local.set $acc (v128.const i32x4 0 0 0 0))
//       (local.set $j (i32.const 0))
//       (loop $next_16_bytes
//         (local.set $a (v128.load (i32.add (local.get $row) (local.get $j))))
//         (local.set $b (v128.load (i32.add (local.get $query) (local.get $j))))
//         (local.set $acc (i32x4.add (i32x4.add (local.get $acc)
//           (i32x4.extadd_pairwise_i16x8_s (i16x8.extmul_low_i8x16_s (local.get $a) (local.get $b))))
//           (i32x4.extadd_pairwise_i16x8_s (i16x8.extmul_high_i8x16_s (local.get $a) (local.get $b)))))
//         (br_if $next_16_bytes (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (local.get $width))))
//       (i32.store (local.get $out) (i32x4.extract_lane 0 + 1 + 2 + 3 of $acc))
//       (local.set $out (i32.add (local.get $out) (i32.const 4)))
//       (local.set $row (i32.add (local.get $row) (local.get $width)))
//       (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
//       (br $next_row))))
//
// int8 × int8 products fit in i16 and pairwise sums in i32, so nothing overflows for any width used here.

export type Scan = (query: number, row: number, rows: number, width: number, out: number) => void;

const I32 = 0x7f;
const V128 = 0x7b;
const leb = (n: number) => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32 = (n: number) => [0x41, ...leb(n)];
const simd = (op: number, ...immediates: number[]) => [0xfd, ...leb(op), ...immediates];
const [QUERY, ROW, ROWS, WIDTH, OUT, J, A, B, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const v128Load = simd(0x00, 0, 0);
const extmulLow = simd(0x9c);
const extmulHigh = simd(0x9d);
const extaddPairwise = simd(0x7e);
const i32x4Add = simd(0xae);
const lane = (n: number) => simd(0x1b, n);

const body = [
  ...vec([
    [1, I32],
    [3, V128],
  ]),
  0x02, 0x40, 0x03, 0x40, // block $done, loop $next_row
  ...get(ROWS), 0x45, 0x0d, 1, // br_if $done (rows == 0)
  ...simd(0x0c, ...new Array(16).fill(0)), ...set(ACC),
  ...i32(0), ...set(J),
  0x03, 0x40, // loop $next_16_bytes
  ...get(ROW), ...get(J), 0x6a, ...v128Load, ...set(A),
  ...get(QUERY), ...get(J), 0x6a, ...v128Load, ...set(B),
  ...get(ACC),
  ...get(A), ...get(B), ...extmulLow, ...extaddPairwise, ...i32x4Add,
  ...get(A), ...get(B), ...extmulHigh, ...extaddPairwise, ...i32x4Add,
  ...set(ACC),
  ...get(J), ...i32(16), 0x6a, ...tee(J), ...get(WIDTH), 0x49, 0x0d, 0, // br_if $next_16_bytes (j < width)
  0x0b,
  ...get(OUT),
  ...get(ACC), ...lane(0), ...get(ACC), ...lane(1), 0x6a, ...get(ACC), ...lane(2), 0x6a, ...get(ACC), ...lane(3), 0x6a,
  0x36, 2, 0, // i32.store
  ...get(OUT), ...i32(4), 0x6a, ...set(OUT),
  ...get(ROW), ...get(WIDTH), 0x6a, ...set(ROW),
  ...get(ROWS), ...i32(1), 0x6b, ...set(ROWS),
  0x0c, 0, // br $next_row
  0x0b, 0x0b, 0x0b,
];

const moduleBytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0]])),
  ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 0x01]])),
  ...section(3, vec([[0]])),
  ...section(7, vec([[...name("scan"), 0x00, 0x00]])),
  ...section(10, vec([[...leb(body.length), ...body]])),
]);

const compiled = new WebAssembly.Module(moduleBytes);

/** A scan function bound to its own memory: the caller lays out query, rows and output inside it. */
export function instantiateScan(memory: WebAssembly.Memory): Scan {
  return new WebAssembly.Instance(compiled, { env: { memory } }).exports.scan as Scan;
}
