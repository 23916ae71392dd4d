import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { loadHeads } from '../../main/backend/model/heads-format';
import { detectModelLayout, importModel, type ImportProgress } from '../../main/backend/catalog/import';
import { headsKind } from '../../main/backend/catalog/registry';
import { fineTunes } from '../../main/backend/train/recipe';
import { openModel } from '../../main/backend/catalog/open-model';
import { ort } from '../../main/backend/model/ort';
import type { EmbeddingModel } from '../../main/backend/model/types';
import { generateEncoderPair, generateHfClipFolder, generateImmichFolder } from '../helpers/gen-encoders';

let root: string;
let images: string[];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-import-'));
  images = [];
  const colors = [
    { r: 220, g: 30, b: 30 },
    { r: 20, g: 40, b: 230 },
  ];
  for (const [i, c] of colors.entries()) {
    const file = path.join(root, `photo${i}.png`);
    // A gradient so the two photos differ in structure as well as colour.
    const w = 300;
    const h = 200;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        raw[o] = (c.r + x) % 256;
        raw[o + 1] = (c.g + y * (i + 1)) % 256;
        raw[o + 2] = c.b;
      }
    }
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
    images.push(file);
  }
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((a, x) => a + x * x, 0));
}

function l2(v: Float32Array): Float32Array {
  const n = norm(v);
  return v.map((x) => x / n);
}

async function embedAll(model: EmbeddingModel, texts: string[], files: string[]) {
  const t = await model.embedTexts(texts);
  const prepared = await Promise.all(files.map((f) => model.prepareImage(f)));
  const i = await model.embedImageFeatures(await model.imageFeatures(prepared));
  return { t, i, prepared };
}

