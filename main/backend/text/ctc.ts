/**
 * CTC greedy decoding of the recognizer's output: the best class at each step, repeats merged, blanks
 * (class 0) dropped. Class k ≥ 1 is the dictionary's line k − 1; the last class is a space (PaddleOCR's
 * `use_space_char`).
 */

export interface Decoded {
  text: string;
  /** Mean probability of the characters kept (0 when none). */
  score: number;
}

/** Decode row `n` of a [batch, steps, classes] probability tensor; `width` limits it to the steps that saw the strip. */
export function ctcDecode(probs: Float32Array, n: number, steps: number, classes: number, chars: readonly string[], usedSteps = steps): Decoded {
  let text = '';
  let sum = 0;
  let kept = 0;
  let prev = -1;
  const base = n * steps * classes;
  for (let t = 0; t < Math.min(steps, usedSteps); t++) {
    const row = base + t * classes;
    let best = 0;
    let bestP = probs[row]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== prev) {
      text += chars[best - 1] ?? '';
      sum += bestP;
      kept++;
    }
    prev = best;
  }
  return { text, score: kept ? sum / kept : 0 };
}
