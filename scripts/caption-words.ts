/**
 * The content words of a caption, for the word benchmarks (bench-rare-words.ts, bench-plain-names.ts): lower-case
 * runs of letters, three or more long, not a stop word.
 */

/** Function words and numbers that name no thing in a photo. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  'a an the of in on at to and or with is are his her their its two three four some by for from into near as while it he she they one other another this that there up down out over under each who which has have being its through'.split(' '),
);

export function contentWords(text: string, stop: ReadonlySet<string> = STOP_WORDS): string[] {
  return text.toLowerCase().match(/[a-z]+/g)?.filter((w) => w.length > 2 && !stop.has(w)) ?? [];
}
