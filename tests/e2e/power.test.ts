// Power search in the UI (issue 15), in Chromium through browser mode: the query algebra as chips and its
// parse error, the filter bar and its removable chips, loading more on scroll, the duplicates view, and
// search by a dropped, pasted or chosen image. The library is generated and indexed with the real CLI,
// then served by `photo-search serve`.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePhotos } from '../helpers/fixtures';
import { shown } from '../helpers/shown';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';
import { type Served, startServe, stopServe } from '../helpers/serve';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** More than one page (60) in folder A, so there is more to load on scroll. */
const A_PHOTOS = 64;
const B_PHOTOS = 8;
const TOTAL = A_PHOTOS + B_PHOTOS + 1; // and one exact copy in B

describe.skipIf(!HAVE_CHROMIUM)('power search in the browser', () => {
  let tmp: string;
  let dirA: string;
  let dirB: string;
  let server: Served;
  let browser: Browser;
  let page: Page;
  /** Bodies of the search requests the page sent, by API method. */
  const sent: { method: string; body: string }[] = [];
  const problems: string[] = [];

  const box = () => page.getByRole('searchbox', { name: 'Search photos' });
  const items = () => page.getByRole('list', { name: 'Results' }).getByRole('listitem');
  const count = (n: number) => page.waitForFunction((k) => document.querySelectorAll('ul[aria-label="Results"] li:not(.weaker)').length === k, n, { timeout: 30_000 });
  const titles = () => page.locator('ul[aria-label="Results"] button.thumb').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));
  const searches = (method = 'search') => sent.filter((s) => s.method === method).length;
  /** Do `action`, then wait until the page has the answer to the search it sends whose body has `part`. */
  const answered = async (part: string, action: () => Promise<unknown>) => {
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/search') && (r.request().postData() ?? '').includes(part), { timeout: 30_000 });
    await action();
    await answer;
    await page.waitForFunction(() => !document.querySelector('.searchbar .spinner'));
  };

  beforeAll(async () => {
    for (const f of ['dist/renderer/index.html', 'dist/main/cli/index.js']) {
      if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the e2e suite.`);
    }
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-power-'));
    dirA = path.join(tmp, 'photos-a');
    dirB = path.join(tmp, 'photos-b');
    const modelDir = path.join(tmp, 'model');
    await Promise.all([generateTestModel(modelDir, { seed: 3, knownWords: true }), makePhotos(dirA, A_PHOTOS, 31), makePhotos(dirB, B_PHOTOS, 32)]);
    // An exact copy of a photo of A in B; B's photos are dated 2020 (file times: no EXIF), A's 2023.
    copyFileSync(path.join(dirA, 'photo-000.jpg'), path.join(dirB, 'copy-of-a-000.jpg'));
    const when = (dir: string, t: Date) => {
      for (const f of readdir(dir)) utimesSync(path.join(dir, f), t, t);
    };
    when(dirA, new Date(2023, 4, 10, 12));
    when(dirB, new Date(2020, 5, 15, 12));
    const env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
    const indexed = await runCli(['index', dirA, dirB], { env, timeout: 180_000 });
    if (indexed.code !== 0) throw new Error(`indexing failed: ${indexed.stderr}`);
    server = await startServe({ dataDir: path.join(tmp, 'data'), modelDir });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url.replace(/\/$/, '') });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('request', (r) => {
      const m = /\/api\/(search|searchLike|searchImage|duplicates)$/.exec(r.url());
      if (m) sent.push({ method: m[1]!, body: r.postData() ?? '' });
    });
    await page.goto(server.loginUrl);
    await shown(page.getByTestId('photo-count').getByText(`${TOTAL} photos`), `the page shows getByTestId('photo-count').getByText(\`\${TOTAL} photos\`)`);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stopServe(server);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows an algebra query as chips, a parse error as one line without a request, and adds a photo to the query', async () => {
    await box().fill('red circle');
    await shown(items().first(), `the page shows items().first()`);
    // A plain query has nothing to show as parts.
    expect(await page.getByTestId('query-chips').count()).toBe(0);

    await box().fill('red circle + 2:blue - 0.5:square');
    const chips = page.getByRole('list', { name: 'Query parts' }).getByRole('listitem');
    await shown(chips.first(), `the page shows chips (getByRole('list', { name: 'Query parts' }).getByRole('listitem')).first()`);
    expect(await chips.allTextContents()).toEqual(['+ red circle', '+ 2 × blue', '− 0.5 × square']);
    await page.waitForFunction(() => !document.querySelector('.spinner'));
    expect(sent.filter((s) => s.method === 'search').at(-1)?.body).toContain('"query":"red circle + 2:blue - 0.5:square"');

    const before = searches();
    await box().fill('red circle +');
    const err = page.getByTestId('query-error');
    await shown(err, `the page shows err (getByTestId('query-error'))`);
    expect(await err.textContent()).toBe("Nothing after '+' at character 12: write a word or a photo after it.");
    expect(await page.getByTestId('query-chips').count()).toBe(0);
    // The error shows once the search would have gone out: none did.
    expect(searches()).toBe(before);

    await box().fill('red circle');
    await shown(err, `the page no longer has err (getByTestId('query-error'))`, { state: 'detached' });
    await shown(items().first(), `the page shows items().first()`);
    await page.locator('.selection-bar').getByRole('button', { name: 'Add to query' }).click();
    expect(await box().inputValue()).toMatch(/^red circle \+ photo:\d+$/);
    const id = /photo:(\d+)$/.exec(await box().inputValue())![1];
    expect(await chips.allTextContents()).toEqual(['+ red circle', `+ photo ${id}`]);
    await page.waitForFunction(() => !document.querySelector('.spinner'));
    expect(sent.filter((s) => s.method === 'search').at(-1)?.body).toContain(`"query":"red circle + photo:${id}"`);
  });

  it('narrows results with folder, type and date filters shown as chips, and removing a chip restores them', async () => {
    await answered('"query":"a shape"', () => box().fill('a shape'));
    await count(60);
    const full = await titles();
    // Where the good matches end (a line in the grid), or the best of the library when all are good.
    expect(await page.getByTestId('result-count').textContent()).toMatch(new RegExp(`^(\\d+ good match(es)?, then weaker ones|Best 60 of ${TOTAL} photos)$`));
    const filters = page.getByRole('group', { name: 'Filters' });
    const chips = page.getByRole('list', { name: 'Active filters' }).getByRole('listitem');

    await answered('"folders":[', () => filters.getByLabel('Folder').selectOption(dirB));
    await count(B_PHOTOS + 1);
    expect((await titles()).every((t) => t.startsWith(dirB + path.sep))).toBe(true);
    expect(await chips.allTextContents()).toEqual(['Folder: photos-b×']);
    expect(await page.getByTestId('result-count').textContent()).toBe(`${B_PHOTOS + 1} matching photos`);
    await answered('"query":"a shape","top":60}', () => page.getByRole('button', { name: 'Remove filter Folder: photos-b' }).click());
    await count(60);
    expect(await titles()).toEqual(full);
    expect(await filters.getByLabel('Folder').inputValue()).toBe('');

    const pngs = [...readdir(dirA).map((f) => path.join(dirA, f)), ...readdir(dirB).map((f) => path.join(dirB, f))].filter((f) => f.endsWith('.png'));
    await answered('"types":["png"]', () => filters.getByLabel('File type').selectOption('png'));
    await count(pngs.length);
    expect((await titles()).sort()).toEqual(pngs.sort());
    await answered('"query":"a shape","top":60}', () => page.getByRole('button', { name: 'Remove filter Type: PNG' }).click());
    await count(60);
    expect(await titles()).toEqual(full);

    await answered('"before":"2020-12-31"', () => filters.getByLabel('Taken until').fill('2020-12-31'));
    await shown(chips.getByText('Taken until 2020-12-31'), `the page shows chips (getByRole('list', { name: 'Query parts' }).getByRole('listitem')).getByText('Taken until 2020-12-31')`);
    await count(B_PHOTOS + 1);
    expect((await titles()).every((t) => t.startsWith(dirB + path.sep))).toBe(true);
    await answered('"query":"a shape","top":60}', () => page.getByRole('button', { name: 'Remove filter Taken until 2020-12-31' }).click());
    await count(60);
    expect(await titles()).toEqual(full);
    expect(await chips.count()).toBe(0);
  });

  it('loads more results on scroll, keeping the ones shown in place', async () => {
    await answered('"query":"a blue square"', () => box().fill('a blue square'));
    await count(60);
    const first = await titles();
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await count(TOTAL);
    expect((await titles()).slice(0, 60)).toEqual(first);
    expect(await page.getByTestId('result-count').textContent()).toMatch(new RegExp(`^(\\d+ good match(es)?, then weaker ones|${TOTAL} photos)$`));
    expect(await page.getByRole('button', { name: 'Show more' }).count()).toBe(0);
    await page.evaluate(() => window.scrollTo(0, 0));
  });

  it('lists an exact copy as a group in the duplicates view, with sizes, and copies its paths', async () => {
    await page.getByRole('tab', { name: 'Duplicates' }).click();
    const threshold = page.getByLabel('Similarity threshold (0.5–1)');
    expect(await threshold.inputValue()).toBe('0.95');
    await page.getByRole('button', { name: 'Find duplicates' }).click();
    const group = page.getByTestId('dup-group').first();
    await shown(group, `the page shows group (getByTestId('dup-group').first())`);
    expect(await group.getAttribute('data-kind')).toBe('exact');
    const paths = await group.getByTestId('dup-path').allTextContents();
    expect([...paths].sort()).toEqual([path.join(dirA, 'photo-000.jpg'), path.join(dirB, 'copy-of-a-000.jpg')].sort());
    const kb = (readFileSync(path.join(dirA, 'photo-000.jpg')).length / 1024).toFixed(1);
    // Size, pixels and the date (these files have no EXIF date: their file time, as the date filter reads it).
    const details = await group.getByTestId('dup-details').allTextContents();
    expect(details).toHaveLength(2);
    for (const d of details) expect(d).toMatch(new RegExp(`^${kb} KB · 224 × 224 px · taken \\S`));
    expect(await page.getByTestId('dup-summary').textContent()).toMatch(/^\d+ groups?, \d+ photos$/);
    // Revealing files is for the desktop app; the browser gets no button that cannot work.
    expect(await page.getByRole('button', { name: /Show .* in folder/ }).count()).toBe(0);
    await group.getByRole('button', { name: 'Copy paths' }).click();
    await shown(page.getByRole('status').getByText('Copied paths'), `the page shows getByRole('status').getByText('Copied paths')`);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(paths.join('\n'));

    // A threshold out of range is refused with a line, before any request.
    const before = sent.filter((s) => s.method === 'duplicates').length;
    await threshold.fill('0.2');
    await page.getByRole('button', { name: 'Find duplicates' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('Threshold "0.2" must be a number from 0.5 to 1: 0.95 finds close copies, lower values looser matches.');
    expect(sent.filter((s) => s.method === 'duplicates').length).toBe(before);
    await threshold.fill('0.95');
  });

  it('searches by a dropped, pasted or chosen image: its original comes first, a too large one is refused', async () => {
    await page.getByRole('tab', { name: 'Search' }).click();
    const original = path.join(dirA, 'photo-010.png');
    const b64 = readFileSync(original).toString('base64');
    await page.evaluate(
      ({ data, name }) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: 'image/png' }));
        const target = document.querySelector('input[type="search"]')!;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { data: b64, name: 'dropped.png' },
    );
    const chip = page.getByTestId('image-chip');
    await shown(chip.getByText('dropped.png'), `the page shows chip (getByTestId('image-chip')).getByText('dropped.png')`);
    await page.waitForFunction((p) => document.querySelector('ul[aria-label="Results"] button.thumb')?.getAttribute('title') === p, original, { timeout: 30_000 });
    expect(await items().first().locator('.score').textContent()).toBe('1.000');
    expect(sent.filter((s) => s.method === 'searchImage').at(-1)?.body).toContain(b64.slice(0, 200));

    await page.getByRole('button', { name: 'Remove image dropped.png' }).click();
    await shown(chip, `the page no longer has chip (getByTestId('image-chip'))`, { state: 'detached' });
    // Pasted: larger than the limit, refused in the page with one line; nothing is sent.
    const before = searches('searchImage');
    await box().focus();
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(21 * 1024 * 1024)], 'huge.jpg', { type: 'image/jpeg' }));
      document.querySelector('input[type="search"]')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    });
    expect(await page.getByRole('alert').textContent()).toBe('huge.jpg is 21.0 MB: an image to search by can be at most 20 MB. Choose a smaller copy.');
    expect(await chip.count()).toBe(0);
    expect(searches('searchImage')).toBe(before);

    // Chosen with the file picker.
    const chosen = path.join(dirB, 'photo-004.png');
    await page.getByLabel('Search by an image file').setInputFiles(chosen);
    await shown(chip.getByText('photo-004.png'), `the page shows chip (getByTestId('image-chip')).getByText('photo-004.png')`);
    await page.waitForFunction((p) => document.querySelector('ul[aria-label="Results"] button.thumb')?.getAttribute('title') === p, chosen, { timeout: 30_000 });
    expect(searches('searchImage')).toBe(before + 1);
  });

  it('searches by a chosen 15 MB image in browser mode: its original comes first', async () => {
    const original = path.join(dirA, 'photo-022.png');
    // The photo blown up to 2240 × 2240, stored uncompressed: about 15 MB, 20 MB once in base64.
    const big = path.join(tmp, 'big-photo-022.png');
    await sharp(original).resize(2240, 2240).png({ compressionLevel: 0 }).toFile(big);
    expect(statSync(big).size).toBeGreaterThan(15_000_000);
    const before = searches('searchImage');
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/searchImage'), { timeout: 60_000 });
    await page.getByLabel('Search by an image file').setInputFiles(big);
    expect((await answer).status()).toBe(200);
    await shown(page.getByTestId('image-chip').getByText('big-photo-022.png'), `the page shows the chosen image's chip (getByTestId('image-chip').getByText('big-photo-022.png'))`);
    await page.waitForFunction((p) => document.querySelector('ul[aria-label="Results"] button.thumb')?.getAttribute('title') === p, original, { timeout: 30_000 });
    expect(searches('searchImage')).toBe(before + 1);
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('button', { name: 'Remove image big-photo-022.png' }).click();
  });

  it('fits the filter bar, chips and actions in a 760 px window without sideways scrolling', async () => {
    const ctx = await browser.newContext({ viewport: { width: 760, height: 800 }, colorScheme: 'dark' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${server.loginUrl}&q=${encodeURIComponent('red circle + 2:blue - 0.5:square')}`);
      await shown(p.getByRole('list', { name: 'Results' }).getByRole('listitem').first(), `the page shows getByRole('list', { name: 'Results' }).getByRole('listitem').first()`);
      await p.getByRole('group', { name: 'Filters' }).getByLabel('Folder').selectOption(dirA);
      await shown(p.getByRole('list', { name: 'Active filters' }), `the page shows getByRole('list', { name: 'Active filters' })`);
      const wide = await p.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('body *')]
          .filter((e) => e.getClientRects().length > 0 && e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
      );
      expect(wide).toEqual([]);
      expect(await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    } finally {
      await ctx.close();
    }
  });

  it('logged no page errors', () => {
    expect(problems).toEqual([]);
  });
});

const readdir = (dir: string): string[] => readdirSync(dir).sort();
