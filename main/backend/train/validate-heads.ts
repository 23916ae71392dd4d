/**
 * Scores heads on a training run's validation photos: text→image and image→text recall over the validation
 * photos only, each caption's rank of its own photo, and the loss over fixed, seeded batches (eval mode).
 */
import type { EvalResult } from '../../../shared/api';
import type { Heads } from '../model/heads-format';
import type { TrainingBatches } from './batches';
import { recallFromScores, textToImageRanks } from './evaluate';
import { TfHeads } from './heads-tf';
import { makeRng } from './split';
import { tf } from './tf';

export interface Validation {
  val: EvalResult | null;
  loss: number | null;
  ranks: Int32Array | null;
}

const CHUNK = 1024;

export class HeadsValidator {
  /** Validation captions, in a fixed order, with their photo's position among the validation photos. */
  private readonly caps: number[] = [];
  private readonly capPhoto: number[] = [];

  constructor(
    private readonly data: TrainingBatches,
    readonly photos: number[],
    private readonly opts: { batchSize: number; captionsPerPhoto: number; seed: number },
  ) {
    const index = new Map(photos.map((p, i) => [p, i]));
    for (const p of photos) {
      for (const j of data.capsByPhoto.get(p)!) {
        this.caps.push(j);
        this.capPhoto.push(index.get(p)!);
      }
    }
  }

  /** Recall, ranks and loss of `h` on the validation photos (nothing without validation photos). */
  async validate(h: TfHeads): Promise<Validation> {
    const photos = this.photos;
    if (photos.length === 0) return { val: null, loss: null, ranks: null };
    const embed = (fn: (s: number, e: number) => tf.Tensor2D, n: number): tf.Tensor2D =>
      tf.tidy(() => {
        const parts: tf.Tensor2D[] = [];
        for (let s = 0; s < n; s += CHUNK) parts.push(fn(s, Math.min(n, s + CHUNK)));
        return tf.concat(parts, 0);
      });
    const imgEmb = embed((s, e) => h.embedImages(tf.gather(this.data.images, photos.slice(s, e))), photos.length);
    const txtEmb = embed((s, e) => {
      const t = this.data.textRows(this.caps.slice(s, e));
      return h.embedTexts(t.x, t.mask);
    }, this.caps.length);
    const scores = tf.tidy(() => tf.matMul(txtEmb, tf.transpose(imgEmb)));
    const data = (await scores.data()) as Float32Array;
    tf.dispose([imgEmb, txtEmb, scores]);
    const val = recallFromScores(data, photos.length, this.capPhoto);
    return { val, loss: await this.loss(h), ranks: textToImageRanks(data, photos.length, this.capPhoto) };
  }

  /** Validation of other heads (a blend), on a copy that is disposed afterwards. */
  async score(heads: Heads): Promise<Validation> {
    const probe = new TfHeads(heads);
    try {
      return await this.validate(probe);
    } finally {
      probe.dispose();
    }
  }

  /** Loss over fixed batches of the validation photos (the same seeded caption picks every time), eval mode. */
  private async loss(h: TfHeads): Promise<number | null> {
    const B = this.opts.batchSize;
    const vr = makeRng(this.opts.seed ^ 0x5eed);
    let total = 0;
    let count = 0;
    for (let s = 0; s + 1 < this.photos.length; s += B) {
      const photos = this.photos.slice(s, s + B);
      if (photos.length < 2) break;
      const caps = this.data.pickCaptions(photos, this.opts.captionsPerPhoto, vr);
      const l = tf.tidy(() => this.data.loss(h, photos, caps, false, 0));
      total += (await l.data())[0]! * photos.length;
      count += photos.length;
      l.dispose();
    }
    return count ? total / count : null;
  }
}
