// `npm start` where Electron's binary cannot be downloaded: one line that says what failed and what to use instead,
// not Electron's stack trace. The download is pointed at a closed local port, so it fails at once and offline.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-start-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm start without an Electron binary', () => {
  it('prints one line naming the failed download and `npx photo-search serve`, and exits 1', async () => {
    // What `npm start` runs after `npm run build` (the build is tested elsewhere).
    const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    const launch = start.split('&&').pop()!.trim();
    const env = {
      ...process.env,
      PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
      // No binary here, whatever this machine has installed; downloads go to a port nothing listens on.
      ELECTRON_OVERRIDE_DIST_PATH: path.join(tmp, 'no-electron'),
      ELECTRON_MIRROR: 'http://127.0.0.1:9/',
      electron_config_cache: path.join(tmp, 'cache'),
      PHOTO_SEARCH_DEBUG: '',
    };
    const r = await promisify(execFile)('sh', ['-c', launch], { cwd: root, env, timeout: 60_000 }).then(
      (ok) => ({ code: 0, stderr: ok.stderr, stdout: ok.stdout }),
      (e: { code: number; stderr: string; stdout: string }) => ({ code: e.code, stderr: e.stderr, stdout: e.stdout }),
    );
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Downloading Electron'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot start the desktop app: downloading Electron [\d.]+ from GitHub failed \(.+\)/);
    expect(lines[0]).toContain('npx photo-search serve');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
