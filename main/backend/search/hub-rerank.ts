/**
 * Text queries rank photos with the model's hubness correction (model/query-bank.ts): the index finds the photos
 * nearest by cosine, a few more than asked for, and those are re-ranked by cos − λ · hub. The correction is small
 * beside the gap between a query's best photos and the rest, so the photos it lifts are among the extra ones.
 *
 * A photo's hub depends only on its embedding and the model, so it is computed once per photo and kept until the
 * library's embeddings change. Scores stay on the cosine's scale: each is shifted by λ times the photo's hub less
 * the mean hub of the photos scored, so a match percentage or a minimum score means what it meant. The hubs of a
 * search's new candidates are one onnxruntime MatMul and log-sum-exp ([n, dim] × [dim, bank]), about 40 times
 * faster than the same sums in JavaScript (hubOf, which `eval` and the tests use).
 */
import { correctedScore, type QueryBank } from '../model/query-bank';
import { ort, sharedSession } from '../model/ort';
import { GraphBuilder } from '../onnx/builder';
import type { Store } from '../store';
import type { Hit } from './topk';

/** Extra candidates for the re-rank: at least this many, and at least as many again as asked for. */
const EXTRA = 48;
/** Hubs kept per library (a photo's is 4 bytes plus the map's own); past this the cache starts over. */
const MAX_CACHED = 500_000;

const cache = new WeakMap<Store, { modelId: string; change: number; hubs: Map<number, number> }>();

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

async function hubsOf(store: Store, modelId: string, bank: QueryBank, ids: readonly number[]): Promise<Map<number, number>> {
  const change = store.lastEmbeddingChange();
  let entry = cache.get(store);
  if (!entry || entry.modelId !== modelId || entry.change !== change || entry.hubs.size > MAX_CACHED) {
    entry = { modelId, change, hubs: new Map() };
    cache.set(store, entry);
  }
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

/** The hits re-ranked by the corrected score, best first (photos without a stored embedding keep their cosine). */
export async function rerankByHubs(store: Store, modelId: string, bank: QueryBank, hits: readonly Hit[]): Promise<Hit[]> {
  if (hits.length === 0) return [];
  const hubs = await hubsOf(store, modelId, bank, hits.map((h) => h.id));
  const known = hits.map((h) => hubs.get(h.id)).filter((x): x is number => x !== undefined);
  const mean = known.length ? known.reduce((a, x) => a + x, 0) / known.length : 0;
  return hits
    .map((h) => {
      const hub = hubs.get(h.id);
      return hub === undefined ? h : { ...h, score: correctedScore(bank, h.score, hub - mean) };
    })
    .sort((a, b) => b.score - a.score || a.id - b.id);
}
