/**
 * The `features` table: tower outputs cached by (tower, content hash), float16 (see codecs.ts), so that
 * retraining and switching models never decode a photo again. Also what `compact` may drop of it.
 */
import { blobToFeature, featureToBlob, type FeatureDtype } from './codecs';
import type { Db } from './context';
import { StoreError } from './errors';

export interface FeatureRecord {
  data: Float32Array;
  dim: number;
  /** Rows for sequence features ([length, dim]); 1 for a single vector. */
  length: number;
}

/** Whose features `compact` keeps: see FeatureQueries.compactionPlan. */
export interface FeatureCompaction {
  towerKey: string;
  modelId: string;
  pendingModelId: string | null;
  /** Also drop what captioned sets cached (their photos' and captions' features, of any tower): content no library photo has. */
  sets?: boolean;
}

export interface FeatureCompactionPlan {
  /** Every cached feature row, and the bytes of their vectors. */
  total: { rows: number; bytes: number };
  droppable: { rows: number; bytes: number };
  /** Library photos not yet embedded with the active model (or the pending one): the indexer needs these. */
  keptStillToEmbed: number;
  /** Rows of this tower for content no library photo has (the photos of a captioned set). */
  keptNotInLibrary: number;
  /** Rows of other towers: caption text features, other models' image towers. */
  keptOtherTowers: number;
  /** Of `droppable`, the rows captioned sets cached (with `sets`; else 0). */
  setRows: number;
}

/** A feature row of the image tower `@key` or of one of its augmented views (`@key#hflip`). */
const TOWER_ROWS = '(tower_key = @key OR (tower_key >= @viewsFrom AND tower_key < @viewsTo))';
/**
 * Its content is in the library, and every photo with that content is embedded with `@model` (and with
 * `@pending`, when a switch is unfinished): nothing reads these features again until the heads change.
 */
const DROPPABLE = `content_hash IN (SELECT content_hash FROM photos)
  AND content_hash NOT IN (
    SELECT p.content_hash FROM photos p
    WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = @model)
       OR (@pending IS NOT NULL AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = @pending)))`;

/** Content no library photo has: the photos and caption lines of captioned sets. */
const NOT_IN_LIBRARY = 'content_hash NOT IN (SELECT content_hash FROM photos)';

function compactionParams(f: FeatureCompaction) {
  // The views' keys are `towerKey#name`: every key from `towerKey#` up to (not including) `towerKey$`.
  return { key: f.towerKey, viewsFrom: `${f.towerKey}#`, viewsTo: `${f.towerKey}$`, model: f.modelId, pending: f.pendingModelId };
}

export class FeatureQueries {
  private readonly s;

  constructor(private readonly c: Db) {
    const db = c.db;
    const count = (where: string) => db.prepare(`SELECT count(*) AS rows, coalesce(sum(length(data)), 0) AS bytes FROM features WHERE ${where}`);
    this.s = {
      get: db.prepare('SELECT dim, length, dtype, data FROM features WHERE tower_key = ? AND content_hash = ?'),
      // One query for a page of hashes (a JSON array): the primary key finds each.
      getRaw: db.prepare(
        'SELECT content_hash AS hash, dim, length, dtype, data FROM features WHERE tower_key = ? AND content_hash IN (SELECT value FROM json_each(?))',
      ),
      has: db.prepare('SELECT 1 FROM features WHERE tower_key = ? AND content_hash = ?').pluck(),
      put: db.prepare('INSERT OR REPLACE INTO features (tower_key, content_hash, dim, length, dtype, data) VALUES (?, ?, ?, ?, ?, ?)'),
      count: db.prepare('SELECT count(*) FROM features WHERE tower_key = ?').pluck(),
      deleteOfHash: db.prepare('DELETE FROM features WHERE content_hash = ?'),
      countAll: count('1'),
      countOfTower: count(TOWER_ROWS),
      countDroppable: count(`${TOWER_ROWS} AND ${DROPPABLE}`),
      countInLibrary: count(`${TOWER_ROWS} AND content_hash IN (SELECT content_hash FROM photos)`),
      dropDroppable: db.prepare(`DELETE FROM features WHERE ${TOWER_ROWS} AND ${DROPPABLE}`),
      countSets: count(NOT_IN_LIBRARY),
      dropSets: db.prepare(`DELETE FROM features WHERE ${NOT_IN_LIBRARY}`),
    };
  }

