/** Small pure helpers of the browser-mode server (kept apart so they are unit-tested without a socket). */
import { parseCookie, stringifySetCookie } from 'cookie';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.bmp': 'image/bmp',
  '.heic': 'image/heic',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Map a URL path onto a file inside `root`, or null when it would leave it (`..`, encoded `%2e%2e`,
 * backslashes, NUL bytes, absolute paths). Dot-files are refused too.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
  const base = path.resolve(root);
  const full = path.resolve(base, ...segments);
  const rel = path.relative(base, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return full;
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

function bare(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, '');
}

/** How an address is written in a URL or a Host header (IPv6 in brackets); a wildcard bind is reached on 127.0.0.1. */
export function urlHostFor(host: string): string {
  const h = bare(host);
  if (WILDCARDS.has(h)) return '127.0.0.1';
  return net.isIPv6(h) ? `[${h}]` : h;
}

/**
 * The Host headers a request may carry (DNS rebinding: a hostile name resolving to our address still sends
 * its own name): the bound address itself, the loopback names when it is a loopback address, and every
 * address of this machine when it listens on all of them.
 */
export function allowedHostHeaders(host: string, port: number, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const h = bare(host);
  const names = new Set<string>([urlHostFor(h)]);
  if (WILDCARDS.has(h) || isLoopbackHost(h)) for (const n of ['127.0.0.1', 'localhost', '[::1]']) names.add(n);
  if (WILDCARDS.has(h)) {
    for (const list of Object.values(interfaces)) for (const i of list ?? []) names.add(urlHostFor(i.address));
  }
  return [...names].map((n) => `${n}:${port}`);
}

/** A new access token: 192 random bits, URL-safe. */
export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

export const ENV_TOKEN = 'PHOTO_SEARCH_TOKEN';

/**
 * The token to use: $PHOTO_SEARCH_TOKEN when set (so a restarted server keeps the browser's session, as
 * JUPYTER_TOKEN does; an environment variable, not a flag, because other accounts can read command lines),
 * else a new random one. A weak or odd value is refused with what to do.
 */
export function chooseAccessToken(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[ENV_TOKEN];
  if (given === undefined || given === '') return newAccessToken();
  if (!/^[A-Za-z0-9_-]{24,}$/.test(given)) {
    throw new Error(`${ENV_TOKEN} must be at least 24 letters, digits, '-' or '_'. Unset it for a random token at each start.`);
  }
  return given;
}

/** Token comparison in constant time (no early exit that a timing probe could measure). */
export function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? parseCookie(header)[name] : undefined;
}

/** The Set-Cookie header holding the token: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
export function tokenCookie(name: string, token: string): string {
  return stringifySetCookie({ name, value: token, httpOnly: true, sameSite: 'strict', path: '/' });
}
