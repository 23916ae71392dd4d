/**
 * `photo-search compact` (issue 16, item 5): the cached tower features of photos already embedded with the
 * active model are dropped and the file shrinks; features something still reads stay (photos still to embed,
 * an unfinished model switch, caption text, a captioned set's photos outside the library); search is
 * unchanged; retraining and a model switch afterwards read the photos again. Real SQLite files, real
 * generated ONNX models, real photo files.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompactResult, JobInfo } from '../../shared/api';
import { checkSpace, spaceNeeded } from '../../main/backend/library/compact';
import { indexFolders } from '../../main/backend/library/indexer';
import { openBackend, type Backend } from '../../main/backend/backend';
import { Store } from '../../main/backend/store';
import { readCaptionSet } from '../../main/backend/train/readers';
import { computeSetFeatures, storeFeatureCache } from '../../main/backend/train/features';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { copyModelAs, testModel } from '../helpers/counting-model';
import { CLI_BIN, runCli } from '../helpers/run-cli';
import { seededRandom } from '../../shared/random';
import { installModelCopy, writeSyntheticLibrary } from '../helpers/synthetic-library';
import { useTempModel } from '../helpers/temp-model';

const PHOTOS = 24;
/** Extra photos written straight into the store (no files), so dropping their features frees whole pages. */
const SYNTHETIC = 3000;

let tmp: string;
let modelDir: string;

useTempModel('ps-compact-', 7, (t, m) => {
  tmp = t;
  modelDir = m;
});

/** A library: SYNTHETIC stored photos, then a captioned set's Images/ folder added and indexed. */
async function library(name: string, synthetic = SYNTHETIC): Promise<{ b: Backend; dataDir: string; setDir: string; images: string }> {
  const dataDir = path.join(tmp, name, 'data');
  const setDir = path.join(tmp, name, 'set');
  await makeCaptionedSet(setDir, { photos: PHOTOS, seed: 5 });
  if (synthetic) await writeSyntheticLibrary(path.join(dataDir, 'library.db'), modelDir, synthetic, 3);
  const b = await openBackend({ dataDir, modelDir });
  const images = path.join(setDir, 'Images');
  await (await b.library.addFolders([images])).done;
  return { b, dataDir, setDir, images };
}

/** A plan with no tower: only its total (every cached feature row) is read. */
const KEYLESS = { towerKey: '', modelId: '', pendingModelId: null };

const unit = (dim: number) => Float32Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0));

