import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPhotoName, normalizeRoots, walkPhotos, type WalkEvent } from '../../main/backend/library/walk';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ps-walk-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function collect(roots: string[], signal?: AbortSignal): Promise<WalkEvent[]> {
  const out: WalkEvent[] = [];
  for await (const ev of walkPhotos(roots, signal)) out.push(ev);
  return out;
}

const files = (evs: WalkEvent[]) =>
  evs.filter((e): e is Extract<WalkEvent, { kind: 'file' }> => e.kind === 'file').map((e) => path.relative(dir, e.path)).sort();

function touch(rel: string, content = 'x'): string {
  const p = path.join(dir, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

describe('walkPhotos', () => {
  it('finds photo extensions case-insensitively and skips hidden files and folders', async () => {
    const photos = ['a.jpg', 'b.JPEG', 'c.png', 'd.WebP', 'e.gif', 'f.tiff', 'g.TIF', 'h.avif', 'j.HEIC', 'k.heif', 'l.cr2', 'm.DNG', 'n.nef', path.join('sub', 'deep', 'i.jpg')];
    for (const f of photos) touch(f);
    for (const f of ['notes.txt', 'clip.mov', 'jpg', '.hidden.jpg', '.cache/x.jpg', 'sub/.git/y.png']) touch(f);
    const evs = await collect([dir]);
    expect(files(evs)).toEqual([...photos].sort());
    expect(evs.at(-1)).toEqual({ kind: 'root-done', root: dir, complete: true });
    expect(isPhotoName('X.JPG')).toBe(true);
    expect(isPhotoName('x.jpg.txt')).toBe(false);
  });

  it('follows symlinks that stay inside the folder and survives a loop', async () => {
    touch('photos/a.jpg');
    touch('photos/sub/c.jpg');
    symlinkSync(path.join(dir, 'photos'), path.join(dir, 'photos', 'loop')); // photos/loop → photos
    symlinkSync(path.join(dir, 'photos', 'sub'), path.join(dir, 'photos', 'inner'));
    symlinkSync(path.join(dir, 'photos', 'sub', 'c.jpg'), path.join(dir, 'photos', 'alias.jpg'));
    const evs = await collect([path.join(dir, 'photos')]);
    // sub/ is walked once (through itself or the link, whichever comes first).
    const found = files(evs);
    expect(found.filter((f) => !f.endsWith('c.jpg'))).toEqual([path.join('photos', 'a.jpg'), path.join('photos', 'alias.jpg')]);
    expect(found.filter((f) => f.endsWith('c.jpg'))).toHaveLength(1);
    expect(evs.filter((e) => e.kind === 'skip')).toEqual([]);
    expect(evs.at(-1)).toMatchObject({ kind: 'root-done', complete: true });
  });

  it('skips links that lead out of the folder, with the reason, instead of following them', async () => {
    touch('photos/a.jpg');
    touch('elsewhere/b.jpg');
    touch('secret.txt', 'not a photo');
    symlinkSync(path.join(dir, 'elsewhere'), path.join(dir, 'photos', 'linked'));
    symlinkSync(path.join(dir, 'elsewhere', 'b.jpg'), path.join(dir, 'photos', 'alias.jpg'));
    symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'photos', 'secret.jpg'));
    symlinkSync('/dev/zero', path.join(dir, 'photos', 'zero.jpg'));
    const evs = await collect([path.join(dir, 'photos')]);
    expect(files(evs)).toEqual([path.join('photos', 'a.jpg')]);
    const skips = evs.filter((e): e is Extract<WalkEvent, { kind: 'skip' }> => e.kind === 'skip').map((e) => [path.basename(e.path), e.reason]);
    expect(skips.sort()).toEqual([
      ['alias.jpg', `links to ${path.join(dir, 'elsewhere', 'b.jpg')}, outside the library folder ${path.join(dir, 'photos')}: not indexed (add that folder itself to index it)`],
      ['linked', expect.stringMatching(/^links to .*elsewhere, outside the library folder/)],
      ['secret.jpg', expect.stringMatching(/^links to .*secret\.txt, outside the library folder/)],
      ['zero.jpg', expect.stringMatching(/^links to \/dev\/zero, outside the library folder/)],
    ]);
    expect(evs.at(-1)).toMatchObject({ kind: 'root-done', complete: true });
  });

  it('reports broken links and FIFOs named like photos instead of reading them', async () => {
    touch('ok.jpg');
    symlinkSync(path.join(dir, 'nowhere.jpg'), path.join(dir, 'broken.jpg'));
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'broken-not-photo'));
    execFileSync('mkfifo', [path.join(dir, 'pipe.jpg')]);
    const evs = await collect([dir]);
    expect(files(evs)).toEqual(['ok.jpg']);
    const skips = evs.filter((e) => e.kind === 'skip').map((e) => [path.basename((e as { path: string }).path), (e as { reason: string }).reason]);
    expect(skips.sort()).toEqual([
      ['broken.jpg', expect.stringMatching(/^broken link/)],
      ['pipe.jpg', expect.stringMatching(/not a regular file/)],
    ]);
  });

  it('records a missing root as incomplete, and an unreadable folder (when not root)', async () => {
    const evs = await collect([path.join(dir, 'missing')]);
    expect(evs).toEqual([
      { kind: 'dir-error', path: path.join(dir, 'missing'), root: path.join(dir, 'missing'), reason: expect.stringMatching(/cannot open the folder: not found/) },
      { kind: 'root-done', root: path.join(dir, 'missing'), complete: false },
    ]);
    // chmod 000 does not stop root (uid 0) from reading; the assertion only holds for normal users.
    if (process.getuid?.() === 0) return;
    touch('locked/a.jpg');
    touch('open/b.jpg');
    chmodSync(path.join(dir, 'locked'), 0o000);
    try {
      const evs2 = await collect([dir]);
      expect(files(evs2)).toEqual([path.join('open', 'b.jpg')]);
      expect(evs2).toContainEqual(expect.objectContaining({ kind: 'dir-error', path: path.join(dir, 'locked') }));
      expect(evs2.at(-1)).toMatchObject({ kind: 'root-done', complete: false });
    } finally {
      chmodSync(path.join(dir, 'locked'), 0o755);
    }
  });

  it('stops when cancelled, without a root-done', async () => {
    for (let i = 0; i < 50; i++) touch(`d${i % 5}/p${i}.jpg`);
    const ac = new AbortController();
    const out: WalkEvent[] = [];
    for await (const ev of walkPhotos([dir], ac.signal)) {
      out.push(ev);
      if (out.length === 10) ac.abort();
    }
    expect(out.length).toBe(10);
    expect(out.some((e) => e.kind === 'root-done')).toBe(false);
  });

  it('walks a nested root once', () => {
    const a = path.join(dir, 'a');
    expect(normalizeRoots([path.join(a, 'b'), a, a + path.sep, path.join(dir, 'ab')])).toEqual([a, path.join(dir, 'ab')]);
  });
});
