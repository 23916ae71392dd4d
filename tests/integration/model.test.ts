import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { readManifest } from '../../main/backend/catalog/manifest';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel } from '../../main/backend/model/types';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-model-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

/** Two halves in different colours: left/right swapped images must not look the same to the tower. */
async function twoTone(left: string, right: string, w = 120, h = 80): Promise<Buffer> {
  const half = await sharp({ create: { width: w / 2, height: h, channels: 3, background: right } }).png().toBuffer();
  return sharp({ create: { width: w, height: h, channels: 3, background: left } })
    .composite([{ input: half, left: w / 2, top: 0 }])
    .jpeg()
    .toBuffer();
}

for (const layout of ['native', 'hf'] as const) {
  describe(`generated ${layout} model`, () => {
    let model: EmbeddingModel;
    beforeAll(async () => {
      const dir = await generateTestModel(path.join(tmp, layout), { layout, seed: 3 });
      model = await openModel(dir);
    });
    afterAll(async () => {
      await model.dispose();
    });

    it('embeds images and texts to unit vectors of embedDim', async () => {
      expect(model.embedDim).toBe(64);
      const imgs = await Promise.all([twoTone('red', 'blue'), twoTone('blue', 'red'), twoTone('green', 'green')].map(async (b) => model.prepareImage(await b)));
      const feats = await model.imageFeatures(imgs);
      expect(feats).toHaveLength(3);
      for (const f of feats) expect(f.length).toBe(model.manifest.image.featureDim);
      const emb = await model.embedImageFeatures(feats);
      for (const e of emb) {
        expect(e.length).toBe(64);
        expect(norm(e)).toBeCloseTo(1, 5);
      }
      // Different images → clearly different embeddings (mirror images too).
      expect(dot(emb[0], emb[1])).toBeLessThan(0.99);
      expect(dot(emb[0], emb[2])).toBeLessThan(0.99);
      const texts = await model.embedTexts(['a red dog on the beach', 'two blue circles on the left', 'zebra xylophone!']);
      for (const t of texts) {
        expect(t.length).toBe(64);
        expect(norm(t)).toBeCloseTo(1, 5);
      }
      expect(dot(texts[0], texts[1])).toBeLessThan(0.99);
    });

    it('is deterministic: same input, same output, batched or alone', async () => {
      const buf = await twoTone('orange', 'purple');
      const a = await model.prepareImage(buf);
      const b = await model.prepareImage(buf);
      expect(Buffer.from(a.tensor.buffer).equals(Buffer.from(b.tensor.buffer))).toBe(true);
      const other = await model.prepareImage(await twoTone('white', 'black'));
      const [fa] = await model.imageFeatures([a]);
      const [, fb] = await model.imageFeatures([other, b]);
      for (let i = 0; i < fa.length; i++) expect(fb[i]).toBeCloseTo(fa[i], 5);
      const [t1] = await model.embedTexts(['a dog']);
      const [, t2] = await model.embedTexts(['a much longer caption about a cat in the snow', 'a dog']);
      for (let i = 0; i < t1.length; i++) expect(t2[i]).toBeCloseTo(t1[i], 5);
    });

    it('has stable tower keys that depend on the tower', async () => {
      expect(model.imageTowerKey).toMatch(/^[0-9a-f]{16}$/);
      expect(model.textTowerKey).toMatch(/^[0-9a-f]{16}$/);
      expect(model.imageTowerKey).not.toBe(model.textTowerKey);
      const again = await openModel(model.dir);
      expect(again.imageTowerKey).toBe(model.imageTowerKey);
      expect(again.textTowerKey).toBe(model.textTowerKey);
      await again.dispose();
      const other = await openModel(await generateTestModel(path.join(tmp, `${layout}-seed4`), { layout, seed: 4 }));
      expect(other.imageTowerKey).not.toBe(model.imageTowerKey);
      expect(other.textTowerKey).not.toBe(model.textTowerKey);
      await other.dispose();
    });
  });
}

