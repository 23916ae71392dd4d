/**
 * The search filters (folder, date taken, place, file type, how good a match) and the order, as a compact bar, and the
 * active ones as removable chips. The search itself applies them (a filtered top-K, not a post-filter).
 */
import { GOOD_MATCH, PHOTO_TYPES, SEARCH_SORTS, type FolderInfo, type PhotoType, type PlaceCount, type SearchOptions, type SearchSort } from '../../../shared/api';
import { fileName } from '../format';

export interface Filters {
  folder: string | null;
  /** Date taken from / to, as the date inputs give them (YYYY-MM-DD, or '' when unset). */
  after: string;
  before: string;
  type: PhotoType | null;
  /** Taken in or near this place ("Lisbon, Portugal", "Portugal"), or anywhere. */
  near: string | null;
  /** Only matches at least this good (a match percentage), or all results. */
  minMatch: number | null;
  sort: SearchSort;
}

export const NO_FILTERS: Filters = { folder: null, after: '', before: '', type: null, near: null, minMatch: null, sort: 'relevance' };

const DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;
const SORT_LABEL: Record<SearchSort, string> = { relevance: 'Relevance', date: 'Date taken', path: 'Path' };

/** The choices of the match filter: a match percentage (see SearchHit.match) and what it reads as. */
const MATCH_LEVELS: { min: number; label: string }[] = [
  { min: GOOD_MATCH, label: `Good matches (${GOOD_MATCH}% and up)` },
  { min: 50, label: 'Strong matches (50% and up)' },
  { min: 75, label: 'Very strong (75% and up)' },
];

/** The filters as search options: unset (or not yet valid) ones are left out. */
export function searchOptions(f: Filters): SearchOptions {
  const o: SearchOptions = {};
  if (f.folder) o.folders = [f.folder];
  if (DATE.test(f.after)) o.after = f.after;
  if (DATE.test(f.before)) o.before = f.before;
  if (f.type) o.types = [f.type];
  if (f.near) o.near = f.near;
  if (f.minMatch !== null) o.minMatch = f.minMatch;
  if (f.sort !== 'relevance') o.sort = f.sort;
  return o;
}

/** True when a filter narrows the results (the order alone does not). */
export function narrows(f: Filters): boolean {
  const o = searchOptions(f);
  return !!(o.folders || o.after || o.before || o.types || o.near || o.minMatch !== undefined);
}

interface Chip {
  key: keyof Filters;
  label: string;
  title?: string;
}

function chipsFor(f: Filters): Chip[] {
  const o = searchOptions(f);
  const chips: Chip[] = [];
  if (o.folders) chips.push({ key: 'folder', label: `Folder: ${fileName(o.folders[0]!)}`, title: o.folders[0] });
  if (o.after) chips.push({ key: 'after', label: `Taken from ${o.after}` });
  if (o.before) chips.push({ key: 'before', label: `Taken until ${o.before}` });
  if (o.near) chips.push({ key: 'near', label: `Place: ${o.near}` });
  if (o.types) chips.push({ key: 'type', label: `Type: ${o.types[0]!.toUpperCase()}` });
  if (o.minMatch !== undefined) chips.push({ key: 'minMatch', label: `Match ≥ ${o.minMatch}%` });
  if (o.sort) chips.push({ key: 'sort', label: `Sorted by ${SORT_LABEL[o.sort].toLowerCase()}` });
  return chips;
}

interface Props {
  filters: Filters;
  folders: FolderInfo[];
  /** Where the library's photos were taken (from their GPS); the Place filter shows only when there are some. */
  places: PlaceCount[];
  onChange(next: Filters): void;
}

export function FilterBar({ filters, folders, places, onChange }: Props) {
  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => onChange({ ...filters, [key]: value });
  return (
    <div className="filter-bar" role="group" aria-label="Filters">
      <label>
        <span className="label">Folder</span>
        <select value={filters.folder ?? ''} onChange={(e) => set('folder', e.target.value || null)}>
          <option value="">All folders</option>
          {folders.map((f) => (
            <option key={f.path} value={f.path} title={f.path}>
              {fileName(f.path)}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="label">Taken from</span>
        <input type="date" value={filters.after} onChange={(e) => set('after', e.target.value)} />
      </label>
      <label>
        <span className="label">Taken until</span>
        <input type="date" value={filters.before} onChange={(e) => set('before', e.target.value)} />
      </label>
      {(places.length > 0 || filters.near) && (
        <label>
          <span className="label">Place</span>
          <select value={filters.near ?? ''} onChange={(e) => set('near', e.target.value || null)}>
            <option value="">Anywhere</option>
            {filters.near && !places.some((p) => p.name === filters.near) && <option value={filters.near}>{filters.near}</option>}
            {places.map((p) => (
              <option key={`${p.kind}:${p.name}`} value={p.name}>
                {`${p.name} (${p.photos.toLocaleString()})`}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        <span className="label">File type</span>
        <select value={filters.type ?? ''} onChange={(e) => set('type', (e.target.value || null) as PhotoType | null)}>
          <option value="">Any type</option>
          {PHOTO_TYPES.map((t) => (
            <option key={t} value={t}>
              {t.toUpperCase()}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="label">Matches</span>
        <select
          value={filters.minMatch ?? ''}
          title="How much a photo stands out from your library for this search (text searches)"
          onChange={(e) => set('minMatch', e.target.value === '' ? null : Number(e.target.value))}
        >
          <option value="">All results</option>
          {MATCH_LEVELS.map((l) => (
            <option key={l.min} value={l.min}>
              {l.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="label">Sort by</span>
        <select value={filters.sort} onChange={(e) => set('sort', e.target.value as SearchSort)}>
          {SEARCH_SORTS.map((s) => (
            <option key={s} value={s}>
              {SORT_LABEL[s]}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

/** The active filters, each removable. */
export function FilterChips({ filters, onChange }: Omit<Props, 'folders' | 'places'>) {
  const chips = chipsFor(filters);
  if (chips.length === 0) return null;
  return (
    <ul className="chip-row filter-chips" aria-label="Active filters" data-testid="filter-chips">
      {chips.map((c) => (
        <li key={c.key} className="chip removable" title={c.title}>
          <span>{c.label}</span>
          <button type="button" className="chip-x" aria-label={`Remove filter ${c.label}`} onClick={() => onChange({ ...filters, [c.key]: NO_FILTERS[c.key] })}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
