/**
 * The library database (rclip's db.py, grown into a folder): `Store` is the one facade; the rest is what its
 * callers and tests need by name. Import it as `../store`.
 */
export { Store } from './store';
export { VERSION, MIGRATIONS } from './schema';
export { StoreError, isCorruptionError, explainStorageError, damagedError } from './errors';
export { vectorToBlob, blobToVector, featureToBlob, blobToFeature, isSoundEmbedding, type FeatureDtype } from './codecs';
export { escapeLike } from './paths';
export { TYPE_EXTENSIONS, nextPeriod, type PhotoFilter } from './filters';
export type { PhotoInput, PhotoRow, PhotoState, PixelHash } from './photos';
export type { EmbeddingMatrix } from './embeddings';
export type { FeatureRecord, FeatureCompaction, FeatureCompactionPlan } from './features';
export type { StoragePart, StorageBreakdown } from './file';
export type { SkipInput, SkipRow } from './skipped';
export type { SalvageCounts } from './salvage';
export type { BatchItem } from './writes';
export type { PhotoTextInput, PhotoTextRow, TextTodo } from './photo-text';
