/**
 * Soak benchmark of browser mode (docs/BENCHMARKS.md "Soak"): `photo-search serve` on a scratch library for a
 * set time under a bounded mix of clients — text searches, thumbnails, full photos, searches by image, clients
 * that hang up mid-body (a photo download, an image upload) — while one library folder is moved away and back
 * (a drive unplugged and plugged in again), photos come and go, and `photo-search index` runs beside it in
 * another process. The server's open file descriptors, RSS and p50/p99 latency per kind of request are taken
 * in a window at the start and one at the end; at the end the server must exit on SIGTERM.
 *
 *   npx tsx scripts/soak-serve.ts --minutes 30 [--photos 300] [--clients 4] [--window 3] [--malloc-arena-max N] [--json]
 *
 * Photos come from ../shared/datasets/flickr8k/dev/Images when present (else --images DIR); the active model is
 * the built-in one. Everything listens on and talks to 127.0.0.1 only. Every loop ends at the deadline.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a benchmark fixture: it writes two large JPEGs, the app never decodes through it
import sharp from 'sharp';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'photo-search.js');
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    photos: { type: 'string', default: '300' },
    clients: { type: 'string', default: '4' },
    window: { type: 'string', default: '3' },
    images: { type: 'string', default: path.join(ROOT, '..', 'shared', 'datasets', 'flickr8k', 'dev', 'Images') },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** Run serve with glibc's MALLOC_ARENA_MAX (compare how much freed memory the allocator keeps). */
    'malloc-arena-max': { type: 'string', default: '' },
  },
});
const minutes = Number(values.minutes);
const photoCount = Number(values.photos);
const clients = Number(values.clients);
const windowMin = Number(values.window);
for (const [name, v] of [['--minutes', minutes], ['--photos', photoCount], ['--clients', clients], ['--window', windowMin]] as const) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number.`);
}
if (windowMin * 2 > minutes) throw new Error('--window must be at most half of --minutes (a start and an end window).');
const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const QUERIES = ['a dog running on the grass', 'two children playing', 'a man riding a bike', 'people on the beach', 'a girl in a red dress', 'snow', 'a black and white dog', 'a crowd in the street'];

type Kind = 'search' | 'thumb' | 'full' | 'searchImage' | 'abortDownload' | 'abortUpload';
/** The mix: weights per kind of request. */
const MIX: [Kind, number][] = [['search', 35], ['thumb', 25], ['full', 15], ['searchImage', 5], ['abortDownload', 15], ['abortUpload', 5]];

interface Sample {
  t: number;
  fds: number;
  photoFds: number;
  inotify: number;
  rssMB: number;
  /** CPU time the server process has used so far (user + system), ms: per request it does not depend on the machine's load. */
  cpuMs: number;
  /** The library's write-ahead log. */
  walMB: number;
}

// ---- the library ------------------------------------------------------------------------------------------

async function makeLibrary(tmp: string): Promise<{ lib: string; flap: string; data: string; sources: string[] }> {
  if (!existsSync(values.images)) throw new Error(`No photos at ${values.images}: pass --images DIR (a folder of JPEGs).`);
  const all = readdirSync(values.images).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (all.length < photoCount + 20) throw new Error(`${values.images} has ${all.length} photos; --photos ${photoCount} needs ${photoCount + 20}.`);
  const lib = path.join(tmp, 'photos');
  const flap = path.join(tmp, 'camera-card');
  mkdirSync(lib);
  mkdirSync(flap);
  for (const f of all.slice(0, photoCount)) copyFileSync(path.join(values.images, f), path.join(lib, f));
  for (const f of all.slice(photoCount, photoCount + 20)) copyFileSync(path.join(values.images, f), path.join(flap, f));
  // Two large photos (several MB), so a client that hangs up does so while the file is still being sent.
  for (const [i, f] of all.slice(0, 2).entries()) {
    await sharp(path.join(values.images, f)).resize(6000, 4000).jpeg({ quality: 97 }).toFile(path.join(lib, `large-${i}.jpg`));
  }
  return { lib, flap, data: path.join(tmp, 'data'), sources: all.slice(photoCount + 20, photoCount + 60).map((f) => path.join(values.images, f)) };
}

function cli(args: string[], data: string, timeoutMs: number): Promise<{ code: number; ms: number; err: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--data', data], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (e, _out, err) => {
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, ms: Date.now() - started, err: String(err).trim().split('\n').at(-1) ?? '' });
    });
  });
}

// ---- the server -------------------------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  port: number;
  token: string;
}

function startServe(data: string): Promise<Server> {
  const env = values['malloc-arena-max'] ? { ...process.env, MALLOC_ARENA_MAX: values['malloc-arena-max'] } : process.env;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 120 s:\n${out}`)), 120_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /running at http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), token: m[2]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
}

