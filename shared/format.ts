/** Sizes as people read them (1.5 MB, 812 KB, 40 B): the UI and the CLI say them the same way. */
export function formatBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/**
 * What a training run's held-out figures mean, in one sentence (the CLI and the Training panel say it the same
 * way): cross-validated or on one held-out part, the change of text→image R@5, and what the saved heads are.
 */
export function describeHeldOutGain(r: {
  before: { textToImage: { r5: number } } | null;
  val: { textToImage: { r5: number }; images: number };
  blend: number;
  heldOut?: { folds: number; photos: number; gainR5: { mean: number; se: number }; finalTrainPhotos: number; choice?: { step: string; lr: number; epochs: number; share: number; memoryWeight?: number; kept?: { photos: number; before: number; after: number }; startKept?: 'worse' | 'forgets' } };
}): string | null {
  if (!r.before) return null;
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
  const figures = `${r.before.textToImage.r5.toFixed(1)} → ${r.val.textToImage.r5.toFixed(1)}`;
  const blended = r.blend > 0 && r.blend < 1 ? `, ${Math.round(r.blend * 100)}% trained heads blended with the starting ones` : '';
  const h = r.heldOut;
  if (!h) return `Held-out text→image R@5: ${figures} (${signed(r.val.textToImage.r5 - r.before.textToImage.r5)} points${blended}).`;
  const photos = h.photos.toLocaleString('en-US');
  const how = h.folds > 1 ? `${h.folds}-fold cross-validation, each of the ${photos} photos held out once` : `${photos} held-out photos`;
  const gain = `${signed(h.gainR5.mean)} ± ${h.gainR5.se.toFixed(1)} points`;
  const c = h.choice;
  const chosen = c ? `: chosen on the held-out photos, the ${c.step} step (learning rate ${c.lr.toExponential(0)}) for ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}, ${c.share >= 1 ? 'the new heads as they are' : `${Math.round(c.share * 100)}% of the new heads blended with the starting ones`}` : blended;
  const memory =
    c?.memoryWeight === undefined
      ? ''
      : c.memoryWeight === 0
        ? ' Queries do not lean on the caption memory (weight 0 measured best).'
        : ` Queries lean on the photos of their nearest captions with weight ${c.memoryWeight} (the caption memory, the set's photos in it).`;
  const base = c?.kept ? ` What the starting model knew stays: R@1 ${c.kept.before.toFixed(1)} → ${c.kept.after.toFixed(1)} on ${c.kept.photos.toLocaleString('en-US')} photos it was trained on (the rest of them are replayed with the set).` : '';
  const kept = r.blend > 0 ? `The saved heads are fine-tuned on all ${h.finalTrainPhotos.toLocaleString('en-US')} photos${chosen}.${memory}${base}` : c?.startKept === 'forgets' ? 'Every step that gained unlearned what the starting model knew, so the new version keeps its heads.' : 'That is clearly worse than the starting model, so the new version keeps its heads.';
  const verdict = gainVerdict(h.gainR5) === 'none' ? ` ${NO_MEASURABLE_GAIN}` : '';
  return `Held-out text→image R@5 (${how}): ${figures} (${gain}). ${kept}${verdict}`;
}

export const NO_MEASURABLE_GAIN = 'No measurable gain (the change is within its error): keep the current model.';

/** A held-out change of R@5 against its standard error: a gain, a loss, or within two errors of none. */
export function gainVerdict(g: { mean: number; se: number }): 'gain' | 'loss' | 'none' {
  if (g.mean > 2 * g.se) return 'gain';
  if (g.mean < -2 * g.se) return 'loss';
  return 'none';
}

/**
 * How a model's figures were measured, in words (the models list and the Models panel): recall falls as the photos
 * each caption is ranked among grow, so 31.7 among 1,000 photos and 88.9 among 40 are not the same scale.
 */
export function describeFigures(f: { pool: number; folds: number | null; set: string }): string {
  const pool = f.pool.toLocaleString('en-US');
  const set = f.set.split(/[\\/]/).filter(Boolean).pop() ?? f.set;
  return f.folds ? `${f.folds} folds of ${set}, each caption ranked among ${pool} photos` : `${set}, each caption ranked among ${pool} photos`;
}

/** The models a model was trained from, itself first (by the `parent` ids the list gives). */
export function lineage<M extends { id: string; parent: string | null }>(models: readonly M[], id: string): M[] {
  const out: M[] = [];
  for (let m = models.find((x) => x.id === id); m && !out.includes(m); m = m.parent ? models.find((x) => x.id === m!.parent) : undefined) out.push(m);
  return out;
}

/**
 * A warning when a captioned set is one the model (or a model it was trained from) was trained on: recall on
 * photos a model has seen is flattered. `setPath` and the recorded datasets are absolute folders.
 */
export function trainedOnWarning(models: readonly { id: string; name: string; parent: string | null; dataset: string | null }[], id: string, setPath: string): string | null {
  const norm = (p: string) => p.replace(/[\\/]+$/, '');
  const hit = lineage(models, id).find((m) => m.dataset && norm(m.dataset) === norm(setPath));
  if (!hit) return null;
  const who = hit.id === id ? `${hit.name} was` : `${hit.name}, which ${lineage(models, id)[0]!.name} was trained from, was`;
  return `Warning: ${who} trained on these photos: recall on photos a model has seen is flattered. Measure on a set it has not seen.`;
}

/** A match percentage as shown next to a result ("72%"); a raw cosine when there is none (image-only queries). */
export function formatMatch(hit: { match: number | null; score: number }): string {
  return hit.match === null ? hit.score.toFixed(3) : `${hit.match}%`;
}

/** Where the "weaker matches" line goes: the index of the first hit below `goodMatch`, or -1 (none, or no percentages). */
export function weakerMatchesFrom(hits: readonly { match: number | null }[], goodMatch: number): number {
  return hits.findIndex((h) => h.match !== null && h.match < goodMatch);
}

/** The first line of an error's message (or of any thrown value), at most `max` characters: what a person is shown. */
export function oneLine(e: unknown, max = Infinity): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0].slice(0, max);
}
