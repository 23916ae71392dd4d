/**
 * The int8 prefilter's inner loop: a WebAssembly SIMD function that computes, for each row of an int8
 * matrix, its integer dot product with an int16 query. It runs on the int8 rows where they already are
 * (one shared WebAssembly.Memory per index, scanned by the scan workers), so start-up needs no copy
 * and no pre-packing: onnxruntime's MatMulInteger is fast only with the matrix as a pre-packed constant,
 * which took 27 s to build at 1M × 512 here, and 260–480 ms per query with the matrix as an input.
 *
 * The module is a few dozen bytes, assembled below (no toolchain at build time). Per 16 int8 values:
 * sign-extend to two i16x8 halves, `i32x4.dot_i16x8_s` each with the query's halves, add: about 8 SIMD
 * instructions for 16 multiply-adds, at memory bandwidth on one core.
 *
 *   dots(matrix, rows, stride, query, out): for r < rows: out[r] = Σ_j matrix[r·stride + j] · query[j]
 *   (matrix: int8, stride a multiple of 16; query: int16, `stride` values; out: int32)
 */

/** Rows are padded to a multiple of this many int8 values (one SIMD register). */
export const LANES = 16;
export const PAGE = 65_536;
/** wasm32 addresses 4 GiB at most: the int8 rows of ~4M × 1024-d photos. */
export const MAX_PAGES = 65_536;

export function paddedDim(dim: number): number {
  return Math.ceil(dim / LANES) * LANES;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'utf8')];
}

const I32 = 0x7f;
const V128 = 0x7b;
// Instructions used below (WebAssembly core + fixed-width SIMD opcodes).
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const simd = (op: number) => [0xfd, ...uleb(op)];
const load128 = [...simd(0x00), 0x00, 0x00]; // v128.load, byte-aligned, offset 0
const zero128 = [...simd(0x0c), ...new Array<number>(16).fill(0)]; // v128.const 0
const extendLow = simd(0x87); // i16x8.extend_low_i8x16_s
const extendHigh = simd(0x88); // i16x8.extend_high_i8x16_s
const dot = simd(0xba); // i32x4.dot_i16x8_s
const add128 = simd(0xae); // i32x4.add
const lane = (l: number) => [...simd(0x1b), l]; // i32x4.extract_lane
const I32_ADD = 0x6a;
const I32_CONST = 0x41;

/** The WebAssembly binary, importing `env.mem` (shared memory, up to `maxPages`). */
export function kernelBytes(maxPages = MAX_PAGES): Uint8Array {
  // params: 0 matrix, 1 rows, 2 stride, 3 query, 4 out; locals: 5 r, 6 j, 7 p, 8 acc, 9 acc2, 10 v
  const [MATRIX, ROWS, STRIDE, QUERY, OUT, R, J, P, ACC, ACC2, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const body = [
    0x02, 0x03, I32, 0x03, V128, // locals: 3 × i32, 3 × v128
    ...get(MATRIX), ...set(P),
    0x02, 0x40, // block $done
    ...get(ROWS), 0x45, 0x0d, 0x00, // rows == 0: br $done
    0x03, 0x40, // loop $rows
    ...zero128, ...set(ACC), ...zero128, ...set(ACC2),
    I32_CONST, 0x00, ...set(J),
    0x03, 0x40, // loop $cols
    ...get(P), ...get(J), I32_ADD, ...load128, ...set(V),
    ...get(ACC), ...get(V), ...extendLow,
    ...get(QUERY), ...get(J), I32_CONST, 0x01, 0x74, I32_ADD, ...load128, // query + 2j
    ...dot, ...add128, ...set(ACC),
    ...get(ACC2), ...get(V), ...extendHigh,
    ...get(QUERY), ...get(J), I32_CONST, 0x01, 0x74, I32_ADD, I32_CONST, 0x10, I32_ADD, ...load128, // query + 2j + 16
    ...dot, ...add128, ...set(ACC2),
    ...get(J), I32_CONST, LANES, I32_ADD, ...set(J),
    ...get(J), ...get(STRIDE), 0x49, 0x0d, 0x00, // j < stride: br $cols
    0x0b, // end $cols
    ...get(ACC), ...get(ACC2), ...add128, ...set(ACC),
    ...get(OUT), ...get(R), I32_CONST, 0x02, 0x74, I32_ADD, // &out[r]
    ...get(ACC), ...lane(0), ...get(ACC), ...lane(1), I32_ADD, ...get(ACC), ...lane(2), I32_ADD, ...get(ACC), ...lane(3), I32_ADD,
    0x36, 0x02, 0x00, // i32.store
    ...get(P), ...get(STRIDE), I32_ADD, ...set(P),
    ...get(R), I32_CONST, 0x01, I32_ADD, ...set(R),
    ...get(R), ...get(ROWS), 0x49, 0x0d, 0x00, // r < rows: br $rows
    0x0b, // end $rows
    0x0b, // end $done
    0x0b, // end function
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x05, I32, I32, I32, I32, I32, 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(maxPages)]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name('dots'), 0x00, 0x00]),
    ...section(10, [0x01, ...uleb(body.length), ...body]),
  ];
  return Uint8Array.from(bytes);
}

export type DotsFn = (matrix: number, rows: number, stride: number, query: number, out: number) => void;

let compiled: WebAssembly.Module | null = null;

/** The kernel bound to `memory` (compiled once per thread). */
export function instantiateKernel(memory: WebAssembly.Memory): DotsFn {
  compiled ??= new WebAssembly.Module(kernelBytes());
  const instance = new WebAssembly.Instance(compiled, { env: { mem: memory } });
  return instance.exports.dots as DotsFn;
}
