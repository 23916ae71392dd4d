/**
 * The search index's sidecar file: the active model's int8 rows, as the index holds them, so start-up
 * reads them at disk speed (0.5 GB at 1M × 512) instead of decoding every embedding from SQLite.
 *
 * SQLite stays the source of truth; the sidecar is derived and disposable. It records which library
 * (a random id kept in the database), which model, and the change-log sequence number its rows reflect
 * (the generation). On open the reader checks all of that and a CRC-32 of every byte; the live index then
 * applies the changes logged since that generation and compares the row count with the database.
 * Anything that does not match (another library, damage, a truncated write, a log that no longer
 * reaches back) is reported as a SidecarError and the index is rebuilt from SQLite. Files are written
 * to a temp name and renamed, so a crash leaves either the old file or the new one.
 *
 * Layout (little-endian): a 96-byte header, a table of CRC-32s (one per `blockBytes` block of the rows),
 * then damaged photo ids (float64), photo ids (float64), row scales (float32), rows (int8, `stride` bytes
 * each). The header holds a CRC-32 of the ids and scales, one of the table, and one of itself. The rows are
 * checked block by block because they are read on several threads (block-read.ts).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { blockCount, readBlocks } from './block-read';
import type { VectorIndex } from './vector-index';

const MAGIC = 'PSI8';
/** Bump when the layout or the quantization changes: older files are then rebuilt. */
const FORMAT = 2;
const HEADER = 96;
const CHUNK = 8 << 20;
/** Rows checksum block: one write chunk (1M × 512 rows: 63 blocks). */
const ROW_BLOCK = CHUNK;

export class SidecarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SidecarError';
  }
}

export interface SidecarMeta {
  libraryId: string;
  modelId: string;
  dim: number;
}

/** Where a model's sidecar lives in `dir` (a hash: model ids may hold any character). */
export function sidecarFile(dir: string, modelId: string): string {
  return path.join(dir, `${modelKey(modelId).toString('hex')}.int8`);
}

function modelKey(modelId: string): Buffer {
  return createHash('sha256').update(modelId).digest().subarray(0, 16);
}

function bytesOf(a: Float64Array | Float32Array | Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Write the index's int8 rows for generation `seq`. False (and no file change) when the rows changed
 * while writing: the caller tries again later.
 */
export async function writeSidecar(
  file: string,
  idx: VectorIndex,
  meta: SidecarMeta & { seq: number; damaged: readonly number[] },
  options: { blockBytes?: number } = {},
): Promise<boolean> {
  const changes = idx.changes;
  const { ids, scales, rows, stride } = idx.quantizedRows();
  const damaged = Float64Array.from(meta.damaged);
  const blockBytes = options.blockBytes ?? ROW_BLOCK;
  const table = new Uint32Array(blockCount(rows.byteLength, blockBytes));
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  const fh = await fs.open(tmp, 'w');
  let ok = false;
  try {
    let at = HEADER + table.byteLength;
    const write = async (part: Uint8Array, chunkBytes: number, eachChunk: (chunk: Buffer, i: number) => void) => {
      for (let o = 0, i = 0; o < part.byteLength; o += chunkBytes, i++) {
        // Copy the chunk: the rows live in shared memory that other threads read (and this one may change).
        const chunk = Buffer.from(part.subarray(o, Math.min(part.byteLength, o + chunkBytes)));
        if (idx.changes !== changes) return false;
        eachChunk(chunk, i);
        await fh.write(chunk, 0, chunk.byteLength, at);
        at += chunk.byteLength;
      }
      return true;
    };
    let crc = 0;
    for (const part of [bytesOf(damaged), bytesOf(ids), bytesOf(scales)]) {
      if (!(await write(part, CHUNK, (chunk) => (crc = crc32(chunk, crc))))) return false;
    }
    if (!(await write(rows, blockBytes, (chunk, i) => (table[i] = crc32(chunk))))) return false;
    if (idx.changes !== changes) return false;
    const h = Buffer.alloc(HEADER);
    h.write(MAGIC, 0, 'latin1');
    h.writeUInt32LE(FORMAT, 4);
    h.writeUInt32LE(idx.dim, 8);
    h.writeUInt32LE(stride, 12);
    h.writeUInt32LE(ids.length, 16);
    h.writeUInt32LE(damaged.length, 20);
    h.writeDoubleLE(meta.seq, 24);
    h.write(meta.libraryId.slice(0, 32), 32, 'latin1');
    modelKey(meta.modelId).copy(h, 64);
    h.writeUInt32LE(crc, 80);
    h.writeUInt32LE(blockBytes, 84);
    h.writeUInt32LE(crc32(bytesOf(table)), 88);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 92);
    await fh.write(bytesOf(table), 0, table.byteLength, HEADER);
    await fh.write(h, 0, HEADER, 0);
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (ok) await fs.rename(tmp, file);
    else await fs.rm(tmp, { force: true });
  }
  return true;
}

