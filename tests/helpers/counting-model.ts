/**
 * Real generated models (generateTestModel + openModel: onnxruntime towers and heads) wrapped to count
 * their calls, so library tests can assert what was (not) decoded or run through the tower, and to hook
 * a batch (cancel at a known point, slow a run down for the kill test).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateTestModel, type GenerateOptions } from './generate-model';
import { openModel } from '../../main/backend/catalog/open-model';
import type { EmbeddingModel, PreparedImage, TextFeatures } from '../../main/backend/model/types';

export interface Calls {
  prepareImage: number;
  imageFeatures: number;
  towerImages: number;
  embedImageFeatures: number;
}

export interface CountingModel extends EmbeddingModel {
  calls: Calls;
  /** Runs before each embedImageFeatures call (the last step before a batch is written). */
  beforeEmbed: (() => void | Promise<void>) | null;
}

export function counting(m: EmbeddingModel): CountingModel {
  const calls: Calls = { prepareImage: 0, imageFeatures: 0, towerImages: 0, embedImageFeatures: 0 };
  const w: CountingModel = {
    get manifest() {
      return m.manifest;
    },
    dir: m.dir,
    id: m.id,
    embedDim: m.embedDim,
    imageTowerKey: m.imageTowerKey,
    photoFeatureKey: m.photoFeatureKey,
    textTowerKey: m.textTowerKey,
    get heads() {
      return m.heads;
    },
    calls,
    beforeEmbed: null,
    prepareImage(input: string | Buffer): Promise<PreparedImage> {
      calls.prepareImage++;
      return m.prepareImage(input);
    },
    imageFeatures(batch: PreparedImage[]): Promise<Float32Array[]> {
      calls.imageFeatures++;
      calls.towerImages += batch.length;
      return m.imageFeatures(batch);
    },
    photoFeatures(batch: PreparedImage[]): Promise<Float32Array[]> {
      // One tower run over the photos and each view the model averages (model.ts photoFeatures).
      calls.imageFeatures++;
      calls.towerImages += batch.length * (1 + (m.manifest.image.views?.views.length ?? 0));
      return m.photoFeatures(batch);
    },
    async embedImageFeatures(features: Float32Array[]): Promise<Float32Array[]> {
      calls.embedImageFeatures++;
      await w.beforeEmbed?.();
      return m.embedImageFeatures(features);
    },
    textFeatures: (texts: string[]): Promise<TextFeatures[]> => m.textFeatures(texts),
    embedTextFeatures: (f: TextFeatures[]) => m.embedTextFeatures(f),
    embedTexts: (texts: string[]) => m.embedTexts(texts),
    dispose: () => m.dispose(),
  };
  return w;
}

/** Generate a model folder under `dir` and load it, counted. */
export async function testModel(dir: string, opts: GenerateOptions = {}): Promise<CountingModel> {
  return counting(await openModel(await generateTestModel(dir, opts)));
}

/** A copy of a model folder under a new id: same tower and heads files, so the same tower key. */
export async function copyModelAs(src: string, dest: string, id: string): Promise<CountingModel> {
  await fs.cp(src, dest, { recursive: true });
  const file = path.join(dest, 'model.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as { id: string };
  manifest.id = id;
  await fs.writeFile(file, JSON.stringify(manifest, null, 2));
  return counting(await openModel(dest));
}
