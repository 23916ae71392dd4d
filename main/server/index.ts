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
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { BackendPort } from '../../shared/api';
import { oneLine } from '../../shared/format';
import { Access, noTokenPage } from './access';
import { allowedHostHeaders, chooseAccessToken, isLoopbackHost, urlHostFor } from './http-util';
import { HttpError, sendResult } from './responses';
import { apiRoute, eventsRoute, photoRoute, staticRoute } from './routes';

export { contentTypeFor, isLoopbackHost, resolveStaticPath } from './http-util';
export { CSP } from './responses';

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

const DEFAULT_MAX_BODY = 1024 * 1024;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!(options.allowRemote ?? false) && !isLoopbackHost(host)) {
    throw new Error(
      `Refusing to listen on ${host}: browser mode serves your photos and files, so it binds to 127.0.0.1 only. ` +
        'Pass allowRemote (--allow-remote) if you really want other machines to reach it.',
    );
  }
  const access = new Access(options.token ?? chooseAccessToken());
  const streams = new Set<http.ServerResponse>();
  const route = router(options, access, streams);
  const server = http.createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendResult(res, e.status, { ok: false, code: e.code, message: e.message });
      if (!res.headersSent) sendResult(res, 500, { ok: false, code: 'internal', message: oneLine(e) });
      else res.destroy();
    });
  });
  await listen(server, options.port, host);
  access.port = (server.address() as AddressInfo).port;
  access.allowedHosts = new Set(allowedHostHeaders(host, access.port));
  access.baseUrl = `http://${urlHostFor(host)}:${access.port}/`;
  return {
    url: access.baseUrl,
    loginUrl: `${access.baseUrl}?token=${access.token}`,
    token: access.token,
    port: access.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Which route answers a request, after the Host check (and the token check for /api). */
function router(options: ServerOptions, access: Access, streams: Set<http.ServerResponse>) {
  const staticDir = path.resolve(options.staticDir);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    access.checkHost(req);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, 'invalid_input', 'The request address is malformed.');
    }
    const pathname = url.pathname;
    if (pathname === '/api' || pathname.startsWith('/api/')) {
      access.checkToken(req);
      if (pathname === '/api/events') return eventsRoute(options.backend, streams, req, res);
      const photo = /^\/api\/photo\/(\d{1,12})$/.exec(pathname);
      if (photo) return photoRoute(options.backend, req, res, Number(photo[1]), url.searchParams.get('size'));
      let method: string;
      try {
        method = decodeURIComponent(pathname.slice('/api/'.length));
      } catch {
        throw new HttpError(400, 'invalid_input', `The address ${pathname.slice(0, 80)} has a malformed %-escape.`);
      }
      return apiRoute(options.backend, maxBody, req, res, method);
    }
    if (url.searchParams.has('token')) return access.login(req, res, url);
    // The app page without the token would only show refusals: say which link to open instead.
    if ((pathname === '/' || pathname === '/index.html') && !access.hasToken(req)) return noTokenPage(req, res);
    return staticRoute(staticDir, req, res, pathname);
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
