/**
 * The values the API table's methods take and return, its limits and its events (shared/api.ts declares
 * the methods themselves). Imports neither Node nor DOM.
 */
/** The longest query the search accepts (the search box enforces it too, so this is never a surprise). */
export const MAX_QUERY_LENGTH = 500;
/** Epochs a training run may ask for. */
export const MIN_EPOCHS = 1;
export const MAX_EPOCHS = 200;
/** The longest name a new model may have. */
export const MAX_MODEL_NAME = 100;
/** Results one search may ask for, and how far paging may reach. */
export const MAX_TOP = 1000;
export const MAX_OFFSET = 100_000;

/** A date prefix as the filters take it: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, and a day the calendar has (no 2023-02-30). */
export function isDatePrefix(s: string): boolean {
  const m = /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$/.exec(s);
  if (!m) return false;
  if (m[3] === undefined) return true;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'empty_library'
  /** A search query with no word the model knows (nothing to search for). */
  | 'unknown_words'
  | 'unknown_model'
  | 'model_error'
  | 'bad_dataset'
  | 'busy'
  | 'cancelled'
  | 'forbidden'
  | 'unsupported'
  | 'internal';

export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export interface SearchHit {
  id: number;
  path: string;
  /** Cosine similarity in [-1, 1]. */
  score: number;
  /**
   * How good a match it is, 0–100: how far it stands out from the library for this query, calibrated so that 50
   * is the median photo a caption describes (Flickr8k dev). Null for image-only queries and tiny libraries.
   */
  match: number | null;
  width: number | null;
  height: number | null;
  /** When the photo was taken, local time `YYYY-MM-DDTHH:MM:SS`: its EXIF date, else the file's modification time (what the date filter and sort use). */
  takenAt: string | null;
  /** File size in bytes when indexed. */
  bytes: number | null;
  /** The UTC offset the file records for takenAt ("+01:00"), or null. */
  takenOffset: string | null;
  /** Where it was taken ("Amadora, Lisbon, Portugal"), resolved offline from its GPS position, or null. */
  place: string | null;
}

/** The longest place name a search takes (`near`). */
export const MAX_PLACE_LENGTH = 200;

/** A place photos of the library were taken at, with how many (the place filter's choices). */
export interface PlaceCount {
  /** What `near` takes for it: "Lisbon, Portugal" (a city) or "Portugal" (a country). */
  name: string;
  kind: 'city' | 'country';
  photos: number;
}

/** Which file a photo is served as: its thumbnail, what a browser shows in full, or the original file. */
export type PhotoFileSize = 'thumb' | 'full' | 'original';

/** Results from this match percentage down are weaker matches: the fronts draw a line above the first of them. */
export const GOOD_MATCH = 25;

/** File types a search can be limited to. */
export const PHOTO_TYPES = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heic', 'raw'] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];
export const SEARCH_SORTS = ['relevance', 'date', 'path'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

/** What every search takes besides its query: filters, paging and order (all optional). */
export interface SearchOptions {
  /** How many results (default 20) and how many to skip first (paging). */
  top?: number;
  offset?: number;
  /** Only photos under these library folders. */
  folders?: string[];
  /** Date taken (EXIF, else the file's time) on or after / on or before: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. */
  after?: string;
  before?: string;
  types?: PhotoType[];
  /**
   * Only photos taken at or near this place: a city, region or country as their GPS position resolves to
   * ("Lisbon"; "Lisbon, Portugal" or "Lisbon, PT" to say which Lisbon). Accents and case do not matter.
   */
  near?: string;
  /** Only photos at least this similar (cosine, -1 to 1). */
  minScore?: number;
  /** Only photos with at least this match percentage (0–100; queries with text). */
  minMatch?: number;
  /** `relevance` (default), or the most relevant ordered by `date` taken (newest first) or `path`. */
  sort?: SearchSort;
}

/** A group of duplicate photos: the same file content (`exact`), or embeddings within the threshold (`near`). */
export interface DuplicateGroup {
  kind: 'exact' | 'near';
  /**
   * The lowest similarity of the pairs that joined the group (1 for exact copies). A similarity is the larger
   * of the embeddings' cosine and the pixel hashes' agreement (search/duplicates.ts), within [0, 1].
   */
  minScore: number;
  /** The photos, the group's first (lowest id) first; `score` is each one's similarity to that first photo. */
  photos: SearchHit[];
}

/** The largest image the search box accepts dropped or pasted (bytes, before base64). */
export const MAX_SEARCH_IMAGE_BYTES = 20 * 1024 * 1024;

export interface LibraryStatus {
  images: number;
  skipped: number;
  model: string;
  /** The active model's name (what the user called it). */
  modelName: string;
  roots: string[];
  /** Library folders whose last indexing was cancelled or failed before the end. */
  incomplete: string[];
  /** Photos embedded with the active model (lags `images` while new photos are indexed). */
  embedded: number;
  /**
   * A model switch not finished yet (interrupted, or running): the library is being embedded with `id`,
   * which becomes the active model when all photos are; until then search uses `model`.
   */
  pendingModel: { id: string; embedded: number; total: number } | null;
  /** Embeddings of the active model rejected when the search index loaded (damaged values); 0 until it loads. */
  damaged: number;
  /**
   * Photos whose embeddings another version of the active model made (an upgrade changed its heads): search mixes
   * two spaces until `index` embeds them again (the app and `serve` start that by themselves).
   */
  outdated: number;
  /** Words in photos: photos read by the text pass, those with text, and which scripts the reader knows. */
  /** Photos read, of those with text, photos the text gate passed over without reading, and the scripts read. */
  text: { read: number; withText: number; gated: number; scripts: string };
}

/** One table or index of the library database file (what SQLite's page statistics say it takes). */
export interface LibraryFilePart {
  name: string;
  /** The table it belongs to (itself for a table). */
  table: string;
  kind: 'table' | 'index';
  bytes: number;
  /** Row data stored in it (the rest is page structure, unused space and overflow chains). */
  payload: number;
}

/** What the library takes on disk, part by part (`photo-search status --sizes`). */
export interface LibrarySize {
  photos: number;
  /** The library database file (`library.db`), its write-ahead log, and what each table and index costs. */
  database: { file: string; bytes: number; walBytes: number; freeBytes: number; parts: LibraryFilePart[] };
  /** The search index's sidecar files (`search-index/`: derived, rebuilt when missing). */
  searchIndexBytes: number;
  /** The thumbnail cache folder (made on first display, up to its size limit). */
  thumbnails: { files: number; bytes: number };
  totalBytes: number;
}

/** What `compact` did (or, with dryRun, would do). */
export interface CompactResult {
  dryRun: boolean;
  /** Library database file bytes (with its write-ahead log) before, and after (estimated for a dry run). */
  beforeBytes: number;
  afterBytes: number;
  photos: number;
  /** Cached tower-feature rows dropped (would be, for a dry run). */
  featuresDropped: number;
  /** Rows kept, by why: photos still to embed (indexing or an unfinished model switch needs them), content no library photo has (a captioned set's photos), other towers (caption text, other models). */
  featuresKept: { stillToEmbed: number; notInLibrary: number; otherTowers: number };
  /** Free disk space the rewrite needs, and where (the data folder; SQLite's temporary folder when elsewhere). */
  spaceNeeded: { path: string; bytes: number; free: number }[];
  /** The size of every part, before (a dry run measures it; a real run reports file sizes only). */
  sizes: LibrarySize | null;
  /** What compacting costs later, in one line. */
  tradeOff: string;
}

export interface FolderInfo {
  path: string;
  photos: number;
  /** The last indexing of this folder stopped before the end (cancelled or failed). */
  incomplete: boolean;
}

export interface AddFolderResult {
  roots: string[];
  job: JobInfo;
  /** Something the user should know: no photos found, already in the library, inside another folder. */
  notice: string | null;
}

/** Several folders added at once, indexed by one job. */
export interface AddFoldersResult {
  roots: string[];
  job: JobInfo;
  /** One line per thing the user should know (see AddFolderResult.notice). */
  notices: string[];
}

/** What reading every page of the library file found: 'ok', or the problems. */
export interface LibraryCheck {
  file: string;
  result: string;
  /** When damaged: one line naming the file, the first problem and the fix (`photo-search repair`). */
  problem: string | null;
}

export interface RemoveFolderResult {
  roots: string[];
  /** Photos that left the library (photos another library folder still holds stay). */
  removed: number;
}

export interface SkippedFile {
  path: string;
  reason: string;
  at: string;
}

export interface RecallFigures {
  r1: number;
  r5: number;
  r10: number;
}

export interface EvalResult {
  textToImage: RecallFigures;
  imageToText: RecallFigures;
  images: number;
  captions: number;
}

export interface ModelInfo {
  id: string;
  name: string;
  active: boolean;
  builtin: boolean;
  parent: string | null;
  createdAt: string;
  embedDim: number;
  dataset: string | null;
  metrics: Record<string, unknown> | null;
  source: string | null;
  /**
   * What retraining this model uses unless told otherwise: its recipe's epochs and schedule ('chosen': a fine-tune
   * whose step, epochs (up to `epochs`) and blend are chosen on the set's held-out photos).
   */
  recipe: { epochs: number; schedule: 'plateau' | 'cosine' | 'chosen' };
  /**
   * The model's text→photo recall with the protocol it was measured by, so figures can be compared (recall falls as
   * the photos each caption is ranked among grow), and a fine-tune's held-out gain with its standard error.
   */
  figures: ModelFigures | null;
}

export interface ModelFigures {
  textToImage: RecallFigures;
  /** How many photos each caption was ranked among (a fold's photos under cross-validation). */
  pool: number;
  /** Cross-validation folds (null: one held-out part, or a separate set). */
  folds: number | null;
  /** The set the figures come from, as the model records it (a folder, or a name like "Flickr8k dev"). */
  set: string;
  /** A fine-tune's paired change of R@5 on the held-out captions, in points, with its standard error. */
  gainR5: { mean: number; se: number } | null;
}

/** Rows or photos of a captioned set that were dropped, by kind ("missing image", "malformed row", "unreadable image"). */
export interface DataProblem {
  kind: string;
  count: number;
  /** The first few, for the person to look at. */
  examples: string[];
}

/** Recall on a whole captioned set, with what had to be dropped from it. */
export interface SetEvalResult extends EvalResult {
  problems: DataProblem[];
}

export interface CaptionSetInfo {
  path: string;
  layout: 'captions.txt' | 'Flickr8k.token.txt' | 'results.csv';
  images: number;
  captions: number;
  /** Problems found while reading (missing images, malformed rows), first few with a count. */
  problems: DataProblem[];
}

export type JobKind = 'index' | 'train' | 'import' | 'reembed';
export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobInfo {
  id: string;
  kind: JobKind;
  state: JobState;
  /** What is happening now, in words ("Decoding photos", "Epoch 3 of 10"). */
  stage: string;
  done: number;
  total: number;
  /** Seconds, when it can be estimated. */
  etaSeconds: number | null;
  /** Items per second so far, when it can be measured. */
  rate?: number | null;
  startedAt: string;
  message: string | null;
  /** Kind-specific result when done (IndexSummary, TrainResult, ModelInfo). */
  result: unknown;
}

/** A library folder that is missing or suddenly empty (an unplugged drive): its photos are kept, not removed. */
export interface UnavailableFolder {
  path: string;
  /** Photos of that folder kept in the library. */
  photos: number;
  reason: string;
}

export interface IndexSummary {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  skipped: number;
  images: number;
  seconds: number;
  unavailable: UnavailableFolder[];
  /** The text pass that followed (absent when it did not run). */
  text?: TextPassSummary;
}

/** One line of text read in a photo: its words, how sure the reader is (0–1), and its box. */
export interface PhotoTextLine {
  text: string;
  score: number;
  /** Four corners (x, y as fractions 0–1 of the photo as shown, EXIF rotation applied), from the top-left as the text reads. */
  box: [number, number][];
}

/** The words read in a photo (the viewer's details). */
export interface PhotoText {
  lines: PhotoTextLine[];
  /** Why the photo could not be read, when it could not. */
  failed: string | null;
  /** Which scripts the reader knows. */
  scripts: string;
}

/** What the text pass (words read in photos, after embedding) did in one run. */
export interface TextPassSummary {
  /** Contents read in this run (copies of a photo count once). */
  read: number;
  /** Of those, the ones with text. */
  withText: number;
  /** Photos that could not be decoded or read (recorded with the reason). */
  failed: number;
  /** Contents the text gate passed over without reading them (it judged they hold no text). */
  gated: number;
  /** Of `seconds`, the time the gate took (reading cached features and scoring them). */
  gateSeconds: number;
  /** Of `read`, large photos a first small look found no text in (not read at full size). */
  stoppedByLook: number;
  seconds: number;
}

export interface TrainEpoch {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number | null;
  /** Validation text→image recall (percent). */
  val: EvalResult | null;
  lr: number;
  /** Cross-validation: the epoch pooled over the first `done` of `of` folds (the line firms up fold by fold). */
  folds?: { done: number; of: number };
  /** A fine-tune: which size of step this run is ('small': a tenth of the rate; 'whole': the rate of new heads). */
  step?: TrainChoice['step'];
}

/**
 * How far a fine-tune moved from its starting heads, chosen on the set's held-out photos: the step (learning
 * rate), how many epochs, and the trained heads' share in the blend with the starting ones (0: start kept).
 */
export interface TrainChoice {
  step: 'small' | 'whole';
  lr: number;
  epochs: number;
  share: number;
  /**
   * With a caption memory: how far search moves a query toward the photos of its nearest captions (the weight in
   * model/caption-memory.ts), chosen on the same held-out photos; absent for a model without one.
   */
  memoryWeight?: number;
  /**
   * With rehearsal (a base with a caption memory): R@1 of `photos` of the base's own captioned photos, kept out of
   * rehearsal, before and after (the chosen candidate, over the folds). A candidate that clearly lowers it is never chosen.
   */
  kept?: { photos: number; before: number; after: number };
  /** Why the start was kept (share 0): the result was clearly worse on the set, or every candidate forgot what the base knew. */
  startKept?: 'worse' | 'forgets';
}

export interface TrainResult {
  model: string;
  /** The new model's name (what `models use NAME` takes). */
  name?: string;
  epochs: number;
  trainSeconds: number;
  before: EvalResult | null;
  val: EvalResult;
  history: TrainEpoch[];
  /** The epoch whose heads were kept; 0 when no epoch beat the starting heads on the held-out photos (the new version then keeps them). */
  bestEpoch: number;
  /**
   * Fine-tuning blends the starting and the trained heads in weight space: the trained heads' share, chosen on
   * the held-out photos (0 = the starting heads kept, 1 = the trained heads as they are).
   */
  blend: number;
  /**
   * How `before` and `val` were measured: `folds` > 1 is k-fold cross-validation (every photo held out once, each
   * fold's heads trained on the other photos, figures pooled over the folds); 1 is one held-out part of the set.
   */
  heldOut?: {
    folds: number;
    photos: number;
    /** Paired change of text→image R@5 on the held-out captions (after − before), in points, with its standard error. */
    gainR5: { mean: number; se: number };
    /** Photos the saved heads were trained on (all of the set after cross-validation). */
    finalTrainPhotos: number;
    /** What was chosen on the held-out photos (step, epochs, share). */
    choice?: TrainChoice;
  };
  /** Rows and photos of the set that were dropped (missing, unreadable, not images, malformed rows). */
  problems: DataProblem[];
}

export interface TrainOptions {
  set: string;
  name?: string;
  base?: string;
  epochs?: number;
  loss?: 'default' | 'tutorial';
  seed?: number;
}

export type ApiEvent =
  | { type: 'job'; job: JobInfo }
  | { type: 'train-epoch'; jobId: string; epoch: TrainEpoch }
  /** The starting model's held-out recall, measured before the first epoch. */
  | { type: 'train-baseline'; jobId: string; before: EvalResult }
  | { type: 'library-changed' }
  /** Photos in the library while indexing commits batches (the header count follows it live). */
  | { type: 'library-count'; images: number }
  /** Raised by the transport itself (never the backend): the browser-mode server stopped answering, or is back. */
  | { type: 'connection'; connected: boolean }
  | { type: 'models-changed' }
  /** What a running `compact` is doing now ("Dropping cached features"). */
  | { type: 'compact-stage'; stage: string }
  /** Something the user should know that no request asked for (a watched folder went away or came back). */
  | { type: 'notice'; message: string };
