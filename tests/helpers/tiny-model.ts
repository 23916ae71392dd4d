/**
 * A tiny EmbeddingModel for library tests: a real onnxruntime image tower built with the ONNX builder
 * (average-pool to 4×4, a seeded random projection, tanh) and a real heads graph (linear + L2 norm).
 * Counts its calls so tests can assert what was (not) decoded or run. Image side only: text throws.
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { GraphBuilder } from '../../main/backend/onnx/builder';
import type { EmbeddingModel, ModelManifest, PreparedImage, TextFeatures } from '../../main/backend/model/types';
import { rng } from './fixtures';

export interface TinyModel extends EmbeddingModel {
  calls: { prepareImage: number; imageFeatures: number; towerImages: number; embedImageFeatures: number };
}

function randn(next: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

export async function tinyModel(opts: { id?: string; seed?: number; size?: number; featureDim?: number; embedDim?: number; towerKey?: string } = {}): Promise<TinyModel> {
  const size = opts.size ?? 32;
  const featureDim = opts.featureDim ?? 24;
  const embedDim = opts.embedDim ?? 16;
  const next = rng(opts.seed ?? 7);

  const tower = new GraphBuilder('tiny-tower');
  const x = tower.input('pixel_values', 'float32', ['batch', 3, size, size]);
  const pooled = tower.op('AveragePool', [x], { kernel_shape: [size / 4, size / 4], strides: [size / 4, size / 4] });
  const flat = tower.op('Flatten', [pooled], { axis: 1 });
  const proj = tower.linear(flat, randn(next, 48 * featureDim, 0.5), null, 48, featureDim);
  tower.op('Tanh', [proj], {}, ['features']);
  tower.output('features', 'float32', ['batch', featureDim]);

  const heads = new GraphBuilder('tiny-heads');
  const f = heads.input('features', 'float32', ['batch', featureDim]);
  const h = heads.linear(f, randn(next, featureDim * embedDim, 1), randn(next, embedDim, 0.1), featureDim, embedDim);
  heads.l2Normalize(h, 'embeds');
  heads.output('embeds', 'float32', ['batch', embedDim]);

  const towerSession = await ort.InferenceSession.create(tower.toBytes());
  const headsSession = await ort.InferenceSession.create(heads.toBytes());
  const id = opts.id ?? `tiny-${opts.seed ?? 7}`;
  const manifest = { id, name: id, embedDim } as unknown as ModelManifest;
  const calls = { prepareImage: 0, imageFeatures: 0, towerImages: 0, embedImageFeatures: 0 };

  const run = async (session: ort.InferenceSession, input: string, output: string, rows: Float32Array[], dims: number[], outDim: number) => {
    const data = new Float32Array(rows.length * rows[0].length);
    rows.forEach((r, i) => data.set(r, i * r.length));
    const res = await session.run({ [input]: new ort.Tensor('float32', data, [rows.length, ...dims]) });
    const out = res[output].data as Float32Array;
    return rows.map((_, i) => out.slice(i * outDim, (i + 1) * outDim));
  };

  return {
    manifest,
    dir: '',
    id,
    embedDim,
    imageTowerKey: opts.towerKey ?? `tiny-tower-${opts.seed ?? 7}`,
    textTowerKey: 'tiny-text-none',
    calls,
    async prepareImage(input: string | Buffer): Promise<PreparedImage> {
      calls.prepareImage++;
      const img = sharp(input, { failOn: 'error' });
      const meta = await img.metadata();
      const { data } = await img.rotate().resize(size, size, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const n = size * size;
      const tensor = new Float32Array(3 * n);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) tensor[c * n + i] = data[i * 3 + c] / 255 - 0.5;
      return { tensor, width: meta.autoOrient?.width ?? meta.width, height: meta.autoOrient?.height ?? meta.height };
    },
    async imageFeatures(batch: PreparedImage[]): Promise<Float32Array[]> {
      calls.imageFeatures++;
      calls.towerImages += batch.length;
      return run(towerSession, 'pixel_values', 'features', batch.map((b) => b.tensor), [3, size, size], featureDim);
    },
    async embedImageFeatures(features: Float32Array[]): Promise<Float32Array[]> {
      calls.embedImageFeatures++;
      return run(headsSession, 'features', 'embeds', features, [featureDim], embedDim);
    },
    async textFeatures(): Promise<TextFeatures[]> {
      throw new Error('The tiny test model has no text tower.');
    },
    async embedTextFeatures(): Promise<Float32Array[]> {
      throw new Error('The tiny test model has no text tower.');
    },
    async embedTexts(): Promise<Float32Array[]> {
      throw new Error('The tiny test model has no text tower.');
    },
    async dispose() {
      await towerSession.release();
      await headsSession.release();
    },
  };
}