describe('compact', () => {
  it('drops exactly the features of photos embedded with the active model, keeps the others, shrinks the file and leaves search as it was', async () => {
    const { b, images } = await library('exact');
    try {
      const model = await b.state.active.load();
      const K = model.imageTowerKey;
      const photos = b.state.store.photoIdsMatching({ folders: [images] })!;
      const [h0, h1] = b.state.store.photosByIds([photos[0]!, photos[1]!]).map((p) => p.contentHash) as [string, string];
      const dim = model.manifest.image.featureDim;
      // Kept: caption text features, a captioned-set photo outside the library, a photo not embedded with the
      // active model yet, and h1, whose copy elsewhere in the library is not embedded with it either.
      b.state.store.putFeatures(model.textTowerKey, [{ hash: 'caption-text', data: new Float32Array(dim).fill(0.5) }]);
      b.state.store.putFeatures(K, [{ hash: 'set-photo-outside-library', data: new Float32Array(dim).fill(0.25) }]);
      const other = { modelId: 'another-model', data: unit(model.embedDim) };
      const row = (p: string, hash: string) => ({ path: path.join(images, p), root: images, size: 1, mtimeMs: 1, contentHash: hash, width: 8, height: 8, takenAt: null });
      b.state.store.writeBatch([
        { photo: row('not-embedded-yet.png', 'not-embedded-yet'), features: { towerKey: K, data: new Float32Array(dim).fill(0.125) }, embedding: other },
        { photo: row('copy-of-h1.png', h1), embedding: other },
      ]);
      // Dropped too: an augmented view of a library photo (cached by training), since that photo is embedded.
      b.state.store.putFeatures(`${K}#hflip`, [{ hash: h0, data: new Float32Array(dim).fill(0.75) }]);

      const query = async () => (await b.search.search('a red circle', 40)).map((h) => [h.id, h.score]);
      const hitsBefore = await query();
      const featuresBefore = b.state.store.countFeatures(K);
      expect(featuresBefore).toBe(SYNTHETIC + PHOTOS + 2);

      const dry = await b.compaction.compact({ dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, featuresDropped: SYNTHETIC + PHOTOS - 1 + 1, featuresKept: { stillToEmbed: 2, notInLibrary: 1, otherTowers: 1 } });
      expect(dry.sizes!.database.parts.map((p) => p.name)).toEqual(expect.arrayContaining(['features', 'embeddings', 'photos']));
      expect(dry.sizes!.photos).toBe(SYNTHETIC + PHOTOS + 2);
      expect(b.state.store.countFeatures(K)).toBe(featuresBefore); // a dry run changes nothing

      const fileBefore = statSync(b.state.store.file).size;
      const r = await b.compaction.compact();
      expect(r).toMatchObject({ dryRun: false, featuresDropped: SYNTHETIC + PHOTOS, sizes: null });
      expect(r.tradeOff).toBe(`Trade-off: retraining, or switching to a retrained model, reads and decodes these ${(SYNTHETIC + PHOTOS).toLocaleString('en-US')} photos again (their features are cached again); search is unaffected.`);
      // Exactly the kept rows remain.
      expect(b.state.store.countFeatures(K)).toBe(3);
      for (const h of [h1, 'not-embedded-yet', 'set-photo-outside-library']) expect(b.state.store.hasFeatures(K, h), h).toBe(true);
      expect(b.state.store.hasFeatures(K, h0)).toBe(false);
      expect(b.state.store.countFeatures(`${K}#hflip`)).toBe(0);
      expect(b.state.store.countFeatures(model.textTowerKey)).toBe(1);
      // The file shrank, by at least the dropped vectors' bytes, and is sound.
      const fileAfter = statSync(b.state.store.file).size;
      expect(r.beforeBytes).toBeGreaterThanOrEqual(fileBefore);
      expect(r.afterBytes).toBe(fileAfter + (statSync(`${b.state.store.file}-wal`, { throwIfNoEntry: false })?.size ?? 0));
      expect(fileAfter).toBeLessThan(fileBefore - SYNTHETIC * dim * 2);
      expect(fileAfter).toBeLessThanOrEqual(dry.afterBytes); // the dry run's estimate is an upper bound
      expect(b.state.store.disk.integrityCheck()).toBe('ok');
      expect(await query()).toEqual(hitsBefore);

      // A second run has nothing left to drop.
      expect((await b.compaction.compact()).featuresDropped).toBe(0);
    } finally {
      await b.close();
    }
  });

  it('retraining and switching to the retrained model afterwards read and decode the photos again', async () => {
    const { b, setDir } = await library('retrain', 0);
    try {
      const model = await b.state.active.load();
      const K = model.imageTowerKey;
      expect((await b.compaction.compact()).featuresDropped).toBe(PHOTOS);
      expect(b.state.store.countFeatures(K)).toBe(0);

      // What training reads: every photo of the set is decoded again, then cached again.
      const set = await readCaptionSet(setDir);
      const first = await computeSetFeatures(model, set, storeFeatureCache(b.state.store));
      expect(first.decoded).toBe(PHOTOS);
      expect(first.images).toHaveLength(PHOTOS);
      expect(b.state.store.countFeatures(K)).toBe(PHOTOS);
      expect((await computeSetFeatures(model, set, storeFeatureCache(b.state.store))).decoded).toBe(0);

      // A real training run after compact.
      expect((await b.compaction.compact()).featuresDropped).toBe(PHOTOS);
      const r = await b.training.startTraining({ set: setDir, name: 'after-compact', epochs: 1, seed: 1 }).done;
      expect(r.model).toBeTruthy();
      expect(b.state.store.countFeatures(K)).toBe(PHOTOS); // it read the photos and cached them again

      // Switching to it after another compact: the photos are decoded and indexed again with the new heads.
      expect((await b.compaction.compact()).featuresDropped).toBe(PHOTOS);
      const job = await b.modelSwitch.activateModel('after-compact');
      expect(job).not.toBeNull();
      await job!.done;
      const st = await b.library.status();
      expect(st).toMatchObject({ model: r.model, images: PHOTOS, embedded: PHOTOS, pendingModel: null });
      expect(b.state.store.countFeatures(K)).toBe(PHOTOS);
      expect(await b.search.search('a red circle', 5)).toHaveLength(5);
    } finally {
      await b.close();
    }
  }, 300_000);

  it('keeps the features an unfinished model switch still needs, so the switch finishes from them', async () => {
    const dataDir = path.join(tmp, 'pending', 'data');
    const n = 1300; // six re-embedding batches of 256: a cancel at the first leaves most to do
    await writeSyntheticLibrary(path.join(dataDir, 'library.db'), modelDir, n, 3);
    await installModelCopy(modelDir, dataDir, 'model-b');
    const b = await openBackend({ dataDir, modelDir });
    try {
      const job = (await b.modelSwitch.activateModel('model-b'))!;
      const off = b.onEvent((e) => {
        if (e.type === 'job' && e.job.id === job.info.id && e.job.done > 0) b.state.jobs.cancel(job.info.id);
      });
      await expect(job.done).rejects.toThrow(/cancelled/);
      off();
      const pending = (await b.library.status()).pendingModel!;
      expect(pending.embedded).toBeGreaterThan(0);
      expect(pending.embedded).toBeLessThan(n);

      const r = await b.compaction.compact();
      expect(r.featuresDropped).toBe(pending.embedded);
      expect(r.featuresKept.stillToEmbed).toBe(n - pending.embedded);
      // These photos have no files: the switch can finish only from the features compact kept.
      await (await b.modelSwitch.resume())!.done;
      expect(await b.library.status()).toMatchObject({ model: 'model-b', embedded: n, pendingModel: null, images: n });
    } finally {
      await b.close();
    }
  }, 180_000);

  it('refuses while indexing runs, and an index job started meanwhile waits for it', async () => {
    const { b, images } = await library('busy', 0);
    try {
      const running = b.library.startIndex();
      await expect(b.compaction.compact()).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/^Indexing is running \(.*\)\. Wait for it to finish or cancel it, then compact the library\.$/) });
      await running.done;

      const order: string[] = [];
      const stages: string[] = [];
      const off = b.onEvent((e) => {
        if (e.type === 'job' && e.job.kind === 'index') stages.push((e.job as JobInfo).stage);
      });
      const compacting = b.compaction.compact().then((r: CompactResult) => (order.push('compact'), r));
      // Writes that would block this thread behind the rewrite are refused meanwhile; jobs wait instead.
      await expect(b.library.removeFolder(images)).rejects.toMatchObject({ code: 'busy', message: 'The library is being compacted. Wait for it to finish, then remove a folder.' });
      const index = b.library.startIndex().done.then(() => order.push('index'));
      await Promise.all([compacting, index]);
      off();
      expect(stages).toContain('Waiting for the library to be compacted');
      expect(order).toEqual(['compact', 'index']);
      expect((await compacting).featuresDropped).toBe(PHOTOS);
      await expect(b.compaction.compact()).resolves.toMatchObject({ featuresDropped: 0 });
    } finally {
      await b.close();
    }
  });

  it('the indexer decodes a photo again when its cached features vanish during a run (compact in another process)', async () => {
    const dir = path.join(tmp, 'vanish');
    const { images } = await library('vanish-src', 0).then(async (l) => (await l.b.close(), l));
    const a = await testModel(path.join(dir, 'model-a'), { seed: 3 });
    const bModel = await copyModelAs(path.join(dir, 'model-a'), path.join(dir, 'model-b'), 'model-b');
    /** A store whose feature reads are preceded by another process's compact (the rows are deleted). */
    class CompactedMeanwhile extends Store {
      compactBeforeReads = false;
      override getFeatures(towerKey: string, hashes: readonly string[]) {
        if (this.compactBeforeReads) this.dropCompactableFeatures({ towerKey, modelId: a.id, pendingModelId: null });
        return super.getFeatures(towerKey, hashes);
      }
    }
    const store = new CompactedMeanwhile(path.join(dir, 'library.db'));
    try {
      await indexFolders({ store, model: a, roots: [images] });
      expect(store.countFeatures(a.imageTowerKey)).toBe(PHOTOS);
      // Model b (same tower): the photos are unchanged and their features cached, so they are queued without
      // decoding; the features are gone by the time the batch reads them.
      store.compactBeforeReads = true;
      const decodedBefore = bModel.calls.prepareImage;
      const s = await indexFolders({ store, model: bModel, roots: [images] });
      expect(s).toMatchObject({ skipped: 0, updated: PHOTOS, images: PHOTOS });
      expect(bModel.calls.prepareImage - decodedBefore).toBe(PHOTOS);
      expect(store.countEmbeddings('model-b')).toBe(PHOTOS);
      expect(store.countSkipped()).toBe(0);
    } finally {
      store.close();
      await a.dispose();
      await bModel.dispose();
    }
  });
});

