/**
 * Bytes per photo on disk, part by part, before and after `compact` (docs/BENCHMARKS.md "Library file size").
 *
 *   nice -n 10 npx tsx scripts/bench-library-size.ts --photos 1000000 [--dir DIR] [--keep] [--json]
 *
 * A scratch library is filled through the indexer's own write (Store.writeBatch, batches of 16, one
 * transaction each) with what the indexer stores for a camera photo: a path like
 * /home/u/Pictures/2019/07/IMG_1234.JPG under one library folder, size, file time, the sha256 content hash,
 * 4032×3024 pixels, an EXIF date; the built-in model's tower features (its image tower's key and feature
 * size, cached as float16 like the indexer does) and its embedding (its embedding size, float32, unit length).
 * Vector values are seeded random: SQLite stores them uncompressed, so only their sizes matter. The search
 * index's sidecar is written as the app writes it. Thumbnails are left out: they are made on first display
 * and their cache is capped (1 GiB by default), whatever the library's size.
 *
 * Then: SQLite's page statistics per table and index (dbstat), `compact` as the product runs it (the rows in
 * one transaction, then VACUUM), and the same statistics after. The write-ahead log is measured after the
 * delete and after the VACUUM (before the checkpoints that empty it): the disk space the rewrite needs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { seededRandom } from '../shared/random';
import { librarySize, sqliteTempDir, spaceNeeded } from '../main/backend/library/compact';
import { openModel } from '../main/backend/catalog/open-model';
import { dataPaths } from '../main/backend/paths';
import { LiveIndex } from '../main/backend/search/live-index';
import { Store, type BatchItem, type StorageBreakdown } from '../main/backend/store';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '100000' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(values.photos);
if (!Number.isInteger(n) || n < 1) throw new Error('--photos must be a whole number ≥ 1.');
const log = (m: string) => process.stderr.write(`${m}\n`);
const BUILTIN = path.join(__dirname, '..', 'models', 'builtin');
const ROOT = '/home/u/Pictures';
const BATCH = 16; // the indexer's default batch

/** A unit vector of `dim` seeded values. */
function unitVector(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let i = 0; i < dim; i++) s += (v[i] = rand() * 2 - 1) ** 2;
  const k = 1 / Math.sqrt(s);
  for (let i = 0; i < dim; i++) v[i] *= k;
  return v;
}

/** What the indexer stores for photo i: a camera file in a year/month folder with an EXIF date. */
function photoRow(i: number, rand: () => number) {
  const year = 2012 + (i % 13);
  const month = 1 + Math.floor(rand() * 12);
  const day = 1 + Math.floor(rand() * 28);
  const mm = String(month).padStart(2, '0');
  const dd = String(day).padStart(2, '0');
  const time = `${String(Math.floor(rand() * 24)).padStart(2, '0')}:${String(Math.floor(rand() * 60)).padStart(2, '0')}:${String(Math.floor(rand() * 60)).padStart(2, '0')}`;
  const taken = `${year}-${mm}-${dd}T${time}`;
  const mtimeMs = Date.parse(`${taken}Z`) + Math.floor(rand() * 1000);
  return {
    path: `${ROOT}/${year}/${mm}/IMG_${String(i % 10000).padStart(4, '0')}${i >= 10000 ? `_${Math.floor(i / 10000)}` : ''}.JPG`,
    root: ROOT,
    size: 2_500_000 + Math.floor(rand() * 6_000_000),
    mtimeMs,
    contentHash: createHash('sha256').update(`photo ${i}`).digest('hex'),
    width: 4032,
    height: 3024,
    takenAt: taken,
  };
}

interface PartRow {
  name: string;
  kind: string;
  bytes: number;
  perPhoto: number;
  payloadPerPhoto: number;
}

function partRows(b: StorageBreakdown, photos: number): PartRow[] {
  const rows: PartRow[] = b.parts.map((p) => ({
    name: p.kind === 'index' ? `${p.name} (index of ${p.table})` : p.name,
    kind: p.kind,
    bytes: p.bytes,
    perPhoto: p.bytes / photos,
    payloadPerPhoto: p.payload / photos,
  }));
  rows.push({ name: 'free pages', kind: 'free', bytes: b.freePages * b.pageSize, perPhoto: (b.freePages * b.pageSize) / photos, payloadPerPhoto: 0 });
  return rows;
}

