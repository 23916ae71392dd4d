// Words in photos in the UI (issue 27), in Chromium through browser mode: a `text:` query as a chip and its
// results, the same query through the HTTP API, and the viewer's details listing the text read in the photo
// with its boxes drawn over it. The library (photos with text among plain ones) is generated and indexed with
// the real CLI, then served by `photo-search serve`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePhotos } from '../helpers/fixtures';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';
import { type Served, startServe, stopServe } from '../helpers/serve';
import { shown } from '../helpers/shown';
import { makeTextPhotos } from '../helpers/text-photos';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(!existsSync(CHROMIUM))('words in photos in the browser', () => {
  let tmp: string;
  let server: Served;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const box = () => page.getByRole('searchbox', { name: 'Search photos' });
  const items = () => page.getByRole('list', { name: 'Results' }).getByRole('listitem');

  beforeAll(async () => {
    for (const f of ['dist/renderer/index.html', 'dist/main/cli/index.js']) {
      if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the e2e suite.`);
    }
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-text-'));
    const photos = path.join(tmp, 'photos');
    const modelDir = path.join(tmp, 'model');
    await Promise.all([generateTestModel(modelDir, { seed: 3, knownWords: true }), makeTextPhotos(photos, { plain: 2, only: ['receipt', 'wifi-screenshot', 'parking-sign'] })]);
    await makePhotos(photos, 6, 5);
    const env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
    delete env.PHOTO_SEARCH_READ_TEXT;
    const indexed = await runCli(['index', photos], { env, timeout: 180_000 });
    if (indexed.code !== 0) throw new Error(`indexing failed: ${indexed.stderr}`);
    server = await startServe({ dataDir: path.join(tmp, 'data'), modelDir });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
    });
    await page.goto(server.loginUrl);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await stopServe(server);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the photo by text: in the search box, shown as a chip', async () => {
    await box().fill('text:"wifi password"');
    const chips = page.getByRole('list', { name: 'Query parts' }).getByRole('listitem');
    await shown(chips.first(), `the page shows the query part as a chip`);
    expect(await chips.allTextContents()).toEqual(['+ text:"wifi password"']);
    await page.waitForFunction(() => document.querySelectorAll('ul[aria-label="Results"] li:not(.weaker)').length === 1, null, { timeout: 30_000 });
    expect(await items().first().locator('img').getAttribute('alt')).toBe('wifi-screenshot.png');
  });

  it('answers text: through the HTTP API the page uses', async () => {
    const result = await page.evaluate(async () => {
      const r = await fetch('/api/search', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'text:4711' }) });
      return (await r.json()) as { ok: boolean; value: { path: string }[] };
    });
    expect(result.ok).toBe(true);
    expect(result.value.map((h) => path.basename(h.path))).toEqual(['receipt.jpg']);
  });

  it('lists the text read in the photo in the viewer, and draws its boxes on request', async () => {
    await box().fill('text:invoice');
    await page.waitForFunction(() => document.querySelector('ul[aria-label="Results"] img')?.getAttribute('alt') === 'receipt.jpg', null, { timeout: 30_000 });
    await items().first().getByRole('button').first().dblclick();
    const dialog = page.getByRole('dialog', { name: 'receipt.jpg' });
    await shown(dialog, 'the page shows the viewer');
    const text = dialog.getByTestId('viewer-text');
    await shown(text.getByRole('listitem').first(), 'the viewer lists the lines read in the photo');
    const lines = (await text.getByRole('listitem').allTextContents()).join(' ').toLowerCase().replace(/\s+/g, '');
    expect(lines).toContain('invoice4711');
    expect(await dialog.getByTestId('viewer-text-overlay').count()).toBe(0);
    await dialog.getByTestId('viewer-text-boxes').check();
    await shown(dialog.getByTestId('viewer-text-overlay'), 'the page draws the text boxes over the photo');
    expect(await dialog.getByTestId('viewer-text-overlay').locator('polygon').count()).toBe(await text.getByRole('listitem').count());
    await page.keyboard.press('Escape');
    expect(problems).toEqual([]);
  });
});