  /** Cached tower features for these content hashes (missing ones are absent from the map). */
  get(towerKey: string, hashes: readonly string[]): Map<string, FeatureRecord> {
    const out = new Map<string, FeatureRecord>();
    for (const h of hashes) {
      if (out.has(h)) continue;
      const r = this.s.get.get(towerKey, h) as { dim: number; length: number; dtype: FeatureDtype; data: Buffer } | undefined;
      if (r) out.set(h, { dim: r.dim, length: r.length, data: blobToFeature(r.data, r.dtype) });
    }
    return out;
  }

  /** Cached rows for these content hashes as stored (bytes and their type), in one query; missing ones are absent. */
  getRaw(towerKey: string, hashes: readonly string[]): Map<string, { dim: number; length: number; dtype: FeatureDtype; data: Buffer }> {
    const out = new Map<string, { dim: number; length: number; dtype: FeatureDtype; data: Buffer }>();
    if (hashes.length === 0) return out;
    for (const r of this.s.getRaw.all(towerKey, JSON.stringify(hashes)) as { hash: string; dim: number; length: number; dtype: FeatureDtype; data: Buffer }[])
      out.set(r.hash, { dim: r.dim, length: r.length, dtype: r.dtype, data: r.data });
    return out;
  }

  has(towerKey: string, hash: string): boolean {
    return this.s.has.get(towerKey, hash) === 1;
  }

  /** One row, encoded as float16 where it fits (call inside a transaction when writing many). */
  put(towerKey: string, hash: string, data: Float32Array, dim: number, length: number): void {
    if (!Number.isInteger(dim)) throw new StoreError(`Feature vector of ${data.length} values does not split into ${length} rows.`);
    const { blob, dtype } = featureToBlob(data);
    this.s.put.run(towerKey, hash, dim, length, dtype, blob);
  }

  /** One row's bytes as they are (salvage copies rows without decoding them). */
  putRaw(row: { towerKey: string; hash: string; dim: unknown; length: unknown; dtype: FeatureDtype; data: Buffer }): void {
    this.s.put.run(row.towerKey, row.hash, row.dim, row.length, row.dtype, row.data);
  }

  count(towerKey: string): number {
    return this.s.count.get(towerKey) as number;
  }

  deleteOfHash(hash: string): void {
    this.s.deleteOfHash.run(hash);
  }

  /**
   * Which cached tower features `compact` may drop: rows of the image tower `towerKey` (and its augmented
   * views, `towerKey#view`, cached by training) whose content every library photo with that content has
   * embedded with `modelId`, and with `pendingModelId` too when a model switch is unfinished (resuming it
   * re-embeds from these features). What stays: features of photos still to embed, of other towers (caption
   * text, other models), and of content no library photo has (the photos of a captioned set).
   */
  compactionPlan(f: FeatureCompaction): FeatureCompactionPlan {
    return this.c.db
      .transaction(() => {
        const p = compactionParams(f);
        type Count = { rows: number; bytes: number };
        const all = this.s.countAll.get(p) as Count;
        const ofTower = this.s.countOfTower.get(p) as Count;
        const droppable = this.s.countDroppable.get(p) as Count;
        const inLibrary = this.s.countInLibrary.get(p) as Count;
        const plan = {
          total: all,
          droppable,
          keptStillToEmbed: inLibrary.rows - droppable.rows,
          keptNotInLibrary: ofTower.rows - inLibrary.rows,
          keptOtherTowers: all.rows - ofTower.rows,
          setRows: 0,
        };
        if (!f.sets) return plan;
        // The sets' rows go too: this tower's photos of sets, and other towers' rows of sets (caption text).
        const sets = this.s.countSets.get() as Count;
        return {
          ...plan,
          droppable: { rows: droppable.rows + sets.rows, bytes: droppable.bytes + sets.bytes },
          keptNotInLibrary: 0,
          keptOtherTowers: plan.keptOtherTowers - (sets.rows - plan.keptNotInLibrary),
          setRows: sets.rows,
        };
      })
      .deferred();
  }

  /** Delete the features `compactionPlan` calls droppable, in one transaction; returns how many. */
  dropCompactable(f: FeatureCompaction): number {
    return this.c.transaction(() => this.s.dropDroppable.run(compactionParams(f)).changes + (f.sets ? this.s.dropSets.run().changes : 0));
  }
}
