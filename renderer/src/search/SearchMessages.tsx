/** The words around the results: how many there are and where good matches end, or why there are none. */

/** "60 good matches, then weaker ones", "Best 60 of 312 photos", "First 60 matching photos", … */
export function resultCountLine(o: { shown: number; libraryImages: number; filtered: boolean; canShowMore: boolean; weakFrom: number }): string {
  const { shown, libraryImages, filtered, canShowMore, weakFrom } = o;
  if (filtered) return canShowMore ? `First ${shown.toLocaleString()} matching photos` : `${shown.toLocaleString()} matching ${shown === 1 ? 'photo' : 'photos'}`;
  if (weakFrom === 0) return 'No good matches: the closest photos';
  if (weakFrom > 0) return `${weakFrom.toLocaleString()} good ${weakFrom === 1 ? 'match' : 'matches'}, then weaker ones`;
  if (shown < libraryImages) return `Best ${shown.toLocaleString()} of ${libraryImages.toLocaleString()} photos`;
  return `${shown.toLocaleString()} ${shown === 1 ? 'photo' : 'photos'}`;
}

interface EmptyProps {
  /** The results (null: nothing asked yet). */
  shown: number | null;
  emptyLibrary: boolean;
  unknownWords: boolean;
  filtered: boolean;
  onGoLibrary(): void;
}

/** What the panel says instead of results: add a folder, what to type, unknown words, or no matches. Null when there are results. */
export function EmptyResults({ shown, emptyLibrary, unknownWords, filtered, onGoLibrary }: EmptyProps) {
  if (emptyLibrary && shown === null) {
    return (
      <div className="empty">
        <h2>Add a folder in Library to start</h2>
        <p>Photo Search looks at your photos once, on this computer, and then finds them by what they show.</p>
        <button type="button" className="primary" onClick={onGoLibrary}>
          Go to Library
        </button>
      </div>
    );
  }
  if (shown === null) {
    return (
      <div className="empty">
        <h2>Type what you are looking for</h2>
        <p>Try “sunset over water”, “a red car” or “people at a table”. Results appear as you type.</p>
        <p>Combine parts with + and −, weigh them (“2:dog + beach − 0.5:night”), or drop or paste an image into the box to find photos like it.</p>
        <p className="muted">Tips: arrow keys move through results, Enter opens a photo, Escape clears the search. Ctrl+F jumps here.</p>
      </div>
    );
  }
  if (shown === 0 && unknownWords) {
    return (
      <div className="empty" data-testid="unknown-words">
        <h2>No words in this query are known to the model</h2>
        <p>Try everyday words for what the photo shows.</p>
      </div>
    );
  }
  if (shown === 0) {
    return (
      <div className="empty">
        <h2>No matches yet</h2>
        <p>{filtered ? 'No photo passes the filters: remove one of them above.' : 'The library may still be indexing, or try other words.'}</p>
      </div>
    );
  }
  return null;
}
