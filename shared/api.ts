/**
 * The one typed contract between the fronts (Electron renderer via preload IPC, browser mode via HTTP,
 * the CLI in-process) and the backend service. Imports neither Node nor DOM.
 *
 * The API table at the end declares every method once: the schema its request must pass and the type it
 * resolves to. The backend's handler map, the IPC and HTTP edges and the renderer's clients are all
 * derived from it, so a method cannot exist on one transport and not another.
 *
 * Every method resolves to a Result: errors cross transports as { ok: false, code, message } because
 * thrown errors lose their fields over IPC (electron/electron#24427).
 */
import { z } from 'zod';


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
}

/** Results from this match percentage down are weaker matches: the fronts draw a line above the first of them. */
export const GOOD_MATCH = 25;

/** File types a search can be limited to. */
export const PHOTO_TYPES = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
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
  /** The lowest similarity of the pairs that joined the group (1 for exact copies). */
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
  /** What retraining this model uses unless told otherwise: its recipe's epochs and schedule. */
  recipe: { epochs: number; schedule: 'plateau' | 'cosine' };
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

// ---- the API table ----------------------------------------------------------------------------------

/** One method: the schema its request must pass (checked once, at the transport edge) and what it resolves to. */
export interface MethodSpec<P extends z.ZodType = z.ZodType, R = unknown> {
  /**
   * The request schema, built on first use: only main validates. The renderer reads just the method names,
   * and must not build zod object schemas (they probe `new Function`, which its CSP refuses with a console error).
   */
  readonly params: () => P;
  /** Never set: carries the result type for the compiler. */
  readonly result?: R;
}

function takes<P extends z.ZodType>(build: () => P) {
  let schema: P | null = null;
  const params = () => (schema ??= build());
  return { returns: <R>(): MethodSpec<P, R> => ({ params }) };
}

const nothing = () => z.undefined().or(z.object({}).strict());
const path = () => z.string().min(1, 'a path is required').max(4096, 'path is too long');
const top = () => z.number().int().min(1).max(MAX_TOP).optional();
const photoId = () => z.number().int().nonnegative();
const modelId = () => z.string().min(1).max(200);
const datePrefix = () => z.string().refine(isDatePrefix, 'a date is YYYY, YYYY-MM or YYYY-MM-DD');
/** The fields of SearchOptions, spread into each search method's schema. */
const searchOptions = () => ({
  top: top(),
  offset: z.number().int().min(0).max(MAX_OFFSET).optional(),
  folders: z.array(path()).min(1).max(64).optional(),
  after: datePrefix().optional(),
  before: datePrefix().optional(),
  types: z.array(z.enum(PHOTO_TYPES)).min(1).max(PHOTO_TYPES.length).optional(),
  minScore: z.number().min(-1).max(1).optional(),
  minMatch: z.number().min(0).max(100).optional(),
  sort: z.enum(SEARCH_SORTS).optional(),
});

