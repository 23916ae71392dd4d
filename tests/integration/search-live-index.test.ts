/**
 * The search index is updated in place (issue 13, item 5): an index job's committed batches and a folder
 * removal go into the loaded index without reading every embedding back from the library database; only a
 * model switch loads in full.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBackend } from '../../main/backend/backend';
import { makePhotos } from '../helpers/fixtures';
import { useTempModel } from '../helpers/temp-model';

let tmp: string;
let modelDir: string;

useTempModel('ps-live-index-', 23, (t, m) => {
  tmp = t;
  modelDir = m;
});

describe('the live search index', () => {
  it('takes an index job and a folder removal in place: no reload, new photos found, removed ones gone', async () => {
    const first = await makePhotos(path.join(tmp, 'first'), 5, 51, { format: 'jpeg' });
    const second = await makePhotos(path.join(tmp, 'second'), 4, 52, { format: 'jpeg' });
    const b = await openBackend({ dataDir: path.join(tmp, 'data'), modelDir });
    let reads = 0;
    const iterate = b.state.store.iterateEmbeddings.bind(b.state.store);
    b.state.store.iterateEmbeddings = (...args: Parameters<typeof iterate>) => {
      reads++;
      return iterate(...args);
    };
    try {
      await (await b.library.addFolders([path.join(tmp, 'first')])).done;
      expect((await b.search.search('a shape', 50)).map((h) => h.path).sort()).toEqual(first.map((p) => p.path).sort());
      expect(b.state.searchIndex.loads).toBe(1);

      await (await b.library.addFolders([path.join(tmp, 'second')])).done;
      // Already applied as the batches committed, before any search asked for it.
      expect(b.state.searchIndex.peek()?.size).toBe(9);
      const both = (await b.search.search('a shape', 50)).map((h) => h.path).sort();
      expect(both).toEqual([...first, ...second].map((p) => p.path).sort());

      const removed = await b.library.removeFolder(path.join(tmp, 'first'));
      expect(removed.removed).toBe(5);
      const left = (await b.search.search('a shape', 50)).map((h) => h.path).sort();
      expect(left).toEqual(second.map((p) => p.path).sort());

      expect(b.state.searchIndex.loads).toBe(1);
      expect(reads).toBe(1);
    } finally {
      await b.close();
    }
  }, 240_000); // two index jobs in a worker: tens of seconds when the machine is shared
});
