/**
 * Results a person can read (issue 24): each hit of a query with text carries a match percentage (how far it
 * stands out from the library for that query), the search takes a minimum match, and the CLI draws a line where
 * the weaker matches start. Real store, index and a generated model over real files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_MATCH } from '../../shared/api';
import { openBackend, type Backend } from '../../main/backend/backend';
import { matchPercent } from '../../main/backend/search/relevance';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';

let tmp: string;
let b: Backend;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-match-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 23, knownWords: true });
  await makePhotos(path.join(tmp, 'photos'), 40, 61);
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
  delete env.PHOTO_SEARCH_DEBUG;
  b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
  await (await b.library.addFolders([path.join(tmp, 'photos')])).done;
}, 240_000);

afterAll(async () => {
  await b?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('match percentage', () => {
  it('is 50% for a photo that stands out as much as the median described photo on Flickr8k dev, rising with the score', () => {
    const spread = { mean: 0.08, sd: 0.13 };
    expect(matchPercent(0.08 + 2.3 * 0.13, spread)).toBe(50);
    expect(matchPercent(0.08 + 1.79 * 0.13, spread)).toBe(24);
    expect(matchPercent(0.08 + 2.74 * 0.13, spread)).toBe(73);
    expect(matchPercent(0.08, spread)).toBe(1);
    expect(matchPercent(0.9, spread)).toBe(100);
  });

  it('comes with every hit of a text search, 0–100, in the order of the scores; image-only searches have none', async () => {
    const hits = await b.search.search('a red circle', 40);
    expect(hits).toHaveLength(40);
    for (const h of hits) {
      expect(Number.isInteger(h.match)).toBe(true);
      expect(h.match).toBeGreaterThanOrEqual(0);
      expect(h.match).toBeLessThanOrEqual(100);
    }
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.match!).toBeLessThanOrEqual(hits[i - 1]!.match!);
    // Most of a library does not stand out for a query: the tail is weak, the best is not.
    expect(hits[0]!.match!).toBeGreaterThan(hits.at(-1)!.match!);
    expect(hits.at(-1)!.match!).toBeLessThan(GOOD_MATCH);
    const like = await b.search.searchLike(hits[0]!.id, 5);
    for (const h of like) expect(h.match).toBeNull();
  });

  it('minMatch keeps only the photos at least that good', async () => {
    const all = await b.search.search('a red circle', 40);
    const good = await b.search.search('a red circle', 40, { minMatch: GOOD_MATCH });
    expect(good.length).toBe(all.filter((h) => h.match! >= GOOD_MATCH).length);
    expect(good.length).toBeLessThan(all.length);
    expect(good.map((h) => h.id)).toEqual(all.slice(0, good.length).map((h) => h.id));
  });

  it('the CLI prints percentages, a line where weaker matches start, and match in --json', async () => {
    const all = await b.search.search('a red circle', 40);
    const strong = all.filter((h) => h.match! >= GOOD_MATCH).length;
    const r = await runCli(['search', 'a', 'red', 'circle', '--top', '40'], { env, cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(41);
    expect(lines[strong]).toBe(`── weaker matches (below ${GOOD_MATCH}%) ──`);
    for (const l of lines.filter((_, i) => i !== strong)) expect(l).toMatch(/^ *\d{1,3}% {2}\S/);
    const json = JSON.parse((await runCli(['search', 'a', 'red', 'circle', '--top', '3', '--json'], { env, cwd: tmp })).stdout) as { match: number }[];
    expect(json.map((h) => h.match)).toEqual(all.slice(0, 3).map((h) => h.match));
    const min = JSON.parse((await runCli(['search', 'a', 'red', 'circle', '--top', '40', '--min-match', '50', '--json'], { env, cwd: tmp })).stdout) as { match: number }[];
    expect(min.every((h) => h.match >= 50)).toBe(true);
    expect((await runCli(['search', 'a', 'dog', '--min-match', '120'], { env, cwd: tmp })).code).toBe(1);
  });
});
