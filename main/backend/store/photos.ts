/** The `photos` table: one row per indexed file, its size, time, content hash, pixels, date taken and place. */
import type { Db } from './context';
import { now, UNDER, underParams } from './paths';

/** Where a photo was taken, resolved offline from its GPS position. */
export interface PlaceInput {
  city: string;
  region: string | null;
  country: string;
  /** The place's names folded for matching ("|lisbon|lisbon|portugal|pt|"). */
  key: string;
}

/** Which reader filled a row's date offset, GPS and place (rows from before read none of them: 0). */
export const META_VERSION = 1;

export interface PhotoInput {
  path: string;
  root: string;
  size: number;
  mtimeMs: number;
  contentHash: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  /** The UTC offset the file records for takenAt ("+01:00"). */
  takenOffset?: string | null;
  gps?: { lat: number; lon: number } | null;
  place?: PlaceInput | null;
  /** false: the offset, GPS and place were not read (a row carried over from an older library); default true. */
  metaRead?: boolean;
  /**
   * The perceptual hash of its pixels and the tower view it was computed from (photos/pixel-hash.ts). Left
   * out: kept while the content is the same, else cleared.
   */
  pixels?: PixelHash | null;
}

export interface PixelHash {
  /** How the photo was fitted into the square the hash was computed from ('cover', 'contain', 'squash'). */
  view: string;
  /** 64 hex digits. */
  hash: string;
}

export interface PhotoRow extends Omit<PhotoInput, 'pixels'> {
  id: number;
  indexedAt: string;
}

/** What the indexer needs to decide whether a file changed. */
export interface PhotoState extends Omit<PhotoInput, 'path' | 'root' | 'pixels'> {
  id: number;
  /** Whether the model asked about embedded it. */
  embedded: boolean;
  /** Whether its date offset, GPS and place were read (false for rows from an older library). */
  metaRead: boolean;
  /** The view its pixel hash was computed from, null when it has none (indexed before pixel hashes). */
  pixelView: string | null;
}

interface RawPhoto {
  id: number;
  path: string;
  root: string;
  size: number;
  mtime_ms: number;
  content_hash: string;
  width: number | null;
  height: number | null;
  taken_at: string | null;
  indexed_at: string;
  taken_offset: string | null;
  gps_lat: number | null;
  gps_lon: number | null;
  place_city: string | null;
  place_region: string | null;
  place_country: string | null;
  place_key: string | null;
}

function toPhoto(r: RawPhoto): PhotoRow {
  return {
    id: r.id,
    path: r.path,
    root: r.root,
    size: r.size,
    mtimeMs: r.mtime_ms,
    contentHash: r.content_hash,
    width: r.width,
    height: r.height,
    takenAt: r.taken_at,
    indexedAt: r.indexed_at,
    takenOffset: r.taken_offset ?? null,
    gps: r.gps_lat !== null && r.gps_lon !== null ? { lat: r.gps_lat, lon: r.gps_lon } : null,
    place: r.place_city !== null && r.place_country !== null ? { city: r.place_city, region: r.place_region, country: r.place_country, key: r.place_key ?? '' } : null,
  };
}

/** The row's columns for a photo's date offset, position and place. */
function metaParams(p: Pick<PhotoInput, 'takenOffset' | 'gps' | 'place' | 'metaRead'>) {
  return {
    takenOffset: p.takenOffset ?? null,
    gpsLat: p.gps?.lat ?? null,
    gpsLon: p.gps?.lon ?? null,
    placeCity: p.place?.city ?? null,
    placeRegion: p.place?.region ?? null,
    placeCountry: p.place?.country ?? null,
    placeKey: p.place?.key ?? null,
    metaVersion: p.metaRead === false ? 0 : META_VERSION,
  };
}

/** The date a photo was taken: EXIF when it has one, else its file's modification time (local time). */
export const TAKEN_SQL = `coalesce(taken_at, strftime('%Y-%m-%dT%H:%M:%S', mtime_ms / 1000, 'unixepoch', 'localtime'))`;

export class PhotoQueries {
  private readonly s;

