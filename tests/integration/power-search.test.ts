/**
 * Power-user search (issue 15) through the backend and the CLI, on real files and a generated model: query
 * algebra, filters that run inside the top-K, paging and order, search by an image's bytes, duplicates.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendPort } from '../../main/backend/handlers';
import { openBackend, type Backend } from '../../main/backend/backend';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';
import { seededRandom } from '../../shared/random';

let tmp: string;
let b: Backend;
let env: NodeJS.ProcessEnv;
const root = () => path.join(tmp, 'photos');

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-power-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 23, knownWords: true });
  // 3 folders × 8 photos, the formats cycling jpeg/png/webp; file times spread over 2021–2023.
  for (const [i, sub] of ['beach', 'city', 'home'].entries()) {
    const photos = await makePhotos(path.join(root(), sub), 8, 60 + i);
    photos.forEach((p, j) => {
      const t = new Date(2021 + i, j, 15, 12, 0, 0);
      utimesSync(p.path, t, t);
    });
  }
  // An exact copy and a smaller re-encoded copy of one photo.
  mkdirSync(path.join(root(), 'copies'));
  copyFileSync(path.join(root(), 'beach', 'photo-000.jpg'), path.join(root(), 'copies', 'same.jpg'));
  await sharp(path.join(root(), 'city', 'photo-001.png')).resize(180).jpeg({ quality: 92 }).toFile(path.join(root(), 'copies', 'smaller.jpg'));
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
  b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
  await (await b.library.addFolders([root()])).done;
}, 240_000);

afterAll(async () => {
  await b?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const under = (p: string, dir: string) => p.startsWith(path.join(root(), dir) + path.sep);

describe('filters, paging and order', () => {
  it('a folder filter still returns as many results as asked for, the best of that folder in order', async () => {
    const all = await b.search.search('a red circle', 26);
    expect(all).toHaveLength(26);
    const inCity = all.filter((h) => under(h.path, 'city'));
    const hits = await b.search.search('a red circle', 5, { folders: [path.join(root(), 'city')] });
    expect(hits.map((h) => h.id)).toEqual(inCity.slice(0, 5).map((h) => h.id));
    // Many folders, and a type: only PNG files of beach or home, all 5 of them found though they rank low.
    const png = await b.search.search('a red circle', 20, { folders: [path.join(root(), 'beach'), path.join(root(), 'home')], types: ['png'] });
    expect(png.map((h) => h.id).sort()).toEqual(all.filter((h) => (under(h.path, 'beach') || under(h.path, 'home')) && h.path.endsWith('.png')).map((h) => h.id).sort());
    expect(png.length).toBeGreaterThan(3);
  });

  it('filters by date taken (the file time here), pages, sorts and drops weak matches', async () => {
    const y2022 = await b.search.search('a shape', 50, { after: '2022', before: '2022-12' });
    expect(y2022.map((h) => path.basename(path.dirname(h.path))).every((d) => d === 'city')).toBe(true);
    expect(y2022).toHaveLength(8);
    const june = await b.search.search('a shape', 50, { after: '2021-06', before: '2021-06-30' });
    expect(june.map((h) => h.path)).toEqual([path.join(root(), 'beach', 'photo-005.webp')]);
    expect(june[0]!.takenAt).toBe('2021-06-15T12:00:00'); // no EXIF date: the file's time, as the filter read it

    const first = await b.search.search('a blue square', 12);
    const page2 = await b.search.search('a blue square', 4, { offset: 4 });
    expect(page2.map((h) => h.id)).toEqual(first.slice(4, 8).map((h) => h.id));

    const byPath = await b.search.search('a blue square', 12, { sort: 'path' });
    expect(new Set(byPath.map((h) => h.id))).toEqual(new Set(first.map((h) => h.id)));
    expect(byPath.map((h) => h.path)).toEqual([...byPath.map((h) => h.path)].sort());
    const byDate = await b.search.search('a blue square', 12, { sort: 'date' });
    const dates = byDate.map((h) => h.id);
    expect(new Set(dates)).toEqual(new Set(first.map((h) => h.id)));

    const cut = first[5]!.score;
    const strong = await b.search.search('a blue square', 12, { minScore: cut });
    expect(strong.map((h) => h.id)).toEqual(first.filter((h) => h.score >= cut).map((h) => h.id));
  });
});

describe('query algebra and search by image', () => {
  it('adds, subtracts and weighs parts; a photo part is not its own result; parts that cancel say so', async () => {
    const photo = (await b.search.search('a red circle', 1))[0]!;
    const like = await b.search.searchLike(photo.id, 5);
    expect(await b.search.search(`photo:${photo.id}`, 5)).toEqual(like);
    expect(like.map((h) => h.id)).not.toContain(photo.id);
    const mixed = await b.search.search(`a green triangle + 3:photo:${photo.id}`, 5);
    expect(mixed.map((h) => h.id)).not.toContain(photo.id);
    const minus = await b.search.search('a red circle - a blue square', 26);
    const plain = await b.search.search('a red circle', 26);
    expect(minus.map((h) => h.id)).not.toEqual(plain.map((h) => h.id));
    await expect(b.search.search('a red circle - a red circle')).rejects.toThrow('The parts of this query cancel each other out: nothing is left to search for.');
    await expect(b.search.search('a red circle +')).rejects.toThrow("Nothing after '+' at character 14: write a word or a photo after it.");
  });

  it('searches by an image’s bytes, whether or not the library holds it, with the same checks', async () => {
    const bytes = await sharp(path.join(root(), 'home', 'photo-003.jpg')).resize(150).png().toBuffer();
    const port = backendPort(b);
    const r = await port.call('searchImage', { image: bytes.toString('base64'), top: 3 });
    expect(r.ok && r.value[0]!.path).toBe(path.join(root(), 'home', 'photo-003.jpg'));
    const bad = await port.call('searchImage', { image: Buffer.from('not an image at all').toString('base64') });
    expect(bad).toMatchObject({ ok: false, code: 'invalid_input' });
    expect(!bad.ok && bad.message.split('\n')).toHaveLength(1);
  });
});

/** A 224 px photo of 8×8 random colour blocks (seeded): unlike the shape fixtures, each looks different. */
async function blocks(file: string, seed: number): Promise<void> {
  const rng = seededRandom(seed);
  const px = Buffer.from(Array.from({ length: 8 * 8 * 3 }, () => Math.floor(rng() * 256)));
  await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).resize(224, 224, { kernel: 'nearest' }).png().toFile(file);
}