async function fresh(name: string): Promise<string> {
  const d = path.join(root, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

describe('import a Hugging Face / transformers.js CLIP folder', () => {
  it('writes a native folder whose adapter heads are the identity: embeddings = normalized tower outputs', async () => {
    const src = await generateHfClipFolder(path.join(root, 'hf-src', 'clip-test'), { embedDim: 32 });
    const modelsDir = await fresh('models-hf');
    const stages: string[] = [];
    const r = await importModel({ source: src, modelsDir, onProgress: (p) => stages.push(p.stage) });

    expect(r.id).toBe('clip-test');
    expect(r.layout).toBe('huggingface');
    expect(r.dir).toBe(path.join(modelsDir, 'clip-test'));
    expect(stages).toContain('Copying model files');
    // Native layout only; no temp folder left behind.
    expect((await fs.readdir(modelsDir)).sort()).toEqual(['clip-test']);
    const m = JSON.parse(await fs.readFile(path.join(r.dir, 'model.json'), 'utf8'));
    expect(m).toMatchObject({
      id: 'clip-test',
      embedDim: 32,
      heads: 'heads.json',
      image: { file: 'image/vision_model.onnx', input: 'pixel_values', output: 'image_embeds', featureDim: 32, preprocess: { size: 224, resize: 'cover', layout: 'nchw' } },
      text: { file: 'text/text_model.onnx', tokenizer: 'text/tokenizer.json', output: 'text_embeds', outputKind: 'pooled', idsType: 'int64', maxLength: 77, padId: 0 },
    });
    expect(m.image.preprocess.rescale).toBeCloseTo(255, 6);
    const heads = await loadHeads(path.join(r.dir, 'heads.json'));
    expect(heads.spec.kind).toBe('adapter');
    // Identity adapters already work: retraining fine-tunes them (fixed schedule), as the Training panel says.
    const registered = { id: r.id, dir: r.dir, builtin: false, manifest: m };
    expect(headsKind(registered)).toBe('adapter');
    expect(fineTunes(m, () => headsKind(registered))).toBe(true);
    expect([...(heads.weights.get('image.fc2.weight')?.data ?? [1])].every((x) => x === 0)).toBe(true);
    // Hard-linked (same disk): no second copy of the tower.
    const [a, b] = await Promise.all([fs.stat(path.join(src, 'onnx', 'vision_model.onnx')), fs.stat(path.join(r.dir, 'image', 'vision_model.onnx'))]);
    expect(b.ino).toBe(a.ino);

    const model = await openModel(r.dir);
    try {
      const { t, i, prepared } = await embedAll(model, ['a dog on the grass', 'a red car'], images);
      for (const v of [...t, ...i]) {
        expect(v.length).toBe(32);
        expect(norm(v)).toBeCloseTo(1, 5);
      }
      expect(Math.abs(t[0][0] - t[1][0]) + Math.abs(t[0][1] - t[1][1])).toBeGreaterThan(1e-6);

      // The source tower run directly by onnxruntime, then normalized, must equal the model's embedding.
      const session = await ort.InferenceSession.create(path.join(src, 'onnx', 'vision_model.onnx'));
      const px = new Float32Array(2 * 3 * 224 * 224);
      px.set(prepared[0].tensor, 0);
      px.set(prepared[1].tensor, 3 * 224 * 224);
      const raw = (await session.run({ pixel_values: new ort.Tensor('float32', px, [2, 3, 224, 224]) })).image_embeds.data as Float32Array;
      await session.release();
      for (let k = 0; k < 2; k++) {
        const expected = l2(raw.slice(k * 32, (k + 1) * 32));
        expect(norm(raw.slice(k * 32, (k + 1) * 32))).not.toBeCloseTo(1, 2); // the tower itself is not normalized
        for (let j = 0; j < 32; j++) expect(i[k][j]).toBeCloseTo(expected[j], 5);
      }
      const tf = await model.textFeatures(['a dog on the grass']);
      const te = l2(tf[0].data);
      for (let j = 0; j < 32; j++) expect(t[0][j]).toBeCloseTo(te[j], 5);
    } finally {
      await model.dispose();
    }
  });

  it('accepts a folder holding only the quantized tower names, and numbers a second import of the same name', async () => {
    const src = await generateHfClipFolder(path.join(root, 'hf-q', 'clip-test'), { embedDim: 16, quantizedNames: true });
    const modelsDir = await fresh('models-hfq');
    const first = await importModel({ source: src, modelsDir });
    const second = await importModel({ source: src, modelsDir });
    expect(first.manifest.image.file).toBe('image/vision_model_quantized.onnx');
    expect([first.id, second.id]).toEqual(['clip-test', 'clip-test-2']);
    await expect(importModel({ source: src, modelsDir, id: 'clip-test' })).rejects.toThrow('A model with id "clip-test" already exists');
    await expect(importModel({ source: src, modelsDir, id: 'Bad Id!' })).rejects.toThrow('is not a valid model id');
  });

  it("agrees with the runtime's direct loading of the same Hugging Face folder (generateTestModel, no config.json)", async () => {
    const src = path.join(root, 'hf-gen', 'generated');
    await generateTestModel(src, { seed: 3, layout: 'hf', embedDim: 24, hfConfig: false });
    const r = await importModel({ source: src, modelsDir: await fresh('models-hf-gen') });
    const [imported, direct] = await Promise.all([openModel(r.dir), openModel(src)]);
    try {
      const a = await embedAll(imported, ['a dog in the snow'], images);
      const b = await embedAll(direct, ['a dog in the snow'], images);
      expect(a.i[0].length).toBe(24);
      for (const [x, y] of [[a.t[0], b.t[0]], [a.i[1], b.i[1]]]) for (let j = 0; j < 24; j++) expect(x[j]).toBeCloseTo(y[j], 5);
    } finally {
      await Promise.all([imported.dispose(), direct.dispose()]);
    }
  });
});

describe('import an immich folder', () => {
  it('reads immich I/O names and configs, embeds texts and images to unit vectors (batch fixed at 1)', async () => {
    const src = await generateImmichFolder(path.join(root, 'immich', 'ViT-B-32__openai'), { embedDim: 48 });
    expect(await detectModelLayout(src)).toBe('immich');
    const modelsDir = await fresh('models-immich');
    const r = await importModel({ source: src, modelsDir });
    expect(r.id).toBe('vit-b-32__openai');
    expect(r.manifest).toMatchObject({
      embedDim: 48,
      image: { input: 'image', output: 'embedding', featureDim: 48, preprocess: { size: 224, resize: 'cover', rescale: 255 } },
      text: { inputs: { inputIds: 'text' }, output: 'embedding', idsType: 'int32', maxLength: 77, outputKind: 'pooled', padId: 0 },
    });
    expect(r.manifest.image.preprocess.std[1]).toBeCloseTo(0.26130258, 8);
    expect((await loadHeads(path.join(r.dir, 'heads.json'))).spec.kind).toBe('adapter');

    const model = await openModel(r.dir);
    try {
      // immich's exports take one item per run: embed one at a time.
      const t1 = (await model.embedTexts(['a dog']))[0];
      const t2 = (await model.embedTexts(['two cats on the beach']))[0];
      const i1 = (await model.embedImageFeatures(await model.imageFeatures([await model.prepareImage(images[0])])))[0];
      for (const v of [t1, t2, i1]) {
        expect(v.length).toBe(48);
        expect(norm(v)).toBeCloseTo(1, 5);
      }
      expect(t1.some((x, j) => Math.abs(x - t2[j]) > 1e-4)).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('embeds batches when the immich export has a dynamic batch', async () => {
    const src = await generateImmichFolder(path.join(root, 'immich-dyn', 'xlm'), { embedDim: 24, staticBatch: false });
    const r = await importModel({ source: src, modelsDir: await fresh('models-immich-dyn') });
    const model = await openModel(r.dir);
    try {
      const { t, i } = await embedAll(model, ['a dog', 'a cat', 'snow'], images);
      expect(t.length).toBe(3);
      expect(i.length).toBe(2);
      for (const v of [...t, ...i]) expect(norm(v)).toBeCloseTo(1, 5);
    } finally {
      await model.dispose();
    }
  });
});

describe('import the tutorial encoder pair', () => {
  it('imports a ResNet50-like + DistilBERT-like pair folder with seeded 256-d projection heads', async () => {
    const pair = await generateEncoderPair(path.join(root, 'pair', 'resnet-distilbert'));
    const modelsDir = await fresh('models-pair');
    const r = await importModel({ source: pair.dir, modelsDir, seed: 7 });
    expect(r.layout).toBe('encoder-pair');
    expect(r.manifest).toMatchObject({
      embedDim: 256,
      image: { input: 'pixel_values', output: 'pooler_output', featureDim: 2048, preprocess: { size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
      text: { inputs: { inputIds: 'input_ids', attentionMask: 'attention_mask' }, output: 'last_hidden_state', outputKind: 'cls', featureDim: 768, idsType: 'int64', maxLength: 64 },
    });
    const heads = await loadHeads(path.join(r.dir, 'heads.json'));
    expect(heads.spec).toMatchObject({ kind: 'projection', embedDim: 256, dropout: 0.1, imageInDim: 2048, textInDim: 768, textPool: 'none' });
    // Seeded projection heads are untrained: retraining trains them anew.
    const registered = { id: r.id, dir: r.dir, builtin: false, manifest: r.manifest };
    expect(headsKind(registered)).toBe('projection');
    expect(fineTunes(r.manifest, () => headsKind(registered))).toBe(false);
    // Seeded: a second import with the same seed gives the same weights, another seed different ones.
    const again = await importModel({ source: pair.dir, modelsDir, seed: 7 });
    const other = await importModel({ source: pair.dir, modelsDir, seed: 8 });
    const w = async (dir: string) => (await loadHeads(path.join(dir, 'heads.json'))).weights.get('text.fc1.weight')?.data as Float32Array;
    expect(await w(again.dir)).toEqual(await w(r.dir));
    expect(await w(other.dir)).not.toEqual(await w(r.dir));

    const model = await openModel(r.dir);
    try {
      const { t, i } = await embedAll(model, ['a dog runs on the beach', 'a red car'], images);
      for (const v of [...t, ...i]) {
        expect(v.length).toBe(256);
        expect(norm(v)).toBeCloseTo(1, 5);
      }
      expect(t[0].some((x, j) => Math.abs(x - t[1][j]) > 1e-4)).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('names the model after its folder, and encoders.json overrides (size, heads, names)', async () => {
    const pair = await generateEncoderPair(path.join(root, 'pair2', 'files'), { seed: 11 });
    const modelsDir = await fresh('models-pair2');
    const plain = await importModel({ source: pair.dir, modelsDir });
    expect(plain.id).toBe('files');
    expect(plain.manifest.name).toBe('files');

    await fs.writeFile(
      path.join(pair.dir, 'encoders.json'),
      JSON.stringify({ name: 'Tutorial pair', text: { maxLength: 40, output: 'last_hidden_state' }, heads: { embedDim: 128, dropout: 0.2 } }),
    );
    const cfg = await importModel({ source: pair.dir, modelsDir });
    expect(cfg.id).toBe('files-2');
    expect(cfg.manifest.name).toBe('Tutorial pair');
    expect(cfg.manifest.text.maxLength).toBe(40);
    expect(cfg.manifest.embedDim).toBe(128);
    expect((await loadHeads(path.join(cfg.dir, 'heads.json'))).spec).toMatchObject({ embedDim: 128, dropout: 0.2 });

    await fs.writeFile(path.join(pair.dir, 'encoders.json'), JSON.stringify({ image: { output: 'logits' } }));
    await expect(importModel({ source: pair.dir, modelsDir })).rejects.toThrow(/image_encoder\.onnx has no output named "logits" \(it has: pooler_output\)/);
    await fs.writeFile(path.join(pair.dir, 'encoders.json'), JSON.stringify({ text: { maxLenght: 3 } }));
    await expect(importModel({ source: pair.dir, modelsDir })).rejects.toThrow(/encoders\.json: text: Unrecognized key/);
  });
});

describe('import errors and atomicity', () => {
  it('names what is missing in one line', async () => {
    const modelsDir = await fresh('models-err');
    const empty = await fresh('not-a-model');
    await expect(importModel({ source: empty, modelsDir })).rejects.toThrow(
      `${empty} is not a model folder: expected onnx/vision_model.onnx (Hugging Face layout), visual/model.onnx (immich layout)`,
    );
    await expect(importModel({ source: path.join(root, 'nope'), modelsDir })).rejects.toThrow(`${path.join(root, 'nope')} not found. Check the path`);

    const hf = await generateHfClipFolder(path.join(root, 'hf-broken'), { embedDim: 8 });
    await fs.rm(path.join(hf, 'onnx', 'text_model.onnx'));
    await expect(importModel({ source: hf, modelsDir })).rejects.toThrow('looks like a Hugging Face CLIP export but lacks onnx/text_model.onnx');

    const imm = await generateImmichFolder(path.join(root, 'imm-broken'), { embedDim: 8 });
    await fs.rm(path.join(imm, 'textual', 'tokenizer.json'));
    await expect(importModel({ source: imm, modelsDir })).rejects.toThrow('looks like an immich CLIP model but lacks textual/tokenizer.json');

    const pair = await generateEncoderPair(path.join(root, 'pair-broken'), { imageFeatureDim: 64, textHidden: 32 });
    await fs.rm(pair.tokenizer);
    await expect(importModel({ source: pair.dir, modelsDir })).rejects.toThrow(`Encoder pair incomplete: ${pair.tokenizer} not found`);
    expect(await fs.readdir(modelsDir)).toEqual([]);
  });

  it('rejects towers that are not aligned or not ONNX, leaving no folder', async () => {
    const modelsDir = await fresh('models-err2');
    const hf = await generateHfClipFolder(path.join(root, 'hf-mixed'), { embedDim: 16 });
    const other = await generateHfClipFolder(path.join(root, 'hf-other'), { embedDim: 24 });
    await fs.copyFile(path.join(other, 'onnx', 'text_model.onnx'), path.join(hf, 'onnx', 'text_model.onnx'));
    await expect(importModel({ source: hf, modelsDir })).rejects.toThrow('image_embeds has 16 values but text_embeds has 24');

    await fs.writeFile(path.join(hf, 'onnx', 'text_model.onnx'), 'not an onnx file');
    const err = await importModel({ source: hf, modelsDir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/text_model\.onnx could not be loaded by onnxruntime/);
    expect((err as Error).message).not.toContain('\n');
    expect(await fs.readdir(modelsDir)).toEqual([]);
  });

  it('a cancel in the middle of copying leaves neither the model nor its temp folder', async () => {
    const pair = await generateEncoderPair(path.join(root, 'pair-cancel'), { imageFeatureDim: 64, textHidden: 32 });
    const modelsDir = await fresh('models-cancel');
    const ac = new AbortController();
    const seen: ImportProgress[] = [];
    const err = await importModel({
      source: pair.dir,
      modelsDir,
      signal: ac.signal,
      onProgress: (p) => {
        seen.push(p);
        // Abort after the first file is in the temp folder.
        if (p.stage === 'Copying model files' && p.done > 0) ac.abort();
      },
    }).catch((e: Error & { code?: string }) => e);
    expect(err).toMatchObject({ code: 'cancelled', message: 'Import cancelled.' });
    expect(seen.some((p) => p.stage === 'Copying model files' && p.done > 0)).toBe(true);
    expect(await fs.readdir(modelsDir)).toEqual([]);
  });

  it('re-imports a native model folder under a new id', async () => {
    const pair = await generateEncoderPair(path.join(root, 'pair-native'), { imageFeatureDim: 64, textHidden: 32 });
    const modelsDir = await fresh('models-native');
    const first = await importModel({ source: pair.dir, modelsDir, id: 'orig' });
    const other = await fresh('models-native-2');
    const copy = await importModel({ source: first.dir, modelsDir: other });
    expect(copy.layout).toBe('native');
    expect(copy.id).toBe('orig');
    expect(copy.manifest.heads).toBe('heads.json');
    const model = await openModel(copy.dir);
    try {
      const [v] = await model.embedTexts(['a dog']);
      expect(norm(v)).toBeCloseTo(1, 5);
    } finally {
      await model.dispose();
    }
  });
});
