/**
 * The command line: the same backend service as the desktop app, scriptable.
 * Progress goes to stderr, results to stdout (`--json` for machines). User errors print one line, exit 1.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { acceptCall, PHOTO_TYPES, SEARCH_SORTS, type ApiHandlers, type CompactResult, type DataProblem, type DuplicateGroup, type EvalResult, type JobInfo, type LibrarySize, type LibraryStatus, type ModelInfo, type PhotoType, type SearchHit, type SearchOptions, type SearchSort, type TrainResult } from '../../shared/api';
import { describeHeldOutGain, formatBytes } from '../../shared/format';
import { apiHandlers, AppError, openBackend, type Backend, backendPort, benchIndex, benchSearch, damagedError, errorResult, expandHome, repairLibrary, resolveDataDir } from '../backend';
import { Progress } from './progress';
import { shown, shownJson, shownLines } from './terminal';
import { startServer } from '../server/index';

interface GlobalOpts {
  data?: string;
  modelDir?: string;
}

/** The built renderer that `serve` hands out: dist/renderer, next to this file's dist/main/cli (as the desktop shell finds it). */
const RENDERER_DIR = path.join(__dirname, '..', '..', 'renderer');

/**
 * A command's body: the backend, its API handlers (the same typed methods the desktop app and browser mode
 * call; the backend's own methods only for what the API does not offer: several folders at once, waiting for
 * a job's result, `--like FILE`, `eval`) and the global options.
 */
type CommandBody = (b: Backend, api: ApiHandlers, g: GlobalOpts) => Promise<void>;

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1.`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0.`);
    return n;
  };
}

function numberIn(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!v.trim() || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}.`);
    return n;
  };
}

/** A repeatable option's values, in order. */
function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** A path from the command line: `~` expanded (when the shell did not), relative to the working folder. */
function cliPath(p: string): string {
  return path.resolve(expandHome(p));
}

/** A model's name for a command line: quoted when it has spaces. */
function shellName(name: string): string {
  return /^[A-Za-z0-9._@/:+-]+$/.test(name) ? name : `"${name.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** Duplicate groups for the terminal: one block per group, each photo with its size, pixels and date. */
