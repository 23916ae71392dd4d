/**
 * The text gate with the real built-in image tower (onnxruntime), the real text reader and a real Store: generated
 * photos are indexed (their tower features cached), then the text pass scores each photo's cached features and
 * reads only those that may hold text. The shipped gate lets generated receipts, screenshots, documents and signs
 * through (it was trained on other seeds; gradients and shapes look like nothing it knows and mostly pass too); a
 * photo passed over is recorded as such and read when every photo is to be read; a gate for another tower, or a
 * photo without cached features, means reading as without a gate.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../main/backend/catalog/open-model';
import { builtinModelDir } from '../../main/backend/catalog/registry';
import { indexFolders } from '../../main/backend/library/indexer';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { Store } from '../../main/backend/store';
import { TEXT_ENGINE } from '../../main/backend/text/models';
import { TextReader } from '../../main/backend/text/reader';
import { findTextGate, parseTextGate, TEXT_GATE_FILE, TEXT_GATE_FORMAT, textReadMode, TextGate, type TextGateFile } from '../../main/backend/text/text-gate';
import { readTextInPhotos } from '../../main/backend/text/text-pass';
import { makePhotos } from '../helpers/fixtures';
import { makeGeneratedPhotos } from '../helpers/text-photo-set';
import { makeTextPhotos } from '../helpers/text-photos';

let tmp: string;
let model: EmbeddingModel;
let reader: TextReader;
const folder = () => path.join(tmp, 'photos');
/** Photos with words (file names), and without. */
const textFiles: string[] = [];
const plainFiles: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-text-gate-'));
  // The receipt, screenshots and signs of the reader's tests, and generated ones of seeds the gate was not trained on.
  const fixed = await makeTextPhotos(folder(), { plain: 4, only: ['receipt', 'wifi-screenshot', 'dark-screenshot', 'small-print', 'parking-sign'] });
  const made = await makeGeneratedPhotos(folder(), ['screenshot', 'receipt', 'document'], 2, 7);
  const shapes = await makePhotos(folder(), 6, 5);
  for (const p of fixed) (p.text ? textFiles : plainFiles).push(path.basename(p.file));
  textFiles.push(...made.map((p) => path.basename(p.file)));
  plainFiles.push(...shapes.map((p) => path.basename(p.path)));
  model = await openModel(builtinModelDir());
  reader = await TextReader.open();
}, 120_000);

afterAll(async () => {
  await Promise.all([model?.dispose(), reader?.dispose()]);
  rmSync(tmp, { recursive: true, force: true });
});

/** A library with the photos indexed by the built-in model (tower features cached), nothing read yet. */
async function indexed(name: string): Promise<Store> {
  const store = new Store(path.join(tmp, `${name}.db`));
  await indexFolders({ store, model, roots: [folder()] });
  return store;
}

/** Each photo's stored text row by file name. */
function rows(store: Store): Map<string, { text: string; gate: string | null }> {
  const all = store.db
    .prepare('SELECT p.path, t.text, t.gate FROM photos p JOIN photo_text t ON t.content_hash = p.content_hash')
    .all() as { path: string; text: string; gate: string | null }[];
  return new Map(all.map((r) => [path.basename(r.path), { text: r.text, gate: r.gate }]));
}

function gateFile(over: Partial<TextGateFile>): TextGateFile {
  const dim = model.manifest.image.featureDim;
  return { format: TEXT_GATE_FORMAT, formatVersion: 1, towerKey: model.photoFeatureKey, featureDim: dim, threshold: 0, bias: 0, weights: new Array(dim).fill(0), ...over };
}

describe('the shipped text gate', () => {
  it('reads the built-in tower: found for it, not for another tower or feature size', () => {
    const dim = model.manifest.image.featureDim;
    const gate = findTextGate([builtinModelDir()], model.photoFeatureKey, dim);
    // When this fails, the built-in image tower changed: train the gate again (scripts/train-text-gate.ts).
    expect(gate, 'models/builtin/text-gate.json does not fit the built-in image tower: run `npx tsx scripts/train-text-gate.ts --flickr FLICKR8K_TRAIN/Images`').not.toBeNull();
    expect(findTextGate([builtinModelDir()], 'another-tower', dim)).toBeNull();
    expect(findTextGate([builtinModelDir()], model.photoFeatureKey, dim + 1)).toBeNull();
  });

  it('lets receipts, screenshots and signs through to the reader; what it passes over is recorded, and read when every photo is', async () => {
    const store = await indexed('shipped');
    try {
      const gate = findTextGate([builtinModelDir()], model.photoFeatureKey, model.manifest.image.featureDim)!;
      const s = await readTextInPhotos({ store, reader, gate: { gate, towerKey: model.photoFeatureKey } });
      const r = rows(store);
      for (const f of textFiles) {
        expect(r.get(f)?.gate, `${f} passed over`).toBeNull();
        expect(r.get(f)?.text, `no text read in ${f}`).not.toBe('');
      }
      // What the gate passed over is recorded as such (plain photos only: no text photo is among them).
      const gated = plainFiles.filter((f) => r.get(f)?.gate === gate.id);
      expect(s.gated).toBe(gated.length);
      expect(s.read + s.gated).toBe(textFiles.length + plainFiles.length);
      expect(store.text.countGated()).toBe(gated.length);
      expect(store.text.countRead()).toBe(s.read);
      expect(store.text.idsWithAllWords(['invoice', '4711'], 5)).toHaveLength(1);
      // Done: a second run with the same gate has nothing to do.
      expect(store.text.countTodo(TEXT_ENGINE, gate.id)).toBe(0);
      expect((await readTextInPhotos({ store, reader, gate: { gate, towerKey: model.photoFeatureKey } })).read).toBe(0);

      // Reading every photo (PHOTO_SEARCH_READ_TEXT=all): just the ones the gate passed over are read now.
      expect(store.text.countTodo(TEXT_ENGINE, null)).toBe(gated.length);
      const all = await readTextInPhotos({ store, reader, gate: null });
      expect(all).toMatchObject({ read: gated.length, gated: 0, withText: 0 });
      expect(store.text.countGated()).toBe(0);
      expect([...rows(store).values()].every((row) => row.gate === null)).toBe(true);
    } finally {
      store.close();
    }
  }, 180_000);
});

