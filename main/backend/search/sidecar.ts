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
 * Layout (little-endian): a 96-byte header, then damaged photo ids (float64), photo ids (float64), row
 * scales (float32), rows (int8, `stride` bytes each).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { VectorIndex } from './vector-index';

const MAGIC = 'PSI8';
/** Bump when the layout or the quantization changes: older files are then rebuilt. */
const FORMAT = 1;
const HEADER = 96;
const CHUNK = 8 << 20;

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

function bytesOf(a: Float64Array | Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Write the index's int8 rows for generation `seq`. False (and no file change) when the rows changed
 * while writing: the caller tries again later.
 */
export async function writeSidecar(file: string, idx: VectorIndex, meta: SidecarMeta & { seq: number; damaged: readonly number[] }): Promise<boolean> {
  const changes = idx.changes;
  const { ids, scales, rows, stride } = idx.quantizedRows();
  const damaged = Float64Array.from(meta.damaged);
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  const fh = await fs.open(tmp, 'w');
  let ok = false;
  try {
    let crc = 0;
    let at = HEADER;
    for (const part of [bytesOf(damaged), bytesOf(ids), bytesOf(scales), rows]) {
      for (let o = 0; o < part.byteLength; o += CHUNK) {
        // Copy the chunk: the rows live in shared memory that other threads read (and this one may change).
        const chunk = Buffer.from(part.subarray(o, Math.min(part.byteLength, o + CHUNK)));
        if (idx.changes !== changes) return false;
        crc = crc32(chunk, crc);
        await fh.write(chunk, 0, chunk.byteLength, at);
        at += chunk.byteLength;
      }
    }
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
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 92);
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
 * recorded; throws SidecarError saying what does not match.
 */
export async function readSidecar(file: string, idx: VectorIndex, meta: SidecarMeta): Promise<{ seq: number; damaged: number[] }> {
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
    if (dim !== meta.dim) throw new SidecarError(`${dim}-d rows, the model has ${meta.dim}`);
    const expected = HEADER + damagedCount * 8 + count * (8 + 4 + stride);
    if (size !== expected) throw new SidecarError(`${size} bytes, the header says ${expected}`);
    const damaged = new Float64Array(damagedCount);
    let crc = 0;
    let at = HEADER;
    const readInto = async (part: Uint8Array) => {
      for (let o = 0; o < part.byteLength; o += CHUNK) {
        const n = Math.min(CHUNK, part.byteLength - o);
        const { bytesRead } = await fh.read(part, o, n, at);
        if (bytesRead !== n) throw new SidecarError('truncated body');
        crc = crc32(part.subarray(o, o + n), crc);
        at += n;
      }
    };
    await readInto(bytesOf(damaged));
    await idx.loadQuantizedRows(count, async (v) => {
      if (v.stride !== stride) throw new SidecarError(`rows of ${stride} bytes, the index uses ${v.stride}`);
      await readInto(bytesOf(v.ids));
      await readInto(bytesOf(v.scales));
      await readInto(v.rows);
      if (crc !== h.readUInt32LE(80)) throw new SidecarError('damaged rows (checksum mismatch)');
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