describe('text features', () => {
  it('are [length, D] per text for sequence towers, padding stripped', async () => {
    const model = await openModel(await generateTestModel(path.join(tmp, 'seq'), { textKind: 'sequence' }));
    const [a, b] = await model.textFeatures(['red dog', 'a red dog on the left']);
    const D = model.manifest.text.featureDim;
    expect(a.length).toBe(4); // [CLS] red dog [SEP]
    expect(a.data.length).toBe(4 * D);
    expect(b.length).toBe(8); // [CLS] a red dog on the left [SEP]
    // Same token, same row: "red" is row 1 in a and row 2 in b.
    expect(Array.from(a.data.slice(D, 2 * D))).toEqual(Array.from(b.data.slice(2 * D, 3 * D)));
    await model.dispose();
  });

  it('are token 0 of the sequence for cls towers', async () => {
    const dir = await generateTestModel(path.join(tmp, 'cls'), { textKind: 'sequence' });
    const seq = await openModel(dir);
    const [s] = await seq.textFeatures(['red dog']);
    await seq.dispose();
    const m = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    m.text.outputKind = 'cls';
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(m));
    const cls = await openModel(dir);
    const [c] = await cls.textFeatures(['red dog']);
    expect(c.length).toBe(1);
    expect(Array.from(c.data)).toEqual(Array.from(s.data.slice(0, 48)));
    const [e] = await cls.embedTextFeatures([c]);
    expect(norm(e)).toBeCloseTo(1, 5);
    await cls.dispose();
  });

  it('are one vector per text for pooled towers', async () => {
    const model = await openModel(await generateTestModel(path.join(tmp, 'pooled'), { textKind: 'pooled' }));
    expect(model.manifest.text.outputKind).toBe('pooled');
    const feats = await model.textFeatures(['red dog', 'blue']);
    expect(feats.map((f) => [f.length, f.data.length])).toEqual([
      [1, 48],
      [1, 48],
    ]);
    const [e] = await model.embedTextFeatures(feats.slice(0, 1));
    expect(norm(e)).toBeCloseTo(1, 5);
    await model.dispose();
  });
});

describe('Hugging Face CLIP export folder', () => {
  it('synthesizes a manifest from preprocessor_config.json and tokenizer files', async () => {
    const dir = await generateTestModel(path.join(tmp, 'hf-probe'), { layout: 'hf', imageSize: 48, embedDim: 40, hfConfig: false });
    const model = await openModel(dir);
    const m = model.manifest;
    expect(m.source).toBe('huggingface');
    expect(m.image).toMatchObject({ file: 'onnx/vision_model.onnx', input: 'pixel_values', output: 'image_embeds', featureDim: 40 });
    expect(m.image.preprocess).toMatchObject({ size: 48, resize: 'cover', rescale: 255, layout: 'nchw' });
    expect(m.image.preprocess.mean[0]).toBeCloseTo(0.48145466, 6);
    expect(m.text).toMatchObject({ maxLength: 77, padId: 0, outputKind: 'pooled', featureDim: 40, idsType: 'int64' });
    expect(model.embedDim).toBe(40);
    // Identity adapter heads: the embedding is the tower output, normalized.
    const prepared = await model.prepareImage(await twoTone('red', 'green'));
    const [f] = await model.imageFeatures([prepared]);
    const [e] = await model.embedImageFeatures([f]);
    const n = norm(f);
    for (let i = 0; i < f.length; i++) expect(e[i]).toBeCloseTo(f[i] / n, 5);
    await model.dispose();
  });

  it('accepts the quantized file name when the plain one is missing', async () => {
    const dir = await generateTestModel(path.join(tmp, 'hf-q'), { layout: 'hf' });
    await fs.rename(path.join(dir, 'onnx', 'vision_model.onnx'), path.join(dir, 'onnx', 'vision_model_quantized.onnx'));
    const model = await openModel(dir);
    expect(model.manifest.image.file).toBe('onnx/vision_model_quantized.onnx');
    const [f] = await model.imageFeatures([await model.prepareImage(await twoTone('red', 'green'))]);
    expect(f.length).toBe(64);
    await model.dispose();
  });

  it('names the missing text tower', async () => {
    const dir = await generateTestModel(path.join(tmp, 'hf-notext'), { layout: 'hf' });
    await fs.rm(path.join(dir, 'onnx', 'text_model.onnx'));
    await expect(openModel(dir)).rejects.toThrow(/looks like a Hugging Face CLIP export but lacks onnx\/text_model\.onnx/);
  });

  it('names a missing output', async () => {
    const dir = await generateTestModel(path.join(tmp, 'hf-badout'), { layout: 'hf', hfConfig: false });
    // A vision model whose output is the text tower's: image_embeds is missing.
    await fs.copyFile(path.join(dir, 'onnx', 'text_model.onnx'), path.join(dir, 'onnx', 'vision_model.onnx'));
    await expect(openModel(dir)).rejects.toThrow(/vision_model\.onnx has no input named "pixel_values" \(it has: input_ids\)/);
  });
});

