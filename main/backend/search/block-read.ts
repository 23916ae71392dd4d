/**
 * Read a large section of a file into shared memory on several threads, with a CRC-32 per block: how a
 * search-index sidecar (0.5 GB at 1M × 512) is read at start-up.
 *
 * Why threads for a read: what the read costs is not the disk (the file is usually in the page cache) but
 * the first touch of the fresh memory it lands in. Measured on a 2-vCPU VM, 1M × 512 rows: one thread takes
 * 1.8 s of page faults, plus a 1.0 s first pass of the checksum over pages the kernel filled; two threads
 * reading through a small reused buffer (checksummed while hot, then copied into place) take 1.2 s. Each
 * block has its own checksum, so any thread can verify its part without the others.
 */
import { promises as fs, openSync, readSync, closeSync } from 'node:fs';
import os from 'node:os';
import { crc32 } from 'node:zlib';
import { startWorker } from '../worker-path';
import { oneLine } from '../../../shared/format';

/** Read through a buffer of this size (small enough to stay in cache between read, checksum and copy). */
const CHUNK = 1 << 20;
/** Below this many bytes one thread reads (a worker start costs more than it saves). */
const PARALLEL_FROM = 32 << 20;
const MAX_THREADS = 4;

export interface BlockReadRequest {
  file: string;
  /** Where the section starts in the file. */
  position: number;
  /** Where it goes: `target.byteLength` bytes are read. */
  target: Uint8Array;
  /** Checksum block size (the last block may be shorter). */
  blockBytes: number;
}

export type BlockReadReply = { ok: true; crcs: Uint32Array } | { ok: false; message: string };

type ReadFn = (buf: Buffer, length: number, position: number) => number | Promise<number>;

export function blockCount(bytes: number, blockBytes: number): number {
  return Math.ceil(bytes / blockBytes);
}

/**
 * Blocks [from, to) of the section: read, checksummed and copied into place. Shared by the workers
 * (synchronous reads) and the calling thread (asynchronous ones).
 */
export async function copyBlocks(read: ReadFn, req: BlockReadRequest, from: number, to: number): Promise<Uint32Array> {
  const { target, blockBytes, position } = req;
  const crcs = new Uint32Array(to - from);
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, blockBytes));
  for (let b = from; b < to; b++) {
    const end = Math.min(target.byteLength, (b + 1) * blockBytes);
    let crc = 0;
    for (let at = b * blockBytes; at < end; ) {
      const n = Math.min(buf.byteLength, end - at);
      const got = await read(buf, n, position + at);
      if (got !== n) throw new Error(`truncated: ${got} of ${n} bytes at offset ${position + at}`);
      const chunk = buf.subarray(0, n);
      crc = crc32(chunk, crc);
      target.set(chunk, at);
      at += n;
    }
    crcs[b - from] = crc;
  }
  return crcs;
}

/**
 * Read `req.target.byteLength` bytes from `req.position` into `req.target` and return each block's CRC-32.
 * Several threads when the section is large and the target is shared memory; `threads` overrides the
 * choice (tests). Throws on a short file.
 */
export async function readBlocks(req: BlockReadRequest, options: { threads?: number } = {}): Promise<Uint32Array> {
  const blocks = blockCount(req.target.byteLength, req.blockBytes);
  const shared = req.target.buffer instanceof SharedArrayBuffer;
  const auto = req.target.byteLength >= PARALLEL_FROM ? Math.min(os.availableParallelism(), MAX_THREADS) : 1;
  const threads = shared ? Math.max(1, Math.min(blocks, options.threads ?? auto)) : 1;
  if (threads <= 1) return readHere(req, blocks);
  const crcs = new Uint32Array(blocks);
  const per = Math.ceil(blocks / threads);
  const parts: Promise<void>[] = [];
  for (let from = 0; from < blocks; from += per) {
    const to = Math.min(blocks, from + per);
    parts.push(inWorker(req, from, to).then((c) => crcs.set(c, from)));
  }
  // Every part settles before this returns (or throws): no worker may still be writing into the target.
  const settled = await Promise.allSettled(parts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return crcs;
}

async function readHere(req: BlockReadRequest, blocks: number): Promise<Uint32Array> {
  const fh = await fs.open(req.file, 'r');
  try {
    return await copyBlocks(async (buf, n, pos) => (await fh.read(buf, 0, n, pos)).bytesRead, req, 0, blocks);
  } finally {
    await fh.close();
  }
}

function inWorker(req: BlockReadRequest, from: number, to: number): Promise<Uint32Array> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(__dirname, 'block-read-worker', { workerData: { req, from, to } });
    let done = false;
    worker.once('message', (reply: BlockReadReply) => {
      done = true;
      void worker.terminate();
      if (reply.ok) resolve(reply.crcs);
      else reject(new Error(reply.message));
    });
    worker.once('error', (e) => {
      done = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`block reader stopped (exit code ${code})`));
    });
  });
}

/** The worker's side (block-read-worker.ts): synchronous reads, nothing else runs on that thread. */
export async function workerCopyBlocks(req: BlockReadRequest, from: number, to: number): Promise<BlockReadReply> {
  let fd: number | null = null;
  try {
    fd = openSync(req.file, 'r');
    const handle = fd;
    return { ok: true, crcs: await copyBlocks((buf, n, pos) => readSync(handle, buf, 0, n, pos), req, from, to) };
  } catch (e) {
    return { ok: false, message: oneLine(e) };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