export const API = {
  status: takes(nothing).returns<LibraryStatus>(),
  search: takes(() =>
    z
      .object({
        query: z.string().trim().min(1, 'type something to search for').max(MAX_QUERY_LENGTH, `a query has at most ${MAX_QUERY_LENGTH} characters`),
        ...searchOptions(),
      })
      .strict() satisfies z.ZodType<SearchOptions & { query: string }>,
  ).returns<SearchHit[]>(),
  searchLike: takes(() => z.object({ id: photoId(), ...searchOptions() }).strict()).returns<SearchHit[]>(),
  /** Search by an image that need not be in the library (dropped, pasted or chosen in the search box). */
  searchImage: takes(() =>
    z
      .object({
        /** The image file's bytes, base64. */
        image: z
          .string()
          .min(1, 'the image is empty')
          .max(Math.ceil(MAX_SEARCH_IMAGE_BYTES / 3) * 4, `an image to search by has at most ${MAX_SEARCH_IMAGE_BYTES / 1024 / 1024} MB`)
          .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'the image must be base64'),
        ...searchOptions(),
      })
      .strict(),
  ).returns<SearchHit[]>(),
  /** Search by image files (in the library or not), optionally mixed with a text query (the CLI's --like). */
  searchFiles: takes(() =>
    z
      .object({
        files: z.array(path()).min(1).max(16),
        query: z.string().trim().min(1).max(MAX_QUERY_LENGTH, `a query has at most ${MAX_QUERY_LENGTH} characters`).optional(),
        ...searchOptions(),
      })
      .strict(),
  ).returns<SearchHit[]>(),
  /** Groups of duplicate photos: exact copies first, then near-duplicates within `threshold` (cosine, default 0.95). */
  duplicates: takes(() => z.object({ threshold: z.number().min(0.5).max(1).optional() }).strict()).returns<DuplicateGroup[]>(),
  folders: takes(nothing).returns<FolderInfo[]>(),
  addFolder: takes(() => z.object({ path: path() }).strict()).returns<AddFolderResult>(),
  /** Several folders at once, indexed by one job (a folder inside another is never indexed twice). */
  addFolders: takes(() => z.object({ paths: z.array(path()).min(1).max(64) }).strict()).returns<AddFoldersResult>(),
  removeFolder: takes(() => z.object({ path: path() }).strict()).returns<RemoveFolderResult>(),
  rescan: takes(nothing).returns<JobInfo>(),
  skipped: takes(() =>
    z.object({ limit: z.number().int().min(1).max(1000).optional(), offset: z.number().int().min(0).optional() }).strict(),
  ).returns<{ total: number; items: SkippedFile[] }>(),
  jobs: takes(nothing).returns<JobInfo[]>(),
  cancelJob: takes(() => z.object({ id: z.string().min(1).max(100) }).strict()).returns<JobInfo>(),
  inspectCaptionSet: takes(() => z.object({ path: path() }).strict()).returns<CaptionSetInfo>(),
  startTraining: takes(() =>
    z
      .object({
        set: path(),
        name: z.string().trim().min(1, 'a model name cannot be empty').max(MAX_MODEL_NAME, `a model name has at most ${MAX_MODEL_NAME} characters`).optional(),
        base: modelId().optional(),
        epochs: z.number().int().min(MIN_EPOCHS).max(MAX_EPOCHS).optional(),
        loss: z.enum(['default', 'tutorial']).optional(),
        seed: z.number().int().optional(),
      })
      .strict() satisfies z.ZodType<TrainOptions>,
  ).returns<JobInfo>(),
  /** Recall of a model (the active one by default) on a captioned set. */
  evaluate: takes(() => z.object({ set: path(), model: modelId().optional() }).strict()).returns<SetEvalResult>(),
  models: takes(nothing).returns<ModelInfo[]>(),
  /** null when nothing had to be embedded (the switch is already done). */
  activateModel: takes(() => z.object({ id: modelId() }).strict()).returns<JobInfo | null>(),
  importModel: takes(() => z.object({ source: z.string().min(1).max(4096) }).strict()).returns<JobInfo>(),
  /** Delete a trained or imported model (never the active one, never the built-in). */
  removeModel: takes(() => z.object({ id: modelId() }).strict()).returns<{ removed: string }>(),
  /** What the library takes on disk, part by part (reads the whole database file: seconds at 1M photos). */
  librarySize: takes(nothing).returns<LibrarySize>(),
  /**
   * Drop the cached tower features of photos already embedded with the active model and give the space back
   * (refused while indexing, training or a model switch runs). `dryRun` reports what it would free.
   */
  compact: takes(() => z.object({ dryRun: z.boolean().optional() }).strict().optional()).returns<CompactResult>(),
  /** Read every page of the library file for damage (`full`: also cross-check the indexes); linear in its size. */
  checkLibrary: takes(() => z.object({ full: z.boolean().optional() }).strict().optional()).returns<LibraryCheck>(),
  /** Desktop only (the IPC edge answers them); the backend and browser mode answer `unsupported`. */
  openPhoto: takes(() => z.object({ id: photoId() }).strict()).returns<null>(),
  showInFolder: takes(() => z.object({ id: photoId() }).strict()).returns<null>(),
  pickFolder: takes(nothing).returns<string | null>(),
} as const satisfies Record<string, MethodSpec>;

