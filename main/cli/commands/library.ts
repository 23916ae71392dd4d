/** `index`, `folders`, `remove`: the library's folders. */
import type { Command } from 'commander';
import type { IndexSummary, JobInfo } from '../../../shared/api';
import type { Runner } from '../context';
import { out, table } from '../format';
import { cliPath } from '../options';
import { shown } from '../terminal';

export function registerLibrary(program: Command, run: Runner): void {
  program
    .command('index')
    .description('add folders to the library and index them (incremental); with no folder, re-scan every library folder')
    .argument('[folders...]', 'folders of photos')
    .option('--json', 'print the summary as JSON')
    .action((folders: string[], o: { json?: boolean }) =>
      run(async ({ api, follow }) => {
        let job: JobInfo;
        if (folders.length) {
          const added = await api.addFolders({ paths: folders.map(cliPath) });
          for (const n of added.notices) process.stderr.write(`${shown(n)}\n`);
          job = added.job;
        } else {
          job = await api.rescan();
        }
        const summary = await follow<IndexSummary>(job, 'Indexing');
        const st = await api.status();
        out(!!o.json, { ...summary, images: st.images }, () =>
          `Indexed: ${summary.added} added, ${summary.updated} updated, ${summary.removed} removed, ${summary.unchanged} unchanged, ` +
          `${summary.skipped} skipped (${summary.seconds.toFixed(1)} s). Library: ${st.images} photos.` +
          (summary.text
            ? ` Text read in ${summary.text.read} photos (${summary.text.withText} with text${summary.text.gated ? `; ${summary.text.gated} passed over by the text gate` : ''}, ${summary.text.seconds.toFixed(1)} s).`
            : '') +
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
      run(async ({ api }) => {
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
      run(async ({ api }) => {
        const abs = cliPath(folder);
        const r = await api.removeFolder({ path: abs });
        out(!!o.json, r, () => `Removed ${shown(abs)} from the library (${r.removed} photos). Files on disk are not touched.`);
      }),
    );
}
