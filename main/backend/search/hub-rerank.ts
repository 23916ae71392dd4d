/**
 * Text queries rank photos with the model's hubness correction (model/query-bank.ts): the index finds the photos
 * nearest by cosine, a few more than asked for, and those are re-ranked by cos − λ · hub. The correction is small
 * beside the gap between a query's best photos and the rest, so the photos it lifts are among the extra ones.
 *
 * A photo's hub depends only on its embedding and the model, so it is computed once per photo and kept until the
 * library's embeddings change. Scores stay on the cosine's scale: each is shifted by λ times the photo's hub less
 * the library's mean hub (over an even sample of it), so a match percentage or a minimum score means what it meant,
 * and a photo's score is the same on every page. The candidates are widened until no photo left out could have
 * entered the first k: its cosine is at most the last candidate's, and its hub at least the lowest one seen. The hubs of a
 * search's new candidates are one onnxruntime MatMul and log-sum-exp ([n, dim] × [dim, bank]), about 40 times
 * faster than the same sums in JavaScript (hubOf, which `eval` and the tests use).
 */
import { correctedScore, type QueryBank } from '../model/query-bank';
import { ort, sharedSession } from '../model/ort';
import { GraphBuilder } from '../onnx/builder';
import type { Store } from '../store';
import { librarySample } from './relevance';
import type { Hit } from './topk';

/** Extra candidates for the re-rank: at least this many, and at least as many again as asked for. */
const EXTRA = 48;
/** Hubs kept per library (a photo's is 4 bytes plus the map's own); past this the cache starts over. */
const MAX_CACHED = 500_000;

interface LibraryHubs {
  modelId: string;
  change: number;
  hubs: Map<number, number>;
  /** Mean and lowest hub of the library's sample (computed on first use). */
  sample: { mean: number; low: number } | null;
}

const cache = new WeakMap<Store, LibraryHubs>();

/** How many candidates a search of `k` results should fetch when it will be re-ranked. */
export function candidatesFor(k: number): number {
  return k + Math.max(EXTRA, k);
}

/** log Σ_b exp(β · p·b) for each row p: [n, dim] photos × [dim, count] bank (β is in the graph). */
function hubSession(dim: number, beta: number): Promise<ort.InferenceSession> {
  return sharedSession(
    `hubs-${dim}-${beta}`,
    () => {
      const g = new GraphBuilder('hubs');
      g.input('photos', 'float32', ['n', dim]);
      g.input('bank', 'float32', [dim, 'm']);
      const sims = g.op('Mul', [g.op('MatMul', ['photos', 'bank']), g.scalar(beta)]);
      g.op('ReduceLogSumExp', [sims], { axes: [1], keepdims: 0 }, ['lse']);
      g.output('lse', 'float32', ['n']);
      return g.toBytes();
    },
    'hubness correction',
  );
}

/** The bank's rows as columns ([dim, count]), made once per bank. */
const columns = new WeakMap<QueryBank, Float32Array>();

/** hub(p) of each row of `rows` (n × dim), as hubOf computes it. */
export async function hubsOfRows(bank: QueryBank, rows: Float32Array, n: number): Promise<Float32Array> {
  const { dim, count, beta } = bank;
  let cols = columns.get(bank);
  if (!cols) {
    cols = new Float32Array(dim * count);
    for (let b = 0; b < count; b++) for (let j = 0; j < dim; j++) cols[j * count + b] = bank.vectors[b * dim + j]!;
    columns.set(bank, cols);
  }
  const session = await hubSession(dim, beta);
  const out = await session.run({ photos: new ort.Tensor('float32', rows, [n, dim]), bank: new ort.Tensor('float32', cols, [dim, count]) });
  const lse = out.lse!.data as Float32Array;
  const logCount = Math.log(count);
  return Float32Array.from(lse, (x) => (x - logCount) / beta);
}

function libraryEntry(store: Store, modelId: string): LibraryHubs {
  const change = store.lastEmbeddingChange();
  let entry = cache.get(store);
  if (!entry || entry.modelId !== modelId || entry.change !== change || entry.hubs.size > MAX_CACHED) {
    entry = { modelId, change, hubs: new Map(), sample: null };
    cache.set(store, entry);
  }
  return entry;
}

async function sampleHubs(store: Store, modelId: string, bank: QueryBank, entry: LibraryHubs): Promise<{ mean: number; low: number }> {
  if (entry.sample) return entry.sample;
  // The same sample the match percentage reads (relevance.ts): read once per change of the library.
  const vectors = librarySample(store, modelId).filter((v) => v.length === bank.dim);
  if (vectors.length === 0) return (entry.sample = { mean: 0, low: Infinity });
  const rows = new Float32Array(vectors.length * bank.dim);
  vectors.forEach((v, i) => rows.set(v, i * bank.dim));
  const hubs = await hubsOfRows(bank, rows, vectors.length);
  entry.sample = { mean: hubs.reduce((a, x) => a + x, 0) / hubs.length, low: Math.min(...hubs) };
  return entry.sample;
}

async function hubsOf(store: Store, modelId: string, bank: QueryBank, entry: LibraryHubs, ids: readonly number[]): Promise<Map<number, number>> {
  const hubs = entry.hubs;
  const stored = [...store.embeddingsFor(ids.filter((id) => !hubs.has(id)), modelId)].filter(([, v]) => v.length === bank.dim);
  if (stored.length) {
    const rows = new Float32Array(stored.length * bank.dim);
    stored.forEach(([, v], i) => rows.set(v, i * bank.dim));
    const found = await hubsOfRows(bank, rows, stored.length);
    stored.forEach(([id], i) => hubs.set(id, found[i]!));
  }
  return hubs;
}

/**
 * The first `k` photos by the corrected score, from candidates `find(n)` gives best cosine first (the index's top n,
 * filters applied): re-ranked, and widened until no photo left out could have entered the first k.
 */
export async function hubCorrectedTopK(store: Store, modelId: string, bank: QueryBank, k: number, find: (n: number) => Promise<Hit[]>): Promise<Hit[]> {
  const entry = libraryEntry(store, modelId);
  const { mean, low: sampleLow } = await sampleHubs(store, modelId, bank, entry);
  for (let want = candidatesFor(k); ; want *= 4) {
    const found = await find(want);
    const hubs = await hubsOf(store, modelId, bank, entry, found.map((h) => h.id));
    const ranked = found
      .map((h) => {
        const hub = hubs.get(h.id);
        return hub === undefined ? h : { ...h, score: correctedScore(bank, h.score, hub - mean) };
      })
      .sort((a, b) => b.score - a.score || a.id - b.id);
    if (found.length < want || ranked.length <= k) return ranked;
    let low = sampleLow;
    for (const h of found) low = Math.min(low, hubs.get(h.id) ?? low);
    // The best a photo outside the candidates could score: the last candidate's cosine, less λ times the lowest hub.
    const ceiling = correctedScore(bank, found[found.length - 1]!.score, low - mean);
    if (ranked[k - 1]!.score >= ceiling) return ranked;
  }
}