/**
 * Read a sidecar into an empty index (one with an exact source). Returns the generation and damaged ids it
 * recorded; throws SidecarError saying what does not match. The rows are read on several threads when
 * there are many (`threads` overrides that choice: tests); the index builds its id map meanwhile, and
 * `meanwhile` runs then too (this thread would only wait).
 */
export async function readSidecar(
  file: string,
  idx: VectorIndex,
  meta: SidecarMeta,
  options: { threads?: number; meanwhile?: () => void } = {},
): Promise<{ seq: number; damaged: number[] }> {
  let fh;
  try {
    fh = await fs.open(file, 'r');
  } catch {
    throw new SidecarError('no sidecar yet');
  }
  try {
    const size = (await fh.stat()).size;
    const h = Buffer.alloc(HEADER);
    if (size < HEADER || (await fh.read(h, 0, HEADER, 0)).bytesRead !== HEADER) throw new SidecarError('truncated header');
    if (h.toString('latin1', 0, 4) !== MAGIC || h.readUInt32LE(92) !== crc32(h.subarray(0, 92))) throw new SidecarError('not a sidecar, or a damaged header');
    if (h.readUInt32LE(4) !== FORMAT) throw new SidecarError(`format ${h.readUInt32LE(4)}, this version writes ${FORMAT}`);
    if (h.toString('latin1', 32, 64).replace(/\0+$/, '') !== meta.libraryId.slice(0, 32)) throw new SidecarError('written for another library database');
    if (!h.subarray(64, 80).equals(modelKey(meta.modelId))) throw new SidecarError('written for another model');
    const dim = h.readUInt32LE(8);
    const stride = h.readUInt32LE(12);
    const count = h.readUInt32LE(16);
    const damagedCount = h.readUInt32LE(20);
    const blockBytes = h.readUInt32LE(84);
    if (dim !== meta.dim) throw new SidecarError(`${dim}-d rows, the model has ${meta.dim}`);
    if (blockBytes === 0) throw new SidecarError('no checksum block size');
    const table = new Uint32Array(blockCount(count * stride, blockBytes));
    const expected = HEADER + table.byteLength + damagedCount * 8 + count * (8 + 4 + stride);
    if (size !== expected) throw new SidecarError(`${size} bytes, the header says ${expected}`);
    const damaged = new Float64Array(damagedCount);
    let crc = 0;
    let at = HEADER;
    const readInto = async (part: Uint8Array, check = true) => {
      for (let o = 0; o < part.byteLength; o += CHUNK) {
        const n = Math.min(CHUNK, part.byteLength - o);
        const { bytesRead } = await fh.read(part, o, n, at);
        if (bytesRead !== n) throw new SidecarError('truncated body');
        if (check) crc = crc32(part.subarray(o, o + n), crc);
        at += n;
      }
    };
    await readInto(bytesOf(table), false);
    if (crc32(bytesOf(table)) !== h.readUInt32LE(88)) throw new SidecarError('damaged checksum table');
    await readInto(bytesOf(damaged));
    await idx.loadQuantizedRows(count, async (v) => {
      if (v.stride !== stride) throw new SidecarError(`rows of ${stride} bytes, the index uses ${v.stride}`);
      const rowsAt = at + count * (8 + 4);
      // The rows first (other threads), the ids and scales here meanwhile; the index maps ids while the rows arrive.
      const rows = readBlocks({ file, position: rowsAt, target: v.rows, blockBytes }, { threads: options.threads }).then(
        (crcs) => {
          const bad = crcs.findIndex((c, i) => c !== table[i]);
          if (bad >= 0) throw new SidecarError(`damaged rows (checksum mismatch in block ${bad + 1} of ${crcs.length})`);
        },
        (e: unknown) => {
          throw new SidecarError(`rows unreadable (${e instanceof Error ? e.message : String(e)})`);
        },
      );
      // The rows may fail while the ids are still being read here: mark the promise handled now (the caller awaits
      // it and still gets the error), or Node reports an unhandled rejection in between.
      rows.catch(() => undefined);
      try {
        await readInto(bytesOf(v.ids));
        await readInto(bytesOf(v.scales));
        if (crc !== h.readUInt32LE(80)) throw new SidecarError('damaged ids or scales (checksum mismatch)');
        options.meanwhile?.();
      } catch (e) {
        await rows.catch(() => undefined);
        throw e;
      }
      return { rows };
    });
    return { seq: h.readDoubleLE(24), damaged: Array.from(damaged) };
  } finally {
    await fh.close();
  }
}

/** Remove sidecars of other models and temp files left by an interrupted write. */
export async function pruneSidecars(dir: string, keep: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  const keepName = path.basename(keep);
  await Promise.all(names.filter((n) => n.includes('.int8') && n !== keepName).map((n) => fs.rm(path.join(dir, n), { force: true }).catch(() => undefined)));
}
