import { describe, expect, it } from 'vitest';
import { combineVectors, describePart, isPlainText, parseQuery, searchWords, type QueryPart } from '../../shared/query';

function parts(q: string): QueryPart[] {
  const r = parseQuery(q);
  if (!r.ok) throw new Error(r.message);
  return r.parts;
}

function error(q: string): string {
  const r = parseQuery(q);
  if (r.ok) throw new Error(`parsed: ${JSON.stringify(r.parts)}`);
  return r.message;
}

describe('parseQuery', () => {
  it('reads an ordinary query as one text part, hyphens and pluses inside words included', () => {
    expect(parts('two dogs running on the beach')).toEqual([{ kind: 'text', text: 'two dogs running on the beach', weight: 1 }]);
    expect(parts('a man in a t-shirt, black-and-white')).toEqual([{ kind: 'text', text: 'a man in a t-shirt, black-and-white', weight: 1 }]);
    expect(parts('dog+cat at 10:30')).toEqual([{ kind: 'text', text: 'dog+cat at 10:30', weight: 1 }]);
    expect(isPlainText(parts('  a dog  '))).toBe(true);
    expect(parts('  a dog  ')[0]).toMatchObject({ text: 'a dog' });
  });

  it('adds and subtracts parts, with weights', () => {
    expect(parts('dog + beach - night')).toEqual([
      { kind: 'text', text: 'dog', weight: 1 },
      { kind: 'text', text: 'beach', weight: 1 },
      { kind: 'text', text: 'night', weight: -1 },
    ]);
    expect(parts('2:dog + 0.5:sunset - .25:rain')).toEqual([
      { kind: 'text', text: 'dog', weight: 2 },
      { kind: 'text', text: 'sunset', weight: 0.5 },
      { kind: 'text', text: 'rain', weight: -0.25 },
    ]);
    expect(parts('+ beach -night')).toEqual([
      { kind: 'text', text: 'beach', weight: 1 },
      { kind: 'text', text: 'night', weight: -1 },
    ]);
    expect(isPlainText(parts('dog + beach'))).toBe(false);
  });

  it('mixes text with image files and library photos; quotes keep a part as written', () => {
    expect(parts('"a dog + a cat" + ./photos/beach.jpg - photo:42')).toEqual([
      { kind: 'text', text: 'a dog + a cat', weight: 1 },
      { kind: 'image', path: './photos/beach.jpg', weight: 1 },
      { kind: 'photo', id: 42, weight: -1 },
    ]);
    expect(parts('2:"/home/me/My Photos/a.jpg" + ~/b.png + C:\\pics\\c.jpg + ../d.webp')).toEqual([
      { kind: 'image', path: '/home/me/My Photos/a.jpg', weight: 2 },
      { kind: 'image', path: '~/b.png', weight: 1 },
      { kind: 'image', path: 'C:\\pics\\c.jpg', weight: 1 },
      { kind: 'image', path: '../d.webp', weight: 1 },
    ]);
    expect(parts('"photo:42"')).toEqual([{ kind: 'text', text: 'photo:42', weight: 1 }]);
    expect(parts('a "big" dog')).toEqual([{ kind: 'text', text: 'a "big" dog', weight: 1 }]);
  });

  it('says in one line what is wrong and where', () => {
    expect(error('dog +')).toBe("Nothing after '+' at character 5: write a word or a photo after it.");
    expect(error('dog - + cat')).toBe("Nothing after '-' at character 5: write a word or a photo after it.");
    expect(error('say "cheese')).toBe('Unclosed quote at character 5: add the closing ".');
    expect(error('0:dog')).toBe('Weight 0 at character 1 must be above 0 and at most 100.');
    expect(error('dog + 500:cat')).toBe('Weight 500 at character 6 must be above 0 and at most 100.');
    expect(error('- night')).toMatch(/^Every part is subtracted/);
    expect(error('   ')).toBe('Type something to search for.');
    expect(error(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' + '))).toBe('A query has at most 16 parts; this one has 17.');
    for (const q of ['dog +', 'say "cheese', '- night']) expect(error(q)).not.toContain('\n');
  });

  it('describes parts for chips', () => {
    expect(parts('dog - 0.5:night + photo:7 + ./a.jpg').map(describePart)).toEqual(['+ dog', '− 0.5 × night', '+ photo 7', '+ ./a.jpg']);
  });
});

describe('combineVectors', () => {
  it('is the normalized weighted sum of the normalized parts', () => {
    const a = new Float32Array([3, 0, 0]); // normalized: [1, 0, 0]
    const b = new Float32Array([0, 0.5, 0]); // normalized: [0, 1, 0]
    const v = combineVectors([
      { weight: 2, vector: a },
      { weight: -1, vector: b },
    ])!;
    expect(Array.from(v).map((x) => +x.toFixed(6))).toEqual([+(2 / Math.sqrt(5)).toFixed(6), +(-1 / Math.sqrt(5)).toFixed(6), 0]);
    // One part gives that part's direction back.
    expect(Array.from(combineVectors([{ weight: 1, vector: a }])!)).toEqual([1, 0, 0]);
    // Parts that cancel leave nothing to rank by.
    expect(combineVectors([{ weight: 1, vector: a }, { weight: -1, vector: new Float32Array([6, 0, 0]) }])).toBeNull();
    expect(() => combineVectors([{ weight: 1, vector: a }, { weight: 1, vector: new Float32Array(2) }])).toThrow(/different sizes/);
  });
});

describe('text: parts (words written in photos)', () => {
  it('reads text:word and text:"several words", with signs and weights', () => {
    expect(parts('text:"wifi password"')).toEqual([{ kind: 'words', text: 'wifi password', weight: 1 }]);
    expect(parts('receipt + text:4711 - TEXT:draft')).toEqual([
      { kind: 'text', text: 'receipt', weight: 1 },
      { kind: 'words', text: '4711', weight: 1 },
      { kind: 'words', text: 'draft', weight: -1 },
    ]);
    expect(parts('2:text:"a b"')).toEqual([{ kind: 'words', text: 'a b', weight: 2 }]);
    expect(describePart({ kind: 'words', text: 'wifi password', weight: 1 })).toBe('+ text:"wifi password"');
  });

  it('keeps a quoted "text:…" and words that merely contain text: as ordinary text', () => {
    expect(parts('"text:wifi"')).toEqual([{ kind: 'text', text: 'text:wifi', weight: 1 }]);
    expect(parts('context:wifi')).toEqual([{ kind: 'text', text: 'context:wifi', weight: 1 }]);
  });

  it('refuses text: with nothing after it, and a query of excluded words only', () => {
    expect(error('dog + text:')).toBe('Nothing after text: at character 6: write the words to find in photos, e.g. text:"wifi password".');
    expect(error('text:""')).toMatch(/^Nothing after text:/);
    expect(error('- text:draft')).toMatch(/^Every part is subtracted/);
  });

  it('splits words as the text search matches them', () => {
    expect(searchWords('  Invoice 4711, TOTAL: 38.90 invoice ')).toEqual(['invoice', '4711', 'total', '38.90']);
    expect(searchWords('-- !')).toEqual([]);
  });
});
