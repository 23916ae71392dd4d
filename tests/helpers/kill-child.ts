/**
 * Child process for the kill -9 test: indexes a folder slowly (a pause before each batch's heads) so the
 * parent can SIGKILL it mid-run. Usage: node --import tsx kill-child.ts DATA_DIR MODEL_DIR ROOT PAUSE_MS
 */
import path from 'node:path';
import { indexFolders } from '../../main/backend/library/indexer';
import { openModel } from '../../main/backend/catalog/open-model';
import { Store } from '../../main/backend/store';
import { counting } from './counting-model';

async function main() {
  const [dataDir, modelDir, root, pause] = process.argv.slice(2);
  const store = new Store(path.join(dataDir, 'library.db'));
  const model = counting(await openModel(modelDir));
  model.beforeEmbed = () => new Promise((r) => setTimeout(r, Number(pause)));
  const summary = await indexFolders({ store, model, roots: [root], batchSize: 4, decodeConcurrency: 1 });
  process.stdout.write(JSON.stringify(summary));
  store.close();
  await model.dispose();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
