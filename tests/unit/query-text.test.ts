/** Short queries in the form of captions (search/query-text.ts). */
import { describe, expect, it } from 'vitest';
import { queryText } from '../../main/backend/search/query-text';

describe('queryText', () => {
  it('puts a plain name of up to three words in the template', () => {
    expect(queryText('goldfish', 'There is a {}')).toBe('There is a goldfish');
    expect(queryText('  school   bus ', 'There is a {}')).toBe('There is a school bus');
    expect(queryText('red sports car', 'a photo of a {}')).toBe('a photo of a red sports car');
  });

  it('leaves phrases, longer queries and models without a template as typed', () => {
    for (const q of ['a dog', 'The beach', 'two dogs', '3 cats', 'there is a dog', 'dog running on sand']) expect(queryText(q, 'There is a {}')).toBe(q);
    expect(queryText('goldfish', undefined)).toBe('goldfish');
    expect(queryText('   ', 'There is a {}')).toBe('   ');
  });
});