async function main(): Promise<void> {
  const dir = values.dir ? path.resolve(values.dir) : mkdtempSync(path.join(os.tmpdir(), 'ps-size-'));
  const paths = dataPaths(dir);
  const model = await openModel(BUILTIN);
  const featureDim = model.manifest.image.featureDim;
  const embedDim = model.embedDim;
  const store = new Store(paths.db);
  const rand = seededRandom(1);
  const timings: Record<string, number> = {};
  try {
    if (store.countPhotos() !== 0) throw new Error(`${paths.db} is not empty: give an empty --dir.`);
    log(`Filling ${n.toLocaleString('en-US')} photos into ${paths.db} (features ${featureDim}-d float16, embeddings ${embedDim}-d float32, tower ${model.imageTowerKey})`);
    let t = performance.now();
    const feature = new Float32Array(featureDim);
    for (let s = 0; s < n; s += BATCH) {
      const items: BatchItem[] = [];
      for (let i = s; i < Math.min(n, s + BATCH); i++) {
        // Feature values as the built-in tower gives them (small, non-negative after the signed square
        // root): only their float16 size matters to the file.
        for (let j = 0; j < featureDim; j++) feature[j] = rand() * 0.2;
        items.push({
          photo: photoRow(i, rand),
          features: { towerKey: model.photoFeatureKey, data: feature.slice() },
          embedding: { modelId: model.id, data: unitVector(embedDim, rand) },
        });
      }
      store.writeBatch(items);
      if (s % 100_000 === 0 && s) log(`  ${s.toLocaleString('en-US')} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    timings.fillSeconds = (performance.now() - t) / 1000;
    store.db.pragma('wal_checkpoint(TRUNCATE)');

    log('Writing the search index sidecar');
    t = performance.now();
    const live = new LiveIndex({ store, embedDim: async () => embedDim, sidecarDir: paths.searchIndex });
    await live.get(model.id);
    await live.flush();
    await live.close();
    timings.sidecarSeconds = (performance.now() - t) / 1000;

    log('Measuring (dbstat)');
    t = performance.now();
    const before = await librarySize(store, dir);
    const beforeParts = partRows(store.disk.storageBreakdown(), n);
    timings.measureSeconds = (performance.now() - t) / 1000;

    log('Compacting');
    const compaction = { towerKey: model.imageTowerKey, modelId: model.id, pendingModelId: null };
    const plan = store.featureCompactionPlan(compaction);
    const estimatedAfter = store.disk.usedBytes() - plan.droppable.bytes;
    const needed = spaceNeeded(store.file, estimatedAfter, sqliteTempDir());
    t = performance.now();
    const dropped = store.dropCompactableFeatures(compaction);
    timings.dropSeconds = (performance.now() - t) / 1000;
    const walAfterDrop = store.disk.fileBytes().wal;
    // Store.vacuum's steps, with the log measured before the last checkpoint empties it.
    t = performance.now();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.db.exec('VACUUM');
    const walAfterVacuum = store.disk.fileBytes().wal;
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    timings.vacuumSeconds = (performance.now() - t) / 1000;
    const after = await librarySize(store, dir);
    const afterParts = partRows(store.disk.storageBreakdown(), n);

    const result = {
      photos: n,
      featureDim,
      embedDim,
      before: { fileBytes: before.database.bytes, perPhoto: before.database.bytes / n, sidecarPerPhoto: before.searchIndexBytes / n, parts: beforeParts },
      after: { fileBytes: after.database.bytes, perPhoto: after.database.bytes / n, parts: afterParts },
      dropped,
      estimatedAfterBytes: estimatedAfter,
      spaceNeeded: needed,
      walAfterDrop,
      walAfterVacuum,
      timings,
      load: os.loadavg(),
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const per = (x: number) => Math.round(x).toLocaleString('en-US');
      const names = [...new Set([...beforeParts, ...afterParts].map((p) => p.name))];
      const lines = ['| part | before: bytes/photo | of which row data | after compact: bytes/photo |', '| --- | ---: | ---: | ---: |'];
      for (const name of names) {
        const b = beforeParts.find((p) => p.name === name);
        const a = afterParts.find((p) => p.name === name);
        lines.push(`| ${name} | ${b ? per(b.perPhoto) : '—'} | ${b ? per(b.payloadPerPhoto) : '—'} | ${a ? per(a.perPhoto) : '—'} |`);
      }
      lines.push(`| **library.db** | **${per(before.database.bytes / n)}** | | **${per(after.database.bytes / n)}** |`);
      lines.push(`| search-index/ sidecar | ${per(before.searchIndexBytes / n)} | | ${per(after.searchIndexBytes / n)} |`);
      process.stdout.write(`${lines.join('\n')}\n\n`);
      process.stdout.write(
        `${n.toLocaleString('en-US')} photos: library.db ${(before.database.bytes / 1024 ** 3).toFixed(2)} GiB → ${(after.database.bytes / 1024 ** 3).toFixed(2)} GiB; ${dropped.toLocaleString('en-US')} features dropped.\n` +
          `Estimated after (upper bound): ${(estimatedAfter / 1024 ** 3).toFixed(2)} GiB. Space check asked for: ${needed.map((x) => `${(x.bytes / 1024 ** 3).toFixed(2)} GiB in ${x.path}`).join(', ')}.\n` +
          `WAL after the delete: ${(walAfterDrop / 1024 ** 3).toFixed(2)} GiB; after VACUUM (before its checkpoint): ${(walAfterVacuum / 1024 ** 3).toFixed(2)} GiB.\n` +
          `Seconds: ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}. Load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}.\n`,
      );
    }
  } finally {
    store.close();
    await model.dispose();
    if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
