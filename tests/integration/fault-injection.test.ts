/**
 * Fault injection (issue 12, "done when"): the compiled CLI is killed with SIGKILL at seeded random points
 * during `index`, `train` and `models use`, a bounded number of times, and after every kill the library is
 * checked with `PRAGMA integrity_check` and exact counts; then the same command runs to the end and the
 * counts must be exactly those of a run that was never interrupted.
 *
 * A kill lands somewhere after the command's first progress line, plus a seeded random delay: where exactly
 * depends on the machine's speed, so the checks are invariants that hold wherever it lands.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { Store } from '../../main/backend/store';
import { seededRandom } from '../../shared/random';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { makePhotos } from '../helpers/fixtures';
import { installModelCopy, writeSyntheticLibrary } from '../helpers/synthetic-library';

const BIN = path.join(__dirname, '..', '..', 'bin', 'photo-search.js');
/** Each test starts the CLI up to ~8 times; on a loaded 2-core machine one start can take several seconds. */
const TIMEOUT = 300_000;

let tmp: string;
let modelDir: string;
let modelId: string;

interface Outcome {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

type Kill =
  /** After stderr matches `marker`, wait `delayMs`. */
  | { marker: RegExp; delayMs: number }
  /** As soon as `ready()` (polled every 20 ms) says so. */
  | { ready: () => boolean };

/** Run the CLI and SIGKILL it at the point `kill` names (null: let it finish). */
function runCli(args: string[], dataDir: string, kill: Kill | null): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, PHOTO_SEARCH_DATA: dataDir, PHOTO_SEARCH_MODEL_DIR: modelDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (kill && 'marker' in kill && !timer && kill.marker.test(stderr)) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
    });
    const poll =
      kill && 'ready' in kill
        ? setInterval(() => {
            if (kill.ready()) child.kill('SIGKILL');
          }, 20)
        : null;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ killed: signal === 'SIGKILL', code, stdout, stderr });
    });
  });
}

/** Open the library as the next command would, check it, and hand back counts. */
function inspect(dataDir: string): { integrity: string; photos: number; embedded: (id: string) => number; active: string | null; pending: string | null } {
  const store = new Store(path.join(dataDir, 'library.db'));
  try {
    const ids = ['model-b', modelId];
    const counts = new Map(ids.map((id) => [id, store.countEmbeddings(id)]));
    return {
      integrity: store.disk.integrityCheck(),
      photos: store.countPhotos(),
      embedded: (id) => counts.get(id) ?? 0,
      active: store.getSetting('activeModel'),
      pending: store.getSetting('pendingModel'),
    };
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-faults-'));
  modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 9 });
  modelId = (JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as { id: string }).id;
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const figures: string[] = [];
afterAll(() => {
  if (figures.length) process.stdout.write(`fault injection: ${figures.join('; ')}\n`);
});

