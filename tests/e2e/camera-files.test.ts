// Phone and camera files in the UI (issue 26), in Chromium through browser mode: a HEIC (HEVC) photo and a DNG,
// which no browser can show, appear as thumbnails and in the viewer (served as JPEG renditions), beside a JPEG;
// the place filter (from GPS, resolved offline) and the place in the viewer's details.
// The library is indexed with the real CLI and the real decoder, then served by `photo-search serve`.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heifEncAvailable, jpegWith, rawLike, writeHeic } from '../helpers/camera-files';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';
import { type Served, startServe, stopServe } from '../helpers/serve';
import { shown } from '../helpers/shown';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
const SHOTS = path.join(ROOT, 'test-results', 'e2e');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(!HAVE_CHROMIUM || !heifEncAvailable())('phone and camera files in the browser', () => {
  let tmp: string;
  let server: Served;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    for (const f of ['dist/renderer/index.html', 'dist/main/cli/index.js']) {
      if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the e2e suite.`);
    }
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-camera-'));
    const photos = path.join(tmp, 'photos');
    mkdirSync(photos, { recursive: true });
    const modelDir = path.join(tmp, 'model');
    await generateTestModel(modelDir, { seed: 3, knownWords: true });
    const picture = (r: number, g: number, b: number, w = 640, h = 480) =>
      sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } }).composite([
        { input: Buffer.from(`<svg width="${w}" height="${h}"><circle cx="${w / 2}" cy="${h / 2}" r="${h / 3}" fill="white"/></svg>`), left: 0, top: 0 },
      ]);
    // The HEIC was taken in Lisbon, the JPEG in Porto; the DNG has no GPS.
    writeHeic(await jpegWith(picture(200, 30, 30), { date: '2024:05:17 18:30:00', offset: '+01:00', gps: { lat: 38.7105, lon: -9.1366 } }), path.join(photos, 'phone.heic'));
    writeFileSync(path.join(photos, 'camera.dng'), await rawLike('dng', await jpegWith(picture(30, 30, 200, 1200, 800))));
    writeFileSync(path.join(photos, 'plain.jpg'), await jpegWith(picture(30, 200, 30), { gps: { lat: 41.1496, lon: -8.611 } }));
    const env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
    const indexed = await runCli(['index', photos], { env, timeout: 180_000 });
    if (indexed.code !== 0) throw new Error(`indexing failed: ${indexed.stderr}`);
    server = await startServe({ dataDir: path.join(tmp, 'data'), modelDir });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' })).newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    await page.goto(server.loginUrl);
    await shown(page.getByTestId('photo-count').getByText('3 photos'), `the page shows getByTestId('photo-count').getByText('3 photos')`);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stopServe(server);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows a HEIC and a DNG photo as thumbnails and in the viewer', async () => {
    await page.getByRole('searchbox', { name: 'Search photos' }).fill('a red circle');
    const thumbs = page.locator('ul[aria-label="Results"] button.thumb');
    await page.waitForFunction(() => document.querySelectorAll('ul[aria-label="Results"] button.thumb').length === 3, undefined, { timeout: 30_000 });
    for (const name of ['phone.heic', 'camera.dng', 'plain.jpg']) {
      const thumb = thumbs.filter({ has: page.locator(`img[alt="${name}"]`) });
      await thumb.scrollIntoViewIfNeeded();
      // Decoded by the browser: a JPEG it could show (a HEIC or DNG served as is would leave naturalWidth at 0).
      await page.waitForFunction((n) => {
        const img = document.querySelector<HTMLImageElement>(`ul[aria-label="Results"] img[alt="${n}"]`);
        return !!img && img.complete && img.naturalWidth > 0;
      }, name, { timeout: 30_000 });
      const size = await thumb.locator('img').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
      expect(size, name).toEqual(name === 'camera.dng' ? [256, 171] : [256, 192]);
    }
    await page.screenshot({ path: path.join(SHOTS, 'camera-files.png') });

    await thumbs.filter({ has: page.locator('img[alt="phone.heic"]') }).dblclick();
    const dialog = page.getByRole('dialog');
    await shown(dialog, `the page shows dialog (getByRole('dialog'))`);
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[role="dialog"] [data-testid="viewer-image"] img');
      return !!img && img.complete && img.naturalWidth > 0;
    }, undefined, { timeout: 30_000 });
    expect(await dialog.getByTestId('viewer-image').locator('img').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([640, 480]);
    expect(await dialog.getByTestId('viewer-details').textContent()).toMatch(/640 × 480 px · taken [^·]+ \(UTC\+01:00\) · in Lisbon, Portugal · /);
    await page.screenshot({ path: path.join(SHOTS, 'camera-files-viewer.png') });
    await page.keyboard.press('Escape');
    await shown(dialog, `the page no longer has dialog (getByRole('dialog'))`, { state: 'detached' });
    expect(problems).toEqual([]);
  });

  it('limits the results to a place with the Place filter, shown as a removable chip', async () => {
    const place = page.getByRole('group', { name: 'Filters' }).getByLabel('Place');
    expect(await place.locator('option').allTextContents()).toEqual(['Anywhere', 'Lisbon, Portugal (1)', 'Porto, Portugal (1)', 'Portugal (2)']);
    await place.selectOption('Lisbon, Portugal');
    await page.waitForFunction(() => document.querySelectorAll('ul[aria-label="Results"] button.thumb').length === 1, undefined, { timeout: 30_000 });
    expect(await page.locator('ul[aria-label="Results"] img').getAttribute('alt')).toBe('phone.heic');
    const chip = page.getByTestId('filter-chips').getByText('Place: Lisbon, Portugal');
    await shown(chip, `the page shows getByTestId('filter-chips').getByText('Place: Lisbon, Portugal')`);
    await place.selectOption('Portugal');
    await page.waitForFunction(() => document.querySelectorAll('ul[aria-label="Results"] button.thumb').length === 2, undefined, { timeout: 30_000 });
    await page.getByRole('button', { name: 'Remove filter Place: Portugal' }).click();
    await page.waitForFunction(() => document.querySelectorAll('ul[aria-label="Results"] button.thumb').length === 3, undefined, { timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'camera-files-place.png') });
    expect(problems).toEqual([]);
  });
});
