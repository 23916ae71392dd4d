/**
 * The model contract shared by the model runtime, the indexer, the trainer and the service.
 *
 * A model = towers (frozen ONNX encoders run by onnxruntime-node) + heads (the small trainable part,
 * trained by TensorFlow.js, run at inference as an ONNX graph built in memory) + a `model.json` manifest.
 * Embeddings are always L2-normalized and carry the model id they came from.
 */
import type { Heads } from './heads-format';
import type { QueryBank } from './query-bank';

/** How a photo becomes the image tower's input tensor. */
export interface ImagePreprocess {
  /** Square side in pixels fed to the tower. */
  size: number;
  /** `cover` = resize shortest side then center-crop (CLIP), `contain` = letterbox, `squash` = ignore aspect. */
  resize: 'cover' | 'contain' | 'squash';
  /** Pixel values are first divided by `rescale` (255 → [0,1]), then (x - mean) / std per channel. */
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Tensor layout the tower expects. */
  layout: 'nchw' | 'nhwc';
}

/**
 * Views of a photo the image tower can also see, from the same decode (model/views.ts): the photo mirrored left to
 * right, and square crops resized back to the tower's size (the middle 80% of each side; 85% from the top-left and
 * from the bottom-right corner). Training learns from them (augmentation); a photo's features can average them.
 */
export type ImageView = 'hflip' | 'crop-center' | 'crop-tl' | 'crop-br';

/**
 * A photo's features as the mean of the tower's features of several views of it (test-time augmentation): a
 * photo seen whole, mirrored and closer up is described by what stays the same across them.
 */
export interface PhotoViews {
  /** The views run through the tower besides the photo itself. */
  views: ImageView[];
  /**
   * Which views each part of the features averages: value ranges [from, to) and the views ('photo' being the photo
   * itself). Values in no range are the photo's own (say, colour grids that must keep left and right apart).
   */
  average: { from: number; to: number; over: ('photo' | ImageView)[] }[];
}

export interface ImageTowerSpec {
  /** ONNX file, relative to the model folder (or absolute). */
  file: string;
  input: string; // e.g. "pixel_values"
  output: string; // e.g. "image_embeds" or "features"
  /** Length of the flat feature vector the tower outputs per image. */
  featureDim: number;
  preprocess: ImagePreprocess;
  /** Optional: a photo's features from several views (PhotoViews). Absent: the photo's own tower features. */
  views?: PhotoViews;
}

export interface TextTowerSpec {
  file: string;
  /** tokenizer.json (Hugging Face tokenizers format), relative to the model folder. */
  tokenizer: string;
  /** Token sequences are padded / truncated to this length. */
  maxLength: number;
  /** Pad id used for input_ids beyond the text. */
  padId: number;
  /** Names of the ONNX inputs. `attentionMask` only when the graph takes one. */
  inputs: { inputIds: string; attentionMask?: string };
  output: string;
  /**
   * What the output is:
   *  - `pooled`: [B, D] one vector per text (CLIP text_embeds);
   *  - `cls`: [B, L, D] last hidden state, take token 0 (DistilBERT/BERT, the tutorial);
   *  - `sequence`: [B, L, D] per-token vectors kept as a sequence; the text head pools them (word-vector towers).
   */
  outputKind: 'pooled' | 'cls' | 'sequence';
  /**
   * For `sequence` towers: an optional second output [B, L] that is 1 for tokens that carry meaning and 0
   * for padding and unknown words (a word-vector tower); only those rows are kept, so unknown words never dilute
   * or dominate the pooled text.
   */
  maskOutput?: string;
  /**
   * Optional: a text file of the words the model knows (one per line, lower case; see known-words.ts). A query
   * with none of them gets "no known words" instead of results. Absent: every query is searched.
   */
  knownWords?: string;
  /**
   * Optional: how a short query (at most three words, not already a phrase) is put in the form of the captions the
   * heads learned from, `{}` standing for the query ("There is a {}": "goldfish" is embedded as "There is a
   * goldfish"). Search only; captions and training texts are used as written. See search/query-text.ts.
   */
  queryTemplate?: string;
  /**
   * Optional: a file of typical captions (one per line) and how strongly text queries are corrected for hubness
   * with it (model/query-bank.ts): photos rank by cos(q, p) − lambda · hub(p), hub(p) a soft maximum (sharpness
   * beta) of p's similarity to the bank. Search and `eval` only; training is unchanged.
   */
  queryBank?: {
    file: string;
    beta: number;
    lambda: number;
    /** The bank already embedded (float32 rows), valid for the heads whose `headsDigest` it names. */
    vectors?: string;
    headsDigest?: string;
  };
  /**
   * Optional: the captioned photos the model was trained on, as tower features (model/caption-memory.ts); a text
   * query is moved toward the photos of its `k` nearest captions (softmax of `temperature` × similarity, by
   * `weight`). Search and `eval` only. A shipped query bank's `vectors` are embedded as queries are, with it.
   */
  captionMemory?: {
    file: string;
    k: number;
    temperature: number;
    weight: number;
  };
  featureDim: number;
  /** ONNX integer type of input_ids. */
  idsType: 'int64' | 'int32';
}

