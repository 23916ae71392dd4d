/**
 * Words in photos through the CLI, as a user runs it: the compiled CLI indexes generated photos with text
 * (a receipt, screenshots, signs) among plain ones with the built-in model; the text pass runs after
 * embedding, past the built-in text gate (which must let every text photo through); then `search "invoice 4711"` puts
 * the receipt first, `text:` finds and excludes by the words written, `status` counts the photos with text and
 * those the gate passed over, and PHOTO_SEARCH_READ_TEXT=all reads those too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePhotos } from '../helpers/fixtures';
import { runCli } from '../helpers/run-cli';
import { makeTextPhotos, type TextPhoto } from '../helpers/text-photos';

let tmp: string;
let env: NodeJS.ProcessEnv;
let photos: TextPhoto[];
const folder = () => path.join(tmp, 'photos');

function cli(args: string[]) {
  return runCli(args, { env, timeout: 180_000 });
}

async function search(query: string): Promise<string[]> {
  const r = await cli(['search', query, '--top', '30', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { path: string }[]).map((h) => path.basename(h.path));
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-text-search-'));
  env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data') };
  delete env.PHOTO_SEARCH_MODEL_DIR; // the built-in model
  delete env.PHOTO_SEARCH_READ_TEXT;
  photos = await makeTextPhotos(folder(), { plain: 4 });
  await makePhotos(folder(), 12, 7);
  const idx = await cli(['index', folder(), '--json']);
  expect(idx.code, idx.stderr).toBe(0);
  const text = JSON.parse(idx.stdout).text;
  expect(text).toMatchObject({ failed: 0, withText: photos.filter((p) => p.text).length });
  expect(text.read + text.gated).toBe(photos.length + 12); // each photo read or passed over by the gate
}, 300_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('words in photos, from the command line', () => {
  it('counts the photos with text in status', async () => {
    const r = await cli(['status', '--json']);
    const st = JSON.parse(r.stdout);
    expect(st.text.read + st.text.gated).toBe(st.images);
    expect(st.text.withText).toBe(photos.filter((p) => p.text).length);
    const plain = await cli(['status']);
    expect(plain.stdout).toContain(`Text in photos: ${st.text.withText} photos with text (${st.text.read} of ${st.images} read`);
  });

  it('puts the receipt that reads INVOICE 4711 first for "invoice 4711"', async () => {
    expect((await search('invoice 4711'))[0]).toBe('receipt.jpg');
  });

  it('lifts a photo whose text has a query word above those that only look like the rest of the query', async () => {
    const without = await search('a sign that says');
    expect(without[0]).not.toBe('parking-sign.jpg');
    expect((await search('a sign that says parking'))[0]).toBe('parking-sign.jpg');
  });

  it('finds photos by text: alone, and only those', async () => {
    expect(await search('text:"wifi password"')).toEqual(['wifi-screenshot.png']);
    expect(await search('text:4711')).toEqual(['receipt.jpg']);
    expect(await search('text:orion')).toEqual(['dark-screenshot.png']);
    expect(await search('text:zebracrossing')).toEqual([]);
  });

  it('mixes text: with the rest of the algebra: a filter when added, left out when subtracted', async () => {
    expect(await search('a sign + text:parking')).toEqual(['parking-sign.jpg']);
    const signs = await search('a sign');
    expect(signs).toContain('parking-sign.jpg');
    const withoutParking = await search('a sign - text:parking');
    expect(withoutParking).toEqual(signs.filter((f) => f !== 'parking-sign.jpg'));
  });

  it('reads the photos the gate passed over when PHOTO_SEARCH_READ_TEXT=all, and nothing again after that', async () => {
    const before = JSON.parse((await cli(['status', '--json'])).stdout).text;
    const all = { ...env, PHOTO_SEARCH_READ_TEXT: 'all' };
    const r = await runCli(['index', '--json'], { env: all, timeout: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).text).toMatchObject({ read: before.gated, gated: 0, withText: 0, failed: 0 });
    const after = JSON.parse((await cli(['status', '--json'])).stdout).text;
    expect(after).toMatchObject({ gated: 0, withText: before.withText });
    expect(after.read).toBe(before.read + before.gated);
    const again = await runCli(['index', '--json'], { env: all, timeout: 180_000 });
    expect(JSON.parse(again.stdout).text).toMatchObject({ read: 0, gated: 0 });
  });

  it('refuses text: with nothing after it in one line', async () => {
    const r = await cli(['search', 'receipt + text:']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('photo-search: Nothing after text: at character 10: write the words to find in photos, e.g. text:"wifi password".');
  });
});
