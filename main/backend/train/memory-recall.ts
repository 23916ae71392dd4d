/**
 * Held-out recall of heads as search ranks with a caption memory (model/caption-memory.ts): every caption is
 * moved toward the photos of its nearest captions in the memory, the memory being the base model's rows and, for
 * a retrained result, the photos it was trained on. Cross-validated fine-tunes use it (cross-validate.ts
 * `rescore`), so the figures `train` reports, and its guard against a result worse than the start, are what search
 * will do with the saved model.
 */
import type { EvalResult } from '../../../shared/api';
import { embedMemory, expandQueries, memoryEntries, type CaptionMemory, type MemoryEntry } from '../model/caption-memory';
import { HeadsRunner } from '../model/heads';
import type { Heads } from '../model/heads-format';
import type { EmbeddingModel } from '../model/types';
import { flatten, recallFromScores, scoreMatrix, textToImageRanks } from './evaluate';
import type { SetFeatures } from './features';
import type { PhotoSplit } from './split';

/**
 * A scorer for `rescore`: heads on a fold's held-out photos, with the base's memory rows and those of `memoryFrom`
 * (photos of the set), once per memory weight. Null when the set's captions cannot be kept in a memory (token-row
 * text features).
 */
export function memoryScorer(
  model: EmbeddingModel,
  f: SetFeatures,
  base: readonly MemoryEntry[],
): ((heads: Heads, fold: PhotoSplit, memoryFrom: number[], weights: readonly number[]) => Promise<{ val: EvalResult; ranks: Int32Array }[]>) | null {
  const spec = model.manifest.text.captionMemory;
  if (!spec || memoryEntries(f, []) === null) return null;
  const dim = model.embedDim;
  // The start's memory (the base's rows, its heads) is the same for every fold: embedded once.
  const baseOnly = new WeakMap<Heads, Promise<CaptionMemory>>();
  return async (heads, fold, memoryFrom, weights) => {
    const runner = new HeadsRunner(heads, model.manifest.text.outputKind === 'sequence' ? 'sequence' : 'pooled');
    try {
      const embed = (entries: readonly MemoryEntry[]) => embedMemory(entries, spec, dim, (x) => runner.embedImage(x), (x) => runner.embedText(x));
      let memory: CaptionMemory;
      if (memoryFrom.length) memory = await embed([...base, ...(memoryEntries(f, memoryFrom) ?? [])]);
      else {
        if (!baseOnly.has(heads)) baseOnly.set(heads, embed(base));
        memory = await baseOnly.get(heads)!;
      }
      const index = new Map(fold.val.map((p, i) => [p, i]));
      const caps = f.captions.filter((c) => index.has(c.photo));
      const capPhoto = caps.map((c) => index.get(c.photo)!);
      const img = await runner.embedImage(fold.val.map((p) => f.imageFeatures[p]!));
      const captions = await runner.embedText(caps.map((c) => c.features));
      const images = flatten(img).data;
      const out: { val: EvalResult; ranks: Int32Array }[] = [];
      for (const weight of weights) {
        const scores = scoreMatrix(flatten(await expandQueries({ ...memory, weight }, captions)).data, images, dim);
        out.push({ val: recallFromScores(scores, fold.val.length, capPhoto), ranks: textToImageRanks(scores, fold.val.length, capPhoto) });
      }
      return out;
    } finally {
      await runner.dispose();
    }
  };
}
