/**
 * What a fine-tune's base knew, checked: some of the pairs it was trained on (its caption memory's rows, kept out of
 * rehearsal) ranked by the heads being trained, each caption mean against the check's photos. A candidate step that
 * ranks them clearly worse than the start has unlearned the base's kind of photo, whatever it gains on the new set
 * (cross-validate.ts leaves it out of the choice).
 */
import type { TrainingBatches } from './batches';
import { textToImageRanks } from './evaluate';
import type { TfHeads } from './heads-tf';
import { tf } from './tf';

/**
 * The check's measure, R@1 (its photos were trained on, so R@5 is near 100 and barely moves), and the drop tolerated as
 * noise (points), besides two standard errors.
 */
export const BASE_CHECK_K = 1;
export const BASE_CHECK_TOLERANCE = 1;

export class BaseCheck {
  private readonly images: tf.Tensor1D;
  private readonly texts: tf.Tensor1D;
  private readonly own: number[];

  /** `rows`: rehearsal rows (batches.ts) that are never replayed. */
  constructor(
    private readonly data: TrainingBatches,
    rows: readonly number[],
  ) {
    this.images = tf.tensor1d(rows.map((m) => data.rehearsalRow(m).image), 'int32');
    this.texts = tf.tensor1d(rows.map((m) => data.rehearsalRow(m).text), 'int32');
    this.own = rows.map((_, i) => i);
  }

  get size(): number {
    return this.own.length;
  }

  /** Each check caption's rank of its own photo among the check's photos. */
  async ranks(h: TfHeads): Promise<Int32Array> {
    const scores = tf.tidy(() => {
      const e = this.data.embedRows(h, this.images, this.texts);
      return tf.matMul(e.texts, e.images, false, true);
    });
    const data = (await scores.data()) as Float32Array;
    scores.dispose();
    return textToImageRanks(data, this.own.length, this.own);
  }

  dispose(): void {
    tf.dispose([this.images, this.texts]);
  }
}
