/**
 * Search side by side with the peers users would pick instead (numpy brute force as rclip does it, faiss
 * IndexFlatIP and HNSW, hnswlib), on the same N, D and query count, in one run: `photo-search bench
 * search` then the peers' script, for each size. Prints a Markdown table for docs/BENCHMARKS.md, with the
 * load average before each run (the machine may be shared: read timings beside it).
 *
 * The peers are Python (Debian: python3-numpy python3-faiss python3-hnswlib); they are never a dependency
 * of the project or its tests. Point --peers at search_peers.py (default ../shared/bench/search_peers.py).
 *
 *   npm run build && nice npx tsx scripts/bench-search-peers.ts --sizes 100000,1000000 --dim 512 --queries 100
 *   (--peers FILE, --python BIN, --peer-timeout SECONDS: peers still running then are stopped; default 1800)
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');

interface Row {
  engine: string;
  n: number;
  p50: number;
  p95: number;
  load: string;
  memory: string;
  recall: number;
  loadAvg: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const loadAvg = () => os.loadavg().map((l) => l.toFixed(1)).join(' / ');
const gb = (mb: number) => (mb >= 1024 ? `${(mb / 1024).toFixed(2)} GB` : `${mb.toFixed(0)} MB`);

async function ours(n: number, dim: number, queries: number): Promise<Row> {
  const bin = path.join(ROOT, 'bin', 'photo-search.js');
  const la = loadAvg();
  const { stdout } = await run(process.execPath, [bin, 'bench', 'search', '--vectors', String(n), '--dim', String(dim), '--queries', String(queries), '--json'], {
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(stdout) as Record<string, number | string>;
  const num = (k: string) => Number(r[k]);
  return {
    engine: 'photo-search (int8 SIMD scan + exact re-rank)',
    n,
    p50: num('p50Ms'),
    p95: num('p95Ms'),
    load: `start-up ${(num('loadMs') / 1000).toFixed(2)} s from the ${String(r.loadFrom)} (${(num('loadCpuMs') / 1000).toFixed(2)} CPU-s); first start from SQLite ${(num('rebuildMs') / 1000).toFixed(1)} s`,
    memory: `index ${gb(num('memoryMB'))}, RSS Δ ${gb(num('rssDeltaMB'))}`,
    recall: num('recallAt10'),
    loadAvg: la,
  };
}

/**
 * The peers' lines as they come. A peer still running after `timeoutS` seconds (an HNSW build at 1M takes
 * far longer than the others) is stopped, and what did not finish is listed as such.
 */
async function peers(script: string, python: string, n: number, dim: number, queries: number, timeoutS: number): Promise<Row[]> {
  const la = loadAvg();
  // OpenBLAS settings from the environment (a forced core type, a tiny L2 size) slow numpy and faiss down.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPENBLAS_')));
  const child = spawn(python, [script, String(n), String(dim), String(queries), '2'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const rows: Row[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill();
  }, timeoutS * 1000);
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const p = JSON.parse(line) as Record<string, number | string>;
    const row: Row = p.error
      ? { engine: `${String(p.peer)}: ${String(p.error)}`, n, p50: NaN, p95: NaN, load: '—', memory: '—', recall: NaN, loadAvg: la }
      : {
          engine: String(p.peer),
          n,
          p50: Number(p.p50Ms),
          p95: Number(p.p95Ms),
          load: `build ${Number(p.buildS).toFixed(1)} s`,
          memory: `${gb(Number(p.memoryMB))} (arrays)`,
          recall: Number(p.recallAt10),
          loadAvg: la,
        };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  clearTimeout(timer);
  if (timedOut) {
    rows.push({ engine: `(peers after these: stopped, not finished within ${timeoutS} s)`, n, p50: NaN, p95: NaN, load: '—', memory: '—', recall: NaN, loadAvg: la });
  }
  return rows;
}

async function main(): Promise<void> {
  const sizes = arg('sizes', '100000,1000000').split(',').map(Number);
  const dim = Number(arg('dim', '512'));
  const queries = Number(arg('queries', '100'));
  const script = path.resolve(arg('peers', path.join(ROOT, '..', 'shared', 'bench', 'search_peers.py')));
  const python = arg('python', '/usr/bin/python3');
  const timeoutS = Number(arg('peer-timeout', '1800'));
  if (!existsSync(script)) throw new Error(`Peers script ${script} not found. Pass --peers PATH/search_peers.py.`);
  const rows: Row[] = [];
  for (const n of sizes) {
    // Each result also goes to stderr as it comes, so a long run that is stopped keeps what it measured.
    process.stderr.write(`N = ${n}: photo-search…\n`);
    const mine = await ours(n, dim, queries);
    process.stderr.write(`${JSON.stringify(mine)}\nN = ${n}: peers…\n`);
    const theirs = await peers(script, python, n, dim, queries, timeoutS);
    rows.push(mine, ...theirs);
  }
  const f = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : '—');
  const lines = [
    `${new Date().toISOString()} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}) · D = ${dim}, k = 10, ${queries} timed queries`,
    '',
    '| N | engine | p50 ms | p95 ms | build / load | memory | recall@10 | load avg (1/5/15 min) |',
    '| ---: | --- | ---: | ---: | --- | --- | ---: | --- |',
    ...rows.map((r) => `| ${r.n.toLocaleString('en-US')} | ${r.engine} | ${f(r.p50)} | ${f(r.p95)} | ${r.load} | ${r.memory} | ${f(r.recall)} | ${r.loadAvg} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
