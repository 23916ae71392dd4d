/**
 * A library of N photos with cached tower features and model A's embeddings, written straight into a real
 * Store (no photo files): what `models use B` re-embeds from. Features are seeded random vectors of the
 * model's image-tower size; embeddings come from model A's real heads, so search over them is real.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openModel } from '../../main/backend/catalog/open-model';
import { retireStaleEmbeddings } from '../../main/backend/library/embedding-provenance';
import { Store, type BatchItem } from '../../main/backend/store';
import { seededRandom } from '../../shared/random';

export const SYNTHETIC_ROOT = '/synthetic-photos';

export async function writeSyntheticLibrary(dbFile: string, modelDir: string, n: number, seed = 1): Promise<void> {
  const model = await openModel(modelDir);
  const store = new Store(dbFile);
  const rand = seededRandom(seed);
  const dim = model.manifest.image.featureDim;
  try {
    // As indexing would: the record of which heads and features made these embeddings.
    retireStaleEmbeddings(store, model);
    for (let start = 0; start < n; start += 1000) {
      const count = Math.min(1000, n - start);
      const feats = Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => rand() * 2 - 1));
      const embs = await model.embedImageFeatures(feats);
      const items: BatchItem[] = feats.map((f, i) => ({
        photo: {
          path: `${SYNTHETIC_ROOT}/${String(start + i).padStart(6, '0')}.jpg`,
          root: SYNTHETIC_ROOT,
          size: 1000 + start + i,
          mtimeMs: 1,
          contentHash: `synthetic-${seed}-${start + i}`,
          width: 64,
          height: 64,
          takenAt: null,
        },
        features: { towerKey: model.photoFeatureKey, data: f },
        embedding: { modelId: model.id, data: embs[i]! },
      }));
      store.writeBatch(items);
    }
  } finally {
    store.close();
    await model.dispose();
  }
}

/** A copy of a model folder under `<dataDir>/models/<id>`: same towers (so the cached features apply), new id. */
export async function installModelCopy(modelDir: string, dataDir: string, id: string): Promise<string> {
  const dest = path.join(dataDir, 'models', id);
  await fs.cp(modelDir, dest, { recursive: true });
  const file = path.join(dest, 'model.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as { id: string; name: string };
  manifest.id = id;
  manifest.name = id;
  await fs.writeFile(file, JSON.stringify(manifest, null, 2));
  return dest;
}