describe('the gate in the text pass', () => {
  it('passes over every photo when nothing scores above its threshold, without loading the reader; a new gate looks again', async () => {
    const store = await indexed('closed');
    try {
      const closed = new TextGate(gateFile({ bias: -5 }));
      let opened = 0;
      const open = async () => (opened++, reader);
      const total = textFiles.length + plainFiles.length;
      expect(await readTextInPhotos({ store, reader: open, gate: { gate: closed, towerKey: model.photoFeatureKey } })).toMatchObject({ read: 0, gated: total, withText: 0 });
      expect(await readTextInPhotos({ store, reader: open, gate: { gate: closed, towerKey: model.photoFeatureKey } })).toMatchObject({ read: 0, gated: 0 });
      expect(opened).toBe(0);
      expect(store.text.countGated()).toBe(total);
      // Another gate (retrained: another id) scores the photos again; reading every photo reads them all.
      const other = new TextGate(gateFile({ bias: -4 }));
      expect(other.id).not.toBe(closed.id);
      expect(store.text.countTodo(TEXT_ENGINE, other.id)).toBe(total);
      expect(store.text.countTodo(TEXT_ENGINE, null)).toBe(total);
      expect(await readTextInPhotos({ store, reader: open, gate: { gate: other, towerKey: model.photoFeatureKey } })).toMatchObject({ read: 0, gated: total });
      expect(opened).toBe(0);
    } finally {
      store.close();
    }
  }, 180_000);

  it('reads a photo whose features are not cached (compacted away), and reads everything through a gate for another tower', async () => {
    const store = await indexed('missing');
    try {
      const closed = new TextGate(gateFile({ bias: -5 }));
      const receipt = store.db.prepare("SELECT content_hash FROM photos WHERE path LIKE '%receipt.jpg'").pluck().get() as string;
      store.db.prepare('DELETE FROM features WHERE content_hash = ?').run(receipt);
      const s = await readTextInPhotos({ store, reader, gate: { gate: closed, towerKey: model.photoFeatureKey } });
      expect(s.read).toBe(1);
      expect(rows(store).get('receipt.jpg')).toMatchObject({ gate: null });
      expect(rows(store).get('receipt.jpg')!.text.replace(/\s+/g, '')).toContain('INVOICE4711');
      // The gate file of another tower is not used: findTextGate gives none, and the pass reads every photo.
      const dir = path.join(tmp, 'other-model');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, TEXT_GATE_FILE), JSON.stringify(gateFile({ towerKey: 'another-tower', bias: -5 })));
      expect(findTextGate([dir], model.photoFeatureKey, model.manifest.image.featureDim)).toBeNull();
      writeFileSync(path.join(dir, TEXT_GATE_FILE), JSON.stringify(gateFile({ bias: -5 })));
      expect(findTextGate([dir], model.photoFeatureKey, model.manifest.image.featureDim)?.id).toBe(closed.id);
    } finally {
      store.close();
    }
  }, 180_000);
});

describe('the gate file and the setting', () => {
  it('refuses a damaged gate file in one line, and scores float16 bytes as the float32 values', () => {
    expect(() => parseTextGate('{', 'g.json')).toThrow(/g\.json is not JSON/);
    expect(() => parseTextGate(JSON.stringify({ format: TEXT_GATE_FORMAT, formatVersion: 1, towerKey: 'k', featureDim: 2, threshold: 0, bias: 0, weights: [1] }), 'g.json')).toThrow(/not a photo-search-text-gate file/);
    const g = parseTextGate(JSON.stringify({ format: TEXT_GATE_FORMAT, formatVersion: 1, towerKey: 'k', featureDim: 3, threshold: 0.5, bias: 0.25, weights: [1, -2, 0.5] }), 'g.json');
    const v = Float32Array.from([0.5, 0.25, -1]);
    const half = Buffer.from(new Uint16Array([0x3800, 0x3400, 0xbc00]).buffer); // 0.5, 0.25, -1 as float16
    expect(g.score(v)).toBeCloseTo(0.25 + 0.5 - 0.5 - 0.5, 6);
    expect(g.scoreRaw({ dim: 3, length: 1, dtype: 'float16', data: half })).toBeCloseTo(g.score(v), 6);
    expect(g.scoreRaw({ dim: 3, length: 1, dtype: 'float32', data: Buffer.from(v.buffer) })).toBeCloseTo(g.score(v), 6);
    expect(g.scoreRaw({ dim: 4, length: 1, dtype: 'float16', data: half })).toBeNull();
    expect(g.passes(null)).toBe(true);
    expect(g.passes(0.4)).toBe(false);
  });

  it('reads PHOTO_SEARCH_READ_TEXT: 0 off, all every photo, else the gate', () => {
    expect(textReadMode({ PHOTO_SEARCH_READ_TEXT: '0' })).toBe('off');
    expect(textReadMode({ PHOTO_SEARCH_READ_TEXT: 'all' })).toBe('all');
    expect(textReadMode({ PHOTO_SEARCH_READ_TEXT: 'ALL ' })).toBe('all');
    expect(textReadMode({})).toBe('gate');
    expect(textReadMode({ PHOTO_SEARCH_READ_TEXT: '1' })).toBe('gate');
  });
});
