/**
 * Main-thread handle of the int8 scoring worker (int8-worker.ts): build a snapshot, score a query.
 * The worker is unref'd while idle so it never keeps a CLI process alive, and ref'd while a call waits.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-path';
import type { Int8Reply, Int8Request } from './int8-worker';

type Pending = { resolve: (r: Int8Reply) => void };

export class Int8Scorer {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  /** Hand a quantized, transposed matrix ([dim, n], row j = component j of every photo) to the worker. */
  async build(matrixT: Int8Array, inv: Float32Array, dim: number, n: number): Promise<void> {
    await this.call({ type: 'build', seq: 0, dim, n, matrixT, inv }, [matrixT.buffer as ArrayBuffer, inv.buffer as ArrayBuffer]);
  }

  /** Snapshot columns of the `candidates` best approximate scores for a uint8 query (zero point 128). */
  async candidates(query: Uint8Array, candidates: number): Promise<Int32Array> {
    const reply = await this.call({ type: 'score', seq: 0, query, candidates });
    return reply.candidates as Int32Array;
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.failure) throw this.failure;
    if (!this.worker) {
      const w = startWorker(__dirname, 'int8-worker');
      w.on('message', (reply: Int8Reply) => {
        const p = this.pending.get(reply.seq);
        this.pending.delete(reply.seq);
        if (this.pending.size === 0) w.unref();
        p?.resolve(reply);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (this.worker === w) this.fail(new Error(`int8 search worker stopped (exit code ${code})`));
      });
      w.unref();
      this.worker = w;
    }
    return this.worker;
  }

  private fail(e: Error): void {
    this.failure = e;
    this.worker = null;
    for (const [seq, p] of this.pending) p.resolve({ seq, ok: false, message: e.message });
    this.pending.clear();
  }

  private async call(msg: Int8Request, transfer: ArrayBuffer[] = []): Promise<Int8Reply & { ok: true }> {
    const w = this.ensureWorker();
    msg.seq = ++this.seq;
    const reply = await new Promise<Int8Reply>((resolve) => {
      this.pending.set(msg.seq, { resolve });
      w.ref();
      w.postMessage(msg, transfer);
    });
    if (!reply.ok) throw new Error(`int8 search scorer: ${reply.message}`);
    return reply;
  }
}
