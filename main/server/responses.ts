/** What every browser-mode answer shares: security headers, errors as HTTP statuses, JSON results, files, bodies. */
import { createReadStream, promises as fsp } from 'node:fs';
import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { CallRefused, ErrorCode, Result } from '../../shared/api';
import { contentTypeFor } from './http-util';

/** The renderer's CSP: nothing unless listed; scripts and styles only from our own origin. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** A refusal with its status; the request handler answers it as `{ ok: false, code, message }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An edge refusal as an HTTP error: an unknown method is 404, a request its schema refuses is 400. */
export function refusal(r: CallRefused): HttpError {
  return new HttpError(r.code === 'not_found' ? 404 : 400, r.code, r.message);
}

/** Refuse every method but GET and HEAD, in `words`. */
export function onlyGet(req: http.IncomingMessage, words = 'Only GET is allowed here.'): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'invalid_input', words);
}

export function sendResult(res: http.ServerResponse, status: number, result: Result<unknown>): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify(result);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

export async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, cache: string): Promise<void> {
  const stat = await fsp.stat(file).catch(() => null);
  if (!stat || !stat.isFile()) throw new HttpError(404, 'not_found', 'File not found.');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': contentTypeFor(file),
    'Content-Length': String(stat.size),
    'Cache-Control': cache,
  });
  if (req.method === 'HEAD') return void res.end();
  // pipeline, not pipe: a client that hangs up mid-body must close the file too (pipe leaves it open).
  await pipeline(createReadStream(file), res).catch(() => {
    if (!res.destroyed) res.destroy();
  });
}

export function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return reject(new HttpError(413, 'invalid_input', `The request body is larger than ${limit} bytes.`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, 'invalid_input', `The request body is larger than ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
