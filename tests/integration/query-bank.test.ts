/**
 * Hubness correction end to end (model/query-bank.ts, search/hub-rerank.ts): the built-in model ships its bank
 * embedded by its own heads; a model without shipped rows embeds its bank on first use; a broken bank is one
 * line; and a text search returns exactly the photos a brute-force corrected ranking puts first. Real ONNX
 * towers, a real library database, real photo files.
 */
import { existsSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend, type Backend } from '../../main/backend/backend';
import { openModel } from '../../main/backend/catalog/open-model';
import { readManifest, writeManifest } from '../../main/backend/catalog/manifest';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { headsDigest, hubOf, parseBank, type QueryBank } from '../../main/backend/model/query-bank';
import { hubsOfRows } from '../../main/backend/search/hub-rerank';
import { seededRandom } from '../../shared/random';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';

const CAPTIONS = ['a red circle', 'a blue square', 'two green lines', 'a dog on the grass', 'a yellow star in the corner', 'three black dots'];
const BANK = { captions: Array.from({ length: 24 }, (_, i) => `${CAPTIONS[i % CAPTIONS.length]} ${['left', 'right', 'top', 'bottom'][i % 4]}`), beta: 15, lambda: 0.75 };

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-bank-'));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the built-in model', () => {
  const dir = builtinModelDir();
  it.skipIf(!existsSync(path.join(dir, 'text_tower.onnx')))(
    'ships its bank embedded by its own heads and caption memory (retraining the heads without re-embedding it would fail here)',
    async () => {
      const manifest = await readManifest(dir);
      const spec = manifest.text.queryBank!;
      expect(spec.vectors).toBeTruthy();
      const model = await openModel(dir);
      try {
        expect(spec.headsDigest).toBe(headsDigest(model.heads));
        const bank = (await model.queryBank())!;
        const captions = parseBank(await fs.readFile(path.join(dir, spec.file), 'utf8'));
        expect(bank.count).toBe(captions.length);
        // Embedded as queries are: by the heads, then moved by the caption memory.
        const fresh = await model.embedQueries(captions.slice(0, 16));
        for (let i = 0; i < 16; i++) {
          const row = bank.vectors.subarray(i * bank.dim, (i + 1) * bank.dim);
          expect(Math.max(...fresh[i]!.map((x, j) => Math.abs(x - row[j]!)))).toBeLessThan(1e-4);
        }
      } finally {
        await model.dispose();
      }
    },
    120_000,
  );
});

describe('a model folder with a bank', () => {
  it('embeds the captions on first use, and ignores shipped rows that other heads embedded', async () => {
    const dir = await generateTestModel(path.join(tmp, 'm1'), { seed: 5, textKind: 'pooled', queryBank: BANK });
    const model = await openModel(dir);
    const bank = (await model.queryBank())!;
    expect(bank.count).toBe(24);
    expect(bank.beta).toBe(15);
    const expected = await model.embedTexts(BANK.captions);
    expect(Array.from(bank.vectors.subarray(0, bank.dim))).toEqual(Array.from(expected[0]!));
    await model.dispose();
    // Rows of zeros under a digest that is not these heads': not used.
    await fs.writeFile(path.join(dir, 'rows.f32'), Buffer.alloc(24 * bank.dim * 4));
    const m = await readManifest(dir);
    m.text.queryBank = { ...m.text.queryBank!, vectors: 'rows.f32', headsDigest: '0000000000000000' };
    await writeManifest(dir, m);
    const again = await openModel(dir);
    expect(Array.from((await again.queryBank())!.vectors.subarray(0, bank.dim))).toEqual(Array.from(expected[0]!));
    await again.dispose();
  }, 60_000);

  it('says in one line when the bank file is missing or too short', async () => {
    const dir = await generateTestModel(path.join(tmp, 'm2'), { seed: 6, textKind: 'pooled', queryBank: BANK });
    await fs.rm(path.join(dir, 'query-bank.txt'));
    const model = await openModel(dir);
    const err = await model.queryBank().catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/query bank .*query-bank\.txt cannot be read .*Re-install the model\.$/);
    expect(String((err as Error).message)).not.toContain('\n');
    await fs.writeFile(path.join(dir, 'query-bank.txt'), 'a dog\na cat\n');
    await expect(model.queryBank()).rejects.toThrow(/has 2 captions; it needs at least 16/);
    await model.dispose();
  }, 60_000);
});

