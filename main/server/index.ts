/**
 * Browser mode: the same typed API over HTTP on the loopback interface, plus the built renderer.
 *
 * Routes: `POST /api/<method>` (JSON body → Result), `GET /api/photo/<id>?size=thumb|full`,
 * `GET /api/events` (server-sent events), everything else is the static renderer.
 * Any web page the user visits can reach 127.0.0.1, so requests are checked for the Host header
 * (DNS rebinding), a JSON content type and a same-origin Origin (cross-site form posts), and a body limit
 * (1 MiB; searchImage takes its documented 20 MB image in base64).
 * Any other account on the machine can reach it too, so every /api request needs the access token made at
 * start (as Jupyter does): the printed link carries it once, the page trades it for an HttpOnly
 * SameSite=Strict cookie and the link without the token replaces it in the address bar.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { acceptCall, isApiMethod, MAX_SEARCH_IMAGE_BYTES, unknownMethod, type ApiCall, type CallRefused, type ApiEvent, type BackendPort, type ErrorCode, type Result } from '../../shared/api';
import { NO_TOKEN_CSP, NO_TOKEN_HTML } from './no-token-page';
import { allowedHostHeaders, chooseAccessToken, contentTypeFor, cookieValue, isLoopbackHost, resolveStaticPath, sameToken, tokenCookie, urlHostFor } from './http-util';
import { oneLine } from '../../shared/format';

export { contentTypeFor, isLoopbackHost, resolveStaticPath } from './http-util';

export interface ServerOptions {
  backend: BackendPort;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Bind to a non-loopback address (LAN access). Off by default: the API reads and indexes local files. */
  allowRemote?: boolean;
  /** The access token every /api request must carry (default: $PHOTO_SEARCH_TOKEN, else a new random one). */
  token?: string;
  /** The built renderer (dist/renderer). */
  staticDir: string;
  /** Request body limit in bytes (searchImage takes at least its documented image size, in base64). */
  maxBodyBytes?: number;
}

