/**
 * The one id policy for model folders (imports and trained versions alike): an id is the folder's name and
 * the manifest's `id`, 1-64 lowercase letters, digits, ".", "-" or "_"; a new model's id is its name made
 * folder-safe, numbered (-2, -3, …) when taken. Trained versions add the time to the name (trainedModelId).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { AppError } from '../errors';
import { ModelRegistry } from './registry';

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Room for a "-NN" suffix within the 64 characters.
const SLUG_MAX = 56;

/** A folder-safe, lowercase id stem from a name ("Holiday CLIP (retrained)" → "holiday-clip-retrained"). */
export function slug(name: string, max = SLUG_MAX): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, max)
      .replace(/[-._]+$/, '') || 'model'
  );
}

/** Throw a one-line error when an id given by the caller breaks the rule. */
export function checkModelId(id: string): void {
  if (!ID_RE.test(id)) {
    throw new AppError('invalid_input', `"${id}" is not a valid model id: use 1-64 lowercase letters, digits, ".", "-" or "_", starting with a letter or digit.`);
  }
}

/**
 * Ids a new model must not take: the folders in `modelsDir` and every id the registry lists (the built-in
 * model and an explicit model folder live elsewhere, and an import must not shadow them).
 */
export async function takenModelIds(modelsDir: string, extra: Iterable<string> = []): Promise<Set<string>> {
  const taken = new Set(extra);
  for (const name of await fs.readdir(modelsDir).catch(() => [] as string[])) taken.add(name);
  try {
    for (const m of new ModelRegistry(modelsDir).list()) taken.add(m.id);
  } catch {
    // No install folder found (bundled differently): the folders in modelsDir still count.
  }
  return taken;
}

/** The id of a new model: `explicit` when given (valid and free), else the name's slug, numbered when taken. */
export function newModelId(name: string, taken: ReadonlySet<string>, explicit?: string): string {
  if (explicit !== undefined) {
    checkModelId(explicit);
    if (taken.has(explicit)) throw new AppError('invalid_input', `A model with id "${explicit}" already exists. Choose another id.`);
    return explicit;
  }
  const base = slug(name);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base}-${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * The id of a trained version: the name plus the time and four random hex digits. Versions trained under
 * one name over time never share an id, so a new version cannot pick up the stored embeddings of a deleted
 * one (embeddings are kept by model id).
 */
export function trainedModelId(name: string, taken: ReadonlySet<string>, explicit?: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return newModelId(`${slug(name, 36)}-${stamp}-${randomBytes(2).toString('hex')}`, taken, explicit);
}
