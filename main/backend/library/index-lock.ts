/**
 * One indexer per library, across processes: `photo-search index` in a terminal, `serve` and the desktop app
 * on the same data folder each run their own index jobs, and two of them at once both did the whole work.
 * The index job takes this lock first; a second one waits for the first to finish, saying so, and then
 * finds the photos unchanged. proper-lockfile makes the lock (an atomic mkdir) and keeps its time fresh
 * while held; a holder killed with kill -9 stops refreshing it, so it counts as stale after `staleMs` and
 * the next indexer takes it over.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { Cancelled } from '../errors';

/** A held lock older than this without a refresh belongs to a process that died (proper-lockfile's minimum is 2 s). */
export const INDEX_LOCK_STALE_MS = 10_000;

export interface IndexLockOptions {
  signal?: AbortSignal;
  /** Called once when another process holds the lock, with a line saying who (then the wait begins). */
  onWait?: (message: string) => void;
  staleMs?: number;
  /** How often a waiting indexer tries again. */
  pollMs?: number;
}

export interface IndexLock {
  release(): Promise<void>;
}

const lockTarget = (dataDir: string) => path.join(dataDir, 'indexing');
const ownerFile = (dataDir: string) => path.join(dataDir, 'indexing.owner.json');

/** Take the library's index lock, waiting (cancellably) while another process holds it. */
export async function acquireIndexLock(dataDir: string, opts: IndexLockOptions = {}): Promise<IndexLock> {
  const stale = opts.staleMs ?? INDEX_LOCK_STALE_MS;
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw new Cancelled();
    try {
      const release = await lockfile.lock(lockTarget(dataDir), {
        realpath: false,
        stale,
        // A refresh that fails (a sleeping laptop, a busy disk) must not crash the process: the worst case is
        // that another indexer takes over, which repeats work but never loses any.
        onCompromised: () => undefined,
      });
      await fs.writeFile(ownerFile(dataDir), JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() })).catch(() => undefined);
      return {
        release: async () => {
          await fs.rm(ownerFile(dataDir), { force: true }).catch(() => undefined);
          await release().catch(() => undefined); // already released or taken over as stale
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    }
    if (!told) {
      told = true;
      opts.onWait?.(await holderLine(dataDir));
    }
    await sleep(opts.pollMs ?? 500, opts.signal);
  }
}

/** "Another process (pid 123) is indexing this library since 10:42:05: waiting for it to finish". */
async function holderLine(dataDir: string): Promise<string> {
  let who = 'Another process';
  try {
    const o = JSON.parse(await fs.readFile(ownerFile(dataDir), 'utf8')) as { pid?: unknown; host?: unknown; since?: unknown };
    if (typeof o.pid === 'number') who += ` (pid ${o.pid}${typeof o.host === 'string' && o.host !== os.hostname() ? ` on ${o.host}` : ''})`;
    if (typeof o.since === 'string' && !Number.isNaN(Date.parse(o.since))) who += ` is indexing this library since ${new Date(o.since).toLocaleTimeString('en-GB')}`;
    else who += ' is indexing this library';
  } catch {
    who += ' is indexing this library';
  }
  return `${who}: waiting for it to finish`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
