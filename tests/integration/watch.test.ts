import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderWatcher } from '../../main/backend/library/watch';

let tmp: string;
let watcher: FolderWatcher | null = null;

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-watch-'));
});
afterEach(async () => {
  await watcher?.close();
  watcher = null;
  rmSync(tmp, { recursive: true, force: true });
});

/** A watcher whose reports queue up, and a way to wait for the next one. */
function watched() {
  const changes: string[][] = [];
  const problems: string[] = [];
  let wake: (() => void) | null = null;
  const w = new FolderWatcher({
    debounceMs: 250,
    pollMs: 100,
    onChange: (roots) => {
      changes.push(roots.sort());
      wake?.();
    },
    onProblem: (_root, message) => {
      problems.push(message);
      wake?.();
    },
  });
  const next = (what: () => boolean, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out; changes ${JSON.stringify(changes)} problems ${JSON.stringify(problems)}`)), ms);
      const check = () => {
        if (what()) {
          clearTimeout(t);
          wake = null;
          resolve();
        }
      };
      wake = check;
      check();
    });
  return { w, changes, problems, next };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FolderWatcher', () => {
  it('batches a burst of added, edited, moved and deleted photos into reports of their folders, and ignores other files', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    mkdirSync(path.join(a, 'sub'), { recursive: true });
    mkdirSync(b);
    const { w, changes, next } = watched();
    watcher = w;
    await w.setRoots([a, b]);
    expect(w.watching().sort()).toEqual([a, b]);

    for (let i = 0; i < 5; i++) writeFileSync(path.join(a, 'sub', `new-${i}.jpg`), `photo ${i}`);
    await next(() => changes.length >= 1);
    await sleep(800);
    // Five files are batched (the debounce), and only the folder they are under is reported.
    expect(changes.length).toBeLessThan(5);
    expect(new Set(changes.flat())).toEqual(new Set([a]));

    const seen = () => new Set(changes.slice(mark).flat());
    let mark = changes.length;
    writeFileSync(path.join(b, 'x.jpg'), 'edited');
    renameSync(path.join(a, 'sub', 'new-0.jpg'), path.join(a, 'moved.jpg'));
    await next(() => seen().has(a) && seen().has(b));

    await sleep(800);
    mark = changes.length;
    unlinkSync(path.join(a, 'moved.jpg'));
    await next(() => seen().has(a));
    expect(seen()).toEqual(new Set([a]));

    // Not photos, or hidden: nothing to index, no report.
    writeFileSync(path.join(a, 'notes.txt'), 'text');
    writeFileSync(path.join(a, '.hidden.jpg'), 'hidden');
    mark = changes.length;
    await sleep(900);
    expect(changes.length).toBe(mark);

    // A folder no longer in the library is no longer watched.
    await w.setRoots([a]);
    writeFileSync(path.join(b, 'y.jpg'), 'after');
    await sleep(900);
    expect(changes.length).toBe(mark);
  });

  it('survives its folder going away and catches up when it comes back', async () => {
    const drive = path.join(tmp, 'drive');
    mkdirSync(drive);
    const { w, changes, problems, next } = watched();
    watcher = w;
    await w.setRoots([drive]);
    rmSync(drive, { recursive: true });
    await next(() => problems.some((p) => p.includes('is gone')));
    expect(w.watching()).toEqual([]);

    mkdirSync(drive);
    writeFileSync(path.join(drive, 'back.jpg'), 'photo');
    await next(() => problems.some((p) => p.includes('is back')) && changes.some((c) => c.includes(drive)));
    expect(w.watching()).toEqual([drive]);
    const before = changes.length;
    writeFileSync(path.join(drive, 'later.jpg'), 'photo');
    await next(() => changes.length > before);
  });

  it('closes every watcher after a folder with photos was moved away and back (nothing keeps the process alive)', async () => {
    const watchers = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    // The earlier tests' watchers were closed; their handles go asynchronously.
    for (let i = 0; i < 100 && watchers() > 0; i++) await sleep(20);
    const start = watchers();
    const lib = path.join(tmp, 'lib');
    mkdirSync(path.join(lib, 'sub'), { recursive: true });
    for (const f of ['a.jpg', 'b.jpg', 'sub/c.jpg']) writeFileSync(path.join(lib, f), 'photo');
    const { w, problems, next } = watched();
    watcher = w;
    await w.setRoots([lib]);
    expect(watchers()).toBeGreaterThan(start);
    for (let flap = 1; flap <= 2; flap++) {
      renameSync(lib, `${lib}.away`);
      await next(() => problems.filter((p) => p.includes('is gone')).length === flap);
      renameSync(`${lib}.away`, lib);
      await next(() => problems.filter((p) => p.includes('is back')).length === flap);
    }
    expect(w.watching()).toEqual([lib]);
    await w.close();
    // fs.watch handles close asynchronously: wait (bounded) for them to go; a leaked one never does.
    for (let i = 0; i < 100 && watchers() > start; i++) await sleep(20);
    expect(watchers()).toBe(start);
  });

  it('watches a folder that does not exist yet from the moment it appears', async () => {
    const later = path.join(tmp, 'later');
    const { w, changes, next } = watched();
    watcher = w;
    await w.setRoots([later]);
    expect(w.watching()).toEqual([]);
    mkdirSync(later);
    await next(() => changes.some((c) => c.includes(later)));
    expect(w.watching()).toEqual([later]);
  });
});