describe('kill -9 at random points', () => {
  it('during index: every committed photo has its embedding, nothing is lost, the rerun ends with exactly the photos on disk', async () => {
    const rand = seededRandom(1201);
    const root = path.join(tmp, 'photos');
    const N = 64;
    await makePhotos(root, N, 12, { format: 'jpeg', width: 96, height: 96 });
    const data = path.join(tmp, 'data-index');
    const seen: number[] = [];
    let kills = 0;
    const file = path.join(data, 'library.db');
    /** Photos committed so far, read as another process would (0 before the library file exists). */
    const committed = () => {
      if (!existsSync(file)) return 0;
      let db: Database.Database | null = null;
      try {
        db = new Database(file, { readonly: true });
        return db.prepare('SELECT count(*) FROM photos').pluck().get() as number;
      } catch {
        return 0; // being created by the child: no schema yet
      } finally {
        db?.close();
      }
    };
    for (let k = 0; k < 3; k++) {
      // Kill once a seeded random number of further photos is committed (batches of 16: it lands on a boundary or inside a batch).
      const now = committed();
      const target = now + 1 + Math.floor(rand() * Math.max(1, N - now - 2));
      const r = await runCli(['index', root], data, { ready: () => committed() >= target });
      const s = inspect(data);
      expect(s.integrity).toBe('ok');
      // One transaction per batch: a photo row never exists without its embedding.
      expect(s.embedded(modelId)).toBe(s.photos);
      expect(s.photos).toBeLessThanOrEqual(N);
      if (!r.killed) expect(s.photos).toBe(N);
      seen.push(s.photos);
      kills += r.killed ? 1 : 0;
    }
    // Photos committed before a kill are never lost by the next run.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    const last = await runCli(['index', root, '--json'], data, null);
    expect(last.code, last.stderr).toBe(0);
    const s = inspect(data);
    expect(s).toMatchObject({ integrity: 'ok', photos: N });
    expect(s.embedded(modelId)).toBe(N);
    figures.push(`index: ${kills} kills of 3 runs, ${seen.join('/')} of ${N} photos committed after each`);
  }, TIMEOUT);

  it('during models use: the active model always has every photo; the rerun switches with exactly N embeddings', async () => {
    const rand = seededRandom(1202);
    const N = 12_000; // ~0.7 s of re-embedding here: kills after up to 0.5 s land mid-way
    const data = path.join(tmp, 'data-switch');
    await writeSyntheticLibrary(path.join(data, 'library.db'), modelDir, N, 5);
    await installModelCopy(modelDir, data, 'model-b');
    const landed: string[] = [];
    let searched = false;
    for (let k = 0; k < 4; k++) {
      const r = await runCli(['models', 'use', 'model-b'], data, { marker: /Re-embedding/, delayMs: Math.floor(rand() * 500) });
      const s = inspect(data);
      expect(s.integrity).toBe('ok');
      expect(s.photos).toBe(N);
      const active = s.active ?? modelId;
      // Whichever model is active has all N photos: search never comes back empty-handed.
      expect(s.embedded(active)).toBe(N);
      if (active === modelId) {
        expect(s.pending).toBe('model-b');
      } else {
        expect(active).toBe('model-b');
        expect(s.pending).toBeNull();
      }
      landed.push(`${r.killed ? 'killed' : 'finished'} at ${s.embedded('model-b')}`);
      if (!r.killed) expect(active).toBe('model-b');
      // Meanwhile search answers from the old model with every photo (checked once: each CLI start costs).
      if (active === modelId && !searched) {
        searched = true;
        const hits = await runCli(['search', 'a red circle', '--top', '3', '--json'], data, null);
        expect(hits.code, hits.stderr).toBe(0);
        expect(JSON.parse(hits.stdout)).toHaveLength(3);
        expect(hits.stderr).toContain('Note: switching to model model-b did not finish');
      }
      if (active === 'model-b') break;
    }
    const last = await runCli(['models', 'use', 'model-b', '--json'], data, null);
    expect(last.code, last.stderr).toBe(0);
    const s = inspect(data);
    expect(s).toMatchObject({ integrity: 'ok', photos: N, active: 'model-b', pending: null });
    expect(s.embedded('model-b')).toBe(N);
    expect(s.embedded(modelId)).toBe(N); // the old model's vectors stay for a roll-back
    figures.push(`models use (${N} photos): ${landed.join(', ')} embedded by the new model`);
  }, TIMEOUT);

  it('during train: no half model is listed, no .tmp-* folder survives the next start, the rerun saves exactly one new model', async () => {
    const rand = seededRandom(1203);
    const set = path.join(tmp, 'set');
    await makeCaptionedSet(set, { photos: 40, seed: 8 });
    const data = path.join(tmp, 'data-train');
    const models = path.join(data, 'models');
    const stages: string[] = [];
    for (let k = 0; k < 2; k++) {
      const r = await runCli(['train', set, '--epochs', '30', '--json'], data, { marker: /Training/, delayMs: Math.floor(rand() * 2000) });
      stages.push(r.killed ? `killed at "${(r.stderr.trim().split('\n').pop() ?? '').replace(/^Training: /, '')}"` : 'finished');
      // The next start cleans what the killed save left.
      const list = await runCli(['models', '--json'], data, null);
      expect(list.code, list.stderr).toBe(0);
      const listed = (JSON.parse(list.stdout) as { id: string }[]).map((m) => m.id);
      const folders = existsSync(models) ? readdirSync(models) : [];
      expect(folders.filter((f) => f.startsWith('.tmp-'))).toEqual([]);
      // Every folder is a complete model the registry lists (built-in and the test model live elsewhere).
      expect(listed.filter((id) => id !== modelId && id !== 'builtin').sort()).toEqual(folders.sort());
      expect(inspect(data).integrity).toBe('ok');
      if (!r.killed) break;
    }
    const before = existsSync(models) ? readdirSync(models).length : 0;
    const last = await runCli(['train', set, '--epochs', '2', '--json'], data, null);
    expect(last.code, last.stderr).toBe(0);
    expect(readdirSync(models)).toHaveLength(before + 1);
    expect(readdirSync(models).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    figures.push(`train: ${stages.join(', ')}`);
  }, TIMEOUT);
});
