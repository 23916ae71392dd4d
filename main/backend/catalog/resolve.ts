/** A model folder → its manifest: model.json when present, else a Hugging Face CLIP export read in place. */
import { promises as fs } from 'node:fs';
import type { Heads } from '../model/heads-format';
import type { ModelManifest } from '../model/types';
import { isHuggingFaceFolder, readHfInPlace } from './huggingface';
import { readManifest } from './manifest';

export interface ResolvedModel {
  dir: string;
  manifest: ModelManifest;
  layout: 'native' | 'huggingface';
  /** Set when the heads live in memory (a Hugging Face export's identity adapters), else read from manifest.heads. */
  heads: Heads | null;
}

export async function resolveModelFolder(dir: string): Promise<ResolvedModel> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new Error(`Model folder ${dir} not found. Check the path.`);
  if (!st.isDirectory()) throw new Error(`${dir} is a file, not a model folder. Pass the folder that holds model.json.`);
  if (await isHuggingFaceFolder(dir)) return { dir, layout: 'huggingface', ...(await readHfInPlace(dir)) };
  return { dir, manifest: await readManifest(dir), layout: 'native', heads: null };
}
