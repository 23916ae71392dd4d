/**
 * The `photo_text` table and its FTS5 index: the words read in each photo's content (see schema step 6).
 * Rows are keyed by content hash; photos reach them through `photos.content_hash`.
 */
import type Database from 'better-sqlite3';
import type { Db } from './context';
import { escapeLike, now } from './paths';

export interface PhotoTextInput {
  contentHash: string;
  engine: string;
  /** The lines joined by newlines; '' when the photo has no text. */
  text: string;
  /** JSON of the lines (text, score, box). */
  lines: string;
  /** Why the photo could not be read (then text is ''). */
  failed?: string | null;
  /** The text gate that passed over the photo without reading it (then text is ''); absent when it was read. */
  gate?: string | null;
}

export interface PhotoTextRow {
  engine: string;
  text: string;
  lines: string;
  failed: string | null;
  gate: string | null;
}

/** A photo whose content has not been read by the text engine yet. */
export interface TextTodo {
  id: number;
  path: string;
  contentHash: string;
}

/** A word as an FTS5 string: in double quotes, inner quotes doubled (no operator survives). */
function ftsString(word: string): string {
  return `"${word.replace(/"/g, '""')}"`;
}

/** Words shorter than a trigram cannot use the index: they are matched with LIKE over the text instead. */
const MIN_INDEXED = 3;

/** The photo's content has a row of this engine that counts as done: read, or passed over by the gate in use. */
const UNDONE = `NOT EXISTS (SELECT 1 FROM photo_text t WHERE t.content_hash = p.content_hash AND t.engine = @engine AND (t.gate IS NULL OR t.gate = @gate))`;

export class PhotoTextQueries {
  private readonly s;

  private readonly db: Database.Database;

  constructor(private readonly c: Db) {
    const db = c.db;
    this.db = db;
    this.s = {
      // Ascending ids from `after`: the photos primary key, no sort; copies of one content are merged by the caller.
      todo: db.prepare(`SELECT p.id, p.path, p.content_hash AS contentHash FROM photos p WHERE p.id > @after AND ${UNDONE} ORDER BY p.id LIMIT @limit`),
      countTodo: db.prepare(`SELECT count(DISTINCT p.content_hash) FROM photos p WHERE ${UNDONE}`).pluck(),
      put: db.prepare(
        `INSERT INTO photo_text (content_hash, engine, text, lines, failed, gate, read_at) VALUES (@contentHash, @engine, @text, @lines, @failed, @gate, @at)
         ON CONFLICT (content_hash) DO UPDATE SET engine = excluded.engine, text = excluded.text, lines = excluded.lines,
           failed = excluded.failed, gate = excluded.gate, read_at = excluded.read_at`,
      ),
      hasPhoto: db.prepare('SELECT 1 FROM photos WHERE content_hash = ? LIMIT 1').pluck(),
      dropOrphans: db.prepare('DELETE FROM photo_text WHERE content_hash NOT IN (SELECT content_hash FROM photos)'),
      ofPhoto: db.prepare('SELECT t.engine, t.text, t.lines, t.failed, t.gate FROM photos p JOIN photo_text t ON t.content_hash = p.content_hash WHERE p.id = ?'),
      countWithText: db.prepare(`SELECT count(*) FROM photos p JOIN photo_text t ON t.content_hash = p.content_hash WHERE t.text <> ''`).pluck(),
      countRead: db.prepare('SELECT count(*) FROM photos p JOIN photo_text t ON t.content_hash = p.content_hash WHERE t.gate IS NULL').pluck(),
      countGated: db.prepare('SELECT count(*) FROM photos p JOIN photo_text t ON t.content_hash = p.content_hash WHERE t.gate IS NOT NULL').pluck(),
    };
  }

  /**
   * Up to `limit` photos not read by `engine`, ids above `after`, ascending (copies of a content may repeat).
   * A photo a gate passed over counts as done only for that same gate (`gate`); with null (read every photo)
   * it is to do again.
   */
  todo(engine: string, after: number, limit: number, gate: string | null = null): TextTodo[] {
    return this.s.todo.all({ after, engine, limit, gate }) as TextTodo[];
  }

  countTodo(engine: string, gate: string | null = null): number {
    return this.s.countTodo.get({ engine, gate }) as number;
  }

  /** Store what was read, in one transaction; a content no photo has any more (changed or removed meanwhile) is not stored. */
  put(rows: readonly PhotoTextInput[]): number {
    return this.c.transaction(() => {
      let n = 0;
      for (const r of rows) {
        if (!this.s.hasPhoto.get(r.contentHash)) continue;
        this.s.put.run({ ...r, failed: r.failed ?? null, gate: r.gate ?? null, at: now() });
        n++;
      }
      return n;
    });
  }

  /** Text of contents no photo has any more (a photo changed or left the library) goes; returns how many. */
  dropOrphans(): number {
    return this.c.transaction(() => this.s.dropOrphans.run().changes);
  }

  ofPhoto(photoId: number): PhotoTextRow | null {
    return (this.s.ofPhoto.get(photoId) as PhotoTextRow | undefined) ?? null;
  }

  countWithText(): number {
    return this.s.countWithText.get() as number;
  }

  /** Photos the reader read (with text or not); those a gate passed over are not counted. */
  countRead(): number {
    return this.s.countRead.get() as number;
  }

  /** Photos a text gate passed over without reading them. */
  countGated(): number {
    return this.s.countGated.get() as number;
  }

  /**
   * Photo ids whose text contains every word (case and accents ignored, anywhere in the text: "4711" is found
   * in "INVOICE4711"), best matches first (FTS5's bm25), at most `limit`.
   */
  idsWithAllWords(words: readonly string[], limit: number): number[] {
    const indexed = words.filter((w) => [...w].length >= MIN_INDEXED);
    const short = words.filter((w) => [...w].length < MIN_INDEXED);
    if (indexed.length === 0 && short.length === 0) return [];
    const likes = short.map(() => `t.text LIKE ? ESCAPE '\\'`);
    const likeParams = short.map((w) => `%${escapeLike(w)}%`);
    if (indexed.length === 0) {
      const sql = `SELECT p.id FROM photo_text t JOIN photos p ON p.content_hash = t.content_hash WHERE t.text <> '' AND ${likes.join(' AND ')} ORDER BY p.id LIMIT ?`;
      return this.db.prepare(sql).pluck().all(...likeParams, limit) as number[];
    }
    const sql = `SELECT p.id FROM photo_text_fts f JOIN photo_text t ON t.id = f.rowid JOIN photos p ON p.content_hash = t.content_hash
      WHERE photo_text_fts MATCH ? ${likes.map((l) => `AND ${l}`).join(' ')} ORDER BY bm25(photo_text_fts), p.id LIMIT ?`;
    return this.db.prepare(sql).pluck().all(indexed.map(ftsString).join(' AND '), ...likeParams, limit) as number[];
  }
}
