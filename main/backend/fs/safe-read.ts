/**
 * Reading a file whole, safely: FIFOs, devices, sockets and folders are refused before any byte is read
 * (a FIFO would block a thread forever, /dev/zero would never end), and the size is checked against a
 * limit first, so one huge file cannot take the process's memory. The file is opened non-blocking and
 * checked on the open descriptor, so it cannot be swapped for a FIFO between the check and the read.
 */
import { closeSync, constants, fstatSync, openSync, promises as fs, readSync, type Stats } from 'node:fs';
import { formatBytes } from '../../../shared/format';

const MB = 1024 * 1024;

/** Photos: 100 megapixels (the decode limit) of uncompressed 8-bit RGB is 300 MB. */
export const MAX_PHOTO_BYTES = 300 * MB;
/** Caption files, model.json, tokenizer.json and other text or JSON a person or a model export wrote. */
export const MAX_TEXT_BYTES = 256 * MB;
/** ONNX towers and head weights (protobuf itself stops at 2 GB). */
export const MAX_MODEL_BYTES = 2048 * MB;

/** A file that was not read; `reason` is a short phrase ("a FIFO, not a regular file"). */
export class UnsafeFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly code: 'not_a_file' | 'too_large',
  ) {
    super(`${file}: ${reason}.`);
    this.name = 'UnsafeFileError';
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Throws UnsafeFileError unless `st` is a regular file of at most `maxBytes`. */
export function checkRegularFile(file: string, st: Stats, maxBytes: number): void {
  if (st.isDirectory()) throw new UnsafeFileError(file, 'is a folder, not a file', 'not_a_file');
  if (!st.isFile()) {
    const kind = kindOf(st);
    throw new UnsafeFileError(file, kind === 'not a regular file' ? kind : `${kind}, not a regular file`, 'not_a_file');
  }
  if (st.size > maxBytes) {
    throw new UnsafeFileError(file, `too large (${formatBytes(st.size)}; the limit is ${formatBytes(maxBytes)})`, 'too_large');
  }
}

// O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer (not on Windows, where
// FIFOs do not appear as files).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Read a regular file of at most `maxBytes` (errno errors such as ENOENT pass through unchanged). */
export async function readRegularFile(file: string, maxBytes: number): Promise<Buffer> {
  const handle = await fs.open(file, OPEN_FLAGS);
  try {
    const st = await handle.stat();
    checkRegularFile(file, st, maxBytes);
    return await readUpTo(st.size, (buf, off) => handle.read(buf, off, buf.length - off, null).then((r) => r.bytesRead));
  } finally {
    await handle.close();
  }
}

/** readRegularFile for the indexer's worker, where one synchronous read per photo is cheapest. */
export function readRegularFileSync(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    checkRegularFile(file, st, maxBytes);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, null);
      if (n === 0) break;
      off += n;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Text of a regular file of at most `maxBytes`, as UTF-8. */
export async function readRegularTextFile(file: string, maxBytes: number = MAX_TEXT_BYTES): Promise<string> {
  return (await readRegularFile(file, maxBytes)).toString('utf8');
}

/** Read exactly the size seen at open (a file growing meanwhile is cut there, never read forever). */
async function readUpTo(size: number, read: (buf: Buffer, offset: number) => Promise<number>): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = await read(buf, off);
    if (n === 0) break;
    off += n;
  }
  return off === size ? buf : buf.subarray(0, off);
}
