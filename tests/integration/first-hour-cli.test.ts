/**
 * A first hour with the command line without a snag (issue 24): a mistyped folder is refused, not "nothing found";
 * a busy port says what to do. Runs the compiled `bin/photo-search.js` over a temp library and a generated model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { makePhotos } from '../helpers/fixtures';
import { runCli } from '../helpers/run-cli';

let tmp: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[]) => runCli(args, { env, cwd: tmp });

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-first-hour-'));
  const modelDir = await generateTestModel(path.join(tmp, 'model'), { seed: 3 });
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir, HOME: tmp };
  delete env.PHOTO_SEARCH_DEBUG;
  await makePhotos(path.join(tmp, 'lib', 'Phone', '2023'), 4, 5);
  await makePhotos(path.join(tmp, 'lib', 'Camera'), 4, 6);
  const r = await cli(['index', 'lib/Phone', 'lib/Camera']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('search --folder', () => {
  it('refuses a folder that is not in the library (a typo) with one line and exit 1, as remove does', async () => {
    const r = await cli(['search', 'a', 'red', 'circle', '--folder', '~/lib/Phne']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      `photo-search: ${path.join(tmp, 'lib', 'Phne')} is not a library folder (nor inside one). Library folders: ${path.join(tmp, 'lib', 'Camera')}, ${path.join(tmp, 'lib', 'Phone')}.`,
    );
    expect((await cli(['search', 'a', 'red', 'circle', '--folder', 'lib/Phne', '--json'])).code).toBe(1);
  });

  it('takes a library folder, a folder inside one, and a trailing slash', async () => {
    for (const folder of ['~/lib/Phone', 'lib/Phone/2023', 'lib/Camera/']) {
      const r = await cli(['search', 'a', 'red', 'circle', '--folder', folder, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const hits = JSON.parse(r.stdout) as { path: string }[];
      expect(hits.length, folder).toBe(4);
      const under = path.join(tmp, folder.replace(/^~\//, '').replace(/\/$/, ''));
      for (const h of hits) expect(h.path.startsWith(under + path.sep)).toBe(true);
    }
  });
});

describe('serve --port', () => {
  it('says the port is in use and what to try, in one line, when another program holds it', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await cli(['serve', '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`photo-search: Port ${port} is in use: another copy running? Try --port 0 (any free port).`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
