/**
 * Download model files from the Hugging Face hub (or a compatible server): GET
 * `<endpoint>/<OWNER>/<NAME>/resolve/<revision>/<FILE>`, streamed to `<FILE>.part`, resumed with `Range` after
 * a dropped connection, size-checked (Content-Length / Content-Range / `x-linked-size`, and the sha256 in
 * `x-linked-etag` for LFS files), renamed to its final name only when complete. A final file therefore always
 * means a complete download; a `.part` file is picked up by the next attempt.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError, Cancelled } from '../errors';
import { sha256File } from '../fs/hash';

const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
/** Tests (and mirrors) point the downloader elsewhere with this variable. */
export const ENV_HUB_ENDPOINT = 'PHOTO_SEARCH_HF_ENDPOINT';

export interface HubFileRequest {
  path: string;
  /** Tried in order when `path` is missing on the hub (e.g. quantized exports). */
  fallbacks?: string[];
  /** A missing optional file is not an error. */
  optional?: boolean;
}

/** The Hugging Face / transformers.js CLIP export layout; small files first so a wrong name fails fast. */
export const HF_CLIP_FILES: HubFileRequest[] = [
  { path: 'config.json', optional: true },
  { path: 'preprocessor_config.json' },
  { path: 'tokenizer.json' },
  { path: 'tokenizer_config.json', optional: true },
  { path: 'onnx/text_model.onnx', fallbacks: ['onnx/text_model_quantized.onnx', 'onnx/text_model_fp16.onnx'] },
  { path: 'onnx/vision_model.onnx', fallbacks: ['onnx/vision_model_quantized.onnx', 'onnx/vision_model_fp16.onnx'] },
];

export interface HubProgress {
  /** Path of the file in the repository. */
  file: string;
  /** Bytes of this file on disk so far (including a resumed part). */
  received: number;
  /** Size of this file, when the server said. */
  total: number | null;
  /** 1-based position of the file in the request list, and the list's length. */
  index: number;
  count: number;
}

export interface DownloadOptions {
  /** "OWNER/NAME". */
  repo: string;
  files: (string | HubFileRequest)[];
  destDir: string;
  /** Default: `PHOTO_SEARCH_HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  revision?: string;
  onProgress?: (p: HubProgress) => void;
  signal?: AbortSignal;
  /** Extra attempts after a dropped connection (each resumes from the `.part` file). Default 3. */
  retries?: number;
}

export interface DownloadResult {
  dir: string;
  /** Requested path → the path actually downloaded (relative to `dir`), or null for a missing optional file. */
  files: Record<string, string | null>;
}

const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validate "OWNER/NAME" with a fix-it message. */
export function parseHubRepo(repo: string): string {
  const r = repo.trim();
  if (!REPO_RE.test(r) || r.includes('..')) {
    throw new AppError('invalid_input', `"${repo}" is not a hub model name: expected OWNER/NAME, e.g. hf:Xenova/clip-vit-base-patch32.`);
  }
  return r;
}

export function hubEndpoint(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const e = (explicit ?? env[ENV_HUB_ENDPOINT] ?? DEFAULT_HUB_ENDPOINT).trim() || DEFAULT_HUB_ENDPOINT;
  return e.replace(/\/+$/, '');
}

