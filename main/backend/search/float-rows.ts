/**
 * The float copy of an index's rows, scored exactly: one contiguous row-major Float32Array (capacity × dim),
 * addressed by row (VectorIndex maps photo ids to rows and keeps the live rows one prefix).
 *
 * A full scan scores every row with one onnxruntime MatMul ([n, dim] × [dim, 1]) fed the live prefix of the
 * buffer as an input tensor (no copy), which runs at memory bandwidth on the CPU (~10 ms for 100k × 512 here,
 * vs ~80 ms for an unrolled JS loop), off the JS thread. The K best are then re-scored in float64 from the
 * same float32 rows, so results and tie order (higher score, then smaller id) equal a brute-force scan
 * whatever the kernel's summation order. Small scans use the plain loop, where the session call costs more.
 */
import { ort, sharedSession } from '../model/ort';
import { GraphBuilder } from '../onnx/builder';
import { TopK, dotRow, kthLargest, type Hit } from './topk';

export type ScoringKernel = 'auto' | 'onnx' | 'js';

const AUTO_JS_MAX_MACS = 1 << 20;

/** One scoring session per dimension, shared by every index (the graph has no weights). */
function scoringSession(dim: number): Promise<ort.InferenceSession> {
  return sharedSession(
    `scores-${dim}`,
    () => {
      const g = new GraphBuilder('scores');
      g.input('matrix', 'float32', ['n', dim]);
      g.input('query', 'float32', [dim, 1]);
      g.op('MatMul', ['matrix', 'query'], {}, ['scores']);
      g.output('scores', 'float32', ['n', 1]);
      return g.toBytes();
    },
    'search scoring',
  );
}

export class FloatRows {
  private data = new Float32Array(0);
  /** Largest row norm seen, bounds the float32 kernel's rounding error (rows are unit vectors). */
  private maxNorm = 0;

  constructor(
    readonly dim: number,
    private readonly kernel: ScoringKernel = 'auto',
  ) {}

  bytes(): number {
    return this.data.byteLength;
  }

  /** Room for `capacity` rows, keeping the first `count`. */
  reserve(capacity: number, count: number): void {
    const data = new Float32Array(capacity * this.dim);
    data.set(this.data.subarray(0, count * this.dim));
    this.data = data;
  }

  set(r: number, v: Float32Array): void {
    let norm = 0;
    for (let j = 0; j < this.dim; j++) norm += v[j] * v[j];
    norm = Math.sqrt(norm);
    if (norm > this.maxNorm) this.maxNorm = norm;
    this.data.set(v, r * this.dim);
  }

  /** Row `from` overwrites row `to` (a swap-remove). */
  move(from: number, to: number): void {
    this.data.copyWithin(to * this.dim, from * this.dim, (from + 1) * this.dim);
  }

  /** Row `r` in place (a view: valid until the rows change). */
  view(r: number): Float32Array {
    return this.data.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** A copy of row `r`. */
  copy(r: number): Float32Array {
    return this.data.slice(r * this.dim, (r + 1) * this.dim);
  }

  dot(r: number, query: Float32Array): number {
    return dotRow(this.data, r, this.dim, query);
  }

  /** Whether a scan of `n` rows goes through onnxruntime (else the plain loop). */
  useOnnx(n: number): boolean {
    if (this.kernel === 'onnx') return true;
    if (this.kernel === 'js') return false;
    return n * this.dim > AUTO_JS_MAX_MACS;
  }

  /** Every one of the first `n` rows' float32 score, from onnxruntime's MatMul. */
  async scoreOnnx(query: Float32Array, n: number): Promise<Float32Array> {
    const session = await scoringSession(this.dim);
    // subarray views the live prefix: onnxruntime reads the buffer in place.
    const matrix = new ort.Tensor('float32', this.data.subarray(0, n * this.dim), [n, this.dim]);
    const q = new ort.Tensor('float32', query, [this.dim, 1]);
    const out = await session.run({ matrix, query: q });
    return out.scores.data as Float32Array;
  }

  /**
   * Keep every row whose kernel score reaches the k-th best minus the kernel's rounding error, then rank
   * those by the float64 score: the same hits, scores and tie order as a brute-force scan.
   */
  rerank(scores: Float32Array, n: number, query: Float32Array, k: number, ids: Float64Array): Hit[] {
    let qNorm = 0;
    for (let j = 0; j < this.dim; j++) qNorm += query[j] * query[j];
    const eps = this.dim * 2.4e-7 * Math.sqrt(qNorm) * Math.max(1, this.maxNorm) + 1e-12;
    const cut = kthLargest(scores, n, k) - eps;
    const top = new TopK(k);
    for (let r = 0; r < n; r++) {
      if (scores[r] >= cut) top.push(this.dot(r, query), ids[r]);
    }
    return top.result();
  }

  /** Exact top-k of the first `n` rows with the plain loop. */
  scanJs(query: Float32Array, n: number, k: number, ids: Float64Array): Hit[] {
    const top = new TopK(Math.min(Math.max(0, k), n));
    for (let r = 0; r < n; r++) {
      const s = this.dot(r, query);
      if (s >= top.floor) top.push(s, ids[r]);
    }
    return top.result();
  }
}
