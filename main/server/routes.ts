/** The browser-mode routes behind the access checks: API calls, photos, the event stream and the built renderer. */
import { promises as fsp } from 'node:fs';
import type http from 'node:http';
import { acceptCall, isApiMethod, MAX_SEARCH_IMAGE_BYTES, unknownMethod, type ApiCall, type ApiEvent, type BackendPort, type Result } from '../../shared/api';
import { oneLine } from '../../shared/format';
import { resolveStaticPath } from './http-util';
import { HttpError, onlyGet, readBody, refusal, SECURITY_HEADERS, sendFile, sendResult } from './responses';

/** searchImage carries the image in base64 (4/3 of its bytes) with its options: its own, larger limit. */
const SEARCH_IMAGE_MAX_BODY = Math.ceil(MAX_SEARCH_IMAGE_BYTES / 3) * 4 + 64 * 1024;

/** `POST /api/<method>`: JSON body → the API table's checks → the backend → `Result`. */
export async function apiRoute(backend: BackendPort, maxBody: number, req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
  // The method is checked first (404 before 405/415), its request once the body is read.
  if (!isApiMethod(method)) throw refusal(unknownMethod(method));
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    throw new HttpError(405, 'invalid_input', `Use POST for /api/${method}.`);
  }
  // The Host header was checked against the bound address, so the same origin is that address.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host}`) {
    throw new HttpError(403, 'forbidden', `Requests from ${origin} are not allowed.`);
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'invalid_input', 'Send the request body as JSON (Content-Type: application/json).');
  }
  const text = await readBody(req, method === 'searchImage' ? Math.max(maxBody, SEARCH_IMAGE_MAX_BODY) : maxBody);
  let body: unknown = undefined;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'invalid_input', `The request body of ${method} is not valid JSON.`);
    }
  }
  const accepted = acceptCall(method, body);
  if (!accepted.ok) throw refusal(accepted);
  // The backend's own errors are answers, not transport failures: 200 with { ok: false, code, message }
  // (a 4xx/5xx would also print a console error in the browser for every "not found" the user can hit).
  sendResult(res, 200, await backendCall(backend, accepted.call));
}

async function backendCall(backend: BackendPort, call: ApiCall): Promise<Result<unknown>> {
  try {
    return await backend.call(call.method, call.params);
  } catch (e) {
    // BackendPort promises never to throw; keep the server alive if it does anyway.
    return { ok: false, code: 'internal', message: oneLine(e) };
  }
}

/** `GET /api/photo/<id>?size=thumb|full`. */
export async function photoRoute(backend: BackendPort, req: http.IncomingMessage, res: http.ServerResponse, id: number, sizeParam: string | null): Promise<void> {
  onlyGet(req, 'Use GET for photos.');
  const size = sizeParam ?? 'thumb';
  if (size !== 'thumb' && size !== 'full') throw new HttpError(400, 'invalid_input', 'size must be "thumb" or "full".');
  const file = await backend.photoFile(id, size);
  if (!file) throw new HttpError(404, 'not_found', `No photo with id ${id}.`);
  await sendFile(req, res, file, 'private, max-age=3600');
}

/** `GET /api/events`: the backend's events as server-sent events, until either side closes; `open` holds the live streams. */
export function eventsRoute(backend: BackendPort, open: Set<http.ServerResponse>, req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  open.add(res);
  const unsubscribe = backend.onEvent((e: ApiEvent) => {
    res.write(`data: ${JSON.stringify(e)}\n\n`);
  });
  // Comments keep idle proxies and the browser from dropping the stream.
  const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
  heartbeat.unref();
  const stop = () => {
    clearInterval(heartbeat);
    unsubscribe();
    open.delete(res);
  };
  req.on('close', stop);
  res.on('close', stop);
}

/** Everything else: the built renderer's files (index.html always fresh, hashed assets cached for good). */
export async function staticRoute(staticDir: string, req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
  onlyGet(req);
  const file = resolveStaticPath(staticDir, pathname === '/' ? '/index.html' : pathname);
  if (!file) throw new HttpError(404, 'not_found', 'Not found.');
  const stat = await fsp.stat(file).catch(() => null);
  if (!stat || !stat.isFile()) {
    if (pathname === '/' || pathname === '/index.html') {
      throw new HttpError(503, 'internal', `The app's web files are missing in ${staticDir}. Run \`npm run build:renderer\` and start again.`);
    }
    throw new HttpError(404, 'not_found', 'Not found.');
  }
  // Hashed asset names never change; index.html must always be fresh.
  const cache = pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  await sendFile(req, res, file, cache);
}
