/**
 * The one typed contract between the fronts (Electron renderer via preload IPC, browser mode via HTTP,
 * the CLI in-process) and the backend service. Imports neither Node nor DOM.
 *
 * Every method resolves to a Result: errors cross transports as { ok: false, code, message } because
 * thrown errors lose their fields over IPC (electron/electron#24427).
 */

/** The longest query the search accepts (the search box enforces it too, so this is never a surprise). */
export const MAX_QUERY_LENGTH = 500;
/** Epochs a training run may ask for. */
export const MIN_EPOCHS = 1;
export const MAX_EPOCHS = 200;

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
  width: number | null;
  height: number | null;
  takenAt: string | null;
  /** File size in bytes when indexed. */
  bytes: number | null;
}

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
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

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
  | { type: 'models-changed' };

export interface PhotoSearchApi {
  status(): Promise<Result<LibraryStatus>>;
  search(req: { query: string; top?: number }): Promise<Result<SearchHit[]>>;
  searchLike(req: { id: number; top?: number }): Promise<Result<SearchHit[]>>;
  folders(): Promise<Result<FolderInfo[]>>;
  addFolder(req: { path: string }): Promise<Result<AddFolderResult>>;
  removeFolder(req: { path: string }): Promise<Result<RemoveFolderResult>>;
  rescan(): Promise<Result<JobInfo>>;
  skipped(req: { limit?: number; offset?: number }): Promise<Result<{ total: number; items: SkippedFile[] }>>;
  jobs(): Promise<Result<JobInfo[]>>;
  cancelJob(req: { id: string }): Promise<Result<JobInfo>>;
  inspectCaptionSet(req: { path: string }): Promise<Result<CaptionSetInfo>>;
  startTraining(req: TrainOptions): Promise<Result<JobInfo>>;
  models(): Promise<Result<ModelInfo[]>>;
  activateModel(req: { id: string }): Promise<Result<JobInfo | null>>;
  importModel(req: { source: string }): Promise<Result<JobInfo>>;
  /** Delete a trained or imported model (never the active one, never the built-in). */
  removeModel(req: { id: string }): Promise<Result<{ removed: string }>>;
  /** Desktop only; browser mode answers `unsupported`. */
  openPhoto(req: { id: number }): Promise<Result<null>>;
  showInFolder(req: { id: number }): Promise<Result<null>>;
  pickFolder(): Promise<Result<string | null>>;
  /** URL of a photo's thumbnail (or the full photo with size 'full'), served by the transport. */
  photoUrl(id: number, size: 'thumb' | 'full'): string;
  /** True in the desktop app (native file actions work); false in browser mode. */
  readonly desktop: boolean;
  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (e: ApiEvent) => void): () => void;
}

/** The request/response methods (everything but the transport-local photoUrl / onEvent / desktop). */
export type ApiMethod = Exclude<keyof PhotoSearchApi, 'photoUrl' | 'onEvent' | 'desktop'>;

/**
 * What a transport (Electron IPC in main, the browser-mode HTTP server) needs from the backend.
 * `call` validates the request with shared/schemas.ts and never throws: errors come back as Results.
 */
export interface BackendPort {
  call(method: ApiMethod, request: unknown): Promise<Result<unknown>>;
  /** Absolute path of a photo's cached thumbnail (made on demand) or of the original; null when unknown. */
  photoFile(id: number, size: 'thumb' | 'full'): Promise<string | null>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
}
