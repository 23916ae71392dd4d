/** The test oracle for the vector index: an exact brute-force top-k over a row-major matrix. */
import { TopK, dotRow, type Hit } from '../../main/backend/search/topk';

export function bruteForceTopK(ids: ArrayLike<number>, matrix: Float32Array, dim: number, q: Float32Array, k: number): Hit[] {
  const top = new TopK(Math.min(k, ids.length));
  for (let r = 0; r < ids.length; r++) top.push(dotRow(matrix, r, dim, q), ids[r]);
  return top.result();
}