function duplicatesText(groups: DuplicateGroup[], threshold: number): string {
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
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/** Text→image R@1/5/10 of a model: its held-out figures after training, or the figures it ships with. */
function modelRecall(m: ModelInfo): string {
  const metrics = m.metrics as Record<string, EvalResult | undefined> | null;
  const val = metrics?.after ?? metrics?.val ?? metrics?.flickr8kDev ?? metrics?.heldOut;
  return val?.textToImage ? `${pct(val.textToImage.r1)}/${pct(val.textToImage.r5)}/${pct(val.textToImage.r10)}` : '—';
}

/**
 * Print a result. User-controlled values are escaped where the lines are built (`shown`); the whole text is
 * passed through `shownLines` as well, so a value that was missed still cannot reach the terminal raw.
 */
function out(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${shownJson(JSON.stringify(value, null, 2))}\n` : `${shownLines(text())}\n`);
}

const pct = (x: number) => `${x.toFixed(1)}`;
function recallTable(r: EvalResult): string {
  return [
    `              R@1    R@5    R@10`,
    `text→image  ${pct(r.textToImage.r1).padStart(5)}  ${pct(r.textToImage.r5).padStart(5)}  ${pct(r.textToImage.r10).padStart(5)}`,
    `image→text  ${pct(r.imageToText.r1).padStart(5)}  ${pct(r.imageToText.r5).padStart(5)}  ${pct(r.imageToText.r10).padStart(5)}`,
    `(${r.images} photos, ${r.captions} captions; percent)`,
  ].join('\n');
}

/** What was dropped from a captioned set, one line per kind with a first example ([] when nothing was). */
function problemLines(problems: readonly DataProblem[]): string[] {
  if (!problems.length) return [];
  return [
    'Dropped from the set:',
    ...problems.map((p) => `  ${p.count} ${shown(p.kind)}${p.count === 1 ? '' : 's'}${p.examples.length ? ` (e.g. ${shown(p.examples[0])})` : ''}`),
  ];
}

/** What search cannot see yet: photos without a vector of the active model, and an unfinished model switch. */
function coverageNotes(st: LibraryStatus): string[] {
  const notes: string[] = [];
  if (st.embedded < st.images)
    notes.push(`Note: ${st.images - st.embedded} of ${st.images} photos are not embedded with model ${st.model} yet and cannot be found; run \`photo-search index\` to embed them.`);
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
function sizeText(s: LibrarySize): string {
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
function compactText(r: CompactResult): string {
  const n = r.featuresDropped.toLocaleString('en-US');
  const k = r.featuresKept;
  const keptParts = [
    k.stillToEmbed ? `${k.stillToEmbed.toLocaleString('en-US')} of photos still to embed` : '',
    k.notInLibrary ? `${k.notInLibrary.toLocaleString('en-US')} of photos outside the library (captioned sets)` : '',
    k.otherTowers ? `${k.otherTowers.toLocaleString('en-US')} of other towers (caption text, other models)` : '',
  ].filter(Boolean);
  const kept = keptParts.length ? [`Kept (still needed): ${keptParts.join(', ')}.`] : [];
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

/** Follow a job's events with a progress bar until it ends; resolve to its result. */
async function follow<T>(backend: Backend, job: { info: JobInfo; done: Promise<T> }, label: string): Promise<T> {
  const bar = new Progress(label);
  const off = backend.onEvent((e) => {
    if (e.type === 'job' && e.job.id === job.info.id) bar.update(e.job);
  });
  const onSigint = () => {
    bar.note('Cancelling (finishing the batch in flight)...');
    backend.state.jobs.cancel(job.info.id);
  };
  process.once('SIGINT', onSigint);
  try {
    return await job.done;
  } finally {
    process.off('SIGINT', onSigint);
    off();
    bar.stop();
  }
}

/** Open a URL with the system's browser; a failure is reported, the server keeps running. */
async function openInBrowser(url: string): Promise<void> {
  try {
    // ESM-only package: loaded when asked for.
    const { default: open } = await import('open');
    const child = await open(url);
    child.once('error', (e) => process.stderr.write(`photo-search: could not open a browser (${shown(e.message)}); open the link above yourself.\n`));
  } catch (e) {
    process.stderr.write(`photo-search: could not open a browser (${shown((e as Error).message)}); open the link above yourself.\n`);
  }
}

export function buildProgram(run: (fn: CommandBody, needsBackend?: boolean) => Promise<void>): Command {
  const program = new Command('photo-search')
    .description('Find photos by what they show, offline.')
    .option('--data <dir>', 'data folder (default: $PHOTO_SEARCH_DATA, else the app data folder)')
    .option('--model-dir <dir>', 'use this model folder as the default model ($PHOTO_SEARCH_MODEL_DIR)')
    .showHelpAfterError('(run `photo-search --help` for usage)')
    .exitOverride();

  program
    .command('index')
    .description('add folders to the library and index them (incremental); with no folder, re-scan every library folder')
    .argument('[folders...]', 'folders of photos')
    .option('--json', 'print the summary as JSON')
    .action((folders: string[], o: { json?: boolean }) =>
      run(async (b, api) => {
        let job;
        if (folders.length) {
          const added = await b.library.addFolders(folders.map(cliPath));
          for (const n of added.notices) process.stderr.write(`${shown(n)}\n`);
          job = added;
        } else {
          job = b.library.startIndex();
        }
        const summary = await follow(b, job, 'Indexing');
        const st = await api.status();
        out(!!o.json, { ...summary, images: st.images }, () =>
          `Indexed: ${summary.added} added, ${summary.updated} updated, ${summary.removed} removed, ${summary.unchanged} unchanged, ` +
          `${summary.skipped} skipped (${summary.seconds.toFixed(1)} s). Library: ${st.images} photos.` +
          (summary.skipped ? ' See why with `photo-search status --skipped`.' : '') +
          summary.unavailable
            .map(
              (u) =>
                `\nFolder ${shown(u.path)} is unavailable: ${shown(u.reason)}. Its ${u.photos} photos stay in the library until it is back; ` +
                `if they are gone for good: \`photo-search remove ${shown(u.path)}\`.`,
            )
            .join(''),
        );
      }),
    );

  program
    .command('folders')
    .description('list the library folders with their photo counts')
    .option('--json', 'print [{path, photos, incomplete}] as JSON')
    .action((o: { json?: boolean }) =>
      run(async (b, api) => {
        const list = await api.folders();
        out(!!o.json, list, () =>
          list.length
            ? table([['PHOTOS', 'FOLDER'], ...list.map((f) => [f.photos.toLocaleString('en-US'), `${shown(f.path)}${f.incomplete ? '  (incomplete: run `photo-search index` to finish)' : ''}`])])
            : 'No folders in the library. Add one with `photo-search index FOLDER`.',
        );
      }),
    );

  program
    .command('remove')
    .description('remove a folder from the library (its photos, embeddings, cached features and thumbnails; files on disk are not touched)')
    .argument('<folder>')
    .option('--json', 'print {roots, removed} as JSON')
    .action((folder: string, o: { json?: boolean }) =>
      run(async (b, api) => {
        const abs = cliPath(folder);
        const r = await api.removeFolder({ path: abs });
        out(!!o.json, r, () => `Removed ${shown(abs)} from the library (${r.removed} photos). Files on disk are not touched.`);
      }),
    );

  program
    .command('search')
    .description('rank indexed photos by a text query, like images, or both (query algebra: "dog + beach - night", "2:dog + ./cat.jpg")')
    .argument('[text...]', 'what the photos show')
    .option('--top <n>', 'how many results', positiveInt('--top'), 10)
    .option('--offset <n>', 'skip this many results first (paging)', nonNegativeInt('--offset'), 0)
    .option('--like <image>', 'find photos like this image (a file or a library photo); repeat for several, add text to mix', collect, [])
    .option('--folder <dir>', 'only photos under this library folder (repeatable)', collect, [])
    .option('--after <date>', 'only photos taken on or after YYYY, YYYY-MM or YYYY-MM-DD (EXIF date, else file time)')
    .option('--before <date>', 'only photos taken on or before YYYY, YYYY-MM or YYYY-MM-DD')
    .addOption(new Option('--type <type>', 'only this file type (repeatable)').choices(PHOTO_TYPES).argParser((v: string, prev: string[] = []) => [...prev, v]))
    .option('--min-score <x>', 'only photos at least this similar (cosine, -1 to 1)', numberIn('--min-score', -1, 1))
    .addOption(new Option('--sort <order>', 'order of the results').choices(SEARCH_SORTS).default('relevance'))
    .option('--json', 'print [{path, score}] as JSON')
    .action(
      (
        words: string[],
        o: { top: number; offset: number; like: string[]; folder: string[]; after?: string; before?: string; type?: PhotoType[]; minScore?: number; sort: SearchSort; json?: boolean },
      ) =>
      run(async (b, api) => {
        const text = words.join(' ').trim();
        if (!text && !o.like.length) throw new AppError('invalid_input', 'Give a text to search for, or --like IMAGE.');
        const opts: SearchOptions = {
          top: o.top,
          ...(o.offset ? { offset: o.offset } : {}),
          ...(o.folder.length ? { folders: o.folder.map(cliPath) } : {}),
          ...(o.after ? { after: o.after } : {}),
          ...(o.before ? { before: o.before } : {}),
          ...(o.type?.length ? { types: o.type } : {}),
          ...(o.minScore !== undefined ? { minScore: o.minScore } : {}),
          ...(o.sort !== 'relevance' ? { sort: o.sort } : {}),
        };
        // The same check the app's and browser mode's edge make (dates, ranges).
        const checked = acceptCall('search', { query: text || 'x', ...opts });
        if (!checked.ok) throw new AppError('invalid_input', checked.message.replace(/^Invalid request to search: /, ''));
        let hits: SearchHit[];
        try {
          hits = o.like.length
            ? await b.search.searchLikeFile(o.like.map(cliPath), o.top, { ...opts, ...(text ? { query: text } : {}) })
            : await api.search({ query: text, ...opts });
        } catch (e) {
          // Nothing to search for: not a failure. --json still prints its list (empty); the warning goes to stderr.
          if (!(e instanceof AppError) || e.code !== 'unknown_words') throw e;
          if (o.json) {
            process.stderr.write(`warning: ${e.message}\n`);
            out(true, [], () => '');
          } else out(false, null, () => `${e.message} Try everyday words for what the photo shows.`);
          return;
        }
        for (const line of coverageNotes(await api.status())) process.stderr.write(`${shown(line)}\n`);
        out(
          !!o.json,
          hits.map((h) => ({ path: h.path, score: Number(h.score.toFixed(6)) })),
          () => (hits.length ? hits.map((h) => `${h.score.toFixed(3)}  ${shown(h.path)}`).join('\n') : 'No photos found.'),
        );
      }),
    );

  program
    .command('duplicates')
    .description('groups of duplicate photos: exact copies first, then near-duplicates (bursts, resized copies, edits)')
    .option('--threshold <x>', 'similarity (cosine) from which two photos are near-duplicates', numberIn('--threshold', 0.5, 1), 0.95)
    .option('--json', 'print the groups as JSON')
    .action((o: { threshold: number; json?: boolean }) =>
      run(async (_b, api) => {
        const groups = await api.duplicates({ threshold: o.threshold });
        out(!!o.json, groups, () => duplicatesText(groups, o.threshold));
      }),
    );

  program
    .command('compact')
    .description('drop the cached tower features of photos already embedded with the active model and give the space back (retraining then re-reads those photos)')
    .option('--dry-run', 'only measure: what each part of the library takes and what compacting would free')
    .option('--json', 'print {dryRun, beforeBytes, afterBytes, featuresDropped, featuresKept, spaceNeeded, sizes, tradeOff} as JSON')
    .action((o: { dryRun?: boolean; json?: boolean }) =>
      run(async (b) => {
        const say = (line: string) => {
          if (!o.json) process.stderr.write(`${line}\n`);
        };
        say(o.dryRun ? 'Measuring the library (reads the whole file)...' : 'Compacting the library (a kill or a crash leaves the old file or the compacted one)...');
        const r = await b.compaction.compact({ dryRun: !!o.dryRun, onStage: (stage) => say(`${stage}...`) });
        out(!!o.json, r, () => compactText(r));
      }),
    );

  program
    .command('status')
    .description('library and model state')
    .option('--json', 'print {images, skipped, model, roots} as JSON')
    .option('--skipped', 'also list skipped files with their reasons')
    .option('--check', 'also read the whole library file to find damage (exit 1 when damaged)')
    .option('--sizes', 'also show what each part of the library takes on disk (tables, indexes, search index, thumbnails), per photo')
    .action((o: { json?: boolean; skipped?: boolean; check?: boolean; sizes?: boolean }) =>
      run(async (b, api) => {
        const st = await api.status();
        const sizes = o.sizes ? await api.librarySize() : undefined;
        const skipped = o.skipped ? (await api.skipped({ limit: 1000, offset: 0 })).items : undefined;
        const check = o.check ? b.state.store.quickCheck() : undefined;
        const value = {
          images: st.images,
          skipped: st.skipped,
          model: st.model,
          modelName: st.modelName,
          roots: st.roots,
          incomplete: st.incomplete,
          embedded: st.embedded,
          pendingModel: st.pendingModel,
          ...(skipped ? { skippedFiles: skipped } : {}),
          ...(check !== undefined ? { check } : {}),
          ...(sizes ? { sizes } : {}),
        };
        out(!!o.json, value, () =>
          [
            ...(check === 'ok' ? [`Library file: ${shown(b.state.store.file)} checked, no damage found`] : []),
            `Photos: ${st.images}${st.embedded < st.images ? ` (${st.embedded} embedded with the active model)` : ''}`,
            `Skipped: ${st.skipped}`,
            ...(st.pendingModel
              ? [`Switching to model ${shown(st.pendingModel.id)}: ${st.pendingModel.embedded} of ${st.pendingModel.total} photos embedded; run \`photo-search models use ${shown(st.pendingModel.id)}\` to finish.`]
              : []),
            `Model: ${shown(st.modelName)}${st.modelName !== st.model ? ` (${shown(st.model)})` : ''}`,
            `Folders: ${st.roots.length ? st.roots.map(shown).join(', ') : 'none (add one with `photo-search index FOLDER`)'}`,
            ...(st.incomplete.length ? [`Incomplete (indexing stopped before the end): ${st.incomplete.map(shown).join(', ')}; run \`photo-search index\` to finish.`] : []),
            ...(skipped ? (skipped.length ? skipped.map((s) => `  skipped ${shown(s.path)}: ${shown(s.reason)}`) : ['  nothing skipped']) : []),
            ...(sizes ? ['', sizeText(sizes)] : []),
          ].join('\n'),
        );
        if (check !== undefined && check !== 'ok') throw damagedError(b.state.store.file, check.split('; ')[0]!);
      }),
    );

  const models = program
    .command('models')
    .description('list, import, activate and remove models (by name or id)')
    .option('--json', 'print the list as JSON')
    .action((o: { json?: boolean }) =>
      run(async (b, api) => {
        const list = await api.models();
        out(!!o.json, list, () =>
          table([
            ['', 'NAME', 'ID', 'R@1/5/10', 'FROM'],
            ...list.map((m) => [m.active ? '*' : ' ', shown(m.name), shown(m.id), modelRecall(m), m.builtin ? 'built-in' : shown(m.parent ?? m.source ?? '—')]),
          ]) + '\n(* = active; R@1/5/10 = text→photo recall in percent on photos the model was not trained on)',
        );
      }),
    );
  // `models use X --json` hands --json to `models` (commander parses a parent's options anywhere on the
  // line, and positional options would stop `--data` working after a command): either place counts.
  const modelsJson = (o: { json?: boolean }): boolean => !!(o.json || models.opts<{ json?: boolean }>().json);
  models
    .command('add')
    .description('import a model: a Hugging Face / transformers.js folder, an immich folder, an encoder pair folder, or hf:OWNER/NAME')
    .argument('<source>')
    .option('--json', 'print the new model as JSON')
    .action((source: string, o: { json?: boolean }) =>
      run(async (b) => {
        const job = b.catalog.startImport(/^hf:/.test(source) ? source : cliPath(source));
        const info = await follow(b, job, 'Importing');
        out(modelsJson(o), info, () => `Imported model "${shown(info.name)}" (${shown(info.id)}). Activate it with \`photo-search models use ${shown(info.id)}\`.`);
      }),
    );
  models
    .command('use')
    .description('activate a model (re-embeds the library from cached features)')
    .argument('<model>', 'name or id')
    .option('--json', 'print {model, name, images, embedded} as JSON')
    .action((id: string, o: { json?: boolean }) =>
      run(async (b, api) => {
        const job = await b.modelSwitch.activateModel(id);
        if (job) await follow(b, job, 'Re-embedding');
        const st = await api.status();
        out(modelsJson(o), { model: st.model, name: st.modelName, images: st.images, embedded: st.embedded }, () => `Active model: ${shown(st.modelName)} (${shown(st.model)}; ${st.embedded} photos embedded).`);
      }),
    );
  models
    .command('remove')
    .description('delete a trained or imported model (not the active one, never the built-in)')
    .argument('<model>', 'name or id')
    .option('--json')
    .action((id: string, o: { json?: boolean }) =>
      run(async (b, api) => {
        const r = await api.removeModel({ id });
        out(modelsJson(o), r, () => `Removed model ${shown(String(r.removed))}.`);
      }),
    );

  program
    .command('train')
    .description('retrain the heads on a captioned set (Images/ + captions.txt, Flickr8k.token.txt or results.csv)')
    .argument('<set>', 'folder of the captioned set')
    .option('--name <name>', 'name of the new model')
    .option('--base <model>', 'model to start from (default: the active one)')
    .option('--epochs <n>', 'epochs (at most, when early stopping; the epoch with the best held-out recall is kept)', positiveInt('--epochs'))
    .addOption(new Option('--loss <loss>', 'contrastive loss').choices(['default', 'tutorial']).default('default'))
    .option('--seed <n>', 'random seed', (v) => Number(v))
    .option('--json', 'print {model, epochs, trainSeconds, val, problems} as JSON')
    .action((set: string, o: { name?: string; base?: string; epochs?: number; loss: 'default' | 'tutorial'; seed?: number; json?: boolean }) =>
      run(async (b) => {
        const job = b.training.startTraining({ set: cliPath(set), name: o.name, base: o.base, epochs: o.epochs, loss: o.loss, seed: o.seed }, (e) => {
          if (!o.json || process.stderr.isTTY) {
            const v = e.val ? `  val R@1/5/10 ${pct(e.val.textToImage.r1)}/${pct(e.val.textToImage.r5)}/${pct(e.val.textToImage.r10)}` : '';
            const folds = e.folds ? `  (pooled over ${e.folds.done} of ${e.folds.of} folds)` : '';
            process.stderr.write(`epoch ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(4)}${v}${folds}\n`);
          }
        });
        const r: TrainResult = await follow(b, job, 'Training');
        const name = r.name ?? r.model;
        const gain = r.heldOut ? r.heldOut.gainR5.mean : r.before ? r.val.textToImage.r5 - r.before.textToImage.r5 : null;
        const heldOut = describeHeldOutGain(r);
        out(!!o.json, { model: r.model, name, epochs: r.epochs, bestEpoch: r.bestEpoch, blend: r.blend, gainR5: gain, heldOut: r.heldOut ?? null, trainSeconds: r.trainSeconds, val: { textToImage: r.val.textToImage, imageToText: r.val.imageToText }, before: r.before, problems: r.problems }, () =>
          [
            ...problemLines(r.problems),
            `New model "${shown(name)}" (${shown(r.model)}; ${r.epochs} epochs, ${r.trainSeconds.toFixed(1)} s).`,
            ...(r.bestEpoch === 0 && !r.heldOut ? ['No epoch did better than the starting model on the held-out photos: the new version keeps its heads.'] : []),
            ...(heldOut ? [heldOut] : []),
            ...(r.before ? ['Before (held-out photos):', recallTable(r.before)] : []),
            'After:',
            recallTable(r.val),
            `Activate it with \`photo-search models use ${shown(shellName(name))}\`.`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('eval')
    .description('recall of a model on a captioned set')
    .argument('<set>')
    .option('--model <model>', 'model to evaluate, by name or id (default: the active one)')
    .option('--json', 'print {textToImage, imageToText, images, captions, problems} as JSON')
    .action((set: string, o: { model?: string; json?: boolean }) =>
      run(async (b) => {
        const r = await b.training.evaluate(cliPath(set), o.model);
        out(!!o.json, r, () => [...problemLines(r.problems), recallTable(r)].join('\n'));
      }),
    );

  program
    .command('repair')
    .description('rebuild a damaged library database from the photos and what can still be read (the damaged file is kept aside); close the app first')
    .option('--json', 'print what was recovered as JSON')
    .action((o: { json?: boolean }) =>
      run(async (_b, _api, g) => {
        const dataDir = resolveDataDir(g.data);
        const r = repairLibrary(dataDir);
        const b = await openBackend({ dataDir, modelDir: g.modelDir ?? process.env.PHOTO_SEARCH_MODEL_DIR ?? null });
        try {
          // Re-embed and re-index from the photos themselves: whatever the damaged file lost comes back.
          const api = apiHandlers(b);
          const summary = (await api.folders()).length ? await follow(b, b.library.startIndex(), 'Indexing') : null;
          const st = await api.status();
          out(!!o.json, { ...r, index: summary, images: st.images, embedded: st.embedded, integrity: b.state.store.integrityCheck() }, () =>
            [
              `Moved the damaged file to ${r.damagedFile} (delete it once all is well).`,
              r.readable
                ? `Recovered ${r.photos} photos, ${r.roots} folder${r.roots === 1 ? '' : 's'}, ${r.features} cached features and ${r.embeddings} embeddings` +
                  `${r.embeddingsDropped ? ` (${r.embeddingsDropped} damaged or orphaned embeddings left out)` : ''}; ${r.damagedReads} damaged reads stepped over.`
                : 'Nothing could be read from the damaged file: add your folders again with `photo-search index FOLDER`.',
              ...(summary ? [`Re-indexed: ${summary.added} added, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.skipped} skipped.`] : []),
              `Library: ${st.images} photos, ${st.embedded} embedded with ${st.model}.`,
            ].join('\n'),
          );
        } finally {
          await b.close();
        }
      }, false),
    );

  program
    .command('serve')
    .description('browser mode: the app in your browser, on 127.0.0.1 only; open the printed link (it carries the access token)')
    .option('--port <port>', 'port (0 = any free one)', (v) => Number(v), 5178)
    .option('--host <host>', 'address to listen on (any 127.x.x.x address; others need --allow-remote)', '127.0.0.1')
    .option(
      '--allow-remote',
      'allow listening on a non-loopback address: anyone on the network who has the printed link (its access token) can use your library; ' +
        'requests must still name the bound address (Host and Origin checks stay on)',
    )
    .option('--open', 'open the link in your web browser')
    .action((o: { port: number; host: string; allowRemote?: boolean; open?: boolean }) =>
      run(async (b) => {
        // An interrupted model switch resumes; the search index loads now rather than at the first search.
        await b.startUp();
        const server = await startServer({
          backend: backendPort(b),
          port: o.port,
          host: o.host,
          allowRemote: !!o.allowRemote,
          staticDir: RENDERER_DIR,
        }).catch((e: unknown) => {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
          throw new AppError('busy', `Port ${o.port} is in use: another copy running? Try --port 0 (any free port).`);
        });
        process.stdout.write(`Photo Search is running at ${shown(server.loginUrl)}\n`);
        process.stdout.write(
          process.env.PHOTO_SEARCH_TOKEN
            ? 'The link carries the access token from $PHOTO_SEARCH_TOKEN: anyone with it can use your library.\n'
            : 'The link carries an access token: anyone with it can use your library. A new one is made at each start.\n',
        );
        if (o.open) await openInBrowser(server.loginUrl);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
      }),
    );

  const bench = program.command('bench').description('benchmarks (figures for docs/BENCHMARKS.md)');
  bench
    .command('search')
    .description('search latency over N random unit vectors in a scratch store')
    .option('--vectors <n>', 'how many vectors', positiveInt('--vectors'), 100_000)
    .option('--dim <d>', 'vector size', positiveInt('--dim'), 512)
    .option('--queries <q>', 'timed queries', positiveInt('--queries'), 100)
    .option('--json')
    .action((o: { vectors: number; dim: number; queries: number; json?: boolean }) =>
      run(async () => {
        const r = await benchSearch({ vectors: o.vectors, dim: o.dim, queries: o.queries, seed: 1 });
        out(!!o.json, r, () => Object.entries(r).map(([k, v]) => `${k}: ${typeof v === 'number' ? Number(v.toFixed(3)) : v}`).join('\n'));
      }, false),
    );
  bench
    .command('index')
    .description('indexing throughput vs the image tower alone')
    .argument('<folder>')
    .option('--json')
    .action((folder: string, o: { json?: boolean }) =>
      run(async (b) => {
        const model = await b.state.active.load();
        const r = await benchIndex({ folder: path.resolve(folder), model, modelDir: b.state.active.dir(), onProgress: (m) => process.stderr.write(`${shown(m)}\n`) });
        const { coreMs, ...rest } = r;
        const lines = (o: object) => Object.entries(o).map(([k, v]) => `${k}: ${typeof v === 'number' ? Number(v.toFixed(3)) : v}`);
        out(!!o.json, r, () => [...lines(rest), 'CPU ms per photo:', ...lines(coreMs).map((l) => `  ${l}`)].join('\n'));
      }),
    );

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  let backend: Backend | null = null;
  const run = async (fn: CommandBody, needsBackend = true) => {
    const g = program.opts<GlobalOpts>();
    try {
      if (needsBackend) {
        backend = await openBackend({
          dataDir: resolveDataDir(g.data),
          modelDir: g.modelDir ?? process.env.PHOTO_SEARCH_MODEL_DIR ?? null,
        });
      }
      await fn(backend as unknown as Backend, apiHandlers(backend as unknown as Backend), g);
    } catch (e) {
      const r = errorResult(backend ? (backend as Backend).state.store.explain(e) : e);
      // Messages name files and quote caption lines: escaped like every other line.
      process.stderr.write(`photo-search: ${shown(r.message)}\n`);
      if (process.env.PHOTO_SEARCH_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      code = r.code === 'cancelled' ? 130 : 1;
    } finally {
      if (backend) await (backend as Backend).close();
    }
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors already printed one line by commander.
      return e.exitCode;
    }
    throw e;
  }
  return code;
}
