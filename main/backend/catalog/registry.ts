/**
 * Which models exist and where: the built-in model shipped with the app (`models/builtin`), an explicit
 * model folder (`--model-dir` / PHOTO_SEARCH_MODEL_DIR, used by tests and power users), and the models
 * the user imported or trained (`<data>/models/<id>`). The folders are the truth; the active id is a
 * setting in the store.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { MAX_TEXT_BYTES, readRegularFileSync } from '../fs/safe-read';
import path from 'node:path';
import type { ModelInfo } from '../../../shared/api';
import { modelFigures } from './figures';
import { AppError } from '../errors';
import type { ModelManifest } from '../model/types';

export interface RegisteredModel {
  id: string;
  dir: string;
  builtin: boolean;
  manifest: ModelManifest;
}

/** The repository / app root: the nearest folder upwards holding our package.json. */
export function appRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'photo-search') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    dir = path.dirname(dir);
  }
  throw new Error('Cannot find the Photo Search install folder (package.json).');
}

export function builtinModelDir(): string {
  // Packaged apps unpack models/ from the asar archive (electron-builder asarUnpack).
  return path.join(appRoot(), 'models', 'builtin').replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}

function readManifestLoose(dir: string): ModelManifest | null {
  const file = path.join(dir, 'model.json');
  if (!existsSync(file)) return null;
  try {
    // A FIFO or device named model.json in the models folder must not hang the listing.
    const m = JSON.parse(readRegularFileSync(file, MAX_TEXT_BYTES).toString('utf8')) as ModelManifest;
    return m && m.format === 'photo-search-model' && typeof m.id === 'string' ? m : null;
  } catch {
    return null;
  }
}

/** The kind of a model's heads ('projection', 'adapter'…) from its heads file's header, or null when unreadable. */
export function headsKind(m: RegisteredModel): string | null {
  try {
    const json = JSON.parse(readRegularFileSync(path.resolve(m.dir, m.manifest.heads), MAX_TEXT_BYTES).toString('utf8')) as { spec?: { kind?: unknown } };
    return typeof json.spec?.kind === 'string' ? json.spec.kind : null;
  } catch {
    return null;
  }
}

/** A built-in folder counts only once its heads are there (towers are build outputs, heads are trained). */
function isComplete(dir: string, m: ModelManifest): boolean {
  return existsSync(path.resolve(dir, m.heads)) && existsSync(path.resolve(dir, m.image.file)) && existsSync(path.resolve(dir, m.text.file));
}

export class ModelRegistry {
  constructor(
    readonly modelsDir: string,
    private readonly extraDir: string | null = null,
    private readonly builtinDir: string = builtinModelDir(),
  ) {}

  list(): RegisteredModel[] {
    const out: RegisteredModel[] = [];
    const seen = new Set<string>();
    const push = (dir: string, builtin: boolean) => {
      const m = readManifestLoose(dir);
      if (!m || seen.has(m.id) || !isComplete(dir, m)) return;
      seen.add(m.id);
      out.push({ id: m.id, dir, builtin, manifest: m });
    };
    if (this.extraDir) push(this.extraDir, false);
    push(this.builtinDir, true);
    if (existsSync(this.modelsDir)) {
      for (const name of readdirSync(this.modelsDir).sort()) {
        if (name.startsWith('.')) continue; // .tmp-* folders of saves in progress
        push(path.join(this.modelsDir, name), false);
      }
    }
    return out;
  }

  /** A model by its id or by the name the user gave it (ids win; names are unique, ignoring case). */
  get(idOrName: string): RegisteredModel {
    const list = this.list();
    const byId = list.find((m) => m.id === idOrName);
    if (byId) return byId;
    const wanted = idOrName.trim().toLowerCase();
    const byName = list.filter((m) => m.manifest.name.toLowerCase() === wanted);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) {
      throw new AppError('unknown_model', `Several models are named "${idOrName}": ${byName.map((m) => m.id).join(', ')}. Use one of these ids.`);
    }
    const known = list.map((m) => (m.manifest.name === m.id ? m.id : `${m.manifest.name} (${m.id})`));
    throw new AppError('unknown_model', `Unknown model "${idOrName}". Known models: ${known.length ? known.join(', ') : 'none'}. List them with \`photo-search models\`.`);
  }

  /** The model used when the user has not chosen one. */
  defaultId(): string {
    const models = this.list();
    if (this.extraDir) {
      const m = readManifestLoose(this.extraDir);
      if (m) return m.id;
    }
    const builtin = models.find((m) => m.builtin);
    if (builtin) return builtin.id;
    if (models.length) return models[0].id;
    throw new AppError(
      'model_error',
      `No model is installed: the built-in model in ${this.builtinDir} is missing. Run \`npm run build:model\` (or reinstall), or import one with \`photo-search models add\`.`,
    );
  }

  info(m: RegisteredModel, activeId: string): Omit<ModelInfo, 'recipe'> {
    const t = m.manifest.training;
    return {
      id: m.id,
      name: m.manifest.name,
      active: m.id === activeId,
      builtin: m.builtin,
      parent: m.manifest.parent,
      createdAt: m.manifest.createdAt,
      embedDim: m.manifest.embedDim,
      dataset: t?.dataset ?? null,
      metrics: (t?.metrics as Record<string, unknown> | undefined) ?? null,
      figures: modelFigures(t as Parameters<typeof modelFigures>[0]),
      source: m.manifest.source ?? null,
    };
  }
}
