// The real UI in Chromium through browser mode: the real CLI (`photo-search serve`) over a temp data
// folder and a generated model; generated photos and a generated captioned set. Screenshots go to
// test-results/e2e/ as artifacts.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModel } from '../helpers/generate-model';
import { makeCaptionedSet } from '../helpers/captioned-set';
import { makePhotos } from '../helpers/fixtures';
import { shown } from '../helpers/shown';
import { type Served, startServe, stopServe } from '../helpers/serve';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
const SHOTS = path.join(ROOT, 'test-results', 'e2e');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = !!process.env.CI;
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const PHOTOS = 24;

if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(`Skipping the e2e suite: ${CHROMIUM} not found. Install it with \`apt-get install -y chromium\` to run it (CI always runs it).`);
}

describe.runIf(!HAVE_CHROMIUM && IN_CI)('e2e prerequisites', () => {
  it('has Chromium in CI', () => {
    throw new Error(`${CHROMIUM} is missing: CI must install chromium (apt-get install -y chromium) before the e2e suite.`);
  });
});

/** Start `photo-search serve --port 0`: its address and the link it prints (with the access token). */
function startCli(dataDir: string, modelDir: string): Promise<Served> {
  return startServe({ dataDir, modelDir });
}

describe.skipIf(!HAVE_CHROMIUM)('Photo Search in the browser', () => {
  let tmp: string;
  let server: Awaited<ReturnType<typeof startCli>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  function watch(p: Page): void {
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
  }

  beforeAll(async () => {
    for (const f of ['dist/renderer/index.html', 'dist/main/cli/index.js']) {
      if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the e2e suite.`);
    }
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-'));
    await Promise.all([
      generateTestModel(path.join(tmp, 'model'), { seed: 3, knownWords: true }),
      generateTestModel(path.join(tmp, 'hf-export'), { seed: 9, layout: 'hf' }),
      makePhotos(path.join(tmp, 'photos'), PHOTOS, 7),
      makeCaptionedSet(path.join(tmp, 'set'), { photos: 40, seed: 5 }),
    ]);
    // Two files the indexer must skip, each with a reason the Library shows.
    mkdirSync(path.join(tmp, 'photos', 'bad'), { recursive: true });
    writeFileSync(path.join(tmp, 'photos', 'bad', 'empty.jpg'), '');
    writeFileSync(path.join(tmp, 'photos', 'bad', 'notes.png'), 'This is a text file with a photo extension.\n');
    server = await startCli(path.join(tmp, 'data'), path.join(tmp, 'model'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url.replace(/\/$/, '') });
    page = await context.newPage();
    watch(page);
    await page.goto(server.loginUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stopServe(server);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('trades the link\'s token for an HttpOnly SameSite=Strict cookie and drops it from the address bar', async () => {
    expect(page.url()).toBe(server.url);
    const cookies = await context.cookies(server.url);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: expect.stringMatching(/^photo-search-token-\d+$/), value: server.loginUrl.split('token=')[1], httpOnly: true, sameSite: 'Strict', path: '/' });
    // The page's own script cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.evaluate(() => fetch('/api/status', { method: 'POST', headers: { 'Content-Type': 'application/json' } }).then((r) => r.status))).toBe(200);
  });

  it('refuses the API to a browser without the token and says which link to open', async () => {
    const stranger = await browser.newContext();
    try {
      const p = await stranger.newPage();
      // Not the app with an endless "Disconnected": a page that says which link to open.
      const bare = await p.goto(server.url);
      expect(bare?.status()).toBe(401);
      expect(await p.getByRole('heading', { level: 1 }).textContent()).toBe('Open the link photo-search serve printed');
      expect(await p.locator('body').textContent()).toContain('npx photo-search serve --open');
      expect(await p.getByRole('tab').count()).toBe(0);
      // Its one inline style is allowed by the page's CSP hash (computed style, not the browser default).
      expect(await p.locator('body').evaluate((b) => getComputedStyle(b).maxWidth)).not.toBe('none');
      await p.screenshot({ path: path.join(SHOTS, '00-no-token.png') });
      // The API stays closed to this browser (its cookie jar has no token).
      expect((await stranger.request.post(`${server.url}api/status`, { headers: { 'Content-Type': 'application/json' } })).status()).toBe(401);
      // A guessed token gets no cookie.
      const wrong = await p.goto(`${server.url}?token=guess`);
      expect(wrong?.status()).toBe(401);
      expect(await stranger.cookies(server.url)).toEqual([]);
    } finally {
      await stranger.close();
    }
  });

  it('starts with an empty library and says what to do next', async () => {
    await expect(page.getByRole('heading', { name: 'Add a folder in Library to start' })).toBeVisibleSoon();
    await expect(page.getByRole('searchbox', { name: 'Search photos' })).toBeFocusedSoon();
    await shot('01-empty');
  });

  it('shows a readable one-line error for a folder that does not exist', async () => {
    await page.getByRole('button', { name: 'Go to Library' }).click();
    await page.getByLabel('Folder path').fill(path.join(tmp, 'no-such-folder'));
    await page.getByRole('button', { name: 'Add folder' }).click();
    const alert = page.getByRole('alert');
    await shown(alert, `the page shows alert (getByRole('alert'))`);
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('no-such-folder');
    expect(text).not.toContain('\n');
    expect(text).not.toMatch(/at .*\.js:\d+/);
  });

  it('adds a folder and shows indexing finish with counts', async () => {
    await page.getByLabel('Folder path').fill(path.join(tmp, 'photos'));
    await page.getByRole('button', { name: 'Add folder' }).click();
    await shown(page.getByRole('list', { name: 'Library folders' }).getByText(path.join(tmp, 'photos')), `the page shows getByRole('list', { name: 'Library folders' }).getByText(path.join(tmp, 'photos'))`);
    const summary = page.getByTestId('index-summary');
    await shown(summary, `the page shows summary (getByTestId('index-summary'))`, { timeout: 60_000 });
    expect(await summary.textContent()).toMatch(new RegExp(`Done: ${PHOTOS} added, .* 2 skipped`));
    const skipped = page.getByRole('table', { name: 'Skipped files' }).locator('tbody tr');
    await shown(skipped.nth(1), `the page shows skipped (getByRole('table', { name: 'Skipped files' }).locator('tbody tr')).nth(1)`);
    const rows = (await skipped.allTextContents()).sort();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/empty\.jpg.*empty file/);
    expect(rows[1]).toMatch(/notes\.png.*not an image/);
    // Progress counts every file looked at, the skipped ones too.
    expect(await page.getByTestId('job-counts').textContent()).toBe(`${PHOTOS + 2} of ${PHOTOS + 2}`);
    expect(await page.getByRole('progressbar', { name: 'Indexing progress' }).getAttribute('value')).toBe(String(PHOTOS + 2));
    await shown(page.locator('.status').getByText(`${PHOTOS} photos`), `the page shows locator('.status').getByText(\`\${PHOTOS} photos\`)`);
    await shot('02-library-indexed');
  });

  it('searches as you type and loads every thumbnail', async () => {
    await page.getByRole('tab', { name: 'Search' }).click();
    await page.getByRole('searchbox').fill('red circle');
    const results = page.getByRole('list', { name: 'Results' });
    await shown(results, `the page shows results (getByRole('list', { name: 'Results' }))`);
    const items = results.getByRole('listitem');
    expect(await items.count()).toBe(PHOTOS);
    const imgs = results.locator('img');
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('ul[aria-label="Results"] img')].every((i) => i.complete && i.naturalWidth > 0), null, {
      timeout: 30_000,
    });
    const alts = await imgs.evaluateAll((els) => els.map((e) => (e as HTMLImageElement).alt));
    for (const alt of alts) expect(alt).toMatch(/^photo-\d{3}\.(jpg|png|webp)$/);
    // A match percentage a person can read, best first (not a raw cosine).
    const scores = await results.locator('.score').allTextContents();
    for (const s of scores) expect(s).toMatch(/^\d{1,3}%$/);
    const values = scores.map((s) => Number(s.replace('%', '')));
    expect(values.every((v) => v >= 0 && v <= 100)).toBe(true);
    expect([...values].sort((a, b) => b - a)).toEqual(values);
    // Screen readers hear the file name (and the match), not a bare number.
    const names = await results.locator('button.thumb').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    for (const n of names) expect(n).toMatch(/^photo-\d{3}\.(jpg|png|webp), taken \S.*, \d{1,3}% match$/);
    await shot('03-search-results');
  });

  it('says when no word of the query is known to the model, instead of showing results', async () => {
    await page.getByRole('searchbox').fill('zzqx qwpo');
    const note = page.getByTestId('unknown-words');
    await shown(note, `the page shows note (getByTestId('unknown-words'))`);
    expect(await note.textContent()).toMatch(/^No words in this query are known to the model/);
    expect(await page.getByRole('list', { name: 'Results' }).count()).toBe(0);
    await page.getByRole('searchbox').fill('red circle');
    await shown(page.getByRole('list', { name: 'Results' }), `the page shows getByRole('list', { name: 'Results' })`);
    expect(await note.count()).toBe(0);
  });

  it('moves through results with the keyboard, opens the large view with Enter and leaves it with Escape', async () => {
    const results = page.getByRole('list', { name: 'Results' });
    await page.getByRole('searchbox').press('ArrowDown');
    const first = results.getByRole('button').nth(0);
    await expect(first).toBeFocusedSoon();
    await page.keyboard.press('ArrowRight');
    const second = results.getByRole('button').nth(1);
    await expect(second).toBeFocusedSoon();
    expect(await second.getAttribute('aria-current')).toBe('true');
    expect(await first.getAttribute('aria-current')).toBeNull();
    // Down moves by a whole row of the responsive grid.
    const cols = await results.evaluate((ul) => getComputedStyle(ul).gridTemplateColumns.split(' ').length);
    await page.keyboard.press('ArrowDown');
    await expect(results.getByRole('button').nth(1 + cols)).toBeFocusedSoon();
    await page.keyboard.press('ArrowUp');
    await expect(second).toBeFocusedSoon();
    const name = await second.locator('img').getAttribute('alt');

    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: name! });
    await shown(dialog, `the page shows dialog (getByRole('dialog', { name: name! }))`);
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[role="dialog"] img');
      return !!img && img.complete && img.naturalWidth > 0;
    });
    await shot('04-large-view');
    await page.keyboard.press('Escape');
    await shown(dialog, `the page no longer has dialog (getByRole('dialog', { name: name! }))`, { state: 'detached' });
    await expect(second).toBeFocusedSoon();
  });

  it('copies the path and finds more like this', async () => {
    const selected = page.getByRole('region', { name: 'Selected photo' }).or(page.locator('.selection-bar'));
    await selected.getByRole('button', { name: 'Copy path' }).click();
    await shown(page.getByRole('status').getByText(/^Copied \//), `the page shows getByRole('status').getByText(/^Copied \\//)`);
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied.startsWith(path.join(tmp, 'photos'))).toBe(true);

    // Browser mode opens the photo itself in a new tab (no desktop-only errors).
    expect(await selected.getByRole('link', { name: 'Open file' }).getAttribute('href')).toMatch(/^\/api\/photo\/\d+\?size=full$/);

    await selected.getByRole('button', { name: 'More like this' }).click();
    const own = copied.split(/[\\/]/).pop()!;
    await shown(page.locator('.chip').getByText(own), `the page shows locator('.chip').getByText(own)`);
    // The other photos, ranked by likeness; the photo itself is left out.
    await page.waitForFunction((n) => document.querySelectorAll('ul[aria-label="Results"] li:not(.weaker)').length === n, PHOTOS - 1);
    const alts = await page.getByRole('list', { name: 'Results' }).locator('img').evaluateAll((els) => els.map((e) => (e as HTMLImageElement).alt));
    expect(alts).not.toContain(own);
    await shot('05-more-like-this');
    await page.getByRole('button', { name: 'Back to text search' }).click();
  });

  it('focuses search with Ctrl+F from another section', async () => {
    await page.getByRole('tab', { name: 'Models' }).click();
    await page.keyboard.press('Control+f');
    await expect(page.getByRole('searchbox')).toBeFocusedSoon();
    expect(await page.getByRole('tab', { name: 'Search' }).getAttribute('aria-selected')).toBe('true');
  });

  let trainedId = '';

  it('inspects a captioned set, trains, charts each epoch and shows before/after recall', async () => {
    await page.getByRole('tab', { name: 'Training' }).click();
    await page.getByLabel('Captioned set folder').fill(path.join(tmp, 'set'));
    await page.getByRole('button', { name: 'Inspect' }).click();
    const info = page.getByTestId('set-info');
    await shown(info, `the page shows info (getByTestId('set-info'))`);
    expect(await info.textContent()).toMatch(/40 photos, 200 captions/);
    await page.getByLabel('Model name').fill('e2e-shapes');
    await page.getByLabel('Epochs').fill('3');
    await page.getByRole('button', { name: 'Start training' }).click();
    const result = page.getByTestId('train-result');
    await shown(result, `the page shows result (getByTestId('train-result'))`, { timeout: 120_000 });
    // The result, the header and the Models list name the model as the user named it.
    trainedId = ((await result.getByRole('heading').textContent()) ?? '').replace(/^Result: /, '');
    expect(trainedId).toBe('e2e-shapes');
    const canvas = page.locator('.chart canvas');
    const box = await canvas.boundingBox();
    expect(box && box.width > 100 && box.height > 100).toBe(true);
    const rows = result.getByRole('table', { name: 'Recall before and after' }).locator('tbody tr');
    expect(await rows.count()).toBe(6);
    expect(await rows.first().textContent()).toMatch(/Text → photo R@1\d+\.\d%\d+\.\d%/);
    // When no epoch beat the starting model (every "Change" is 0.0), the panel says the heads were kept.
    const changes = await rows.locator('td:last-child').allTextContents();
    const unchanged = changes.every((c) => Number(c) === 0);
    expect(await result.getByTestId('no-improvement').count()).toBe(unchanged ? 1 : 0);
    // The gain in held-out text → photo R@5 is spelled out, and matches the table's R@5 row.
    const gain = (await result.getByTestId('train-gain').textContent())!;
    const m = /Held-out text→image R@5: (\d+\.\d) → (\d+\.\d) \(([+−])(\d+\.\d) points\)/.exec(gain);
    expect(m, gain).not.toBeNull();
    const [, from, to, sign, points] = m!;
    expect((sign === '−' ? -1 : 1) * Number(points)).toBeCloseTo(Number(to) - Number(from), 1);
    await shot('06-training-result');
  });

  it('activates the trained model, then rolls back', async () => {
    const result = page.getByTestId('train-result');
    await result.getByRole('button', { name: 'Use this model' }).click();
    await shown(result.getByText('Active'), `the page shows result (getByTestId('train-result')).getByText('Active')`);
    await shown(page.locator('.status').getByText(trainedId), `the page shows locator('.status').getByText(trainedId)`, { timeout: 30_000 });
    const rollback = result.getByRole('button', { name: /^Roll back to / });
    await rollback.click();
    await shown(result.getByRole('button', { name: 'Use this model' }), `the page shows result (getByTestId('train-result')).getByRole('button', { name: 'Use this model' })`, { timeout: 30_000 });
    await shown(page.locator('.status').getByText(trainedId), `the page no longer has locator('.status').getByText(trainedId)`, { state: 'detached' });
  });

  it('lists models with provenance and switches the active one', async () => {
    await page.getByRole('tab', { name: 'Models' }).click();
    const list = page.getByRole('list', { name: 'Models' });
    const trained = list.getByRole('listitem').filter({ hasText: trainedId });
    await shown(trained, `the page shows trained`);
    expect(await trained.textContent()).toMatch(/Trained from .* on .*set\./);
    expect(await trained.textContent()).toMatch(/R@5 \d+\.\d%/);
    await trained.getByRole('button', { name: /^Use / }).click();
    await shown(trained.getByText('Active'), `the page shows trained.getByText('Active')`, { timeout: 30_000 });
    expect(await list.getByText('Active', { exact: true }).count()).toBe(1);
    // Search still works on the newly active model.
    await page.getByRole('tab', { name: 'Search' }).click();
    await page.getByRole('searchbox').fill('blue square');
    await shown(page.getByRole('list', { name: 'Results' }).getByRole('listitem').first(), `the page shows getByRole('list', { name: 'Results' }).getByRole('listitem').first()`);
    await page.getByRole('tab', { name: 'Models' }).click();
    await shot('07-models');
  });

  it('retrains the trained model as a fine-tune whose gain is cross-validated, and says so', async () => {
    await page.getByRole('tab', { name: 'Training' }).click();
    await page.getByLabel('Captioned set folder').fill(path.join(tmp, 'set'));
    // A trained model is fine-tuned with a step chosen on the set's held-out photos, whatever trained it.
    const note = page.getByTestId('epochs-note').getByText(/^e2e-shapes is fine-tuned: how far to move from it \(step size, up to \d+ epochs, share of the new heads\) is chosen on the set's held-out photos\./);
    await shown(note, 'the page shows the epochs note of a fine-tune (its step chosen on held-out photos)');
    await page.getByLabel('Model name').fill('e2e-again');
    await page.getByLabel('Epochs').fill('2');
    await page.getByRole('button', { name: 'Start training' }).click();
    const result = page.getByTestId('train-result');
    await shown(result.getByRole('heading', { name: 'Result: e2e-again' }), `the page shows result (getByTestId('train-result')).getByRole('heading', { name: 'Result: e2e-again' })`, { timeout: 120_000 });
    const gain = (await result.getByTestId('train-gain').textContent())!;
    const m = /^Held-out text→image R@5 \(5-fold cross-validation, each of the 40 photos held out once\): (\d+\.\d) → (\d+\.\d) \(([+−])(\d+\.\d) ± (\d+\.\d) points\)\. (The saved heads are fine-tuned on all 40 photos: chosen on the held-out photos, the (small|whole) step \(learning rate [\d.e+-]+\) for [12] epochs?, (the new heads as they are|\d+% of the new heads)|That is clearly worse)/.exec(gain);
    expect(m, gain).not.toBeNull();
    expect(await result.textContent()).toContain('Recall on held-out photos (5-fold cross-validation), before and after training.');
    // How many photos each caption competes with, so the figures are not read against another set's.
    expect(await result.textContent()).toContain("Each caption is ranked among its fold's ~8 held-out photos.");
    expect(await page.getByTestId('baseline').textContent()).toContain('Every photo is held out once over 5 folds; the lines pool all of them. The blue line is the fine-tuned heads alone, before they are blended with the starting ones.');
    await shot('06b-retraining-result');
    await page.getByRole('tab', { name: 'Models' }).click();
  });

  it('imports a model folder with progress', async () => {
    const list = page.getByRole('list', { name: 'Models' });
    const before = await list.getByRole('listitem').count();
    await page.getByLabel('Folder or hf:OWNER/NAME').fill(path.join(tmp, 'hf-export'));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await shown(page.getByRole('progressbar', { name: 'Importing progress' }), `the page shows getByRole('progressbar', { name: 'Importing progress' })`);
    await page.waitForFunction((n) => document.querySelectorAll('ul[aria-label="Models"] > li').length === n + 1, before, { timeout: 60_000 });
    await shown(page.locator('.job-done').getByText('Importing'), `the page shows locator('.job-done').getByText('Importing')`, { timeout: 60_000 });
    await shot('08-model-imported');
  });

  it('looks right in dark mode and on a narrow window', async () => {
    const dark = await browser.newContext({ viewport: { width: 420, height: 860 }, colorScheme: 'dark' });
    const p = await dark.newPage();
    watch(p);
    await p.goto(server.loginUrl);
    await p.getByRole('searchbox').fill('green triangle');
    await p.waitForFunction(() => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>('ul[aria-label="Results"] img')];
      return imgs.length > 0 && imgs.slice(0, 4).every((i) => i.complete && i.naturalWidth > 0);
    });
    const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(21, 23, 27)');
    await p.screenshot({ path: path.join(SHOTS, '09-dark-narrow.png') });
    await p.getByRole('tab', { name: 'Training' }).click();
    await p.screenshot({ path: path.join(SHOTS, '10-dark-training.png'), fullPage: true });
    await dark.close();
  });

  it('re-scans incrementally and removes a folder', async () => {
    await page.getByRole('tab', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'Re-scan' }).click();
    const summary = page.getByTestId('index-summary');
    await page.waitForFunction((n) => /Done: 0 added, 0 updated, 0 removed, (\d+) unchanged/.exec(document.querySelector('[data-testid="index-summary"]')?.textContent ?? '')?.[1] === String(n), PHOTOS, {
      timeout: 60_000,
    });
    expect(await summary.textContent()).toMatch(/2 skipped/);
    await page.getByRole('button', { name: `Remove ${path.join(tmp, 'photos')}` }).click();
    await page.getByRole('alertdialog', { name: 'Remove folder' }).getByRole('button', { name: 'Remove folder' }).click();
    await shown(page.getByText('No folders yet.'), `the page shows getByText('No folders yet.')`);
    await shown(page.locator('.status').getByText('0 photos'), `the page shows locator('.status').getByText('0 photos')`, { timeout: 30_000 });
    await page.getByRole('tab', { name: 'Search' }).click();
    await page.getByRole('searchbox').fill('');
    await shown(page.getByRole('heading', { name: 'Add a folder in Library to start' }), `the page shows getByRole('heading', { name: 'Add a folder in Library to start' })`);
  });

  it('had no page errors or console errors', () => {
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

// Small polling matchers for Playwright locators (vitest's expect has no auto-waiting).
interface Waiting {
  toBeVisibleSoon(): Promise<void>;
  toBeFocusedSoon(): Promise<void>;
}
declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
  interface Assertion<T> extends Waiting {}
}
expect.extend({
  async toBeVisibleSoon(locator: import('playwright-core').Locator) {
    try {
      await shown(locator, `the page shows locator`, { state: 'visible', timeout: 10_000 });
      return { pass: true, message: () => 'visible' };
    } catch {
      return { pass: false, message: () => `${locator} did not become visible` };
    }
  },
  async toBeFocusedSoon(locator: import('playwright-core').Locator) {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      if (await locator.evaluate((el) => el === document.activeElement).catch(() => false)) return { pass: true, message: () => 'focused' };
      await new Promise((r) => setTimeout(r, 50));
    }
    return { pass: false, message: () => `${locator} did not get focus` };
  },
});
