/**
 * Benchmark tool: run a converted nsfwjs image tower over a folder of photos with onnxruntime and cache the
 * features. Used to choose the built-in model's image tower (see scripts/build-model.ts).
 *
 *   npx tsx scripts/extract-features.ts --model mobilenet_v2 --features avg+grid2 \
 *       --images /work/shared/datasets/flickr8k/train/Images --out scratch/features/mnv2-train
 *
 * Writes `<out>.f32` (float32 [n, featureDim], rows in `<out>.json` `names` order) and `<out>.json`
 * (names, featureDim, photos/second, ONNX size). Preprocessing as nsfwjs: squash-resize to S, pixels / 255.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { kerasToOnnx, loadNsfwjsLayersModel, type FeatureKind } from '../main/backend/model/keras-onnx';

/** Decode a photo into NCHW floats in [0, 1] at size x size. */
export async function photoToTensor(file: string, size: number, out: Float32Array, offset: number): Promise<void> {
  const { data } = await sharp(file).rotate().resize(size, size, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const plane = size * size;
  for (let p = 0; p < plane; p++) {
    out[offset + p] = data[3 * p] / 255;
    out[offset + plane + p] = data[3 * p + 1] / 255;
    out[offset + 2 * plane + p] = data[3 * p + 2] / 255;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'mobilenet_v2' },
      features: { type: 'string', default: 'avg' },
      images: { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string' },
      batch: { type: 'string', default: '16' },
      threads: { type: 'string', default: '2' },
    },
  });
  if (!values.images || !values.out) {
    console.error('Usage: extract-features --model mobilenet_v2|inception_v3 --features avg|avg+grid2 --images DIR --out PREFIX [--limit N] [--batch B]');
    process.exit(2);
  }
  const modelDir = path.join(__dirname, '..', 'node_modules', 'nsfwjs', 'dist', 'models', values.model);
  const tower = kerasToOnnx(loadNsfwjsLayersModel(modelDir), { features: values.features as FeatureKind });
  const session = await ort.InferenceSession.create(tower.onnx, {
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  let names = (await fs.readdir(values.images)).filter((n) => /\.(jpe?g|png|webp)$/i.test(n)).sort();
  if (values.limit) names = names.slice(0, Number(values.limit));
  const S = tower.inputSize;
  const B = Number(values.batch);
  const result = new Float32Array(names.length * tower.featureDim);
  let decodeMs = 0;
  let towerMs = 0;
  const t0 = Date.now();
  for (let i = 0; i < names.length; i += B) {
    const chunk = names.slice(i, i + B);
    const input = new Float32Array(chunk.length * 3 * S * S);
    const td = Date.now();
    await Promise.all(chunk.map((n, j) => photoToTensor(path.join(values.images!, n), S, input, j * 3 * S * S)));
    const tt = Date.now();
    decodeMs += tt - td;
    const res = await session.run({ [tower.inputName]: new ort.Tensor('float32', input, [chunk.length, 3, S, S]) });
    towerMs += Date.now() - tt;
    result.set(res[tower.outputName].data as Float32Array, i * tower.featureDim);
    if ((i / B) % 25 === 0) process.stderr.write(`\r${i + chunk.length}/${names.length}`);
  }
  process.stderr.write('\n');
  const totalS = (Date.now() - t0) / 1000;
  const meta = {
    model: values.model,
    features: values.features,
    featureDim: tower.featureDim,
    inputSize: S,
    onnxBytes: tower.onnx.byteLength,
    photos: names.length,
    photosPerSecond: names.length / totalS,
    towerPhotosPerSecond: names.length / (towerMs / 1000),
    decodeMs,
    towerMs,
    names,
  };
  await fs.mkdir(path.dirname(values.out), { recursive: true });
  await fs.writeFile(`${values.out}.f32`, Buffer.from(result.buffer));
  await fs.writeFile(`${values.out}.json`, JSON.stringify(meta));
  console.log(JSON.stringify({ ...meta, names: undefined }));
  await session.release();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
