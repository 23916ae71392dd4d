/** How the command line shows results: tables, recall, sizes, duplicate groups, notes; every value escaped. */
import type { CompactResult, DataProblem, DuplicateGroup, EvalResult, LibrarySize, LibraryStatus, ModelInfo } from '../../shared/api';
import { describeFigures, formatBytes, gainVerdict } from '../../shared/format';
import { shown, shownJson, shownLines } from './terminal';

/** A model's name for a command line: quoted when it has spaces. */
export function shellName(name: string): string {
  return /^[A-Za-z0-9._@/:+-]+$/.test(name) ? name : `"${name.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** Duplicate groups for the terminal: one block per group, each photo with its size, pixels and date. */
export function duplicatesText(groups: DuplicateGroup[], threshold: number): string {
  if (groups.length === 0) return `No duplicates (exact copies, or photos at least ${threshold} similar).`;
  const exact = groups.filter((g) => g.kind === 'exact').length;
  const lines = [`${exact} group(s) of exact copies, ${groups.length - exact} of near-duplicates (similarity ≥ ${threshold}):`];
  groups.forEach((g, i) => {
    lines.push('', `${i + 1}. ${g.kind === 'exact' ? 'exact copies' : `near-duplicates, lowest similarity ${g.minScore.toFixed(3)}`} (${g.photos.length} photos)`);
    for (const p of g.photos) {
      const facts = [p.width && p.height ? `${p.width}×${p.height}` : null, p.bytes !== null ? formatBytes(p.bytes) : null, p.takenAt ? p.takenAt.slice(0, 10) : null].filter(Boolean);
      lines.push(`   ${p.score.toFixed(3)}  ${shown(p.path)}${facts.length ? `  (${facts.join(', ')})` : ''}`);
    }
  });
  return lines.join('\n');
}

/** Text columns padded to the widest cell (the last column is not padded). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/** Text→image R@1/5/10 of a model, with what they were measured on, and a fine-tune's held-out gain. */
export function modelRecall(m: ModelInfo): [recall: string, gain: string, measuredOn: string] {
  const f = m.figures;
  if (!f) return ['—', '—', '—'];
  const t = f.textToImage;
  const g = f.gainR5;
  const gain = g ? `${g.mean >= 0 ? '+' : '−'}${Math.abs(g.mean).toFixed(1)} ± ${g.se.toFixed(1)}${gainVerdict(g) === 'none' ? ' (none measurable)' : ''}` : '—';
  return [`${pct(t.r1)}/${pct(t.r5)}/${pct(t.r10)}`, gain, shown(describeFigures(f))];
}

/**
 * Print a result. User-controlled values are escaped where the lines are built (`shown`); the whole text is
 * passed through `shownLines` as well, so a value that was missed still cannot reach the terminal raw.
 */
export function out(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${shownJson(JSON.stringify(value, null, 2))}\n` : `${shownLines(text())}\n`);
}

export const pct = (x: number) => `${x.toFixed(1)}`;
/** R@1/5/10 both ways; `folds` > 1: each caption was ranked among its fold's photos only, which the label says. */
export function recallTable(r: EvalResult, folds = 1): string {
  const pool = folds > 1 ? `in ${folds} folds, each caption ranked among its fold's ~${Math.round(r.images / folds)} photos` : `each caption ranked among all ${r.images} photos`;
  return [
    `              R@1    R@5    R@10`,
    `text→image  ${pct(r.textToImage.r1).padStart(5)}  ${pct(r.textToImage.r5).padStart(5)}  ${pct(r.textToImage.r10).padStart(5)}`,
    `image→text  ${pct(r.imageToText.r1).padStart(5)}  ${pct(r.imageToText.r5).padStart(5)}  ${pct(r.imageToText.r10).padStart(5)}`,
    `(${r.images} photos, ${r.captions} captions, ${pool}; percent)`,
  ].join('\n');
}

/** What was dropped from a captioned set, one line per kind with a first example ([] when nothing was). */
export function problemLines(problems: readonly DataProblem[]): string[] {
  if (!problems.length) return [];
  return [
    'Dropped from the set:',
    ...problems.map((p) => `  ${p.count} ${shown(p.kind)}${p.count === 1 ? '' : 's'}${p.examples.length ? ` (e.g. ${shown(p.examples[0])})` : ''}`),
  ];
}

