/**
 * The library database, one facade over the folder: this class opens the connection and hands each call to
 * the queries of its table (one file per table: roots, photos, embeddings, embedding-changes, features,
 * skipped, settings), with the schema in schema.ts, the vector codecs in codecs.ts, storage errors in
 * errors.ts and the rescue of a damaged file in salvage.ts. Only this folder opens SQLite (a lint rule).
 * Models are not here: each is a folder with its model.json.
 */
import type Database from 'better-sqlite3';
import path from 'node:path';
import { blobToVector, type FeatureDtype } from './codecs';
import type { Db } from './context';
import { EmbeddingChangeQueries } from './embedding-changes';
import { EmbeddingQueries, type EmbeddingMatrix } from './embeddings';
import { explainStorageError } from './errors';
import { FeatureQueries, type FeatureCompaction, type FeatureCompactionPlan, type FeatureRecord } from './features';
import { FileQueries } from './file';
import { PhotoFilterQueries, type PhotoFilter } from './filters';
import { PhotoQueries, type PhotoInput, type PhotoRow, type PhotoState, type PixelHash } from './photos';
import { PhotoTextQueries } from './photo-text';
import { RootQueries } from './roots';
import { salvageFrom, type SalvageCounts } from './salvage';
import { openDatabase } from './schema';
import { SettingQueries } from './settings';
import { SkippedQueries, type SkipInput, type SkipRow } from './skipped';
import * as writes from './writes';
import type { BatchItem, Tables } from './writes';

