/**
 * The reference tokenizer of the Universal Sentence Encoder lite, copied from `@energetic-ai/embeddings`
 * 0.2.0 (dist/index.js: `Trie`, `processInput`, `Tokenizer`), itself from TensorFlow.js models'
 * universal-sentence-encoder. Copyright 2019 Google LLC, Apache License 2.0
 * (http://www.apache.org/licenses/LICENSE-2.0). Copied rather than installed: the package pulls in its own
 * TensorFlow.js build. Only types were added; the algorithm, including its quirks, is unchanged.
 */

type Piece = [string[], number, number];

class TrieNode {
  parent: TrieNode | null = null;
  children: Record<string, TrieNode> = {};
  end = false;
  word: Piece = [[], 0, 0];
}

class Trie {
  root = new TrieNode();

  insert(word: string, score: number, index: number): void {
    let node = this.root;
    const symbols = [...word];
    for (let i = 0; i < symbols.length; i++) {
      if (!node.children[symbols[i]]) {
        node.children[symbols[i]] = new TrieNode();
        node.children[symbols[i]].parent = node;
        node.children[symbols[i]].word[0] = node.word[0].concat(symbols[i]);
      }
      node = node.children[symbols[i]];
      if (i === symbols.length - 1) {
        node.end = true;
        node.word[1] = score;
        node.word[2] = index;
      }
    }
  }

  commonPrefixSearch(ss: string[]): Piece[] {
    const output: Piece[] = [];
    let node: TrieNode | undefined = this.root.children[ss[0]];
    for (let i = 0; i < ss.length && node; i++) {
      if (node.end) output.push(node.word);
      node = node.children[ss[i + 1]];
    }
    if (!output.length) output.push([[ss[0]], 0, 0]);
    return output;
  }
}

const separator = '\u2581';

function processInput(str: string): string {
  const normalized = str.normalize('NFKC');
  return normalized.length > 0 ? separator + normalized.replace(/ /g, separator) : normalized;
}

const RESERVED_SYMBOLS_COUNT = 6;

export class ReferenceUseTokenizer {
  private readonly trie = new Trie();

  constructor(private readonly vocabulary: [string, number | null][]) {
    for (let i = RESERVED_SYMBOLS_COUNT; i < vocabulary.length; i++) this.trie.insert(vocabulary[i][0], vocabulary[i][1] as number, i);
  }

  encode(input: string): number[] {
    const nodes: Record<number, { key: string[]; score: number; index: number }[]>[] = [];
    const words: number[] = [];
    const best: number[] = [];
    const symbols = [...processInput(input)];
    for (let i = 0; i <= symbols.length; i++) {
      nodes.push({});
      words.push(0);
      best.push(0);
    }
    for (let i = 0; i < symbols.length; i++) {
      const matches = this.trie.commonPrefixSearch(symbols.slice(i));
      for (const piece of matches) {
        const obj = { key: piece[0], score: piece[1], index: piece[2] };
        const endPos = piece[0].length;
        if (nodes[i + endPos][i] == null) nodes[i + endPos][i] = [];
        nodes[i + endPos][i].push(obj);
      }
    }
    for (let endPos = 0; endPos <= symbols.length; endPos++) {
      for (const startPos in nodes[endPos]) {
        for (const word of nodes[endPos][startPos]) {
          const score = word.score + best[endPos - word.key.length];
          if (best[endPos] === 0 || score >= best[endPos]) {
            best[endPos] = score;
            words[endPos] = word.index;
          }
        }
      }
    }
    const results: number[] = [];
    let iter = words.length - 1;
    while (iter > 0) {
      results.push(words[iter]);
      iter -= this.vocabulary[words[iter]][0].length;
    }
    const merged: number[] = [];
    let isPreviousUnk = false;
    for (const id of results) {
      if (!(isPreviousUnk && id === 0)) merged.push(id);
      isPreviousUnk = id === 0;
    }
    return merged.reverse();
  }
}
