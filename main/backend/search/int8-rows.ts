/**
 * The int8 copy of an index's rows, the only copy kept in memory for a large library: one scale per row
 * (row ≈ int8 × scale), rows padded to a multiple of 16 values, in one shared WebAssembly.Memory that the
 * scan workers (int8-scan-worker.ts) read in place. A query is scored approximately by the SIMD kernel
 * (int8-kernel.ts), each worker over its share of the rows, and the best candidates are returned for the
 * exact re-rank. 1M × 512 rows take 512 MB (float32 rows would take 2 GB).
 *
 * Memory layout: [query: int16 × stride][per-worker scratch: int32 × BLOCK][rows from HEADER on].
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-path';
import { instantiateKernel, MAX_PAGES, PAGE, paddedDim, type DotsFn } from './int8-kernel';
import { TopK } from './topk';

/** Rows scored per kernel call (the scratch each scanner reads scores from). */
export const BLOCK = 2048;
const MAX_SCANNERS = 8;
const QUERY_BYTES = 32_768;
export const HEADER = QUERY_BYTES + (MAX_SCANNERS + 1) * BLOCK * 4;
/** Below this many int8 values a scan runs on the calling thread (less than a worker round trip). */
const LOCAL_SCAN_MAX = 2_000_000;
const GROWTH = 1.5;
const MIN_CAPACITY = 1024;

export type ScanRequest =
  | { type: 'attach'; memory: WebAssembly.Memory; scales: Float32Array }
  | { type: 'scan'; seq: number; slot: number; from: number; to: number; stride: number; candidates: number };
export type ScanReply = { seq: number; ok: true; rows: Int32Array; scores: Float32Array } | { seq: number; ok: false; message: string };

/**
 * Score rows [from, to) against the query in memory, keep the `candidates` best (row, approximate score).
 * Shared by the workers and the calling-thread path. `slot` picks the scratch block.
 */
export function scanRows(
  dots: DotsFn,
  memory: WebAssembly.Memory,
  scales: Float32Array,
  o: { slot: number; from: number; to: number; stride: number; candidates: number },
): { rows: Int32Array; scores: Float32Array } {
  const scratchAt = QUERY_BYTES + o.slot * BLOCK * 4;
  const top = new TopK(Math.min(o.candidates, o.to - o.from));
  for (let start = o.from; start < o.to; start += BLOCK) {
    const n = Math.min(BLOCK, o.to - start);
    dots(HEADER + start * o.stride, n, o.stride, 0, scratchAt);
    // A fresh view each block: the memory may have grown (buffer replaced) since the last one.
    const ints = new Int32Array(memory.buffer, scratchAt, n);
    let floor = top.floor;
    for (let i = 0; i < n; i++) {
      const s = ints[i] * scales[start + i];
      if (s >= floor) {
        top.push(s, start + i);
        floor = top.floor;
      }
    }
  }
  const hits = top.result();
  return { rows: Int32Array.from(hits, (h) => h.id), scores: Float32Array.from(hits, (h) => h.score) };
}

export class Int8Rows {
  readonly stride: number;
  private memory: WebAssembly.Memory;
  private scalesBuf: Float32Array;
  private cap = 0;
  private localDots: DotsFn | null = null;
  private scanners: Scanner[] | null = null;
  private failed = false;
  /** One scan at a time: the query lives at a fixed place in the shared memory. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dim: number) {
    this.stride = paddedDim(dim);
    if (this.stride * 2 > QUERY_BYTES) throw new Error(`int8 rows: dimension ${dim} is above ${QUERY_BYTES / 2}.`);
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(HEADER / PAGE), maximum: MAX_PAGES, shared: true });
    this.scalesBuf = new Float32Array(new SharedArrayBuffer(0));
  }

  get capacity(): number {
    return this.cap;
  }

  /** Bytes held: the shared memory and the scales. */
  bytes(): number {
    return this.memory.buffer.byteLength + this.scalesBuf.byteLength;
  }

