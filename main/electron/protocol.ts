/**
 * Custom protocols: app://renderer/… serves the built renderer (with the CSP header), photo://thumb/<id> and
 * photo://full/<id> serve photos, but only files inside the user's library folders or the thumbnail cache.
 */
import { net, protocol } from 'electron';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackendPort } from '../../shared/api';
import { contentTypeFor, resolveStaticPath } from '../server/http-util';
import { APP_HOST, APP_SCHEME, PHOTO_SCHEME } from './channels';
import { parsePhotoUrl, resolveAllowedFile } from './protocol-paths';

export const DESKTOP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: photo:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Must run before app 'ready'. `standard` gives the schemes an origin, so 'self' and relative URLs work. */
export function registerSchemes(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
    { scheme: PHOTO_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

export function handleProtocols(opts: { backend: BackendPort; rendererDir: string; allowedRoots: () => Promise<string[]> }): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return plain(404, 'Not found');
    const file = resolveStaticPath(opts.rendererDir, url.pathname === '/' ? '/index.html' : url.pathname);
    if (!file) return plain(404, 'Not found');
    try {
      const body = await fs.readFile(file);
      return new Response(body, {
        headers: {
          'content-type': contentTypeFor(file),
          'content-security-policy': DESKTOP_CSP,
          'x-content-type-options': 'nosniff',
        },
      });
    } catch {
      return plain(404, url.pathname === '/index.html' ? `Missing ${path.join(opts.rendererDir, 'index.html')}: run npm run build.` : 'Not found');
    }
  });

  protocol.handle(PHOTO_SCHEME, async (request) => {
    const parsed = parsePhotoUrl(request.url);
    if (!parsed) return plain(400, 'Bad photo URL');
    const file = await opts.backend.photoFile(parsed.id, parsed.size);
    if (!file) return plain(404, 'No such photo');
    const allowed = await resolveAllowedFile(file, await opts.allowedRoots());
    if (!allowed) return plain(403, 'Outside the library folders');
    const res = await net.fetch(pathToFileURL(allowed).toString());
    const headers = new Headers(res.headers);
    headers.set('content-type', contentTypeFor(allowed));
    headers.set('x-content-type-options', 'nosniff');
    return new Response(res.body, { status: res.status, headers });
  });
}