/** What search cannot see yet: photos without a vector of the active model, and an unfinished model switch. */
export function coverageNotes(st: LibraryStatus): string[] {
  const notes: string[] = [];
  if (st.embedded < st.images)
    notes.push(`Note: ${st.images - st.embedded} of ${st.images} photos are not embedded with model ${st.model} yet and cannot be found; run \`photo-search index\` to embed them.`);
  if (st.outdated)
    notes.push(`Note: ${st.outdated} of ${st.images} photos were embedded by an earlier version of model ${st.model} and rank less well; run \`photo-search index\` to embed them again.`);
  if (st.damaged)
    notes.push(`Note: ${st.damaged} photos have damaged embeddings in the library file and are left out of search; run \`photo-search repair\` to rebuild them.`);
  const p = st.pendingModel;
  if (p)
    notes.push(
      `Note: switching to model ${p.id} did not finish (${p.embedded} of ${p.total} photos embedded with it); search uses ${st.model} meanwhile. Run \`photo-search models use ${p.id}\` to finish.`,
    );
  return notes;
}

/** What each part of the library takes on disk, largest first, with bytes per photo. */
export function sizeText(s: LibrarySize): string {
  const per = (b: number) => (s.photos ? `${Math.round(b / s.photos).toLocaleString('en-US')} B` : '—');
  const rows: string[][] = [['PART', 'SIZE', 'PER PHOTO']];
  // Parts under 1% of the file (settings, the folder list, a small library's one-page tables) share a line.
  const small = s.database.parts.filter((p) => p.bytes < s.database.bytes / 100);
  for (const p of s.database.parts) {
    if (!small.includes(p)) rows.push([p.kind === 'index' ? `${p.name} (index of ${p.table})` : `${p.name} (table)`, formatBytes(p.bytes), per(p.bytes)]);
  }
  if (small.length) {
    const bytes = small.reduce((n, p) => n + p.bytes, 0);
    rows.push([`${small.length} smaller tables and indexes`, formatBytes(bytes), per(bytes)]);
  }
  if (s.database.freeBytes) rows.push(['free pages (reused by SQLite; `compact` gives them back)', formatBytes(s.database.freeBytes), per(s.database.freeBytes)]);
  if (s.database.walBytes) rows.push(['write-ahead log (library.db-wal)', formatBytes(s.database.walBytes), per(s.database.walBytes)]);
  rows.push(['search index (search-index/)', formatBytes(s.searchIndexBytes), per(s.searchIndexBytes)]);
  rows.push([`thumbnails (${s.thumbnails.files.toLocaleString('en-US')} files)`, formatBytes(s.thumbnails.bytes), per(s.thumbnails.bytes)]);
  rows.push(['total', formatBytes(s.totalBytes), per(s.totalBytes)]);
  return [`Library file ${shown(s.database.file)}: ${formatBytes(s.database.bytes)} for ${s.photos.toLocaleString('en-US')} photos.`, table(rows)].join('\n');
}

/** The result of `compact` (or of its dry run) in a few lines. */
export function compactText(r: CompactResult): string {
  const n = r.featuresDropped.toLocaleString('en-US');
  const k = r.featuresKept;
  const keptParts = [
    k.stillToEmbed ? `${k.stillToEmbed.toLocaleString('en-US')} of photos still to embed` : '',
    k.notInLibrary ? `${k.notInLibrary.toLocaleString('en-US')} of captioned sets' photos (outside the library; a photo caches one row per view)` : '',
    k.otherTowers ? `${k.otherTowers.toLocaleString('en-US')} of other towers (caption text, other models)` : '',
  ].filter(Boolean);
  const kept = keptParts.length
    ? [`Kept cached features (still needed): ${keptParts.join(', ')}.${k.notInLibrary ? ' `compact --sets` drops the captioned sets\' ones too (retraining on a set then reads it again).' : ''}`]
    : [];
  const space = r.spaceNeeded.map((s) => `${formatBytes(s.bytes)} free in ${shown(s.path)} (${formatBytes(s.free)} free now)`).join(' and ');
  if (r.dryRun)
    return [
      ...(r.sizes ? [sizeText(r.sizes), ''] : []),
      `Dry run: compact would drop ${n} cached features and shrink the library file from ${formatBytes(r.beforeBytes)} to about ${formatBytes(r.afterBytes)} (at most).`,
      ...kept,
      `It needs ${space}.`,
      r.tradeOff,
    ].join('\n');
  return [
    `Compacted the library file: ${formatBytes(r.beforeBytes)} → ${formatBytes(r.afterBytes)} (${n} cached features dropped; ${r.photos.toLocaleString('en-US')} photos).`,
    ...kept,
    r.tradeOff,
  ].join('\n');
}