  /** Make room for `rows` rows (grows by 1.5×); existing rows stay where they are. */
  reserve(rows: number, exact = false): void {
    if (rows <= this.cap) return;
    const next = exact ? rows : Math.max(rows, Math.ceil(this.cap * GROWTH), MIN_CAPACITY);
    const pages = Math.ceil((HEADER + next * this.stride) / PAGE);
    if (pages > MAX_PAGES) {
      throw new Error(`The search index holds at most ${Math.floor((MAX_PAGES * PAGE - HEADER) / this.stride)} photos of ${this.dim} values (4 GiB of int8 rows).`);
    }
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
    const scales = new Float32Array(new SharedArrayBuffer(next * 4));
    scales.set(this.scalesBuf);
    this.scalesBuf = scales;
    this.cap = next;
    for (const s of this.scanners ?? []) s.attach(this.memory, this.scalesBuf);
  }

  /** Views over rows [0, count) for bulk reads and writes (sidecar files): no copy. */
  views(count: number): { rows: Uint8Array; scales: Float32Array } {
    return { rows: new Uint8Array(this.memory.buffer, HEADER, count * this.stride), scales: this.scalesBuf.subarray(0, count) };
  }

  /** Quantize one float row into row `r` (scale = max |value| / 127, padding stays zero). */
  set(r: number, v: Float32Array): void {
    let maxAbs = 0;
    for (let j = 0; j < this.dim; j++) maxAbs = Math.max(maxAbs, Math.abs(v[j]));
    const q = maxAbs > 0 ? 127 / maxAbs : 0;
    const row = new Int8Array(this.memory.buffer, HEADER + r * this.stride, this.stride);
    for (let j = 0; j < this.dim; j++) row[j] = Math.round(v[j] * q);
    row.fill(0, this.dim);
    this.scalesBuf[r] = maxAbs / 127;
  }

  /** Copy row `from` over row `to` (swap-remove). */
  move(from: number, to: number): void {
    const bytes = new Uint8Array(this.memory.buffer);
    bytes.copyWithin(HEADER + to * this.stride, HEADER + from * this.stride, HEADER + (from + 1) * this.stride);
    this.scalesBuf[to] = this.scalesBuf[from];
  }

