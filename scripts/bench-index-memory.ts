/**
 * Memory of a long-running backend that indexes again and again (docs/BENCHMARKS.md "Soak"): a library of
 * Flickr8k photos, then N index jobs back to back, each after one photo was added (and the previous one
 * removed), as the folder watcher starts them. Prints RSS and the JS heap after a full GC every 15 s. Run
 * with and without glibc's MALLOC_ARENA_MAX to see how much freed memory the allocator keeps for the index
 * workers' threads.
 *
 *   node --expose-gc --import tsx scripts/bench-index-memory.ts [--jobs 50] [--photos 100]
 *   MALLOC_ARENA_MAX=2 node --expose-gc --import tsx scripts/bench-index-memory.ts
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend } from '../main/backend/backend';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50' },
    photos: { type: 'string', default: '100' },
    images: { type: 'string', default: path.join(__dirname, '..', '..', 'shared', 'datasets', 'flickr8k', 'dev', 'Images') },
  },
});
const jobs = Number(values.jobs);
const photos = Number(values.photos);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc (the heap is measured after a full collection).');

function line(label: string): string {
  gc!();
  const m = process.memoryUsage();
  return `${label}: ${Object.entries(m).map(([k, v]) => `${k} ${Math.round(v / 2 ** 20)} MB`).join(', ')}`;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-index-memory-'));
  try {
    const files = readdirSync(values.images).filter((f) => /\.jpe?g$/i.test(f)).sort();
    const lib = path.join(tmp, 'photos');
    mkdirSync(lib);
    for (const f of files.slice(0, photos)) copyFileSync(path.join(values.images, f), path.join(lib, f));
    const b = await openBackend({ dataDir: path.join(tmp, 'data') });
    try {
      await (await b.library.addFolders([lib])).done;
      console.log(line(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'}, after the first index`));
      let shownAt = Date.now();
      let previous: string | null = null;
      for (let i = 0; i < jobs; i++) {
        if (previous) rmSync(previous);
        previous = path.join(lib, `added-${i}.jpg`);
        copyFileSync(path.join(values.images, files[photos + (i % 50)]!), previous);
        await b.library.startIndex().done;
        if (Date.now() - shownAt >= 15_000 || i === jobs - 1) {
          shownAt = Date.now();
          console.log(line(`${i + 1} index jobs`));
        }
      }
    } finally {
      await b.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench-index-memory: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
