/** Content hashes: the one place the backend spells sha256 (photo content keys, caption keys, model files). */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex sha256 of bytes or a string (UTF-8). */
export function sha256(data: string | Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of a file, streamed (model files are hundreds of MB); or feed it into `into` and return ''. */
export async function sha256File(file: string, into?: Hash): Promise<string> {
  const hash = into ?? createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return into ? '' : hash.digest('hex');
}