function resolveUrl(endpoint: string, repo: string, file: string, revision = 'main'): string {
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${enc(repo)}/resolve/${encodeURIComponent(revision)}/${enc(file)}`;
}

/** The answer for one candidate file. */
type FileOutcome = 'done' | 'missing';

export async function downloadFromHub(o: DownloadOptions): Promise<DownloadResult> {
  const repo = parseHubRepo(o.repo);
  const endpoint = hubEndpoint(o.endpoint);
  const requests = o.files.map((f) => (typeof f === 'string' ? { path: f } : f));
  const result: DownloadResult = { dir: o.destDir, files: {} };
  let foundAny = false;
  await fs.mkdir(o.destDir, { recursive: true });
  for (const [i, req] of requests.entries()) {
    const candidates = [req.path, ...(req.fallbacks ?? [])];
    let got: string | null = null;
    for (const file of candidates) {
      const outcome = await downloadOne({
        url: resolveUrl(endpoint, repo, file, o.revision),
        dest: safeJoin(o.destDir, file),
        file,
        repo,
        endpoint,
        signal: o.signal,
        retries: o.retries ?? 3,
        progress: (received, total) => o.onProgress?.({ file, received, total, index: i + 1, count: requests.length }),
      });
      if (outcome === 'done') {
        got = file;
        break;
      }
    }
    if (got) foundAny = true;
    else if (!req.optional) {
      if (!foundAny) throw notFound(repo, endpoint);
      throw new AppError(
        'model_error',
        `Model ${repo} on the hub has no ${candidates.join(' or ')}: it is not a Hugging Face / transformers.js CLIP ONNX export. Pick a repository with an onnx/ folder, e.g. Xenova/clip-vit-base-patch32.`,
      );
    }
    result.files[req.path] = got;
  }
  return result;
}

function notFound(repo: string, endpoint: string): AppError {
  return new AppError('not_found', `Model ${repo} not found on the hub (${endpoint}). Check the name (OWNER/NAME); private and gated models are not supported.`);
}

/** Join without letting a hub path escape the destination folder. */
function safeJoin(dir: string, file: string): string {
  const out = path.resolve(dir, file);
  if (!out.startsWith(path.resolve(dir) + path.sep)) throw new AppError('invalid_input', `Refusing to write hub file "${file}" outside ${dir}.`);
  return out;
}

interface OneFile {
  url: string;
  dest: string;
  file: string;
  repo: string;
  endpoint: string;
  signal?: AbortSignal;
  retries: number;
  progress: (received: number, total: number | null) => void;
}

class Interrupted extends Error {}

async function downloadOne(f: OneFile): Promise<FileOutcome> {
  const existing = await fs.stat(f.dest).catch(() => null);
  if (existing?.isFile()) {
    // Final names are only written after a complete, checked download.
    f.progress(existing.size, existing.size);
    return 'done';
  }
  await fs.mkdir(path.dirname(f.dest), { recursive: true });
  const part = `${f.dest}.part`;
  let lastError: unknown = null;
  let reached = false;
  for (let attempt = 0; attempt <= f.retries; attempt++) {
    checkAborted(f.signal);
    if (attempt > 0) await sleep(150 * attempt, f.signal);
    try {
      const outcome = await attemptDownload(f, part, () => (reached = true));
      if (outcome === 'missing') return 'missing';
      await fs.rename(part, f.dest);
      return 'done';
    } catch (e) {
      if (f.signal?.aborted) throw new Cancelled(`Download of ${f.file} cancelled.`);
      if (!(e instanceof Interrupted)) throw e;
      lastError = e.cause ?? e;
    }
  }
  if (!reached) {
    throw new AppError('not_found', `Cannot reach the model hub at ${f.endpoint}: check your connection (${describe(lastError)}).`, { cause: lastError });
  }
  throw new AppError(
    'model_error',
    `Download of ${f.file} from ${f.repo} was interrupted (${describe(lastError)}). Run the same command again to resume.`,
    { cause: lastError },
  );
}

/** One HTTP request: resume from `part` when it has bytes; throws Interrupted for retryable network trouble. */
async function attemptDownload(f: OneFile, part: string, onReached: () => void): Promise<FileOutcome | 'complete'> {
  let offset = (await fs.stat(part).catch(() => null))?.size ?? 0;
  const res = await fetchFollowing(f.url, offset > 0 ? { Range: `bytes=${offset}-` } : {}, f.signal);
  onReached();
  const { response, linkedSize, linkedEtag } = res;
  const status = response.status;
  if (status === 401 || (status === 404 && response.headers.get('x-error-code') === 'RepoNotFound')) {
    await response.body?.cancel();
    throw notFound(f.repo, f.endpoint);
  }
  if (status === 404) {
    await response.body?.cancel();
    return 'missing';
  }
  if (status === 416) {
    // Our part is not a prefix the server recognises: start over.
    await response.body?.cancel();
    await fs.rm(part, { force: true });
    throw new Interrupted('range not satisfiable');
  }
  if (status !== 200 && status !== 206) {
    await response.body?.cancel();
    throw new AppError('model_error', `The model hub answered HTTP ${status} for ${f.file} of ${f.repo}. Try again later.`);
  }
  let total: number | null = null;
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      await response.body?.cancel();
      await fs.rm(part, { force: true });
      throw new Interrupted('unexpected Content-Range');
    }
    if (m[3] !== '*') total = Number(m[3]);
  } else {
    // A server that ignores Range sends the whole file again.
    offset = 0;
  }
  const length = response.headers.get('content-length');
  if (total === null && length !== null) total = offset + Number(length);
  const announced = linkedSize ?? total;
  if (linkedSize !== null && total !== null && linkedSize !== total) {
    await response.body?.cancel();
    await fs.rm(part, { force: true });
    throw sizeMismatch(f, total, linkedSize);
  }

  const handle = await fs.open(part, offset > 0 ? 'a' : 'w');
  let received = offset;
  let lastReport = 0;
  f.progress(received, announced);
  try {
    if (response.body) {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        await handle.write(chunk);
        received += chunk.byteLength;
        const now = Date.now();
        if (now - lastReport > 200) {
          lastReport = now;
          f.progress(received, announced);
        }
      }
    }
  } catch (e) {
    if (f.signal?.aborted) throw new Cancelled(`Download of ${f.file} cancelled.`);
    throw new Interrupted('connection dropped', { cause: e });
  } finally {
    await handle.close();
  }
  f.progress(received, announced);
  // The server said it was done: a size that differs now is corruption, not a dropped connection.
  if (announced !== null && received !== announced) {
    await fs.rm(part, { force: true });
    throw sizeMismatch(f, received, announced);
  }
  if (linkedEtag && /^[0-9a-f]{64}$/.test(linkedEtag)) {
    const digest = await sha256File(part);
    if (digest !== linkedEtag) {
      await fs.rm(part, { force: true });
      throw new AppError('model_error', `Downloaded ${f.file} from ${f.repo} does not match the hub's checksum: the download is corrupt. Run the command again.`);
    }
  }
  return 'complete';
}

