/**
 * The `embeddings` table: each photo's L2-normalized vector per model (Float32 BLOBs). A model's rows are
 * read front to back in photo order; the search re-rank reads a few hundred at once.
 */
import { blobToVector, isSoundEmbedding, vectorToBlob } from './codecs';
import type { Db } from './context';
import { StoreError } from './errors';

export interface EmbeddingMatrix {
  ids: Int32Array;
  /** ids.length × dim, row-major. */
  matrix: Float32Array;
  dim: number;
}

export class EmbeddingQueries {
  private readonly s;

  constructor(private readonly c: Db) {
    const db = c.db;
    this.s = {
      count: db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck(),
      forModel: db.prepare('SELECT photo_id, data FROM embeddings WHERE model_id = ? ORDER BY photo_id').raw(),
      one: db.prepare('SELECT data FROM embeddings WHERE photo_id = ? AND model_id = ?').pluck(),
      several: db.prepare('SELECT photo_id, data FROM embeddings WHERE model_id = ? AND photo_id IN (SELECT value FROM json_each(?))').raw(),
      put: db.prepare('INSERT OR REPLACE INTO embeddings (photo_id, model_id, data) VALUES (?, ?, ?)'),
      // Only when the photo still has the content the vector was computed from (a writer may have changed it).
      putIfHash: db.prepare(
        `INSERT OR REPLACE INTO embeddings (photo_id, model_id, data)
         SELECT id, @modelId, @data FROM photos WHERE id = @photoId AND content_hash = @hash`,
      ),
      page: db.prepare('SELECT photo_id, data FROM embeddings WHERE model_id = ? AND photo_id > ? ORDER BY photo_id LIMIT ?').raw(),
      // Every `stride`-th row in photo order: read the index first, then only the chosen rows' vectors.
      spread: db
        .prepare(
          `SELECT photo_id, data FROM embeddings WHERE model_id = @modelId AND photo_id IN (
             SELECT photo_id FROM (SELECT photo_id, row_number() OVER (ORDER BY photo_id) AS r FROM embeddings WHERE model_id = @modelId)
             WHERE r % @stride = 0)`,
        )
        .raw(),
      deleteOfModel: db.prepare('DELETE FROM embeddings WHERE model_id = ?'),
      deleteOfPhoto: db.prepare('DELETE FROM embeddings WHERE photo_id = ?'),
      withHashes: db
        .prepare(
          'SELECT e.photo_id, e.data, p.content_hash, CASE WHEN p.pixel_view = ? THEN p.pixel_hash END FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? ORDER BY e.photo_id',
        )
        .raw(),
    };
  }

  /** Store one vector as it is (`data` may be raw BLOB bytes, as salvage copies them). */
  put(photoId: number, modelId: string, data: Float32Array | Buffer): void {
    this.s.put.run(photoId, modelId, data instanceof Float32Array ? vectorToBlob(data) : data);
  }

  /** Only when photo `photoId` still has content `hash`; returns whether a row was written. */
  putIfHash(modelId: string, photoId: number, hash: string, data: Float32Array): number {
    return this.s.putIfHash.run({ modelId, photoId, hash, data: vectorToBlob(data) }).changes;
  }

  one(photoId: number, modelId: string): Float32Array | null {
    const b = this.s.one.get(photoId, modelId) as Buffer | undefined;
    return b ? blobToVector(b) : null;
  }

  /** About `n` of a model's vectors spread evenly over the library (all of them when it has fewer). */
  spread(modelId: string, n: number): Float32Array[] {
    const stride = Math.max(1, Math.floor(this.count(modelId) / n));
    return (this.s.spread.all({ modelId, stride }) as [number, Buffer][]).map(([, blob]) => blobToVector(blob));
  }

  several(photoIds: readonly number[], modelId: string): Map<number, Float32Array> {
    const out = new Map<number, Float32Array>();
    for (const [id, blob] of this.s.several.all(modelId, JSON.stringify(photoIds)) as [number, Buffer][]) out.set(id, blobToVector(blob));
    return out;
  }

  /** One page of a model's rows after photo `after`, in photo order. */
  page(modelId: string, after: number, size: number): [number, Buffer][] {
    return this.s.page.all(modelId, after, size) as [number, Buffer][];
  }

  count(modelId: string): number {
    return this.s.count.get(modelId) as number;
  }

  deleteOfModel(modelId: string): number {
    return this.s.deleteOfModel.run(modelId).changes;
  }

  deleteOfPhoto(photoId: number): void {
    this.s.deleteOfPhoto.run(photoId);
  }

  /**
   * All of a model's embeddings as one contiguous matrix, streamed row by row (no array of 100k Buffers).
   * Read inside one transaction so the count and the rows agree while a writer is busy.
   */
  matrix(modelId: string): EmbeddingMatrix {
    return this.c.db
      .transaction(() => {
        const n = this.count(modelId);
        const ids = new Int32Array(n);
        let matrix = new Float32Array(0);
        let dim = 0;
        let i = 0;
        for (const row of this.s.forModel.iterate(modelId) as IterableIterator<[number, Buffer]>) {
          const [id, blob] = row;
          if (i === 0) {
            dim = blob.byteLength / 4;
            matrix = new Float32Array(n * dim);
          } else if (blob.byteLength !== dim * 4) {
            throw new StoreError(`Embeddings of model ${modelId} have mixed sizes in ${this.c.file}. Re-index the library.`);
          }
          ids[i] = id;
          // Copy bytes into the aligned matrix (the Buffer may sit at an odd offset).
          new Uint8Array(matrix.buffer, i * dim * 4, dim * 4).set(blob);
          i++;
        }
        return { ids, matrix, dim };
      })
      .deferred();
  }

  /**
   * Every sound embedding of a model with its photo's content hash and pixel hash of `pixelView` (null when
   * it has none of that view), ordered by photo id (for the duplicate finder). Rows of another size than the
   * first, or with damaged values, are left out.
   */
  withHashes(modelId: string, pixelView: string): { ids: Int32Array; vectors: Float32Array; dim: number; hashes: string[]; pixelHashes: (string | null)[] } {
    const rows = this.s.withHashes.iterate(pixelView, modelId) as IterableIterator<[number, Buffer, string, string | null]>;
    const ids: number[] = [];
    const hashes: string[] = [];
    const pixelHashes: (string | null)[] = [];
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (const [id, data, hash, pixels] of rows) {
      const v = blobToVector(data);
      if (dim === 0) dim = v.length;
      if (v.length !== dim || !isSoundEmbedding(v, dim)) continue;
      ids.push(id);
      hashes.push(hash);
      pixelHashes.push(pixels);
      chunks.push(v);
    }
    const vectors = new Float32Array(ids.length * dim);
    chunks.forEach((v, i) => vectors.set(v, i * dim));
    return { ids: Int32Array.from(ids), vectors, dim, hashes, pixelHashes };
  }
}
