/**
 * Benchmarks of the power-search features (docs/BENCHMARKS.md "Power search"): the near-duplicate finder and
 * filtered search, on a scratch library of N photos in 10 folders, dates spread over 10 years, three file
 * types, with clustered embeddings (photos of a folder resemble each other) and 1% planted near-copies.
 *
 *   npx tsx scripts/bench-power-search.ts --photos 100000 --dim 256 [--queries 50] [--json]
 *
 * Filtered search is timed through the product's own search (`runSearch`) with `photo:ID` queries, so the
 * figures include the store's filter query, the top-K among the admitted photos and the result rows; only
 * the text tower is left out (its p50 is reported with the model).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SearchOptions } from '../shared/api';
import { seededRandom } from '../shared/random';
import type { EmbeddingModel } from '../main/backend/model/types';
import { dataPaths } from '../main/backend/paths';
import { findDuplicates } from '../main/backend/search/duplicates';
import { runSearch } from '../main/backend/search/searcher';
import { VectorIndex } from '../main/backend/search/vector-index';
import { Store, type BatchItem } from '../main/backend/store';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '256' },
    queries: { type: 'string', default: '50' },
    threshold: { type: 'string', default: '0.95' },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(values.photos);
const dim = Number(values.dim);
const queries = Number(values.queries);
const threshold = Number(values.threshold);
const log = (m: string) => process.stderr.write(`${m}\n`);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'photo-search-power-'));
  const store = new Store(dataPaths(dir).db);
  const modelId = 'bench';
  try {
    const rng = seededRandom(7);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const centres = Array.from({ length: 100 }, () => Float32Array.from({ length: dim }, gauss));
    const types = ['jpg', 'png', 'webp'];
    const t0 = performance.now();
    let previous: Float32Array | null = null;
    let previousPixels = '';
    let planted = 0;
    // Pixel hashes (photos/pixel-hash.ts): random 255-bit ones; a planted copy takes its original's with 8 bits changed.
    const randomPixels = () => Array.from({ length: 64 }, (_, k) => (k === 63 ? 2 * Math.floor(rng() * 8) : Math.floor(rng() * 16)).toString(16)).join('');
    const nearPixels = (hex: string) => {
      const d = hex.split('');
      for (let f = 0; f < 8; f++) {
        const k = Math.floor(rng() * 63); // a hex digit other than the last (bit 0 stays 0)
        d[k] = (parseInt(d[k]!, 16) ^ (1 << Math.floor(rng() * 4))).toString(16);
      }
      return d.join('');
    };
    for (let start = 0; start < n; start += 2000) {
      const items: BatchItem[] = [];
      for (let i = start; i < Math.min(n, start + 2000); i++) {
        const folder = i % 10;
        const v = new Float32Array(dim);
        const copy = previous !== null && i % 100 === 1;
        const pixels = copy ? nearPixels(previousPixels) : randomPixels();
        previousPixels = pixels;
        if (previous && copy) {
          // A near-copy of the photo before (a burst shot): the same vector with a little noise.
          for (let j = 0; j < dim; j++) v[j] = previous[j]! + 0.15 * gauss() / Math.sqrt(dim);
          planted++;
        } else {
          const c = centres[(folder * 10 + Math.floor(rng() * 10)) % centres.length]!;
          for (let j = 0; j < dim; j++) v[j] = 0.6 * c[j]! + gauss();
        }
        let s = 0;
        for (const x of v) s += x * x;
        for (let j = 0; j < dim; j++) v[j]! /= Math.sqrt(s);
        previous = v;
        const year = 2015 + Math.floor(rng() * 10);
        items.push({
          photo: {
            path: `/lib/f${folder}/p${i}.${types[i % 3]}`,
            root: '/lib',
            size: 1,
            mtimeMs: Date.UTC(year, Math.floor(rng() * 12), 1 + Math.floor(rng() * 28)),
            contentHash: `h${i}`,
            width: null,
            height: null,
            takenAt: null,
            pixels: { view: 'squash', hash: pixels },
          },
          embedding: { modelId, data: v },
        });
      }
      store.writeBatch(items);
    }
    log(`filled ${n} photos (${dim}-d) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // Near-duplicates over the whole library.
    const d0 = performance.now();
    const all = store.embeddingsWithHashes(modelId, 'squash');
    const readMs = performance.now() - d0;
    const d1 = performance.now();
    const groups = await findDuplicates(all, { threshold });
    const findMs = performance.now() - d1;
    const found = groups.reduce((s, g) => s + g.ids.length - 1, 0);
    log(`duplicates: read ${readMs.toFixed(0)} ms, find ${findMs.toFixed(0)} ms, ${groups.length} groups (${planted} planted)`);

    // Filtered search through runSearch, photo:ID queries.
    const index = new VectorIndex(dim);
    await index.load(store.iterateEmbeddings(modelId), { expectedCount: n });
    const noModel = {} as EmbeddingModel; // photo:ID parts never reach the model
    const cases: [string, SearchOptions][] = [
      ['no filter', {}],
      ['one folder of 10 (10%)', { folders: ['/lib/f3'] }],
      ['one folder + PNG (3.3%)', { folders: ['/lib/f3'], types: ['png'] }],
      ['one year (10%)', { after: '2019', before: '2019' }],
      ['one month of one folder (~0.08%)', { folders: ['/lib/f3'], after: '2019-06', before: '2019-06' }],
    ];
    const rows: { filter: string; admitted: number; filterMs: number; p50Ms: number; p95Ms: number; results: number }[] = [];
    for (const [name, opts] of cases) {
      // The filter's own query, once (then it is kept until the library changes, as when paging).
      const f0 = performance.now();
      const admitted = store.photoIdsMatching({ ...opts, near: undefined })?.length ?? n;
      const filterMs = performance.now() - f0;
      const times: number[] = [];
      let results = 0;
      for (let q = 0; q < queries + 3; q++) {
        const id = 1 + Math.floor(rng() * n);
        const t = performance.now();
        const hits = await runSearch({ store, modelId, model: noModel, index }, { query: `photo:${id}`, top: 20, ...opts });
        if (q >= 3) times.push(performance.now() - t);
        results = hits.length;
      }
      rows.push({ filter: name, admitted, filterMs, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), results });
      log(`${name}: admitted ${admitted}, p50 ${percentile(times, 50).toFixed(2)} ms`);
    }
    await index.dispose?.();
    const result = { photos: n, dim, threshold, duplicates: { readMs, findMs, groups: groups.length, pairsFound: found, planted }, search: rows, loadAverage: os.loadavg()[0] };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(`| filter | admitted | filter query ms | search p50 ms | p95 ms |\n| --- | ---: | ---: | ---: | ---: |\n`);
      for (const r of rows) process.stdout.write(`| ${r.filter} | ${r.admitted} | ${r.filterMs.toFixed(1)} | ${r.p50Ms.toFixed(2)} | ${r.p95Ms.toFixed(2)} |\n`);
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