  constructor(c: Db) {
    const db = c.db;
    this.s = {
      byPath: db.prepare('SELECT * FROM photos WHERE path = ?'),
      byId: db.prepare('SELECT * FROM photos WHERE id = ?'),
      stateByPath: db.prepare(
        `SELECT p.*,
                EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?) AS embedded
         FROM photos p WHERE p.path = ?`,
      ),
      upsert: db.prepare(
        `INSERT INTO photos (path, root, size, mtime_ms, content_hash, width, height, taken_at, indexed_at,
                             taken_offset, gps_lat, gps_lon, place_city, place_region, place_country, place_key, meta_version,
                             pixel_hash, pixel_view)
         VALUES (@path, @root, @size, @mtimeMs, @contentHash, @width, @height, @takenAt, @indexedAt,
                 @takenOffset, @gpsLat, @gpsLon, @placeCity, @placeRegion, @placeCountry, @placeKey, @metaVersion,
                 @pixelHash, @pixelView)
         ON CONFLICT (path) DO UPDATE SET root = excluded.root, size = excluded.size, mtime_ms = excluded.mtime_ms,
           content_hash = excluded.content_hash, width = excluded.width, height = excluded.height,
           taken_at = excluded.taken_at, indexed_at = excluded.indexed_at, taken_offset = excluded.taken_offset,
           gps_lat = excluded.gps_lat, gps_lon = excluded.gps_lon, place_city = excluded.place_city,
           place_region = excluded.place_region, place_country = excluded.place_country, place_key = excluded.place_key,
           meta_version = excluded.meta_version,
           pixel_hash = CASE WHEN excluded.pixel_hash IS NOT NULL THEN excluded.pixel_hash
                             WHEN photos.content_hash = excluded.content_hash THEN photos.pixel_hash END,
           pixel_view = CASE WHEN excluded.pixel_hash IS NOT NULL THEN excluded.pixel_view
                             WHEN photos.content_hash = excluded.content_hash THEN photos.pixel_view END
         RETURNING id`,
      ),
      staleMeta: db.prepare(`SELECT id, path FROM photos WHERE meta_version < ${META_VERSION} AND ${UNDER} ORDER BY id LIMIT @limit`),
      setMeta: db.prepare(
        `UPDATE photos SET taken_at = coalesce(@takenAt, taken_at), taken_offset = @takenOffset, gps_lat = @gpsLat, gps_lon = @gpsLon,
           place_city = @placeCity, place_region = @placeRegion, place_country = @placeCountry, place_key = @placeKey,
           meta_version = @metaVersion
         WHERE id = @id`,
      ),
      cityCounts: db.prepare(
        `SELECT place_city AS city, place_country AS country, count(*) AS photos FROM photos WHERE place_city IS NOT NULL
         GROUP BY place_city, place_country ORDER BY photos DESC, city LIMIT ?`,
      ),
      countryCounts: db.prepare(
        `SELECT place_country AS country, count(*) AS photos FROM photos WHERE place_country IS NOT NULL
         GROUP BY place_country ORDER BY photos DESC, country LIMIT ?`,
      ),
      placeKnown: db.prepare(`SELECT 1 FROM photos WHERE instr(place_key, @key) > 0 LIMIT 1`).pluck(),
      hashByPath: db.prepare('SELECT id, content_hash FROM photos WHERE path = ?'),
      setPixels: db.prepare('UPDATE photos SET pixel_hash = @hash, pixel_view = @view WHERE path = @path AND content_hash = @contentHash'),
      pixelsOfContent: db.prepare('SELECT pixel_hash FROM photos WHERE content_hash = ? AND pixel_view = ? AND pixel_hash IS NOT NULL LIMIT 1').pluck(),
      deleteById: db.prepare('DELETE FROM photos WHERE id = ?'),
      deleteByPath: db.prepare('DELETE FROM photos WHERE path = ?'),
      under: db.prepare(`SELECT id, path, content_hash FROM photos WHERE ${UNDER}`),
      count: db.prepare('SELECT count(*) FROM photos').pluck(),
      countUnder: db.prepare(`SELECT count(*) FROM photos WHERE ${UNDER}`).pluck(),
      hashInUse: db.prepare('SELECT 1 FROM photos WHERE content_hash = ? LIMIT 1').pluck(),
      reroot: db.prepare('UPDATE photos SET root = ? WHERE root = ?'),
      byIds: db.prepare('SELECT * FROM photos WHERE id IN (SELECT value FROM json_each(?))'),
      missingEmbedding: db.prepare(
        `SELECT p.* FROM photos p
         WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)
         ORDER BY p.id`,
      ),
      countMissingEmbedding: db
        .prepare('SELECT count(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)')
        .pluck(),
      sortedByDate: db.prepare(`SELECT id FROM photos WHERE id IN (SELECT value FROM json_each(?)) ORDER BY ${TAKEN_SQL} DESC, id`).pluck(),
      sortedByPath: db.prepare('SELECT id FROM photos WHERE id IN (SELECT value FROM json_each(?)) ORDER BY path, id').pluck(),
    };
  }

  byPath(p: string): PhotoRow | null {
    const r = this.s.byPath.get(p) as RawPhoto | undefined;
    return r ? toPhoto(r) : null;
  }

  byId(id: number): PhotoRow | null {
    const r = this.s.byId.get(id) as RawPhoto | undefined;
    return r ? toPhoto(r) : null;
  }