describe('kill -9 during compact', () => {
  it('leaves a sound library with all or none of the features dropped, wherever the kill lands; the next run finishes', async () => {
    const dataDir = path.join(tmp, 'kill', 'data');
    const n = 12_000;
    await writeSyntheticLibrary(path.join(dataDir, 'library.db'), modelDir, n, 4);
    const env = { ...process.env, PHOTO_SEARCH_DATA: dataDir, PHOTO_SEARCH_MODEL_DIR: modelDir };
    const counts = () => {
      const st = new Store(path.join(dataDir, 'library.db'));
      try {
        return { integrity: st.disk.integrityCheck(), photos: st.countPhotos(), features: st.featureCompactionPlan(KEYLESS).total.rows, embedded: st.countMissingEmbedding('x') };
      } finally {
        st.close();
      }
    };
    // At the stage lines the CLI prints: as the delete starts, as VACUUM starts, then a seeded delay after the
    // delete started. Where each kill lands depends on the machine; the checks hold wherever it lands.
    const rand = seededRandom(11);
    const kills = [
      { marker: 'Dropping cached features', delay: 0 },
      { marker: 'Rewriting the library file', delay: 0 },
      { marker: 'Dropping cached features', delay: Math.floor(rand() * 500) },
    ];
    const outcomes: string[] = [];
    for (const { marker, delay } of kills) {
      const killed = await new Promise<boolean>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI_BIN, 'compact'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let timer: NodeJS.Timeout | null = null;
        child.stderr.on('data', (c: Buffer) => {
          if (!timer && c.toString().includes(marker)) timer = setTimeout(() => child.kill('SIGKILL'), delay);
        });
        child.on('error', reject);
        child.on('exit', (_code, signal) => {
          if (timer) clearTimeout(timer);
          resolve(signal === 'SIGKILL');
        });
      });
      const c = counts();
      expect(c.integrity).toBe('ok');
      expect(c.photos).toBe(n);
      expect(c.embedded).toBe(n); // countMissingEmbedding of a model nobody has: every photo is still there
      expect([n, 0]).toContain(c.features); // one transaction: all dropped or none
      outcomes.push(`${killed ? 'killed' : 'finished'} ${delay} ms after "${marker}": ${c.features} features`);
    }
    const done = await runCli(['compact', '--json'], { env });
    expect(done.code, done.stderr).toBe(0);
    expect(counts()).toMatchObject({ integrity: 'ok', photos: n, features: 0 });
    console.log(`compact kill -9: ${outcomes.join('; ')}`);
  }, 300_000); // up to four CLI starts: several seconds each on a loaded 2-core machine
});