function sizeMismatch(f: OneFile, got: number, expected: number): AppError {
  return new AppError('model_error', `Downloaded ${f.file} from ${f.repo} has ${got} bytes but the hub announced ${expected}: the download is corrupt and was deleted. Run the command again.`);
}

/**
 * fetch with redirects followed by hand: the hub's first answer carries `x-linked-size` / `x-linked-etag`
 * (the LFS file's size and sha256) and redirects to a CDN whose answer does not.
 */
async function fetchFollowing(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<{ response: Response; linkedSize: number | null; linkedEtag: string | null }> {
  let current = url;
  let linkedSize: number | null = null;
  let linkedEtag: string | null = null;
  for (let hop = 0; hop < 10; hop++) {
    let response: Response;
    try {
      response = await fetch(current, { headers, redirect: 'manual', signal });
    } catch (e) {
      if (signal?.aborted) throw new Cancelled(`Download of ${url} cancelled.`);
      throw new Interrupted('request failed', { cause: e });
    }
    const ls = response.headers.get('x-linked-size');
    if (ls !== null && linkedSize === null && /^\d+$/.test(ls)) linkedSize = Number(ls);
    const le = response.headers.get('x-linked-etag');
    if (le !== null && linkedEtag === null) linkedEtag = le.replace(/^W\//, '').replace(/"/g, '');
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return { response, linkedSize, linkedEtag };
  }
  throw new AppError('model_error', `The model hub redirected too many times for ${url}.`);
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new Cancelled('Download cancelled.');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** The useful part of a fetch error: undici hides the system error code in `cause`. */
function describe(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const c = cur as { code?: string; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    cur = c.cause;
  }
  return e instanceof Error ? e.message : String(e);
}