export interface RunningServer {
  /** The app's address, without the token. */
  url: string;
  /** The address to open: `url` with `?token=…` (traded for a cookie on first load). */
  loginUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** The renderer's CSP: nothing unless listed; scripts and styles only from our own origin. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_MAX_BODY = 1024 * 1024;
/** searchImage carries the image in base64 (4/3 of its bytes) with its options: its own, larger limit. */
const SEARCH_IMAGE_MAX_BODY = Math.ceil(MAX_SEARCH_IMAGE_BYTES / 3) * 4 + 64 * 1024;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const allowRemote = options.allowRemote ?? false;
  if (!allowRemote && !isLoopbackHost(host)) {
    throw new Error(
      `Refusing to listen on ${host}: browser mode serves your photos and files, so it binds to 127.0.0.1 only. ` +
        'Pass allowRemote (--allow-remote) if you really want other machines to reach it.',
    );
  }
  const staticDir = path.resolve(options.staticDir);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const token = options.token ?? chooseAccessToken();
  const streams = new Set<http.ServerResponse>();
  let boundPort = 0;
  let allowedHosts: Set<string> = new Set();
  let baseUrl = '';
  // Cookies are shared by every port of a host: the name carries the port so two servers do not collide.
  const cookieName = () => `photo-search-token-${boundPort}`;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendResult(res, e.status, { ok: false, code: e.code, message: e.message });
      const message = oneLine(e);
      if (!res.headersSent) sendResult(res, 500, { ok: false, code: 'internal', message });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    checkHost(req);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, 'invalid_input', 'The request address is malformed.');
    }
    const pathname = url.pathname;
    if (pathname === '/api' || pathname.startsWith('/api/')) {
      checkToken(req);
      if (pathname === '/api/events') return events(req, res);
      const photo = /^\/api\/photo\/(\d{1,12})$/.exec(pathname);
      if (photo) return sendPhoto(req, res, Number(photo[1]), url.searchParams.get('size'));
      let method: string;
      try {
        method = decodeURIComponent(pathname.slice('/api/'.length));
      } catch {
        throw new HttpError(400, 'invalid_input', `The address ${pathname.slice(0, 80)} has a malformed %-escape.`);
      }
      return api(req, res, method);
    }
    if (url.searchParams.has('token')) return login(req, res, url);
    // The app page without the token would only show refusals: say which link to open instead.
    if ((pathname === '/' || pathname === '/index.html') && !hasToken(req)) return noTokenPage(req, res);
    return serveStatic(req, res, pathname);
  }

  /** DNS rebinding: a hostile name resolving to our address still sends its own name in Host. */
  function checkHost(req: http.IncomingMessage): void {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(hostHeader)) {
      throw new HttpError(403, 'forbidden', `Host "${hostHeader.slice(0, 80)}" is not allowed; open ${baseUrl} instead.`);
    }
  }

  /** The token as a cookie (the page) or an `Authorization: Bearer` header (scripts). */
  function hasToken(req: http.IncomingMessage): boolean {
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = auth ?? cookieValue(req.headers.cookie, cookieName());
    return given !== undefined && sameToken(given, token);
  }

  function checkToken(req: http.IncomingMessage): void {
    if (!hasToken(req)) {
      throw new HttpError(401, 'forbidden', 'Open Photo Search with the link `photo-search serve` printed: it carries the access token.');
    }
  }

  function noTokenPage(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'invalid_input', 'Only GET is allowed here.');
    res.writeHead(401, {
      ...SECURITY_HEADERS,
      'Content-Security-Policy': NO_TOKEN_CSP,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(NO_TOKEN_HTML)),
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : NO_TOKEN_HTML);
  }

  /** `/?token=…`: a valid token becomes a cookie and the address loses the token (redirect); a wrong one is refused. */
  function login(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'invalid_input', 'Only GET is allowed here.');
    if (!sameToken(url.searchParams.get('token') ?? '', token)) {
      const body = 'This link\'s access token is not valid (was the server restarted?). Open the link `photo-search serve` printed last.\n';
      res.writeHead(401, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      return void res.end(body);
    }
    url.searchParams.delete('token');
    // One leading slash: `//host/...` would send the browser to another site.
    const location = `/${url.pathname.replace(/^\/+/, '')}${url.search}`;
    res.writeHead(303, {
      ...SECURITY_HEADERS,
      // Session cookie: gone when the browser closes; the printed link logs in again.
      'Set-Cookie': tokenCookie(cookieName(), token),
      Location: location,
      'Cache-Control': 'no-store',
    });
    res.end();
  }

  async function api(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
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
    sendResult(res, 200, await backendCall(accepted.call));
  }

  async function backendCall(call: ApiCall): Promise<Result<unknown>> {
    try {
      return await options.backend.call(call.method, call.params);
    } catch (e) {
      // BackendPort promises never to throw; keep the server alive if it does anyway.
      return { ok: false, code: 'internal', message: oneLine(e) };
    }
  }

  async function sendPhoto(req: http.IncomingMessage, res: http.ServerResponse, id: number, sizeParam: string | null): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'invalid_input', 'Use GET for photos.');
    const size = sizeParam ?? 'thumb';
    if (size !== 'thumb' && size !== 'full') throw new HttpError(400, 'invalid_input', 'size must be "thumb" or "full".');
    const file = await options.backend.photoFile(id, size);
    if (!file) throw new HttpError(404, 'not_found', `No photo with id ${id}.`);
    await sendFile(req, res, file, 'private, max-age=3600');
  }

  function events(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const unsubscribe = options.backend.onEvent((e: ApiEvent) => {
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    });
    // Comments keep idle proxies and the browser from dropping the stream.
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
    heartbeat.unref();
    const stop = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  async function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'invalid_input', 'Only GET is allowed here.');
    const file = resolveStaticPath(staticDir, pathname === '/' ? '/index.html' : pathname);
    if (!file) throw new HttpError(404, 'not_found', 'Not found.');
    const stat = await fsp.stat(file).catch(() => null);
    if (!stat || !stat.isFile()) {
      if (pathname === '/' || pathname === '/index.html') {
        throw new HttpError(
          503,
          'internal',
          `The app's web files are missing in ${staticDir}. Run \`npm run build:renderer\` and start again.`,
        );
      }
      throw new HttpError(404, 'not_found', 'Not found.');
    }
    // Hashed asset names never change; index.html must always be fresh.
    const cache = pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    await sendFile(req, res, file, cache);
  }

  async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, cache: string): Promise<void> {
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;
  allowedHosts = new Set(allowedHostHeaders(host, boundPort));
  baseUrl = `http://${urlHostFor(host)}:${boundPort}/`;

  return {
    url: baseUrl,
    loginUrl: `${baseUrl}?token=${token}`,
    token,
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An edge refusal as an HTTP error: an unknown method is 404, a request its schema refuses is 400. */
function refusal(r: CallRefused): HttpError {
  return new HttpError(r.code === 'not_found' ? 404 : 400, r.code, r.message);
}

function sendResult(res: http.ServerResponse, status: number, result: Result<unknown>): void {
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

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
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
