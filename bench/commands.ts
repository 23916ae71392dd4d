/**
 * The bodies of `photo-search bench …`: the CLI loads this file only when a benchmark is asked for (it is
 * not part of the installed app, see electron-builder.yml).
 */
import path from 'node:path';
import { openBackend } from '../main/backend/backend';
import { benchIndex, type BenchIndexResult } from './bench-index';

export { benchSearch } from './bench-search';

/** Indexing throughput of the active model of the library in `dataDir` over `folder` (into a scratch library). */
export async function benchIndexActiveModel(o: { dataDir: string; modelDir: string | null; folder: string; onProgress: (m: string) => void }): Promise<BenchIndexResult> {
  const b = await openBackend({ dataDir: o.dataDir, modelDir: o.modelDir });
  try {
    const model = await b.state.active.load();
    return await benchIndex({ folder: path.resolve(o.folder), model, modelDir: b.state.active.dir(), onProgress: o.onProgress });
  } finally {
    await b.close();
  }
}
