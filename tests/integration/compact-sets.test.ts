/**
 * Dropping what captioned sets cached (issue 24): `compact --sets` also drops the features of photos and caption
 * lines that no library photo has, says so in words that are right, and asks for free space in proportion to a
 * small file. Real store and backend over a generated model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend, type Backend } from '../../main/backend/backend';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';

const PHOTOS = 6;
let tmp: string;
let b: Backend;
let env: NodeJS.ProcessEnv;
let K: string;
let T: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-compact-sets-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3 });
  await makePhotos(path.join(tmp, 'photos'), PHOTOS, 9);
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
  delete env.PHOTO_SEARCH_DEBUG;
  b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
  await (await b.library.addFolders([path.join(tmp, 'photos')])).done;
  const model = await b.state.active.load();
  K = model.imageTowerKey;
  T = model.textTowerKey;
  const dim = model.manifest.image.featureDim;
  // What training on a captioned set caches: its photos (two views each) and its caption lines.
  for (const h of ['set-photo-1', 'set-photo-2']) {
    b.state.store.putFeatures(K, [{ hash: h, data: new Float32Array(dim).fill(0.25) }]);
    b.state.store.putFeatures(`${K}#hflip`, [{ hash: h, data: new Float32Array(dim).fill(0.5) }]);
  }
  b.state.store.putFeatures(T, [{ hash: 'caption-1', data: new Float32Array(dim).fill(0.5) }]);
}, 240_000);

afterAll(async () => {
  await b?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('compact --sets', () => {
  it('says in words what it keeps, how to drop the sets too, and needs free space in proportion to the file', async () => {
    const r = await runCli(['compact', '--dry-run'], { env, cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "Kept cached features (still needed): 4 of captioned sets' photos (outside the library; a photo caches one row per view), 1 of other towers (caption text, other models). `compact --sets` drops the captioned sets' ones too (retraining on a set then reads it again).",
    );
    const need = /It needs ([\d.]+) MB free/.exec(r.stdout);
    expect(need, r.stdout).not.toBeNull();
    expect(Number(need![1])).toBeLessThan(20); // a file of a few hundred KB, not 64 MB of slack twice
  });

  it('drops the sets\' features with the library\'s, keeps nothing of them, and says what retraining then does', async () => {
    const dry = await b.compaction.compact({ dryRun: true, sets: true });
    expect(dry).toMatchObject({ featuresDropped: PHOTOS + 5, featuresKept: { stillToEmbed: 0, notInLibrary: 0, otherTowers: 0 } });
    const r = await b.compaction.compact({ sets: true });
    expect(r.featuresDropped).toBe(PHOTOS + 5);
    expect(r.tradeOff).toMatch(/these 6 photos again .* Retraining on a captioned set reads and decodes its photos \(and encodes its captions\) again\.$/);
    expect(b.state.store.countFeatures(K)).toBe(0);
    expect(b.state.store.countFeatures(`${K}#hflip`)).toBe(0);
    expect(b.state.store.countFeatures(T)).toBe(0);
    expect(b.state.store.disk.integrityCheck()).toBe('ok');
    expect((await b.search.search('a red circle', 3)).length).toBe(3);
  });
});
