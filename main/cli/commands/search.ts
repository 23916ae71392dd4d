/** `search` and `duplicates`. */
import { Option, type Command } from 'commander';
import { GOOD_MATCH, MAX_OFFSET, MAX_TOP, PHOTO_TYPES, SEARCH_SORTS, type PhotoType, type SearchHit, type SearchOptions, type SearchSort } from '../../../shared/api';
import { formatMatch, weakerMatchesFrom } from '../../../shared/format';
import { AppError } from '../../backend';
import type { Runner } from '../context';
import { coverageNotes, duplicatesText, out } from '../format';
import { cliPath, collect, datePrefix, intIn, numberIn } from '../options';
import { shown } from '../terminal';

interface SearchFlags {
  top: number;
  offset: number;
  like: string[];
  folder: string[];
  after?: string;
  before?: string;
  type?: PhotoType[];
  near?: string;
  minScore?: number;
  minMatch?: number;
  sort: SearchSort;
  json?: boolean;
}

/** The filters, paging and order the flags ask for, as the API table's SearchOptions. */
function searchOptions(o: SearchFlags): SearchOptions {
  return {
    top: o.top,
    ...(o.offset ? { offset: o.offset } : {}),
    ...(o.folder.length ? { folders: o.folder.map(cliPath) } : {}),
    ...(o.after ? { after: o.after } : {}),
    ...(o.before ? { before: o.before } : {}),
    ...(o.type?.length ? { types: o.type } : {}),
    ...(o.near !== undefined ? { near: o.near } : {}),
    ...(o.minScore !== undefined ? { minScore: o.minScore } : {}),
    ...(o.minMatch !== undefined ? { minMatch: o.minMatch } : {}),
    ...(o.sort !== 'relevance' ? { sort: o.sort } : {}),
  };
}

/** Search results, one a line with their match percentage, and a line where the weaker matches start (relevance order). */
function hitLines(hits: readonly SearchHit[]): string[] {
  const lines = hits.map((h) => `${formatMatch(h).padStart(5)}  ${shown(h.path)}${h.place ? `  (${shown(h.place)})` : ''}`);
  const weak = weakerMatchesFrom(hits, GOOD_MATCH);
  if (weak >= 0 && hits.every((h, i) => i === 0 || hits[i - 1]!.score >= h.score)) {
    lines.splice(weak, 0, `── weaker matches (below ${GOOD_MATCH}%) ──`);
  }
  return lines;
}

export function registerSearch(program: Command, run: Runner): void {
  program
    .command('search')
    .description('rank indexed photos by a text query, like images, or both (query algebra: "dog + beach - night", "2:dog + ./cat.jpg")')
    .argument('[text...]', 'what the photos show')
    .option('--top <n>', `how many results (1 to ${MAX_TOP})`, intIn('--top', 1, MAX_TOP), 10)
    .option('--offset <n>', 'skip this many results first (paging)', intIn('--offset', 0, MAX_OFFSET), 0)
    .option('--like <image>', 'find photos like this image (a file or a library photo); repeat for several, add text to mix', collect, [])
    .option('--folder <dir>', 'only photos under this library folder (repeatable)', collect, [])
    .option('--after <date>', 'only photos taken on or after YYYY, YYYY-MM or YYYY-MM-DD (EXIF date, else file time)', datePrefix('--after'))
    .option('--before <date>', 'only photos taken on or before YYYY, YYYY-MM or YYYY-MM-DD', datePrefix('--before'))
    .addOption(new Option('--type <type>', 'only this file type (repeatable)').choices(PHOTO_TYPES).argParser((v: string, prev: string[] = []) => [...prev, v]))
    .option('--near <place>', 'only photos taken in or near this city, region or country ("Lisbon", "Lisbon, Portugal"), from their GPS (resolved offline)')
    .option('--min-match <percent>', 'only photos with at least this match (0 to 100; queries with text)', numberIn('--min-match', 0, 100))
    .option('--min-score <x>', 'only photos at least this similar (raw cosine, -1 to 1)', numberIn('--min-score', -1, 1))
    .addOption(new Option('--sort <order>', 'order of the results').choices(SEARCH_SORTS).default('relevance'))
    .option('--json', 'print [{path, score, match}] as JSON')
    .action((words: string[], o: SearchFlags) =>
      run(async ({ api }) => {
        const text = words.join(' ').trim();
        if (!text && !o.like.length) throw new AppError('invalid_input', 'Give a text to search for, or --like IMAGE.');
        const opts = searchOptions(o);
        let hits: SearchHit[];
        try {
          hits = o.like.length
            ? await api.searchFiles({ files: o.like.map(cliPath), ...(text ? { query: text } : {}), ...opts })
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
          hits.map((h) => ({ path: h.path, score: Number(h.score.toFixed(6)), match: h.match, ...(h.place ? { place: h.place } : {}) })),
          () => (hits.length ? hitLines(hits).join('\n') : 'No photos found.'),
        );
      }),
    );

  program
    .command('duplicates')
    .description('groups of duplicate photos: exact copies first, then near-duplicates (bursts, resized, recompressed or rotated copies, edits)')
    .option('--threshold <x>', 'similarity from which two photos are near-duplicates (embedding cosine or pixel hash, whichever is higher)', numberIn('--threshold', 0.5, 1), 0.95)
    .option('--json', 'print the groups as JSON')
    .action((o: { threshold: number; json?: boolean }) =>
      run(async ({ api }) => {
        const groups = await api.duplicates({ threshold: o.threshold });
        out(!!o.json, groups, () => duplicatesText(groups, o.threshold));
      }),
    );
}