  /**
   * Rows [0, count) with the `candidates` best approximate scores for `query` (float, any scale), best
   * first. Runs in the scan workers (one share of the rows each), or here for small counts.
   */
  scan(query: Float32Array, count: number, candidates: number): Promise<Int32Array> {
    const run = this.queue.then(() => this.scanNow(query, count, candidates));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The same scan, synchronously on this thread (fallback when rows move under a worker scan). */
  scanHere(query: Float32Array, count: number, candidates: number): Int32Array {
    this.writeQuery(query);
    this.localDots ??= instantiateKernel(this.memory);
    return scanRows(this.localDots, this.memory, this.scalesBuf, { slot: MAX_SCANNERS, from: 0, to: count, stride: this.stride, candidates }).rows;
  }

  /**
   * Run `fn` once no scan is in flight (they share the query's place in memory), synchronously: rows
   * cannot move while it runs.
   */
  exclusive<T>(fn: () => T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The `candidates` best of the given rows (approximate scores), best first, on this thread: a filtered
   * search scores only the rows its filter admits. Call it inside `exclusive`. Rows are scored in runs of
   * consecutive rows (photos of one folder were mostly indexed together), one kernel call per run.
   */
  scoreRowsHere(query: Float32Array, rows: Int32Array, candidates: number): Int32Array {
    this.writeQuery(query);
    this.localDots ??= instantiateKernel(this.memory);
    const sorted = rows.slice().sort();
    const scratchAt = QUERY_BYTES + MAX_SCANNERS * BLOCK * 4;
    const ints = new Int32Array(this.memory.buffer, scratchAt, BLOCK);
    const top = new TopK(Math.min(candidates, sorted.length));
    for (let i = 0; i < sorted.length; ) {
      let end = i + 1;
      while (end < sorted.length && end - i < BLOCK && sorted[end] === sorted[end - 1] + 1) end++;
      const first = sorted[i];
      this.localDots(HEADER + first * this.stride, end - i, this.stride, 0, scratchAt);
      for (let j = 0; j < end - i; j++) top.push(ints[j] * this.scalesBuf[first + j], first + j);
      i = end;
    }
    return Int32Array.from(top.result(), (h) => h.id);
  }

  async dispose(): Promise<void> {
    const s = this.scanners;
    this.scanners = null;
    await Promise.all((s ?? []).map((x) => x.dispose()));
  }

  private async scanNow(query: Float32Array, count: number, candidates: number): Promise<Int32Array> {
    if (count * this.stride <= LOCAL_SCAN_MAX || this.failed) return this.scanHere(query, count, candidates);
    const scanners = this.ensureScanners();
    this.writeQuery(query);
    const share = Math.ceil(count / scanners.length);
    let parts: { rows: Int32Array; scores: Float32Array }[];
    try {
      parts = await Promise.all(
        scanners.map((s, i) => s.scan({ slot: i, from: Math.min(count, i * share), to: Math.min(count, (i + 1) * share), stride: this.stride, candidates })),
      );
    } catch {
      // A worker died (killed, out of memory): this thread still answers, and keeps answering.
      this.failed = true;
      await this.dispose();
      return this.scanHere(query, count, candidates);
    }
    const top = new TopK(Math.min(candidates, count));
    for (const p of parts) for (let i = 0; i < p.rows.length; i++) top.push(p.scores[i], p.rows[i]);
    return Int32Array.from(top.result(), (h) => h.id);
  }

  /** The query as int16 at the start of the memory, scaled so no int32 sum can overflow. */
  private writeQuery(query: Float32Array): void {
    let maxAbs = 0;
    for (let j = 0; j < this.dim; j++) maxAbs = Math.max(maxAbs, Math.abs(query[j]));
    const qmax = Math.min(32_767, Math.floor(0x7fffffff / (127 * this.stride)));
    const s = maxAbs > 0 ? qmax / maxAbs : 0;
    const q = new Int16Array(this.memory.buffer, 0, this.stride);
    for (let j = 0; j < this.dim; j++) q[j] = Math.round(query[j] * s);
    q.fill(0, this.dim);
  }

  private ensureScanners(): Scanner[] {
    if (!this.scanners) {
      const n = Math.max(1, Math.min(MAX_SCANNERS, os.availableParallelism?.() ?? os.cpus().length));
      this.scanners = Array.from({ length: n }, () => new Scanner(this.memory, this.scalesBuf));
    }
    return this.scanners;
  }
}

/** One scan worker: unref'd while idle so it never keeps a CLI process alive, ref'd while a scan waits. */
class Scanner {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, (r: ScanReply) => void>();
  private failure: Error | null = null;

  constructor(memory: WebAssembly.Memory, scales: Float32Array) {
    this.worker = startWorker(__dirname, 'int8-scan-worker');
    this.worker.on('message', (reply: ScanReply) => {
      const p = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) this.worker.unref();
      p?.(reply);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`int8 scan worker stopped (exit code ${code})`)));
    this.worker.unref();
    this.attach(memory, scales);
  }

  attach(memory: WebAssembly.Memory, scales: Float32Array): void {
    this.worker.postMessage({ type: 'attach', memory, scales } satisfies ScanRequest);
  }

  async scan(o: { slot: number; from: number; to: number; stride: number; candidates: number }): Promise<{ rows: Int32Array; scores: Float32Array }> {
    if (this.failure) throw this.failure;
    const seq = ++this.seq;
    const reply = await new Promise<ScanReply>((resolve) => {
      this.pending.set(seq, resolve);
      this.worker.ref();
      this.worker.postMessage({ type: 'scan', seq, ...o } satisfies ScanRequest);
    });
    if (!reply.ok) throw new Error(`int8 scan: ${reply.message}`);
    return reply;
  }

  async dispose(): Promise<void> {
    this.failure ??= new Error('int8 scan worker disposed');
    await this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const [seq, resolve] of this.pending) resolve({ seq, ok: false, message: e.message });
    this.pending.clear();
  }
}
