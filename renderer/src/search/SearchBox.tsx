/** The search box: typed text (the query algebra), a spinner while searching, and the Image… picker (drop and paste land here too). */
import { useRef, type KeyboardEvent, type RefObject } from 'react';
import { MAX_QUERY_LENGTH } from '../../../shared/api';
import { firstFile, type useImageSearch } from './useImageSearch';

interface Props {
  searchRef: RefObject<HTMLInputElement | null>;
  query: string;
  loading: boolean;
  /** Id of the line that describes the box's state (a query error, the length limit), if any. */
  describedBy: string | undefined;
  invalid: boolean;
  onType(text: string): void;
  onKeyDown(e: KeyboardEvent): void;
  image: ReturnType<typeof useImageSearch>;
}

export function SearchBox({ searchRef, query, loading, describedBy, invalid, onType, onKeyDown, image }: Props) {
  const fileRef = useRef<HTMLInputElement>(null);
  return (
    <div className="searchbar" onDragOver={image.onDragOver} onDrop={image.onDrop}>
      <input
        ref={searchRef}
        type="search"
        aria-label="Search photos"
        aria-describedby={describedBy}
        aria-invalid={invalid ? true : undefined}
        placeholder="Describe a photo: “a dog running on the beach”"
        value={query}
        maxLength={MAX_QUERY_LENGTH}
        onChange={(e) => onType(e.target.value.slice(0, MAX_QUERY_LENGTH))}
        onKeyDown={onKeyDown}
        onPaste={image.onPaste}
        autoComplete="off"
        spellCheck={false}
      />
      {loading && <span className="spinner" aria-label="Searching" />}
      <button type="button" className="image-pick" onClick={() => fileRef.current?.click()} title="Search by an image: choose a file, or drop or paste one into the box">
        Image…
      </button>
      <input
        ref={fileRef}
        type="file"
        accept="image/*"
        className="visually-hidden"
        aria-label="Search by an image file"
        tabIndex={-1}
        onChange={(e) => {
          const file = firstFile(e.target.files);
          e.target.value = '';
          if (file) image.searchByFile(file);
        }}
      />
    </div>
  );
}