export type ApiMethod = keyof typeof API;
export const API_METHODS = Object.keys(API) as ApiMethod[];

type ParamsMap = { [M in ApiMethod]: z.output<ReturnType<(typeof API)[M]['params']>> };
type RequestsMap = { [M in ApiMethod]: z.input<ReturnType<(typeof API)[M]['params']>> };
type ResultsMap = { [M in ApiMethod]: (typeof API)[M] extends MethodSpec<z.ZodType, infer R> ? R : never };

/** What a method's handler receives: the request after validation (strings trimmed). */
export type ApiParams<M extends ApiMethod> = ParamsMap[M];
/** What a client sends. */
export type ApiRequest<M extends ApiMethod> = RequestsMap[M];
/** What a method resolves to. */
export type ApiResult<M extends ApiMethod> = ResultsMap[M];

/** The backend's side: one typed handler per method (errors thrown as AppErrors). */
export type ApiHandlers = { [M in ApiMethod]: (...params: OptionalIfEmpty<ParamsMap[M]>) => Promise<ResultsMap[M]> };
/** A method whose request may be left out (`status()`) takes no argument. */
type OptionalIfEmpty<P> = undefined extends P ? [params?: P] : [params: P];

/** The fronts' side: every method, resolving to a Result. */
export type ApiClient = { [M in ApiMethod]: (...req: OptionalIfEmpty<RequestsMap[M]>) => Promise<Result<ResultsMap[M]>> };

export interface PhotoSearchApi extends ApiClient {
  /** URL of a photo's thumbnail (or the full photo with size 'full'), served by the transport. */
  photoUrl(id: number, size: 'thumb' | 'full'): string;
  /** True in the desktop app (native file actions work); false in browser mode. */
  readonly desktop: boolean;
  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (e: ApiEvent) => void): () => void;
}

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(API, name);
}

/** Why the edge refused a call: an unknown method (`not_found`) or a request its schema refuses (`invalid_input`). */
export interface CallRefused {
  ok: false;
  code: 'not_found' | 'invalid_input';
  message: string;
}

export function unknownMethod(method: unknown): CallRefused {
  return { ok: false, code: 'not_found', message: `Unknown API method "${String(method).slice(0, 60)}".` };
}

/** A call that passed the edge: a known method with its validated request. */
export type ApiCall = { [M in ApiMethod]: { method: M; params: ApiParams<M> } }[ApiMethod];

/**
 * The one check at the transport edge (IPC in main, the browser-mode server): a known method and a request
 * its schema accepts. Refusals name the problem in one line; the backend never sees them.
 */
export function acceptCall(method: unknown, request: unknown): { ok: true; call: ApiCall } | CallRefused {
  if (!isApiMethod(method)) return unknownMethod(method);
  const r = API[method].params().safeParse(request);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, code: 'invalid_input', message: `Invalid request to ${method}: ${where}${issue.message}` };
  }
  // The schema of `method` produced this value, which is what ApiParams<method> names.
  return { ok: true, call: { method, params: r.data } as ApiCall };
}

/** What a transport (Electron IPC in main, the browser-mode HTTP server) needs from the backend. */
export interface BackendPort {
  /** Run a call that passed `acceptCall`; never throws: errors come back as Results. */
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<Result<ApiResult<M>>>;
  /** Absolute path of a photo's cached thumbnail (made on demand) or of the original; null when unknown. */
  photoFile(id: number, size: 'thumb' | 'full'): Promise<string | null>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
}
