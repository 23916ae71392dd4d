import { describe, expect, it } from 'vitest';
import { formatKnownWords, hasKnownWord, parseKnownWords, textWords } from '../../main/backend/model/known-words';

describe('known words', () => {
  it('cuts a text into lower-case words of letters and digits (NFKC), dropping punctuation and emoji', () => {
    expect(textWords('Two DOGS, running on the beach!')).toEqual(['two', 'dogs', 'running', 'on', 'the', 'beach']);
    expect(textWords('Ｃafé no.５ 🐕🌊')).toEqual(['café', 'no', '5']);
    expect(textWords('🐕🌊 ?!')).toEqual([]);
  });

  it('knows a query when one of its words is listed; an empty or emoji-only query knows none', () => {
    const known = parseKnownWords(formatKnownWords(['dog', 'beach', 'dog']));
    expect([...known]).toEqual(['beach', 'dog']);
    expect(hasKnownWord('zzqx dog qwpo', known)).toBe(true);
    expect(hasKnownWord('zzqx qwpo', known)).toBe(false);
    expect(hasKnownWord('🐕🌊', known)).toBe(false);
    expect(hasKnownWord('', known)).toBe(false);
  });
});