describe('clear errors for broken model folders', () => {
  it('a folder without model.json', async () => {
    const dir = path.join(tmp, 'empty');
    await fs.mkdir(dir);
    await expect(openModel(dir)).rejects.toThrow(`Model folder ${dir} has no model.json`);
    await expect(readManifest(dir)).rejects.toThrow(/has no model\.json/);
  });

  it('a folder that does not exist', async () => {
    await expect(openModel(path.join(tmp, 'nope'))).rejects.toThrow(/Model folder .*nope not found\. Check the path\./);
  });

  it('a missing ONNX file', async () => {
    const dir = await generateTestModel(path.join(tmp, 'noimg'));
    await fs.rm(path.join(dir, 'image_tower.onnx'));
    await expect(openModel(dir)).rejects.toThrow(`Model file ${path.join(dir, 'image_tower.onnx')} (image tower) not found. Re-install the model`);
  });

  it('a corrupt ONNX file fails when the tower opens, naming the file', async () => {
    const dir = await generateTestModel(path.join(tmp, 'corrupt'));
    await fs.writeFile(path.join(dir, 'text_tower.onnx'), 'this is not onnx');
    const model = await openModel(dir);
    await expect(model.embedTexts(['dog'])).rejects.toThrow(/text_tower\.onnx could not be loaded by onnxruntime .*re-download it/);
    // The image side still works: towers are independent and lazy.
    const [f] = await model.imageFeatures([await model.prepareImage(await twoTone('red', 'green'))]);
    expect(f.length).toBe(64);
    await model.dispose();
  });

  it('an invalid manifest names the field', async () => {
    const dir = await generateTestModel(path.join(tmp, 'badjson'));
    const m = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    m.image.preprocess.resize = 'stretch';
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(m));
    await expect(openModel(dir)).rejects.toThrow(/model\.json is invalid \(image\.preprocess\.resize: /);
    await fs.writeFile(path.join(dir, 'model.json'), '{ not json');
    await expect(openModel(dir)).rejects.toThrow(/model\.json is not valid JSON/);
  });

  it('heads that do not fit the towers', async () => {
    const dir = await generateTestModel(path.join(tmp, 'badheads'));
    const m = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    m.image.featureDim = 10;
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(m));
    await expect(openModel(dir)).rejects.toThrow(/do not fit the model \(image input 64 ≠ image featureDim 10\)/);
  });
});

describe('generateTestModel', () => {
  it('is fast and deterministic', async () => {
    const t = performance.now();
    const a = await generateTestModel(path.join(tmp, 'det-a'), { seed: 9 });
    expect(performance.now() - t).toBeLessThan(1000);
    const b = await generateTestModel(path.join(tmp, 'det-b'), { seed: 9 });
    for (const f of ['image_tower.onnx', 'text_tower.onnx', 'heads.bin', 'model.json']) {
      expect((await fs.readFile(path.join(a, f))).equals(await fs.readFile(path.join(b, f)))).toBe(true);
    }
  });
});
