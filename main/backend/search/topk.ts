/**
 * Top-K selection without a full sort: a bounded min-heap keeps the K best seen so far, so a scan over
 * N scores costs O(N log K) and, for K ≪ N, mostly one comparison per score.
 *
 * Order everywhere: higher score first; equal scores by smaller id first (deterministic ties).
 */

export interface Hit {
  id: number;
  score: number;
}

/** True when (sa, ia) ranks below (sb, ib). */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/** Keeps the best `k` (score, id) pairs pushed into it. */
export class TopK {
  private readonly scores: Float64Array;
  private readonly ids: Float64Array;
  private n = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(Math.max(0, k));
    this.ids = new Float64Array(Math.max(0, k));
  }

  get size(): number {
    return this.n;
  }

  /** Score of the worst kept pair once full (anything not better is rejected), else -Infinity. */
  get floor(): number {
    return this.n < this.k ? -Infinity : this.scores[0];
  }

  push(score: number, id: number): void {
    if (this.k <= 0) return;
    if (this.n < this.k) {
      // Sift up from the new leaf.
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(score, id, this.scores[p], this.ids[p])) break;
        this.scores[i] = this.scores[p];
        this.ids[i] = this.ids[p];
        i = p;
      }
      this.scores[i] = score;
      this.ids[i] = id;
      return;
    }
    if (!worse(this.scores[0], this.ids[0], score, id)) return;
    // Replace the root (the worst) and sift down.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && worse(this.scores[r], this.ids[r], this.scores[l], this.ids[l]) ? r : l;
      if (!worse(this.scores[c], this.ids[c], score, id)) break;
      this.scores[i] = this.scores[c];
      this.ids[i] = this.ids[c];
      i = c;
    }
    this.scores[i] = score;
    this.ids[i] = id;
  }

  /** The kept pairs, best first. */
  result(): Hit[] {
    const out: Hit[] = [];
    for (let i = 0; i < this.n; i++) out.push({ id: this.ids[i], score: this.scores[i] });
    return out.sort(compareHits);
  }
}

export function compareHits(a: Hit, b: Hit): number {
  return b.score - a.score || a.id - b.id;
}

/**
 * The k-th largest value among scores[0..count) (or -Infinity when count < k): the cut-off a candidate
 * must reach. A min-heap of plain floats, since only the value matters here.
 */
export function kthLargest(scores: ArrayLike<number>, count: number, k: number): number {
  if (k <= 0 || count < k) return -Infinity;
  const heap = new Float64Array(k);
  for (let i = 0; i < k; i++) heap[i] = scores[i];
  // Heapify the first k values, then only values above the root enter.
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i, k);
  for (let i = k; i < count; i++) {
    const s = scores[i];
    if (s > heap[0]) {
      heap[0] = s;
      siftDown(heap, 0, k);
    }
  }
  return heap[0];
}

function siftDown(h: Float64Array, i: number, n: number): void {
  const v = h[i];
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && h[l + 1] < h[l] ? l + 1 : l;
    if (h[c] >= v) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

/** Dot product of a stored row with the query, accumulated in float64 (the reference score). */
export function dotRow(matrix: Float32Array, row: number, dim: number, q: Float32Array): number {
  let s = 0;
  const o = row * dim;
  for (let j = 0; j < dim; j++) s += matrix[o + j] * q[j];
  return s;
}
