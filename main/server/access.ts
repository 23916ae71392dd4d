/**
 * Who may use browser mode: the Host header must name the bound address (DNS rebinding), and every /api
 * request carries the access token, as a cookie (the page) or `Authorization: Bearer` (scripts). The printed
 * link's `?token=…` is traded once for the cookie; the app page without it says which link to open.
 */
import type http from 'node:http';
import { NO_TOKEN_CSP, NO_TOKEN_HTML } from './no-token-page';
import { cookieValue, sameToken, tokenCookie } from './http-util';
import { HttpError, onlyGet, SECURITY_HEADERS } from './responses';

export class Access {
  /** Host headers that name the bound address; set once listening. */
  allowedHosts = new Set<string>();
  /** The app's address without the token; set once listening. */
  baseUrl = '';
  /** Cookies are shared by every port of a host: the name carries the port so two servers do not collide. */
  port = 0;

  constructor(readonly token: string) {}

  private get cookieName(): string {
    return `photo-search-token-${this.port}`;
  }

  /** DNS rebinding: a hostile name resolving to our address still sends its own name in Host. */
  checkHost(req: http.IncomingMessage): void {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts.has(hostHeader)) {
      throw new HttpError(403, 'forbidden', `Host "${hostHeader.slice(0, 80)}" is not allowed; open ${this.baseUrl} instead.`);
    }
  }

  /** The token as a cookie (the page) or an `Authorization: Bearer` header (scripts). */
  hasToken(req: http.IncomingMessage): boolean {
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = auth ?? cookieValue(req.headers.cookie, this.cookieName);
    return given !== undefined && sameToken(given, this.token);
  }

  checkToken(req: http.IncomingMessage): void {
    if (!this.hasToken(req)) {
      throw new HttpError(401, 'forbidden', 'Open Photo Search with the link `photo-search serve` printed: it carries the access token.');
    }
  }

  /** `/?token=…`: a valid token becomes a cookie and the address loses the token (redirect); a wrong one is refused. */
  login(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    onlyGet(req);
    if (!sameToken(url.searchParams.get('token') ?? '', this.token)) {
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
      'Set-Cookie': tokenCookie(this.cookieName, this.token),
      Location: location,
      'Cache-Control': 'no-store',
    });
    res.end();
  }
}

/** The app page asked for without the token: a page saying to open the printed link (401). */
export function noTokenPage(req: http.IncomingMessage, res: http.ServerResponse): void {
  onlyGet(req);
  res.writeHead(401, {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': NO_TOKEN_CSP,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(NO_TOKEN_HTML)),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : NO_TOKEN_HTML);
}
