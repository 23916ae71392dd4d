/**
 * A short query in the form of the captions the heads learned from. People type "goldfish" or "school bus";
 * captions are sentences ("There is a goldfish in a bowl ."). A model's manifest may give a template for such
 * queries (`text.queryTemplate`, `{}` standing for the query; the built-in model's is "There is a {}", chosen on
 * held-out train photos: docs/BENCHMARKS.md). Only a query of at most MAX_WORDS words that does not already start
 * as a phrase (an article, a number, a determiner) is put in the template; anything else is searched as typed.
 */

const MAX_WORDS = 3;
const PHRASE_START = new Set(
  'a an the this that these those my your his her our their some any many few several no every each one two three four five six seven eight nine ten there'.split(' '),
);

/** The text the model embeds for a query's text part. */
export function queryText(text: string, template: string | undefined): string {
  if (!template) return text;
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || words.length > MAX_WORDS) return text;
  const first = words[0]!.toLowerCase();
  if (PHRASE_START.has(first) || /^\d/.test(first)) return text;
  return template.replace('{}', words.join(' '));
}
