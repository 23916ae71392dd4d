/**
 * The search domain's service and its slice of the API table: search by query, by a library photo, by an
 * image file or bytes, and the duplicate finder, over the live index of the active model.
 */
import type { ApiHandlers, DuplicateGroup, PlaceCount, SearchHit, SearchOptions } from '../../../shared/api';
import { AppError } from '../errors';
import { pixelViewOf } from '../photos/pixel-hash';
import type { BackendState } from '../state';
import { clampUnit, findDuplicates, scoresToFirst } from './duplicates';
import { splitPlaceWords } from './place-words';
import { requestParts, runSearch, toSearchHits, type SearchRequest } from './searcher';
import type { VectorIndex } from './vector-index';

export type SearchHandlers = Pick<ApiHandlers, 'search' | 'searchLike' | 'searchFiles' | 'searchImage' | 'duplicates' | 'places'>;

export class SearchService {
  constructor(private readonly s: BackendState) {}

  handlers(): SearchHandlers {
    return {
      search: ({ query, top, ...opts }) => this.search(query, top, opts),
      searchLike: ({ id, top, ...opts }) => this.searchLike(id, top, opts),
      searchFiles: ({ files, top, ...opts }) => this.searchLikeFile(files, top, opts),
      // The API table checked the image's size (not empty, at most MAX_SEARCH_IMAGE_BYTES).
      searchImage: ({ image, ...opts }) => this.run({ ...opts, image: Buffer.from(image, 'base64') }),
      duplicates: (p) => this.duplicates(p.threshold),
      places: async () => this.places(),
    };
  }

  /**
   * Search by a query (text, or the algebra of shared/query.ts), with filters, paging and order. Place words
   * ("beach in Lisbon") become the place filter when photos were taken at that place (search/place-words.ts).
   */
  search(query: string, top = 20, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const split = opts.near ? null : splitPlaceWords(query, (name) => this.s.store.placeKnown(name));
    return this.run(split ? { ...opts, query: split.text, near: split.near, top } : { ...opts, query, top });
  }

  /** Places the library's photos were taken at: cities ("Lisbon, Portugal"), then countries, most photos first. */
  places(): PlaceCount[] {
    const { cities, countries } = this.s.store.placeCounts(200);
    return [
      ...cities.map((c) => ({ name: `${c.city}, ${c.country}`, kind: 'city' as const, photos: c.photos })),
      ...countries.map((c) => ({ name: c.country, kind: 'country' as const, photos: c.photos })),
    ];
  }

  /** "More like this" for a library photo (the photo itself is not a result). */
  searchLike(id: number, top = 20, opts: SearchOptions = {}): Promise<SearchHit[]> {
    return this.run({ ...opts, likeIds: [id], top });
  }

  /** "More like this" for image files, in the library or not, with optional text (CLI --like). */
  searchLikeFile(file: string | readonly string[], top = 20, opts: SearchOptions & { query?: string } = {}): Promise<SearchHit[]> {
    return this.run({ ...opts, likeFiles: typeof file === 'string' ? [file] : file, top });
  }

  /** Search by an image's bytes (dropped or pasted in the search box; it need not be in the library). */
  searchImage(image: Buffer, opts: SearchOptions = {}): Promise<SearchHit[]> {
    return this.run({ ...opts, image });
  }

  /**
   * Groups of duplicate photos of the library: exact copies, then near-duplicates whose similarity (embedding
   * cosine or pixel hash, whichever is higher; search/duplicates.ts) reaches `threshold`.
   */
  async duplicates(threshold = 0.95): Promise<DuplicateGroup[]> {
    this.ensureNotEmpty();
    const active = this.s.active.entry();
    const input = this.s.store.embeddingsWithHashes(active.id, pixelViewOf(active.manifest.image.preprocess));
    const groups = await findDuplicates(input, { threshold });
    return groups.map((g) => ({ kind: g.kind, minScore: clampUnit(g.minScore), photos: toSearchHits(this.s.store, scoresToFirst(input, g)) }));
  }

  /** Photos whose stored embedding is garbage: left out of search (see LiveIndex.damagedCount). */
  damagedEmbeddings(): number {
    return this.s.searchIndex.damagedCount(this.s.active.id());
  }

  /** Start loading the embeddings now (app start-up) without waiting for it. */
  warmUp(): void {
    try {
      this.s.searchIndex.warmUp(this.s.active.id());
      // The model's query bank and caption memory are embedded once per model: now rather than in the first search.
      void this.s.active
        .load()
        .then((m) => Promise.all([m.queryBank(), m.embedQueries(['a photo'])]))
        .catch(() => undefined);
    } catch {
      // no model yet: nothing to warm
    }
  }

  private async run(req: SearchRequest): Promise<SearchHit[]> {
    const parts = requestParts(req); // a malformed query is refused before anything loads
    this.ensureNotEmpty();
    const modelId = this.s.active.id();
    const [model, index] = await Promise.all([this.s.active.load(), this.s.searchIndex.get(modelId)]);
    this.ensureEmbedded(modelId, index);
    return runSearch({ store: this.s.store, modelId, model, index }, req, parts);
  }

  /** Photos but no vectors of the active model: say why nothing can be found, instead of "No photos found". */
  private ensureEmbedded(modelId: string, index: VectorIndex): void {
    if (index.size > 0) return;
    const photos = this.s.store.countPhotos();
    if (photos === 0) return;
    throw new AppError(
      'empty_library',
      `None of the ${photos} photos is embedded with model ${modelId} yet. Run \`photo-search models use ${modelId}\` (or \`photo-search index\`) to embed them.`,
    );
  }

  private ensureNotEmpty(): void {
    if (this.s.store.countPhotos() === 0) {
      throw new AppError('empty_library', 'The library is empty. Add a folder first: `photo-search index FOLDER`.');
    }
  }
}