export interface ModelManifest {
  format: 'photo-search-model';
  formatVersion: 1;
  id: string;
  name: string;
  createdAt: string;
  /** Id of the model this one was trained from, if any. */
  parent: string | null;
  description?: string;
  image: ImageTowerSpec;
  text: TextTowerSpec;
  /** Heads weights file (see heads.ts), relative to the model folder. */
  heads: string;
  embedDim: number;
  /** Free-form provenance: data set, options, metrics. */
  training?: {
    dataset?: string;
    options?: Record<string, unknown>;
    metrics?: Record<string, unknown>;
    trainSeconds?: number;
    backend?: string;
  };
  source?: string;
}

/** A text's tower features: flat [D] for pooled/cls, [length, D] for sequence. */
export interface TextFeatures {
  data: Float32Array;
  /** Number of tokens (rows) for `sequence` features; 1 for pooled. */
  length: number;
}

/** One photo decoded and preprocessed for the image tower. */
export interface PreparedImage {
  /** size*size*3 floats in the tower's layout. */
  tensor: Float32Array;
  /** Original (EXIF-rotated) dimensions. */
  width: number;
  height: number;
}

/** A loaded model, ready to embed. Towers load lazily: search needs only the text side. */
export interface EmbeddingModel {
  readonly manifest: ModelManifest;
  readonly dir: string;
  readonly id: string;
  readonly embedDim: number;
  /** Stable id of each tower (hash of its ONNX file + preprocessing), the key of the feature cache. */
  readonly imageTowerKey: string;
  /**
   * The feature-cache key of a photo's features as `photoFeatures` gives them: the tower's key, or with the
   * model's views a key of its own within the tower's (`towerKey#photo-…`), so compaction treats them alike.
   */
  readonly photoFeatureKey: string;
  readonly textTowerKey: string;
  /** The heads' weights as loaded (what retraining starts from). */
  readonly heads: Heads;

  /** Decode with sharp (EXIF rotation), resize and normalize per manifest. Throws a clear Error for bad files. */
  prepareImage(input: string | Buffer): Promise<PreparedImage>;
  /** Run the image tower on a batch; returns one flat feature vector per image (each image as it is). */
  imageFeatures(batch: PreparedImage[]): Promise<Float32Array[]>;
  /**
   * A photo's features as the library indexes and search embeds them: with the model's `image.views`, the tower
   * run on each view too and the views averaged (model/views.ts); else the same as `imageFeatures`.
   */
  photoFeatures(batch: PreparedImage[]): Promise<Float32Array[]>;
  /** Tokenize and run the text tower. */
  textFeatures(texts: string[]): Promise<TextFeatures[]>;
  /** Heads + L2 normalization. */
  embedImageFeatures(features: Float32Array[]): Promise<Float32Array[]>;
  embedTextFeatures(features: TextFeatures[]): Promise<Float32Array[]>;
  /** Convenience: textFeatures then embedTextFeatures. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** Text queries as search embeds them: embedTexts, then moved by the model's caption memory when it has one. */
  embedQueries(texts: string[]): Promise<Float32Array[]>;
  /** Embedded texts moved by the model's caption memory (model/caption-memory.ts); copies when it has none. */
  expandQueries(vectors: readonly Float32Array[]): Promise<Float32Array[]>;
  /** Whether the query has a word the model knows (always true for a model without a word list). */
  knowsAnyWord(text: string): Promise<boolean>;
  /** The model's bank of typical captions, embedded (model/query-bank.ts); null when it has none. */
  queryBank(): Promise<QueryBank | null>;
  dispose(): Promise<void>;
}
