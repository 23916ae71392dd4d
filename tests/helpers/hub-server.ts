/**
 * A local stand-in for the Hugging Face hub: serves model folders at `/OWNER/NAME/resolve/<rev>/FILE` on
 * 127.0.0.1 (port 0), with Range support and switches that simulate the failures the downloader must survive.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface HubRequestLog {
  path: string;
  range: string | null;
  status: number;
}

export interface HubServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (what PHOTO_SEARCH_HF_ENDPOINT should hold). */
  readonly url: string;
  readonly requests: HubRequestLog[];
  /** File path (in the repo) whose first download is cut after about half of its bytes. */
  dropOnce: string | null;
  /** Every request answers 404 RepoNotFound, like the hub for a name that does not exist. */
  notFound: boolean;
  /** File path whose `x-linked-size` is announced wrongly (too large). */
  wrongSize: string | null;
  /** Answer Range requests with the whole file (200), like a server without range support. */
  ignoreRange: boolean;
  /** Redirect resolve URLs to /cdn/… (the hub redirects LFS files to a CDN), announcing x-linked-size/etag. */
  redirect: boolean;
  close(): Promise<void>;
}

/** `repos` maps "OWNER/NAME" to a folder whose files are served. */
export async function startHubServer(repos: Record<string, string>): Promise<HubServer> {
  const state = {
    requests: [] as HubRequestLog[],
    dropOnce: null as string | null,
    notFound: false,
    wrongSize: null as string | null,
    ignoreRange: false,
    redirect: false,
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const range = req.headers.range ?? null;
    const log = (status: number) => state.requests.push({ path: url.pathname, range, status });
    const m = /^\/(cdn\/)?([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = m ? `${decodeURIComponent(m[2])}/${decodeURIComponent(m[3])}` : '';
    if (!m || state.notFound || !(repo in repos)) {
      log(404);
      res.writeHead(404, { 'x-error-code': 'RepoNotFound', 'content-type': 'text/plain' }).end('Repository not found');
      return;
    }
    const file = m[5].split('/').map(decodeURIComponent).join('/');
    const full = path.join(repos[repo], file);
    const data = await fs.readFile(full).catch(() => null);
    if (!data || !full.startsWith(path.resolve(repos[repo]) + path.sep)) {
      log(404);
      res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const linked: Record<string, string> = {};
    if (state.redirect || state.wrongSize === file) {
      linked['x-linked-size'] = String(state.wrongSize === file ? data.length + 123 : data.length);
      linked['x-linked-etag'] = `"${createHash('sha256').update(data).digest('hex')}"`;
    }
    if (state.redirect && !m[1]) {
      log(302);
      res.writeHead(302, { location: `/cdn${url.pathname}`, ...linked }).end();
      return;
    }
    let start = 0;
    const rm = /^bytes=(\d+)-$/.exec(range ?? '');
    if (rm && !state.ignoreRange) {
      start = Number(rm[1]);
      if (start >= data.length) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
    }
    const body = data.subarray(start);
    const status = start > 0 ? 206 : 200;
    log(status);
    const headers: Record<string, string> = {
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      ...(m[1] ? {} : linked),
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    res.writeHead(status, headers);
    if (state.dropOnce === file) {
      state.dropOnce = null;
      // Send about half, then cut the connection mid-body.
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const hub: HubServer = {
    url: `http://127.0.0.1:${port}`,
    requests: state.requests,
    get dropOnce() { return state.dropOnce; },
    set dropOnce(v) { state.dropOnce = v; },
    get notFound() { return state.notFound; },
    set notFound(v) { state.notFound = v; },
    get wrongSize() { return state.wrongSize; },
    set wrongSize(v) { state.wrongSize = v; },
    get ignoreRange() { return state.ignoreRange; },
    set ignoreRange(v) { state.ignoreRange = v; },
    get redirect() { return state.redirect; },
    set redirect(v) { state.redirect = v; },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return hub;
}