describe('hubs of many photos at once', () => {
  it('are what hubOf gives for each, from one onnxruntime session', async () => {
    const rand = seededRandom(3);
    const unitRows = (n: number, dim: number) => {
      const out = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += (out[i * dim + j] = rand() * 2 - 1) ** 2;
        for (let j = 0; j < dim; j++) out[i * dim + j]! /= Math.sqrt(norm);
      }
      return out;
    };
    const bank: QueryBank = { vectors: unitRows(300, 32), count: 300, dim: 32, beta: 15, lambda: 0.75 };
    const photos = unitRows(50, 32);
    const hubs = await hubsOfRows(bank, photos, 50);
    for (let i = 0; i < 50; i++) expect(hubs[i]).toBeCloseTo(hubOf(bank, photos.subarray(i * 32, (i + 1) * 32)), 5);
  });
});

describe('search with the correction', () => {
  let b: Backend;
  beforeAll(async () => {
    const modelDir = await generateTestModel(path.join(tmp, 'm3'), { seed: 23, textKind: 'pooled', queryBank: BANK });
    await makePhotos(path.join(tmp, 'photos'), 240, 71);
    b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
    await (await b.library.addFolders([path.join(tmp, 'photos')])).done;
  }, 240_000);
  afterAll(async () => b?.close());

  it('returns the photos a brute-force corrected ranking puts first, in that order', async () => {
    const model = await b.state.active.load();
    const bank = (await model.queryBank())!;
    const { ids, matrix, dim } = b.state.store.embeddingsForModel(model.id);
    let moved = 0;
    for (const query of ['a red circle', 'two green lines on the left', 'a dog', 'three black dots at the top']) {
      const [q] = await model.embedTexts([`${query}`]);
      const scored = Array.from(ids, (id, i) => {
        const v = matrix.subarray(i * dim, (i + 1) * dim);
        let cos = 0;
        for (let j = 0; j < dim; j++) cos += q![j]! * v[j]!;
        return { id, cos, s: cos - bank.lambda * hubOf(bank, v) };
      });
      const corrected = [...scored].sort((x, y) => y.s - x.s || x.id - y.id).slice(0, 10).map((x) => x.id);
      const plain = [...scored].sort((x, y) => y.cos - x.cos || x.id - y.id).slice(0, 10).map((x) => x.id);
      if (corrected.join() !== plain.join()) moved++;
      const hits = await b.search.search(query, 10);
      expect(hits.map((h) => h.id)).toEqual(corrected);
      for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    }
    // The fixture is one where the correction changes what comes first (else this test could not fail).
    expect(moved).toBeGreaterThan(0);
  }, 60_000);

  it('pages through the same corrected ranking, whatever the page size (candidates widen until none left out could enter)', async () => {
    const model = await b.state.active.load();
    const bank = (await model.queryBank())!;
    const { ids, matrix, dim } = b.state.store.embeddingsForModel(model.id);
    for (const query of ['a blue square', 'two dogs on the grass']) {
      const [q] = await model.embedTexts([query]);
      const brute = Array.from(ids, (id, i) => {
        const v = matrix.subarray(i * dim, (i + 1) * dim);
        let cos = 0;
        for (let j = 0; j < dim; j++) cos += q![j]! * v[j]!;
        return { id, s: cos - bank.lambda * hubOf(bank, v) };
      })
        .sort((x, y) => y.s - x.s || x.id - y.id)
        .slice(0, 60)
        .map((x) => x.id);
      const paged: number[] = [];
      const scores = new Map<number, number>();
      for (let offset = 0; offset < 60; offset += 6) {
        for (const h of await b.search.search(query, 6, { offset })) {
          paged.push(h.id);
          scores.set(h.id, h.score);
        }
      }
      expect(paged).toEqual(brute);
      // A photo's score does not depend on the page it is on.
      for (const h of await b.search.search(query, 60)) expect(h.score).toBeCloseTo(scores.get(h.id)!, 6);
    }
  }, 120_000);

  it('leaves image-only searches on the plain cosine', async () => {
    const [first] = await b.search.search('a red circle', 1);
    const like = await b.search.searchLike(first!.id, 5);
    const model = await b.state.active.load();
    const { ids, matrix, dim } = b.state.store.embeddingsForModel(model.id);
    const at = Array.from(ids).indexOf(first!.id);
    const me = matrix.subarray(at * dim, (at + 1) * dim);
    for (const h of like) {
      const i = Array.from(ids).indexOf(h.id);
      let cos = 0;
      for (let j = 0; j < dim; j++) cos += me[j]! * matrix[i * dim + j]!;
      expect(h.score).toBeCloseTo(cos, 4);
    }
  }, 60_000);
});
