/**
 * The words a model knows, to tell a query it can answer from one it cannot ("zzqx qwpo", an emoji): a
 * sentence encoder turns any text into some vector, and without this check such a query returns confident
 * nonsense. A model folder may list its words in a text file (one per line, lower case) named by
 * `text.knownWords` in model.json; models without the list (imported CLIPs, whose byte-level tokenizers cover
 * every text) are not checked. Retraining adds the words of the training captions, so a word a captioned set
 * taught the model (a pet's name) counts as known in the new version.
 */
import { readRegularTextFile } from '../fs/safe-read';

/** The words of a text as the list stores them: NFKC, lower case, runs of letters and digits. */
export function textWords(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export function parseKnownWords(content: string): Set<string> {
  return new Set(content.split('\n').map((w) => w.trim()).filter(Boolean));
}

export function formatKnownWords(words: Iterable<string>): string {
  return `${[...new Set(words)].sort().join('\n')}\n`;
}

export async function readKnownWords(file: string): Promise<Set<string>> {
  try {
    return parseKnownWords(await readRegularTextFile(file));
  } catch (e) {
    throw new Error(`The model's word list ${file} cannot be read (${(e as Error).message}). Re-install the model.`, { cause: e });
  }
}

/** Whether a query has at least one word the model knows (a query with no words at all has none). */
export function hasKnownWord(text: string, known: Set<string>): boolean {
  return textWords(text).some((w) => known.has(w));
}