const TICK_MS = 1000 / 100; // Linux's USER_HZ

function sample(pid: number, photoDirs: string[], data: string): Sample {
  let fds = 0;
  let photoFds = 0;
  let inotify = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (photoDirs.some((d) => target.startsWith(d))) photoFds++;
    if (target === 'anon_inode:inotify') inotify++;
  }
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  // Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis.
  const statLine = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const stat = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  const cpuMs = (Number(stat[11]) + Number(stat[12])) * TICK_MS;
  let walMB = 0;
  try {
    walMB = statSync(path.join(data, 'library.db-wal')).size / 2 ** 20;
  } catch {
    // no log right now
  }
  return { t: Date.now(), fds, photoFds, inotify, rssMB: rss ? Number(rss[1]) / 1024 : NaN, cpuMs, walMB };
}

// ---- the clients ------------------------------------------------------------------------------------------

const REQUEST_TIMEOUT_MS = 60_000;

function request(s: Server, opts: { method: string; path: string; body?: Buffer; abortAfterBytes?: number; abortUploadAt?: number }): Promise<{ status: number; bytes: number; json?: unknown }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${s.token}` };
    if (opts.body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(opts.body.length) });
    const req = http.request({ host: '127.0.0.1', port: s.port, method: opts.method, path: opts.path, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (opts.abortAfterBytes !== undefined && bytes >= opts.abortAfterBytes) {
          req.destroy();
          resolve({ status: -1, bytes }); // hung up mid-body, as meant
          return;
        }
        if (res.headers['content-type']?.startsWith('application/json')) chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, bytes, json: text ? JSON.parse(text) : undefined });
      });
      res.on('error', () => resolve({ status: -1, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => (opts.abortUploadAt !== undefined || opts.abortAfterBytes !== undefined ? resolve({ status: -1, bytes: 0 }) : reject(e)));
    if (opts.body && opts.abortUploadAt !== undefined) {
      req.write(opts.body.subarray(0, opts.abortUploadAt), () => {
        req.destroy();
        resolve({ status: -1, bytes: 0 });
      });
      return;
    }
    req.end(opts.body);
  });
}

interface Timing {
  kind: Kind;
  at: number;
  ms: number;
  ok: boolean;
}

async function client(s: Server, ids: number[], largeIds: number[], images: Buffer[], deadline: number, timings: Timing[], errors: Map<string, number>, rand: () => number): Promise<void> {
  const total = MIX.reduce((n, [, w]) => n + w, 0);
  while (Date.now() < deadline) {
    let r = rand() * total;
    const kind = MIX.find(([, w]) => (r -= w) < 0)![0];
    const id = ids[Math.floor(rand() * ids.length)]!;
    const started = performance.now();
    let ok = true;
    try {
      if (kind === 'search') {
        const q = QUERIES[Math.floor(rand() * QUERIES.length)]!;
        const res = await request(s, { method: 'POST', path: '/api/search', body: Buffer.from(JSON.stringify({ query: q, top: 20 })) });
        ok = res.status === 200 && (res.json as { ok: boolean }).ok;
      } else if (kind === 'thumb' || kind === 'full') {
        ok = (await request(s, { method: 'GET', path: `/api/photo/${id}?size=${kind}` })).status === 200;
      } else if (kind === 'searchImage') {
        const image = images[Math.floor(rand() * images.length)]!;
        const res = await request(s, { method: 'POST', path: '/api/searchImage', body: Buffer.from(JSON.stringify({ image: image.toString('base64'), top: 20 })) });
        ok = res.status === 200 && (res.json as { ok: boolean }).ok;
      } else if (kind === 'abortDownload') {
        // The large photos: the hang-up comes while the file is still being sent.
        const big = largeIds[Math.floor(rand() * largeIds.length)] ?? id;
        await request(s, { method: 'GET', path: `/api/photo/${big}?size=full`, abortAfterBytes: 64 * 1024 });
      } else {
        const body = Buffer.from(JSON.stringify({ image: images[0]!.toString('base64') }));
        await request(s, { method: 'POST', path: '/api/searchImage', body, abortUploadAt: Math.floor(body.length / 3) });
      }
    } catch (e) {
      ok = false;
      const key = `${kind}: ${(e as Error).message}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
    if (!ok) errors.set(`${kind}: not ok`, (errors.get(`${kind}: not ok`) ?? 0) + 1);
    timings.push({ kind, at: Date.now(), ms: performance.now() - started, ok });
  }
}

