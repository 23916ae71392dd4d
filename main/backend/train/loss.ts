/**
 * Contrastive losses over a batch of image and text embeddings (raw head outputs).
 *
 * `default` (CLIP): L2-normalise, logits = exp(logitScale) · cos, symmetric cross-entropy. A batch may hold
 * several captions of one photo (and even one photo twice): every (image row, text row) pair of the same
 * photo is a positive, and each row's target distribution spreads evenly over its positives, so one photo
 * with 3 captions does not count as 3 contradicting one-hot targets.
 *
 * `tutorial` (the "CLIP from scratch" tutorial, as written): raw embeddings, logits = text·imageᵀ / T,
 * soft targets = softmax((img·imgᵀ + txt·txtᵀ)/2 · T), loss = mean of CE(logits, targets) and
 * CE(logitsᵀ, targetsᵀ). It assumes one caption per image (row i of each side is the same pair).
 */
import { AppError } from '../errors';
import { l2normalize, matmulT, MAX_LOGIT_SCALE } from './heads-tf';
import { tf } from './tf';

export type LossKind = 'default' | 'tutorial';

/** Row-wise soft cross-entropy: mean over rows of -Σ_j targets_ij · log softmax(logits_i)_j. */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits, -1)), -1)));
}

/** Rows normalised to sum 1 (rows of zeros stay zero). */
function normaliseRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.sum(x, -1, true), 1e-12)) as tf.Tensor2D;
}

/**
 * Multi-positive symmetric InfoNCE. `imagePhoto[i]` / `textPhoto[j]` name the photo of each row; rows of
 * the same photo are positives. Returns the scalar loss.
 */
export function clipLoss(
  image: tf.Tensor2D,
  text: tf.Tensor2D,
  imagePhoto: tf.Tensor1D,
  textPhoto: tf.Tensor1D,
  logitScale: tf.Tensor,
): tf.Scalar {
  return tf.tidy(() => {
    const scale = tf.exp(tf.minimum(logitScale, MAX_LOGIT_SCALE));
    const logits = tf.mul(matmulT(l2normalize(image), l2normalize(text)), scale) as tf.Tensor2D; // [B, M]
    const pos = tf.cast(tf.equal(tf.expandDims(imagePhoto, 1), tf.expandDims(textPhoto, 0)), 'float32') as tf.Tensor2D;
    const i2t = softCrossEntropy(logits, normaliseRows(pos));
    const t2i = softCrossEntropy(tf.transpose(logits) as tf.Tensor2D, normaliseRows(tf.transpose(pos) as tf.Tensor2D));
    return tf.div(tf.add(i2t, t2i), 2) as tf.Scalar;
  });
}

/** The tutorial's soft-target loss (temperature T, 1.0 in the tutorial). */
export function tutorialLoss(image: tf.Tensor2D, text: tf.Tensor2D, temperature = 1): tf.Scalar {
  if (image.shape[0] !== text.shape[0]) throw new AppError('invalid_input', 'The tutorial loss needs one caption per image in each batch.');
  return tf.tidy(() => {
    const logits = tf.div(matmulT(text, image), temperature) as tf.Tensor2D;
    const imagesSim = matmulT(image, image);
    const textsSim = matmulT(text, text);
    const targets = tf.softmax(tf.mul(tf.div(tf.add(imagesSim, textsSim), 2), temperature), -1) as tf.Tensor2D;
    const textsLoss = softCrossEntropy(logits, targets);
    const imagesLoss = softCrossEntropy(tf.transpose(logits) as tf.Tensor2D, tf.transpose(targets) as tf.Tensor2D);
    // mean over rows of (a + b) / 2 == (mean a + mean b) / 2
    return tf.div(tf.add(textsLoss, imagesLoss), 2) as tf.Scalar;
  });
}
