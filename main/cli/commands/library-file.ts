/** `status`, `compact`, `repair`: the library file's state, size and health. */
import type { Command } from 'commander';
import type { IndexSummary } from '../../../shared/api';
import { AppError, repairLibrary, resolveDataDir, startBackend } from '../../backend';
import { cliFor, type Runner } from '../context';
import { compactText, out, sizeText } from '../format';
import { shown } from '../terminal';

export function registerLibraryFile(program: Command, run: Runner): void {
  program
    .command('compact')
    .description('drop the cached tower features of photos already embedded with the active model and give the space back (retraining then re-reads those photos)')
    .option('--dry-run', 'only measure: what each part of the library takes and what compacting would free')
    .option('--sets', 'also drop what captioned sets cached (their photos and captions): retraining on a set then reads it again')
    .option('--json', 'print {dryRun, beforeBytes, afterBytes, featuresDropped, featuresKept, spaceNeeded, sizes, tradeOff} as JSON')
    .action((o: { dryRun?: boolean; sets?: boolean; json?: boolean }) =>
      run(async ({ api, onEvent }) => {
        const say = (line: string) => {
          if (!o.json) process.stderr.write(`${line}\n`);
        };
        say(o.dryRun ? 'Measuring the library (reads the whole file)...' : 'Compacting the library (a kill or a crash leaves the old file or the compacted one)...');
        const off = onEvent((e) => {
          if (e.type === 'compact-stage') say(`${e.stage}...`);
        });
        try {
          const r = await api.compact({ dryRun: !!o.dryRun, ...(o.sets ? { sets: true } : {}) });
          out(!!o.json, r, () => compactText(r));
        } finally {
          off();
        }
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
      run(async ({ api }) => {
        const st = await api.status();
        const sizes = o.sizes ? await api.librarySize() : undefined;
        const skipped = o.skipped ? (await api.skipped({ limit: 1000, offset: 0 })).items : undefined;
        const check = o.check ? await api.checkLibrary() : undefined;
        const value = {
          images: st.images,
          skipped: st.skipped,
          model: st.model,
          modelName: st.modelName,
          roots: st.roots,
          incomplete: st.incomplete,
          embedded: st.embedded,
          pendingModel: st.pendingModel,
          text: st.text,
          ...(skipped ? { skippedFiles: skipped } : {}),
          ...(check !== undefined ? { check: check.result } : {}),
          ...(sizes ? { sizes } : {}),
        };
        out(!!o.json, value, () =>
          [
            ...(check?.result === 'ok' ? [`Library file: ${shown(check.file)} checked, no damage found`] : []),
            `Photos: ${st.images}${st.embedded < st.images ? ` (${st.embedded} embedded with the active model)` : ''}`,
            `Skipped: ${st.skipped}`,
            `Text in photos: ${st.text.withText} photos with text (${st.text.read} of ${st.images} read${st.text.gated ? `, ${st.text.gated} passed over by the text gate as holding no text (PHOTO_SEARCH_READ_TEXT=all reads them)` : ''}; reads ${st.text.scripts})`,
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
        if (check?.problem) throw new AppError('internal', check.problem);
      }),
    );

  program
    .command('repair')
    .description('rebuild a damaged library database from the photos and what can still be read (the damaged file is kept aside); close the app first')
    .option('--json', 'print what was recovered as JSON')
    .action((o: { json?: boolean }) =>
      run(async (_cli, g) => {
        const dataDir = resolveDataDir(g.data);
        const r = repairLibrary(dataDir);
        const b = await startBackend({ dataDir, modelDir: g.modelDir ?? process.env.PHOTO_SEARCH_MODEL_DIR ?? null });
        try {
          // Re-embed and re-index from the photos themselves: whatever the damaged file lost comes back.
          const { api, follow } = cliFor(b);
          const summary = (await api.folders()).length ? await follow<IndexSummary>(await api.rescan(), 'Indexing') : null;
          const st = await api.status();
          const integrity = (await api.checkLibrary({ full: true })).result;
          out(!!o.json, { ...r, index: summary, images: st.images, embedded: st.embedded, integrity }, () =>
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
}
