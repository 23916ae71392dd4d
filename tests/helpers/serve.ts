/** Start `photo-search serve` (browser mode) as a user would, for the browser tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

export interface Served {
  child: ChildProcess;
  url: string;
  /** `url` with the access token: what a new browser context opens first. */
  loginUrl: string;
  port: number;
  /** Everything the server printed so far. */
  output: () => string;
}

export interface ServeOptions {
  dataDir: string;
  modelDir: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Each chunk the server prints (e.g. to keep its output as a test artifact). */
  onOutput?: (chunk: Buffer) => void;
}

/** Resolve once the server prints its link (with the access token); reject if it exits or is silent for 60 s. */
export function startServe(opts: ServeOptions): Promise<Served> {
  const args = [path.join(ROOT, 'bin', 'photo-search.js'), 'serve', '--port', String(opts.port ?? 0), '--data', opts.dataDir, '--model-dir', opts.modelDir];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PHOTO_SEARCH_MODEL_DIR: opts.modelDir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`photo-search serve did not start within 60 s:\n${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString('utf8');
      opts.onOutput?.(b);
      const m = /running at ((http:\/\/127\.0\.0\.1:(\d+)\/)\?token=[A-Za-z0-9_-]+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[2]!, loginUrl: m[1]!, port: Number(m[3]), output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`photo-search serve exited with ${code} before starting:\n${out}`));
    });
  });
}

/** Stop a server started by startServe: SIGTERM, then SIGKILL if it has not exited within 5 s. */
export async function stopServe(s: Served | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}