// ---- background churn: a folder that flaps, photos that come and go, an indexer in another process --------

async function flapper(flap: string, deadline: number, counts: { flaps: number }): Promise<void> {
  while (Date.now() + 30_000 < deadline) {
    await sleep(20_000);
    renameSync(flap, `${flap}.unplugged`);
    await sleep(8_000);
    renameSync(`${flap}.unplugged`, flap);
    counts.flaps++;
  }
}

async function churn(lib: string, sources: string[], deadline: number, counts: { added: number }): Promise<void> {
  let previous: string | null = null;
  for (let i = 0; Date.now() + 15_000 < deadline; i++) {
    await sleep(15_000);
    if (previous) rmSync(previous, { force: true });
    previous = path.join(lib, `new-${i}.jpg`);
    copyFileSync(sources[i % sources.length]!, previous);
    counts.added++;
  }
}

async function sideIndexer(data: string, deadline: number, runs: { code: number; ms: number; err: string }[]): Promise<void> {
  while (Date.now() + 60_000 < deadline) {
    await sleep(45_000);
    runs.push(await cli(['index'], data, Math.max(10_000, deadline - Date.now())));
  }
}

// ---- figures ----------------------------------------------------------------------------------------------

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function windowStats(timings: Timing[], from: number, to: number) {
  const out: Record<string, { n: number; p50: number; p99: number; failed: number }> = {};
  for (const [kind] of MIX) {
    const ts = timings.filter((t) => t.kind === kind && t.at >= from && t.at < to);
    out[kind] = { n: ts.length, p50: Math.round(pct(ts.map((t) => t.ms), 50)), p99: Math.round(pct(ts.map((t) => t.ms), 99)), failed: ts.filter((t) => !t.ok).length };
  }
  return out;
}

/** Server CPU ms per request between the first and last sample of a window. */
function cpuPerRequest(samples: Sample[], timings: Timing[], from: number, to: number): number {
  const inside = samples.filter((x) => x.t >= from && x.t < to);
  if (inside.length < 2) return NaN;
  const a = inside[0]!;
  const b = inside.at(-1)!;
  const n = timings.filter((t) => t.at >= a.t && t.at < b.t).length;
  return n ? Math.round(((b.cpuMs - a.cpuMs) / n) * 100) / 100 : NaN;
}

