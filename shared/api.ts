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
import { MAX_QUERY_LENGTH, MIN_EPOCHS, MAX_EPOCHS, MAX_MODEL_NAME, MAX_TOP, MAX_OFFSET, isDatePrefix, PHOTO_TYPES, SEARCH_SORTS, MAX_SEARCH_IMAGE_BYTES, type Result, type SearchHit, type SearchOptions, type DuplicateGroup, type LibraryStatus, type LibrarySize, type CompactResult, type FolderInfo, type AddFolderResult, type AddFoldersResult, type LibraryCheck, type RemoveFolderResult, type SkippedFile, type PhotoText, type ModelInfo, type SetEvalResult, type CaptionSetInfo, type JobInfo, type TrainOptions, type ApiEvent, type PhotoFileSize, MAX_PLACE_LENGTH, type PlaceCount } from './api-types';

export * from './api-types';

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
  near: z.string().trim().min(1, 'a place cannot be empty').max(MAX_PLACE_LENGTH, `a place has at most ${MAX_PLACE_LENGTH} characters`).optional(),
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
  /** Groups of duplicate photos: exact copies first, then near-duplicates within `threshold` (similarity: embedding cosine or pixel hash, default 0.95). */
  duplicates: takes(() => z.object({ threshold: z.number().min(0.5).max(1).optional() }).strict()).returns<DuplicateGroup[]>(),
  folders: takes(nothing).returns<FolderInfo[]>(),
  /** Places the library's photos were taken at (cities, then countries), most photos first: the place filter's choices. */
  places: takes(nothing).returns<PlaceCount[]>(),
  addFolder: takes(() => z.object({ path: path() }).strict()).returns<AddFolderResult>(),
  /** Several folders at once, indexed by one job (a folder inside another is never indexed twice). */
  addFolders: takes(() => z.object({ paths: z.array(path()).min(1).max(64) }).strict()).returns<AddFoldersResult>(),
  removeFolder: takes(() => z.object({ path: path() }).strict()).returns<RemoveFolderResult>(),
  rescan: takes(nothing).returns<JobInfo>(),
  /** The words read in a library photo (null: not read yet; the text pass runs after indexing). */
  photoText: takes(() => z.object({ id: photoId() }).strict()).returns<PhotoText | null>(),
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
  compact: takes(() => z.object({ dryRun: z.boolean().optional(), sets: z.boolean().optional() }).strict().optional()).returns<CompactResult>(),
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
  /**
   * Absolute path of a photo's cached thumbnail (made on demand), of what a browser is shown in full (the original,
   * or a cached JPEG rendition of a HEIC, RAW or TIFF photo that browsers cannot show), or of the original file
   * (to open it or show it in its folder); null when unknown.
   */
  photoFile(id: number, size: PhotoFileSize): Promise<string | null>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
}
