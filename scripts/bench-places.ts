/**
 * The offline gazetteer (main/backend/places): how long its first use takes (reading the GeoNames cities from the
 * npm packages and indexing them by position), the memory it holds, and GPS → place lookups per second at random
 * positions on land and sea (docs/BENCHMARKS.md, "Phone and camera formats").
 *
 *   node --expose-gc --import tsx scripts/bench-places.ts [--lookups 100000]
 */
import { parseArgs } from 'node:util';
import { placeAt } from '../main/backend/places/gazetteer';

const { values } = parseArgs({ options: { lookups: { type: 'string', default: '100000' } } });
const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const before = heapMb();
const t0 = performance.now();
const lisbon = placeAt(38.7105, -9.1366);
const loadMs = performance.now() - t0;
const held = heapMb() - before;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const n = Number(values.lookups);
let found = 0;
const t1 = performance.now();
for (let i = 0; i < n; i++) if (placeAt(rand() * 140 - 60, rand() * 360 - 180)) found++;
const lookupMs = performance.now() - t1;
console.log(
  JSON.stringify({
    firstUseMs: Math.round(loadMs),
    heapMb: gc ? Math.round(held) : null,
    lookupsPerSec: Math.round(n / (lookupMs / 1000)),
    withPlace: Number((found / n).toFixed(3)),
    lisbon,
  }),
);
