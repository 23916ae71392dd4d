/**
 * Deterministic test sentences for the USE-lite tokenizer and text tower: caption-like text (generated from
 * seeded word lists), plus hand-written edge cases — punctuation, digits and times, accents, other scripts,
 * emoji and symbols no piece covers, odd whitespace, case.
 */

const SUBJECTS = ['A dog', 'Two children', 'A man in a red shirt', 'The black cat', 'A woman', 'Three girls', 'A brown horse', 'An old man', 'A group of people', 'A little boy', 'Two dogs', 'A surfer', 'A bride', 'A skateboarder', 'A toddler'];
const VERBS = ['runs', 'is jumping', 'sits', 'plays', 'is standing', 'walks', 'rides a bike', 'climbs', 'is sleeping', 'looks', 'swims', 'waits', 'dances', 'smiles'];
const PLACES = ['on the beach', 'in the snow', 'near a fountain', 'through the grass', 'on a city street', 'under a tree', 'in front of a building', 'at the park', 'by the lake', 'on a wooden bridge', 'in a crowded market', 'across the field'];
const EXTRAS = ['', '', ' while holding a ball', ' with a frisbee', ', smiling', ' at sunset', ' in the rain', ' next to a fire hydrant', ' wearing a bathrobe', ' and a stroller'];
const ENDS = ['.', '', ' .', '!', '?', '...', '. ', '  '];

export const EDGE_SENTENCES = [
  '',
  '.',
  '   ',
  'dog',
  'DOG',
  'a dog',
  'A dog.',
  'a  dog\truns\nfast',
  '  leading and trailing spaces  ',
  'at 5:30 the bus leaves',
  'meet me at 10:00 :)',
  ':) happy face',
  'http://example.com/photo.jpg',
  'Room 101, floor 3 - 42% off!',
  'it costs $19.99 (or €17,50)',
  '1st place, 2nd place and 3rd place',
  '2 + 2 = 4',
  'café, naïve, Zürich and São Paulo',
  'Ｆｕｌｌｗｉｄｔｈ letters and ﬁ ligature',
  'a dog 🐶 and a cat 🐱',
  '☃☃☃ snowman',
  'weird ✓✓ symbols ™ ½ № ∞',
  '東京 タワー',
  'Москва зимой',
  'مرحبا بالعالم',
  'हिंदी पाठ',
  'ÀÉÎÕÜ çñ',
  'quotes “like this” and ‘this’',
  'dash—em and en–dash',
  'multiple!!! exclamation??? marks',
  'e.g. an abbreviation.',
  'Mixed CASE Words And ACRONYMS like NASA',
  "don't won't it's",
  'hyphen-ated compound-words',
  'a very long caption that goes on and on about a dog running through a field of tall grass while the sun sets behind the mountains and birds fly overhead',
  'x',
  '�',
  'tab\tseparated\tvalues',
  '#hashtag @mention',
  'a\u00a0non\u00a0breaking space',
];

/** `n` caption-like sentences from a seeded generator, then the edge cases. */
export function useTestSentences(n: number, seed = 1): string[] {
  let s = seed;
  const pick = <T>(list: T[]): T => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return list[Math.floor((s / 2147483648) * list.length)];
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${pick(SUBJECTS)} ${pick(VERBS)} ${pick(PLACES)}${pick(EXTRAS)}${pick(ENDS)}`);
  return [...out, ...EDGE_SENTENCES];
}