  state(p: string, modelId: string): PhotoState | null {
    const r = this.s.stateByPath.get(modelId, p) as (RawPhoto & { embedded: number; meta_version: number; pixel_view: string | null }) | undefined;
    if (!r) return null;
    const { path: _path, root: _root, indexedAt: _at, ...row } = toPhoto(r);
    // A row from before offsets and GPS were read must not be written back as read (meta_version would say so).
    return { ...row, embedded: r.embedded === 1, metaRead: r.meta_version >= META_VERSION, pixelView: r.pixel_view };
  }

  /** The id and content hash of the row for this path, if any. */
  hashByPath(p: string): { id: number; contentHash: string } | null {
    const r = this.s.hashByPath.get(p) as { id: number; content_hash: string } | undefined;
    return r ? { id: r.id, contentHash: r.content_hash } : null;
  }

  /** Insert or update the row for `photo.path`; returns its id. */
  upsert(photo: PhotoInput): number {
    const { path, root, size, mtimeMs, contentHash, width, height, takenAt } = photo;
    const pixels = { pixelHash: photo.pixels?.hash ?? null, pixelView: photo.pixels?.view ?? null };
    const { id } = this.s.upsert.get({ path, root, size, mtimeMs, contentHash, width, height, takenAt, indexedAt: now(), ...metaParams(photo), ...pixels }) as { id: number };
    return id;
  }

  /** Store the pixel hash of the photo at `path`, if it still has content `contentHash`. */
  setPixels(path: string, contentHash: string, pixels: PixelHash): void {
    this.s.setPixels.run({ path, contentHash, ...pixels });
  }

  /** The pixel hash (of `view`) some photo with this content already has, or null. */
  pixelsOfContent(contentHash: string, view: string): string | null {
    return (this.s.pixelsOfContent.get(contentHash, view) as string | undefined) ?? null;
  }

  /** Up to `limit` photos under `folder` whose date offset, GPS and place were never read (rows from before). */
  staleMeta(folder: string, limit: number): { id: number; path: string }[] {
    return this.s.staleMeta.all({ ...underParams(folder), limit }) as { id: number; path: string }[];
  }

  /** Record what a second look at a photo's header found (its date too, when it has one). */
  setMeta(id: number, meta: Pick<PhotoInput, 'takenAt' | 'takenOffset' | 'gps' | 'place'>): void {
    this.s.setMeta.run({ id, takenAt: meta.takenAt, ...metaParams(meta) });
  }

  /** The cities and the countries photos were taken in, most photos first (up to `limit` of each). */
  placeCounts(limit: number): { cities: { city: string; country: string; photos: number }[]; countries: { country: string; photos: number }[] } {
    return {
      cities: this.s.cityCounts.all(limit) as { city: string; country: string; photos: number }[],
      countries: this.s.countryCounts.all(limit) as { country: string; photos: number }[],
    };
  }

  /** True when some photo's place has this folded name ("|lisbon|"). */
  placeKnown(foldedName: string): boolean {
    return this.s.placeKnown.get({ key: `|${foldedName}|` }) !== undefined;
  }

  deleteById(id: number): number {
    return this.s.deleteById.run(id).changes;
  }

  deleteByPath(p: string): number {
    return this.s.deleteByPath.run(p).changes;
  }

  /** Every photo under `folder` (absolute). */
  under(folder: string): { id: number; path: string; content_hash: string }[] {
    return this.s.under.all(underParams(folder)) as { id: number; path: string; content_hash: string }[];
  }

  /** Rows for these ids, in the order given (unknown ids are left out). */
  byIds(ids: readonly number[]): PhotoRow[] {
    if (ids.length === 0) return [];
    const byId = new Map((this.s.byIds.all(JSON.stringify(ids)) as RawPhoto[]).map((r) => [r.id, toPhoto(r)]));
    const out: PhotoRow[] = [];
    for (const id of ids) {
      const r = byId.get(id);
      if (r) out.push(r);
    }
    return out;
  }

  count(): number {
    return this.s.count.get() as number;
  }

  countUnder(folder: string): number {
    return this.s.countUnder.get(underParams(folder)) as number;
  }

  /** True when some photo in the library has this content. */
  hasContent(contentHash: string): boolean {
    return this.s.hashInUse.get(contentHash) !== undefined;
  }

  /** Photos of root `from` now belong to root `to`. */
  reroot(from: string, to: string): void {
    this.s.reroot.run(to, from);
  }

  missingEmbedding(modelId: string): PhotoRow[] {
    return (this.s.missingEmbedding.all(modelId) as RawPhoto[]).map(toPhoto);
  }

  countMissingEmbedding(modelId: string): number {
    return this.s.countMissingEmbedding.get(modelId) as number;
  }

  /** These photo ids ordered by date taken (newest first) or by path; ids not in the library are left out. */
  idsSorted(ids: readonly number[], by: 'date' | 'path'): number[] {
    if (ids.length === 0) return [];
    return (by === 'date' ? this.s.sortedByDate : this.s.sortedByPath).all(JSON.stringify(ids)) as number[];
  }
}