export class Store implements Db {
  readonly db: Database.Database;
  readonly file: string;
  private readonly t: Tables;
  private readonly settings: SettingQueries;
  private readonly changes: EmbeddingChangeQueries;
  private readonly filters: PhotoFilterQueries;
  /** The database file's upkeep: sizes, checkpoint, vacuum, checks (file.ts). */
  readonly disk: FileQueries;
  /** Words read in photos (photo-text.ts). */
  readonly text: PhotoTextQueries;

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.file = path.resolve(file);
    this.db = openDatabase(this.file, options.readonly ?? false);
    this.settings = new SettingQueries(this.db);
    this.changes = new EmbeddingChangeQueries(this.db);
    this.filters = new PhotoFilterQueries(this.db);
    this.disk = new FileQueries(this, (e) => this.explain(e));
    this.text = new PhotoTextQueries(this);
    this.t = {
      c: this,
      roots: new RootQueries(this.db, this.settings),
      photos: new PhotoQueries(this),
      embeddings: new EmbeddingQueries(this),
      features: new FeatureQueries(this),
      skipped: new SkippedQueries(this.db),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` in one transaction (synchronous: await everything before calling). A full disk or a damaged file is explained. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** A storage failure (full disk, damaged file) as one line naming this file (a StoreError), else `e` itself as an Error. */
  explain(e: unknown): Error {
    return explainStorageError(e, this.file) ?? (e instanceof Error ? e : new Error(String(e)));
  }

  // ---- roots (roots.ts) --------------------------------------------------------------------------

  addRoot(folder: string): void {
    this.t.roots.add(folder);
  }
  listRoots(): string[] {
    return this.t.roots.list();
  }
  /** See writes.removeRootAndDerived. */
  removeRootAndDerived(folder: string): { removed: number; orphanHashes: string[] } {
    return writes.removeRootAndDerived(this.t, folder);
  }
  /** Photos (and skip records) of `from` now belong to the enclosing root `to` (a containing folder was added). */
  mergeRootInto(from: string, to: string): void {
    writes.mergeRootInto(this.t, from, to);
  }
  /** Roots whose last indexing stopped early (cancel, failure): their photos are partial, the UI offers Resume. */
  listIncomplete(): string[] {
    return this.t.roots.listIncomplete();
  }
  markIncomplete(folders: readonly string[]): void {
    this.t.roots.markIncomplete(folders);
  }
  clearIncomplete(...folders: string[]): void {
    this.t.roots.clearIncomplete(folders);
  }

  // ---- photos (photos.ts, filters.ts) ------------------------------------------------------------

  /** True when some photo in the library has this content. */
  hasContent(contentHash: string): boolean {
    return this.t.photos.hasContent(contentHash);
  }
  /** See PhotoFilterQueries.idsMatching: ids (ascending) a search filter admits, null when it admits everything. */
  photoIdsMatching(f: PhotoFilter): Int32Array | null {
    // Another connection's commit (the index worker filling in places) moves data_version too.
    return this.filters.idsMatching(f, `${this.lastEmbeddingChange()}.${this.t.c.db.pragma('data_version', { simple: true }) as number}`);
  }
  /** Up to `limit` photos under `folder` whose date offset, GPS and place were never read (rows from an older library). */
  photosWithStaleMeta(folder: string, limit: number): { id: number; path: string }[] {
    return this.t.photos.staleMeta(folder, limit);
  }
  /** Record a photo's date (when it has one), offset, GPS and place from a second look at its header. */
  setPhotoMeta(id: number, meta: Pick<PhotoInput, 'takenAt' | 'takenOffset' | 'gps' | 'place'>): void {
    this.t.photos.setMeta(id, meta);
  }
  /** The cities and countries photos were taken in, with how many, most first. */
  placeCounts(limit: number): ReturnType<PhotoQueries['placeCounts']> {
    return this.t.photos.placeCounts(limit);
  }
  /** True when some photo was taken at a place with this folded name (city, region, country or country code). */
  placeKnown(foldedName: string): boolean {
    return this.t.photos.placeKnown(foldedName);
  }
  /** These photo ids ordered by date taken (newest first) or by path; ids not in the library are left out. */
  photoIdsSorted(ids: readonly number[], by: 'date' | 'path'): number[] {
    return this.t.photos.idsSorted(ids, by);
  }
  photoByPath(p: string): PhotoRow | null {
    return this.t.photos.byPath(p);
  }
  photoById(id: number): PhotoRow | null {
    return this.t.photos.byId(id);
  }
  /** What the indexer needs to decide whether a file changed: its row and whether `modelId` embedded it. */
  photoState(p: string, modelId: string): PhotoState | null {
    return this.t.photos.state(p, modelId);
  }
  /** See writes.upsertPhoto (new content drops the old embeddings). */
  upsertPhoto(photo: PhotoInput): number {
    return writes.upsertPhoto(this.t, photo);
  }
  /** Store the pixel hash of the photo at `path`, if it still has content `contentHash` (a photo indexed before pixel hashes). */
  setPixelHash(path: string, contentHash: string, pixels: PixelHash): void {
    this.t.photos.setPixels(path, contentHash, pixels);
  }
  /** The pixel hash (of `view`) a photo with this content already has, or null: a copy need not be decoded for it. */
  pixelHashOfContent(contentHash: string, view: string): string | null {
    return this.t.photos.pixelsOfContent(contentHash, view);
  }
  /** Photos under `folder` whose paths are not in `present` leave the index; returns their count. */
  markMissingUnder(folder: string, present: ReadonlySet<string>, keepUnder: readonly string[] = []): number {
    return writes.markMissingUnder(this.t, folder, present, keepUnder);
  }
  /** Rows for these ids, in the order given (unknown ids are left out). */
  photosByIds(ids: readonly number[]): PhotoRow[] {
    return this.t.photos.byIds(ids);
  }
  countPhotos(): number {
    return this.t.photos.count();
  }
  countPhotosUnder(folder: string): number {
    return this.t.photos.countUnder(path.resolve(folder));
  }
  countMissingEmbedding(modelId: string): number {
    return this.t.photos.countMissingEmbedding(modelId);
  }
  photosMissingEmbedding(modelId: string): PhotoRow[] {
    return this.t.photos.missingEmbedding(modelId);
  }
  /** Write a whole batch (photos, fresh features, embeddings, cleared skips) in ONE transaction. */
  writeBatch(items: readonly BatchItem[]): number[] {
    return writes.writeBatch(this.t, items);
  }

  // ---- embeddings (embeddings.ts, embedding-changes.ts) ------------------------------------------

  /** Store embeddings computed from a photo's content `hash`; rows whose photo changed meanwhile are dropped. */
  putEmbeddingsChecked(modelId: string, rows: readonly { photoId: number; hash: string; data: Float32Array }[]): number {
    return writes.putEmbeddingsChecked(this.t, modelId, rows);
  }
  embeddingFor(photoId: number, modelId: string): Float32Array | null {
    return this.t.embeddings.one(photoId, modelId);
  }
  /** Several photos' embeddings in one statement (the search re-rank's candidates); photos without one are absent. */
  /** About `n` of a model's vectors spread evenly over the library (a sample of what a query is scored against). */
  embeddingsSpread(modelId: string, n: number): Float32Array[] {
    return this.t.embeddings.spread(modelId, n);
  }
  embeddingsFor(photoIds: readonly number[], modelId: string): Map<number, Float32Array> {
    return this.t.embeddings.several(photoIds, modelId);
  }
  /**
   * A model's embeddings one by one, read in pages by photo id: safe to consume across awaits, since no
   * statement stays open between pages (better-sqlite3 forbids other queries while one iterates).
   */
  *iterateEmbeddings(modelId: string, pageSize = 2048): Generator<{ id: number; vector: Float32Array }> {
    let last = -1;
    for (;;) {
      const rows = this.t.embeddings.page(modelId, last, pageSize);
      for (const [id, blob] of rows) yield { id, vector: blobToVector(blob) };
      if (rows.length < pageSize) return;
      last = rows[rows.length - 1][0];
    }
  }
  /** See EmbeddingQueries.withHashes (the duplicate finder's input). */
  /** See EmbeddingQueries.withHashes: a model's embeddings with content and pixel hashes (of `pixelView`), for the duplicate finder. */
  embeddingsWithHashes(modelId: string, pixelView: string): { ids: Int32Array; vectors: Float32Array; dim: number; hashes: string[]; pixelHashes: (string | null)[] } {
    return this.t.embeddings.withHashes(modelId, pixelView);
  }
  /** Sequence number of the last embedding change (any model, any process); 0 when none was logged. */
  lastEmbeddingChange(): number {
    return this.changes.last();
  }
  /** See EmbeddingChangeQueries.since. */
  embeddingChangesSince(since: number, modelId: string): { upTo: number; photoIds: number[]; complete: boolean } {
    return this.changes.since(since, modelId);
  }
  countEmbeddings(modelId: string): number {
    return this.t.embeddings.count(modelId);
  }
  /** The embedding count of `modelId` and the last change it reflects, read from one snapshot. */
  countEmbeddingsAt(modelId: string): { count: number; seq: number } {
    return this.db.transaction(() => ({ count: this.countEmbeddings(modelId), seq: this.lastEmbeddingChange() }))();
  }
  deleteEmbeddingsOfModel(modelId: string): number {
    return this.t.embeddings.deleteOfModel(modelId);
  }
  /** All of a model's embeddings as one contiguous matrix (see EmbeddingQueries.matrix). */
  embeddingsForModel(modelId: string): EmbeddingMatrix {
    return this.t.embeddings.matrix(modelId);
  }

  // ---- feature cache (features.ts) ---------------------------------------------------------------

  /** Cached tower features for these content hashes (missing ones are absent from the map). */
  getFeatures(towerKey: string, hashes: readonly string[]): Map<string, FeatureRecord> {
    return this.t.features.get(towerKey, hashes);
  }
  hasFeatures(towerKey: string, hash: string): boolean {
    return this.t.features.has(towerKey, hash);
  }
  /** Cached rows as stored (bytes, float16 or float32), one query for the lot: for readers that need no copy. */
  getRawFeatures(towerKey: string, hashes: readonly string[]): Map<string, { dim: number; length: number; dtype: FeatureDtype; data: Buffer }> {
    return this.t.features.getRaw(towerKey, hashes);
  }
  /**
   * Cache tower features (as float16, see codecs.featureToBlob; read back as float32). `length` > 1 for
   * sequence features stored as [length, dim] (per-token text features of a sequence tower).
   */
  putFeatures(towerKey: string, items: readonly { hash: string; data: Float32Array; length?: number }[]): void {
    this.transaction(() => {
      for (const it of items) {
        const length = it.length ?? 1;
        this.t.features.put(towerKey, it.hash, it.data, it.data.length / length, length);
      }
    });
  }
  countFeatures(towerKey: string): number {
    return this.t.features.count(towerKey);
  }
  /** See FeatureQueries.compactionPlan. */
  featureCompactionPlan(f: FeatureCompaction): FeatureCompactionPlan {
    return this.t.features.compactionPlan(f);
  }
  /** Delete the features `featureCompactionPlan` calls droppable, in one transaction; returns how many. */
  dropCompactableFeatures(f: FeatureCompaction): number {
    return this.t.features.dropCompactable(f);
  }

  // ---- salvage (salvage.ts); the file's upkeep is `disk` (file.ts) ---------------------------------

  /** Copy whatever can still be read from a damaged library file into this (new, empty) store (see salvage.ts). */
  salvageFrom(file: string): SalvageCounts {
    return salvageFrom(this.t, file);
  }

  // ---- skipped files (skipped.ts) and settings (settings.ts) -------------------------------------

  /** Log a file that could not be indexed; a photo row for that path (old content) leaves the index. */
  recordSkip(skip: SkipInput): void {
    writes.recordSkip(this.t, skip);
  }
  clearSkip(p: string): void {
    this.t.skipped.clear(p);
  }
  skipByPath(p: string): SkipRow | null {
    return this.t.skipped.byPath(p);
  }
  countSkipped(): number {
    return this.t.skipped.count();
  }
  listSkipped(limit = 100, offset = 0): { path: string; reason: string; at: string }[] {
    return this.t.skipped.list(limit, offset);
  }
  getSetting(key: string): string | null {
    return this.settings.get(key);
  }
  setSetting(key: string, value: string | null): void {
    this.settings.set(key, value);
  }
}
