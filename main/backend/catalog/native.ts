/** A native model folder (model.json; exported or trained elsewhere): every file copied, the id rewritten. */
import path from 'node:path';
import { AppError } from '../errors';
import { readRegularTextFile } from '../fs/safe-read';
import type { ModelManifest } from '../model/types';
import { MANIFEST_FILE, parseManifest } from './manifest';
import { type FileCopy, listFolderFiles } from './model-folder';
import { type ImportPlan, isFile } from './towers';
import { oneLine } from '../../../shared/format';

export async function planNative(dir: string): Promise<ImportPlan> {
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(JSON.parse(await readRegularTextFile(path.join(dir, MANIFEST_FILE))), path.join(dir, MANIFEST_FILE));
  } catch (e) {
    throw new AppError('model_error', oneLine(e, 300));
  }
  const files: FileCopy[] = [];
  for (const rel of await listFolderFiles(dir)) {
    if (rel !== MANIFEST_FILE) files.push({ from: path.join(dir, rel), to: rel });
  }
  for (const needed of [manifest.image.file, manifest.text.file, manifest.text.tokenizer, manifest.heads]) {
    if (!needed || path.isAbsolute(needed) || !(await isFile(path.join(dir, needed)))) {
      throw new AppError('model_error', `${dir}: model.json names ${needed || '(no heads file)'}, which is not a file inside the folder. Re-export the model folder complete.`);
    }
  }
  const { id: _id, name, createdAt: _c, source: _s, ...rest } = manifest;
  void _id;
  void _c;
  void _s;
  return {
    layout: 'native',
    source: dir,
    name,
    idName: manifest.id,
    description: manifest.description ?? 'Imported model folder.',
    files,
    manifest: rest,
    heads: null,
  };
}
