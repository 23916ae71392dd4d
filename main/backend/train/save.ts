/**
 * Save a trained model as a NEW model folder, atomically: everything is written to
 * `<modelsDir>/.tmp-<pid>-<id>` and renamed to `<modelsDir>/<id>` at the end, so a failure leaves no half
 * folder and the base model is never touched. The (large, frozen) tower files are hard-linked from the
 * base model, copied when linking is not possible (another drive, a file system without links).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { binPath, saveHeads, type Heads } from '../model/heads-format';
import { formatKnownWords, readKnownWords, textWords } from '../model/known-words';
import { MANIFEST_FILE, writeManifest } from '../catalog/manifest';
import { tempFolderName } from '../catalog/temp-folders';
import type { ModelManifest } from '../model/types';

export type SaveStage = 'towers' | 'heads' | 'manifest' | 'rename';

export interface SaveModelOptions {
  modelsDir: string;
  baseDir: string;
  baseManifest: ModelManifest;
  heads: Heads;
  /** New model id; generated from the name and time when absent. */
  id?: string;
  name?: string;
  training: NonNullable<ModelManifest['training']>;
  /**
   * Texts the new heads were trained on (the set's captions): their words join the base model's word list
   * (`text.knownWords`), so words the set taught count as known. Ignored when the base has no list.
   */
  trainedTexts?: string[];
  /** Called before each stage; a throw aborts the save (tests inject failures here). */
  onStage?: (stage: SaveStage) => void | Promise<void>;
}

export interface SavedModel {
  id: string;
  dir: string;
  manifest: ModelManifest;
}

const HEADS_FILE = 'heads.json';

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'model'
  );
}

export function newModelId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${slug(name)}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Hard-link a file, or copy it when linking fails (EXDEV, EPERM, unsupported). */
async function linkOrCopy(src: string, dst: string): Promise<'link' | 'copy'> {
  try {
    await fs.link(src, dst);
    return 'link';
  } catch {
    await fs.copyFile(src, dst);
    return 'copy';
  }
}

/** Every file under `dir`, relative, excluding the skipped relative paths. */
async function listFiles(dir: string, skip: Set<string>, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? path.join(rel, e.name) : e.name;
    if (skip.has(r) || e.name.startsWith('.tmp-')) continue;
    if (e.isDirectory()) out.push(...(await listFiles(dir, skip, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

export async function saveTrainedModel(opts: SaveModelOptions): Promise<SavedModel> {
  const name = opts.name ?? `${opts.baseManifest.name} (retrained)`;
  const id = opts.id ?? newModelId(opts.name ?? opts.baseManifest.id);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new Error(`Model id "${id}" is not valid: use letters, digits, '.', '_' and '-'.`);
  await fs.mkdir(opts.modelsDir, { recursive: true });
  const finalDir = path.join(opts.modelsDir, id);
  if (await fs.stat(finalDir).then(() => true, () => false)) throw new Error(`Model folder ${finalDir} already exists. Choose another name.`);
  // The saving process's id in the name: a later start removes the folder once that process is gone.
  const tmpDir = path.join(opts.modelsDir, tempFolderName(id));
  const stage = async (s: SaveStage) => opts.onStage?.(s);
  try {
    await fs.mkdir(tmpDir);
    // 1. Towers and every other file of the base (tokenizer, configs, external ONNX data), not its heads.
    await stage('towers');
    const baseHeads = opts.baseManifest.heads ? path.normalize(opts.baseManifest.heads) : null;
    const skip = new Set([MANIFEST_FILE, HEADS_FILE, path.basename(binPath(HEADS_FILE))]);
    const wordList = opts.baseManifest.text.knownWords && !path.isAbsolute(opts.baseManifest.text.knownWords) ? path.normalize(opts.baseManifest.text.knownWords) : null;
    if (wordList) skip.add(wordList);
    if (baseHeads && !path.isAbsolute(baseHeads)) {
      skip.add(baseHeads);
      skip.add(path.normalize(binPath(baseHeads)));
    }
    for (const rel of await listFiles(opts.baseDir, skip)) {
      await fs.mkdir(path.dirname(path.join(tmpDir, rel)), { recursive: true });
      await linkOrCopy(path.join(opts.baseDir, rel), path.join(tmpDir, rel));
    }
    // The word list: the base's words and those of the training texts (a new file, never the base's own).
    if (wordList) {
      const words = await readKnownWords(path.join(opts.baseDir, wordList));
      for (const t of opts.trainedTexts ?? []) for (const w of textWords(t)) words.add(w);
      await fs.mkdir(path.dirname(path.join(tmpDir, wordList)), { recursive: true });
      await fs.writeFile(path.join(tmpDir, wordList), formatKnownWords(words));
    }
    // 2. Heads.
    await stage('heads');
    await saveHeads(path.join(tmpDir, HEADS_FILE), opts.heads);
    // 3. Manifest.
    await stage('manifest');
    const manifest: ModelManifest = {
      ...opts.baseManifest,
      id,
      name,
      createdAt: new Date().toISOString(),
      parent: opts.baseManifest.id,
      heads: HEADS_FILE,
      embedDim: opts.heads.spec.embedDim,
      training: opts.training,
    };
    delete manifest.source;
    await writeManifest(tmpDir, manifest);
    // 4. Publish.
    await stage('rename');
    await fs.rename(tmpDir, finalDir);
    return { id, dir: finalDir, manifest };
  } catch (e) {
    await fs.rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
}