function meanOf(samples: Sample[], from: number, to: number, key: keyof Sample): number {
  const xs = samples.filter((s) => s.t >= from && s.t < to).map((s) => s[key]);
  return xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : NaN;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-soak-'));
  let server: Server | null = null;
  try {
    log(`scratch library in ${tmp}`);
    const { lib, flap, data, sources } = await makeLibrary(tmp);
    const first = await cli(['index', lib, flap], data, 3_600_000);
    if (first.code !== 0) throw new Error(`indexing failed: ${first.err}`);
    log(`indexed ${photoCount + 22} photos in ${(first.ms / 1000).toFixed(0)} s`);
    server = await startServe(data);
    const s = server;
    const search = await request(s, { method: 'POST', path: '/api/search', body: Buffer.from(JSON.stringify({ query: 'a photo', top: 500 })) });
    const answer = search.json as { ok: boolean; value: { id: number; path: string }[]; message?: string };
    if (!answer.ok) throw new Error(`the first search failed: ${answer.message}`);
    const hits = answer.value;
    const ids = hits.filter((h) => !h.path.startsWith(flap)).map((h) => h.id);
    const large = hits.filter((h) => /large-\d\.jpg$/.test(h.path)).map((h) => h.id);
    const images = [readFileSync(path.join(lib, 'large-0.jpg')), ...sources.slice(0, 3).map((f) => readFileSync(f))];
    const start = Date.now();
    const deadline = start + minutes * 60_000;
    log(`serve pid ${s.child.pid} on 127.0.0.1:${s.port}; ${clients} clients for ${minutes} min`);

    const samples: Sample[] = [];
    const sampler = setInterval(() => samples.push(sample(s.child.pid!, [lib, flap], data)), 5_000);
    samples.push(sample(s.child.pid!, [lib, flap], data));
    const timings: Timing[] = [];
    const errors = new Map<string, number>();
    const counts = { flaps: 0, added: 0 };
    const indexRuns: { code: number; ms: number; err: string }[] = [];
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const loadAt = { start: '', end: '' };
    const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
    // The load average in the middle of each window (other programs' share of the cores).
    setTimeout(() => (loadAt.start = load()), windowMin * 30_000).unref();
    setTimeout(() => (loadAt.end = load()), Math.max(0, deadline - windowMin * 30_000 - Date.now())).unref();
    const progress = setInterval(() => {
      const last = samples.at(-1)!;
      log(`${((Date.now() - start) / 60_000).toFixed(1)} min: ${timings.length} requests, fds ${last.fds} (photo files ${last.photoFds}), RSS ${last.rssMB.toFixed(0)} MB, WAL ${last.walMB.toFixed(1)} MB, load ${load()}`);
    }, 60_000);
    await Promise.all([
      ...Array.from({ length: clients }, () => client(s, ids, large, images, deadline, timings, errors, rand)),
      flapper(flap, deadline, counts),
      churn(lib, sources, deadline, counts),
      sideIndexer(data, deadline, indexRuns),
    ]);
    clearInterval(sampler);
    clearInterval(progress);
    // Let the last index job and the debounce settle before the final figures.
    await sleep(10_000);
    samples.push(sample(s.child.pid!, [lib, flap], data));
    const end = Date.now();
    const w = windowMin * 60_000;
    const exitStarted = Date.now();
    const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
    s.child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(10_000).then(() => 'still running after 10 s' as const)]);
    const exitMs = Date.now() - exitStarted;
    if (code === 'still running after 10 s') s.child.kill('SIGKILL');
    server = null;
    const result = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      node: process.version,
      mallocArenaMax: values['malloc-arena-max'] || null,
      minutes,
      photos: photoCount + 22,
      clients,
      requests: timings.length,
      failed: timings.filter((t) => !t.ok).length,
      errors: Object.fromEntries(errors),
      flaps: counts.flaps,
      photosAddedAndRemoved: counts.added,
      sideIndexRuns: indexRuns.length,
      sideIndexFailures: indexRuns.filter((r) => r.code !== 0).map((r) => r.err),
      sideIndexSeconds: indexRuns.map((r) => Math.round(r.ms / 100) / 10),
      start: { fds: meanOf(samples, start, start + w, 'fds'), photoFds: meanOf(samples, start, start + w, 'photoFds'), inotify: meanOf(samples, start, start + w, 'inotify'), rssMB: meanOf(samples, start, start + w, 'rssMB'), walMB: meanOf(samples, start, start + w, 'walMB'), cpuMsPerRequest: cpuPerRequest(samples, timings, start, start + w), requestsPerSecond: Math.round(timings.filter((t) => t.at >= start && t.at < start + w).length / (w / 1000)), loadAverage: loadAt.start, latencyMs: windowStats(timings, start, start + w) },
      end: { fds: meanOf(samples, deadline - w, end + 1, 'fds'), photoFds: meanOf(samples, deadline - w, end + 1, 'photoFds'), inotify: meanOf(samples, deadline - w, end + 1, 'inotify'), rssMB: meanOf(samples, deadline - w, end + 1, 'rssMB'), walMB: meanOf(samples, deadline - w, end + 1, 'walMB'), cpuMsPerRequest: cpuPerRequest(samples, timings, deadline - w, deadline), requestsPerSecond: Math.round(timings.filter((t) => t.at >= deadline - w && t.at < deadline).length / (w / 1000)), loadAverage: loadAt.end, latencyMs: windowStats(timings, deadline - w, deadline) },
      afterSettling: samples.at(-1),
      // One sample a minute (the first of each minute), to see a trend rather than two points.
      byMinute: Array.from({ length: Math.floor(minutes) + 1 }, (_, m) => samples.find((x) => x.t >= start + m * 60_000) ?? samples.at(-1)!).map((x) => ({ fds: x.fds, rssMB: Math.round(x.rssMB), walMB: Math.round(x.walMB * 10) / 10 })),
      maxFds: Math.max(...samples.map((x) => x.fds)),
      maxRssMB: Math.round(Math.max(...samples.map((x) => x.rssMB))),
      sigterm: { exitCode: code, ms: exitMs },
    };
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${JSON.stringify(result, null, 1)}\n`);
  } finally {
    if (server) server.child.kill('SIGKILL');
    if (!values.keep) rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`soak: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
