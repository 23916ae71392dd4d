/**
 * The `embedding_changes` log (schema 4): triggers on `embeddings` fill it whichever process writes, so a
 * running app keeps its loaded vectors in step by reading only the photos that changed.
 */
import type Database from 'better-sqlite3';

export class EmbeddingChangeQueries {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      last: db.prepare('SELECT coalesce(max(seq), 0) FROM embedding_changes').pluck(),
      first: db.prepare('SELECT min(seq) FROM embedding_changes').pluck(),
      since: db.prepare('SELECT DISTINCT photo_id FROM embedding_changes WHERE seq > ? AND seq <= ? AND model_id = ?').pluck(),
    };
  }

  /** Sequence number of the last embedding change (any model, any process); 0 when none was logged. */
  last(): number {
    return this.s.last.get() as number;
  }

  /**
   * Photos whose embedding of `modelId` was added, replaced or removed after change `since`, up to the
   * latest change (`upTo`, read in the same transaction). `complete` is false when the log no longer
   * reaches back to `since` (trimmed): the caller must reload everything.
   */
  since(since: number, modelId: string): { upTo: number; photoIds: number[]; complete: boolean } {
    return this.db
      .transaction(() => {
        const upTo = this.last();
        if (upTo <= since) return { upTo, photoIds: [], complete: true };
        const first = this.s.first.get() as number | null;
        const complete = first !== null && first <= since + 1;
        return { upTo, photoIds: complete ? (this.s.since.all(since, upTo, modelId) as number[]) : [], complete };
      })
      .deferred();
  }
}
