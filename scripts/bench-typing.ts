/**
 * Typing latency in the real UI (docs/BENCHMARKS.md "Typing latency"): `photo-search serve` over a library that
 * is already indexed, Chromium typing queries at 60 ms a key, and the time from the last keystroke until the
 * whole query's results show their first thumbnail (loaded). The first query warms the model and is not counted.
 *
 *   npx tsx scripts/bench-typing.ts --data DIR [--json]
 *
 * Needs Debian's Chromium at /usr/bin/chromium and a built app (`npm run build`).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const QUERIES = ['a dog running', 'two children on a beach', 'a man riding a bike', 'people in the snow', 'a red car on a street', 'a girl in a pink dress'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.data) throw new Error('Usage: npx tsx scripts/bench-typing.ts --data DIR [--json]');
  // The app as a person starts it: `photo-search serve` on any free port, its printed link.
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'photo-search.js'), 'serve', '--port', '0', '--data', path.resolve(values.data)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const loginUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const m = /running at (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`photo-search serve exited with ${code}:\n${out}`)));
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(loginUrl);
    const box = page.getByRole('searchbox', { name: 'Search photos' });
    await box.waitFor();
    // The page's own code, as strings: this file is compiled without the DOM's types.
    await page.evaluate("document.addEventListener('keydown', () => { window.lastKey = performance.now(); }, true)");
    const firstThumbnail = (want: string) => `(async () => {
      for (;;) {
        const img = document.querySelector('ul[aria-label="Results"] img');
        const current = new URL(location.href).searchParams.get('q') === ${JSON.stringify(want)} && !document.querySelector('.searchbar .spinner');
        if (img && current && img.complete && img.naturalWidth > 0) return performance.now() - window.lastKey;
        await new Promise((r) => requestAnimationFrame(r));
      }
    })()`;
    const runs: number[] = [];
    for (const [i, query] of QUERIES.entries()) {
      await box.fill('');
      await box.focus();
      await page.keyboard.type(query, { delay: 60 });
      const ms = (await page.evaluate(firstThumbnail(query))) as number;
      if (i > 0) runs.push(Math.round(ms));
    }
    const sorted = [...runs].sort((a, b) => a - b);
    const result = { runs, medianMs: sorted[Math.floor(sorted.length / 2)], maxMs: sorted.at(-1), cpus: os.cpus().length, loadAverage: Number(os.loadavg()[0].toFixed(2)), node: process.version };
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `first thumbnails after the last keystroke: median ${result.medianMs} ms, max ${result.maxMs} ms (${runs.join(', ')})\n`);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
