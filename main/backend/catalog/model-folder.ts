/**
 * The one writer of model folders (imports and trained versions). Everything is written into a hidden temp
 * folder in `modelsDir` and renamed to `<modelsDir>/<id>` only when complete: the registry skips dot-folders,
 * so a failure, a cancel or a crash at any step never leaves a half model listed, and the source files are
 * only ever read. Large files (towers) are hard-linked when on the same disk, else copied.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { saveHeads, type Heads } from '../model/heads-format';
import type { ModelManifest } from '../model/types';
import { writeManifest } from './manifest';
import { checkModelId } from './model-id';
import { tempFolderName } from './temp-folders';

/** A file of the new folder: where it comes from, where it goes (relative to the folder). */
export interface FileCopy {
  from: string;
  to: string;
}

export type WriteStage = 'files' | 'heads' | 'manifest' | 'rename';

export interface ModelFolderSpec {
  modelsDir: string;
  /** Chosen by the id policy (model-id.ts); must equal `manifest.id`. */
  manifest: ModelManifest;
  /** Files linked or copied in first. */
  files: FileCopy[];
  /** Files written fresh (e.g. the known-words list, a grown caption memory). */
  texts?: { to: string; data: string | Uint8Array }[];
  /** Written to `manifest.heads`; null when `files` already carries them (a native copy). */
  heads: Heads | null;
  /** Called before each stage and each file; a throw aborts the write (cancel, tests' injected failures). */
  onStage?: (stage: WriteStage) => void | Promise<void>;
  /** Bytes of `files` placed so far. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Replace an existing folder of this id (re-installing the built-in model's heads): the old folder is
   * renamed aside only once the new one is complete, and removed after the new one is in place.
   */
  replace?: boolean;
}

export interface WrittenModel {
  id: string;
  dir: string;
  manifest: ModelManifest;
}

export async function writeModelFolder(spec: ModelFolderSpec): Promise<WrittenModel> {
  const { modelsDir, manifest } = spec;
  const id = manifest.id;
  checkModelId(id);
  if (spec.heads && !manifest.heads) throw new Error(`Model ${id}: heads given but the manifest names no heads file.`);
  const final = path.join(modelsDir, id);
  await fs.mkdir(modelsDir, { recursive: true });
  const exists = await fs.stat(final).then(() => true, () => false);
  if (exists && !spec.replace) {
    throw new AppError('invalid_input', `A model with id "${id}" already exists in ${modelsDir}. Choose another id.`);
  }
  // The writer's pid in the name: a later start removes the folder once this process is gone.
  const tmp = path.join(modelsDir, tempFolderName(id));
  const stage = async (s: WriteStage) => spec.onStage?.(s);
  try {
    await fs.mkdir(tmp);
    await stage('files');
    const sizes = await Promise.all(spec.files.map((f) => fs.stat(f.from).then((s) => s.size)));
    const total = sizes.reduce((a, b) => a + b, 0);
    let done = 0;
    spec.onProgress?.(done, total);
    for (const [i, f] of spec.files.entries()) {
      await stage('files');
      await linkOrCopy(f.from, inside(tmp, f.to));
      done += sizes[i];
      spec.onProgress?.(done, total);
    }
    for (const t of spec.texts ?? []) {
      const to = inside(tmp, t.to);
      await fs.mkdir(path.dirname(to), { recursive: true });
      await fs.writeFile(to, t.data);
    }
    await stage('heads');
    if (spec.heads) await saveHeads(inside(tmp, manifest.heads), spec.heads);
    await stage('manifest');
    await writeManifest(tmp, manifest);
    await stage('rename');
    // A replaced folder steps aside first (rename cannot overwrite a non-empty folder); it is put back if the
    // new one cannot go in. Only a crash between these two renames loses it.
    const aside = exists ? path.join(modelsDir, `.removing-${id}-${path.basename(tmp).slice(-8)}`) : null;
    if (aside) await fs.rename(final, aside);
    try {
      await fs.rename(tmp, final);
    } catch (e) {
      if (aside) await fs.rename(aside, final).catch(() => {});
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') {
        throw new AppError('invalid_input', `A model with id "${id}" was created in ${modelsDir} meanwhile. Try again with another id.`, { cause: e });
      }
      throw e;
    }
    // Left over if this fails: every start removes `.removing-*` folders.
    if (aside) await fs.rm(aside, { recursive: true, force: true }).catch(() => {});
    return { id, dir: final, manifest };
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new AppError('model_error', `Not enough disk space in ${modelsDir} to write the model "${id}". Free some space and try again.`, { cause: e });
    }
    throw e;
  }
}

/** Every file under `dir` (relative paths), except the `skip` ones and temp folders of writes in progress. */
export async function listFolderFiles(dir: string, skip: ReadonlySet<string> = new Set(), rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? path.join(rel, e.name) : e.name;
    if (skip.has(r) || e.name.startsWith('.tmp-')) continue;
    if (e.isDirectory()) out.push(...(await listFolderFiles(dir, skip, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/** A relative path inside the folder being written (a manifest or plan naming ../x is a bug, not a file). */
function inside(dir: string, rel: string): string {
  const p = path.resolve(dir, rel);
  if (path.relative(dir, p).startsWith('..') || path.isAbsolute(rel)) throw new Error(`Model file ${rel} would be written outside ${dir}.`);
  return p;
}

/** Hard link when the source is on the same disk (no extra space, instant), else copy (EXDEV, EPERM, no links). */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.link(from, to);
  } catch {
    await fs.copyFile(from, to);
  }
}
