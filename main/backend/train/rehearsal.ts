/**
 * Rehearsal: a fine-tune replays pairs its base was trained on next to the new photos, so that learning a new kind of
 * photo does not unlearn the base's. Taught 2,000 generated scenes of coloured shapes without it, the built-in model
 * found them (R@1 89) but fell from 38.8 to 24.6 R@5 on Flickr8k dev photos it had found before (docs/BENCHMARKS.md).
 *
 * The pairs are the base's caption memory (model/caption-memory.ts): each of its photos as search sees it and the mean
 * of its captions. A mean of captions is shorter than one caption (the sentence encoder's vectors point in different
 * directions), so each is scaled to the set's own captions' mean length: the heads see text of the size they know.
 */
import type { MemoryEntry } from '../model/caption-memory';
import type { RehearsalRows } from './batches';
import type { CaptionFeatures } from './features';
import { makeRng, shuffleInPlace } from './split';

/**
 * Base pairs kept out of rehearsal to check what the base knew (base-check.ts): a fifth of the memory, at most 1,000
 * (R@5 among 1,000 is measured to about ±1 point), none under 100 rows.
 */
export function baseCheckSize(rows: number): number {
  return rows < 100 ? 0 : Math.min(1000, Math.floor(rows / 5));
}

const norm = (v: Float32Array) => Math.hypot(...v);

/**
 * How hard replayed rows are held to where the starting heads put them (batches.ts keepRehearsal): the squared
 * distance of unit embeddings is at most 4, a contrastive batch loss is a few units, so 10 makes a drift of cos 0.95 on
 * the base's photos cost as much as a batch.
 */
export const REHEARSAL_KEEP = 10;

/**
 * The base's memory rows as rehearsal pairs for a fine-tune on `captions`, `perStep` of them in every step; a seeded
 * choice of `baseCheckSize` of them comes last, as the base check.
 */
export function rehearsalRows(memory: readonly MemoryEntry[], captions: readonly CaptionFeatures[], perStep: number, seed = 0): RehearsalRows & { perStep: number; check: number; keep: number } {
  const check = baseCheckSize(memory.length);
  const order = Array.from({ length: memory.length }, (_, i) => i);
  const held = new Set(shuffleInPlace([...order], makeRng(seed ^ 0xba5e)).slice(0, check));
  const rows = [...order.filter((i) => !held.has(i)), ...order.filter((i) => held.has(i))].map((i) => memory[i]!);
  const lengths = captions.map((c) => norm(c.features.data));
  const target = lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length);
  const texts = rows.map((m) => {
    const n = norm(m.text);
    return n > 0 && target > 0 ? m.text.map((x) => (x * target) / n) : m.text;
  });
  return { images: rows.map((m) => m.image), texts, perStep, check, keep: REHEARSAL_KEEP };
}