describe('duplicates', () => {
  it('groups exact copies first, then a resized copy with its original, and nothing else', async () => {
    const dir = path.join(tmp, 'dups');
    mkdirSync(dir);
    for (let i = 0; i < 12; i++) await blocks(path.join(dir, `b${i}.png`), 300 + i);
    copyFileSync(path.join(dir, 'b0.png'), path.join(dir, 'copy-of-b0.png'));
    await sharp(path.join(dir, 'b5.png')).resize(200).jpeg({ quality: 95 }).toFile(path.join(dir, 'b5-smaller.jpg'));
    const d = await openBackend({ dataDir: path.join(tmp, 'dup-data'), modelDir: env.PHOTO_SEARCH_MODEL_DIR! });
    try {
      await (await d.library.addFolders([dir])).done;
      // The generated test model squeezes all photos into a narrow cone, so the threshold is set between the
      // copy's similarity to its original and the closest pair of different photos (which it must exceed).
      const photos = await d.search.search('a shape', 20);
      const byName = new Map(photos.map((p) => [path.basename(p.path), p.id]));
      const copySim = (await d.search.searchLike(byName.get('b5.png')!, 1))[0]!;
      expect(path.basename(copySim.path)).toBe('b5-smaller.jpg');
      let closestOther = -1;
      for (const p of photos) {
        const name = path.basename(p.path);
        if (name.startsWith('b5') || name.includes('b0')) continue;
        const [best] = await d.search.searchLike(p.id, 1);
        closestOther = Math.max(closestOther, best!.score);
      }
      expect(copySim.score).toBeGreaterThan(closestOther);
      const threshold = (copySim.score + closestOther) / 2;
      const groups = await d.search.duplicates(threshold);
      const names = groups.map((g) => [g.kind, g.photos.map((p) => path.basename(p.path)).sort()]);
      expect(names).toEqual([
        ['exact', ['b0.png', 'copy-of-b0.png']],
        ['near', ['b5-smaller.jpg', 'b5.png']],
      ]);
      const near = groups[1]!;
      expect(near.minScore).toBeCloseTo(copySim.score, 5);
      expect(near.photos[1]!.score).toBeCloseTo(near.minScore, 6);
      // The photos carry what the UI shows beside them.
      expect(near.photos.find((p) => p.path.endsWith('b5.png'))).toMatchObject({ width: 224, height: 224, bytes: expect.any(Number) });
      // A stricter threshold than their similarity leaves only the exact copies.
      expect((await d.search.duplicates(Math.min(1, near.minScore + 1e-3))).map((g) => g.kind)).toEqual(['exact']);
    } finally {
      await d.close();
    }
  }, 120_000);
});

describe('the CLI', () => {
  it('filters with flags, mixes --like with text, and lists duplicates', async () => {
    const cli = (args: string[]) => runCli(args, { env, timeout: 120_000 });
    const r = await cli(['search', 'a', 'red', 'circle', '--folder', path.join(root(), 'home'), '--type', 'webp', '--top', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const hits = JSON.parse(r.stdout) as { path: string }[];
    expect(hits).toHaveLength(2); // home holds 8 photos, 2 of them WebP (photo-002, photo-005)
    expect(hits.every((h) => under(h.path, 'home') && h.path.endsWith('.webp'))).toBe(true);

    const like = await cli(['search', '--like', path.join(root(), 'copies', 'smaller.jpg'), '--like', path.join(root(), 'beach', 'photo-002.webp'), 'a', 'shape', '--top', '2', '--json']);
    expect(like.code, like.stderr).toBe(0);
    expect(JSON.parse(like.stdout)).toHaveLength(2);

    const badDate = await cli(['search', 'a', 'shape', '--after', '2024-13']);
    expect(badDate.code).not.toBe(0);
    expect(badDate.stderr.trim()).toBe('photo-search: after: a date is YYYY, YYYY-MM or YYYY-MM-DD');

    const dup = await cli(['duplicates', '--json']);
    expect(dup.code, dup.stderr).toBe(0);
    expect((JSON.parse(dup.stdout) as { kind: string }[])[0]!.kind).toBe('exact');
    const text = await cli(['duplicates', '--threshold', '0.999999']);
    expect(text.stdout).toMatch(/^1 group\(s\) of exact copies, \d+ of near-duplicates \(similarity ≥ 0.999999\):/);
    expect(text.stdout).toContain(path.join(root(), 'copies', 'same.jpg'));
    // Small files read in KB (or bytes), never "0.0 MB".
    expect(text.stdout).toMatch(/ \d+(\.\d)? KB| \d+ B/);
    expect(text.stdout).not.toContain('0.0 MB');
  }, 300_000);
});