describe('the free-space check', () => {
  it('asks for twice the compacted size on one drive, the real free space, and refuses in one line when short', () => {
    const file = path.join(tmp, 'space', 'library.db');
    const dir = path.dirname(file);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const after = 500 * 1024 ** 2;
    const [need, ...more] = spaceNeeded(file, after, dir); // the temporary copy on the same drive
    expect(more).toEqual([]);
    expect(need!.path).toBe(dir);
    expect(need!.bytes).toBe(2 * (after + 64 * 1024 ** 2));
    const s = statfsSync(dir);
    expect(Math.abs(need!.free - s.bavail * s.bsize)).toBeLessThan(256 * 1024 ** 2); // other writers meanwhile
    expect(() => checkSpace(file, [{ path: dir, bytes: 3 * 1024 ** 3, free: 2 * 1024 ** 3 }])).toThrow(
      `Not enough free space to compact ${file}: it needs 3.0 GB free in ${dir} and 2.0 GB is free. Free some space there and run it again; nothing was changed.`,
    );
    expect(() => checkSpace(file, [{ path: dir, bytes: 1024, free: 1025 }])).not.toThrow();
  });
});

describe('photo-search compact and status --sizes (CLI)', () => {
  it('prints what each part costs, what compact would free, then compacts, in words and as JSON', async () => {
    const { b, dataDir } = await library('cli');
    await b.close();
    const env = { ...process.env, PHOTO_SEARCH_DATA: dataDir, PHOTO_SEARCH_MODEL_DIR: modelDir };
    const cli = (args: string[]) => runCli(args, { env, timeout: 120_000 });

    const sizes = await cli(['status', '--sizes', '--json']);
    expect(sizes.code, sizes.stderr).toBe(0);
    const st = JSON.parse(sizes.stdout) as { sizes: { photos: number; database: { parts: { name: string; bytes: number }[] } } };
    expect(st.sizes.photos).toBe(SYNTHETIC + PHOTOS);
    const parts = st.sizes.database.parts;
    expect(parts.map((p) => p.name)).toEqual(expect.arrayContaining(['features', 'embeddings', 'photos', 'photos_hash']));
    expect(parts.map((p) => p.bytes)).toEqual([...parts.map((p) => p.bytes)].sort((x, y) => y - x)); // largest first
    const text = await cli(['status', '--sizes']);
    expect(text.stdout).toMatch(/^features \(table\)\s+\d+(\.\d+)? (KB|MB)\s+[\d,]+ B$/m);
    expect(text.stdout).toMatch(/^total\s+/m);

    const dry = await cli(['compact', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`Dry run: compact would drop ${(SYNTHETIC + PHOTOS).toLocaleString('en-US')} cached features`);
    expect(dry.stdout).toMatch(/^It needs .+ free in .+$/m);

    const real = await cli(['compact', '--json']);
    expect(real.code, real.stderr).toBe(0);
    const r = JSON.parse(real.stdout) as CompactResult;
    expect(r).toMatchObject({ dryRun: false, featuresDropped: SYNTHETIC + PHOTOS, photos: SYNTHETIC + PHOTOS });
    expect(r.afterBytes).toBeLessThan(r.beforeBytes);
    expect(r.tradeOff).toMatch(/^Trade-off: retraining, or switching to a retrained model, reads and decodes these [\d,]+ photos again/);

    const again = await cli(['compact']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Compacted the library file: .+ → .+ \(0 cached features dropped; [\d,]+ photos\)\.$/m);
    expect(again.stdout).toMatch(/^Trade-off: nothing dropped this time; photos whose features an earlier compact dropped are read and decoded again/m);
  }, 300_000); // five CLI runs
});
