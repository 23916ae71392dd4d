/**
 * Photo bytes → the pixels the text reader looks at: opened as every decode opens a photo (decode.ts: HEIC and
 * RAW through their own readers, EXIF rotation applied, so a phone photo of a receipt taken sideways reads
 * upright), transparency on white, at most `maxSide` pixels on the longer side (shrink-on-load: an enormous
 * screenshot or a 50 MP scan is never decoded at full size) and never enlarged. `maxSide` may depend on the
 * photo's own size (EXIF-turned): the text pass first decodes a large photo only as large as its first look needs.
 */
import { DEFAULT_PIXEL_LIMIT, openPhoto } from './decode';
import { describeImageError, ImageReadError } from './read-error';

/** uint8 RGB, row-major, `width` × `height`. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export async function decodeForText(
  buf: Buffer,
  maxSide: number | ((width: number, height: number) => number),
  file = '<image data>',
  limitInputPixels = DEFAULT_PIXEL_LIMIT,
): Promise<RgbImage> {
  const { img, width, height } = await openPhoto(buf, file, limitInputPixels, 'error');
  const side = typeof maxSide === 'number' ? maxSide : maxSide(width, height);
  try {
    const out = await img
      .resize(side, side, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3) throw new Error(`decoded ${out.info.channels} channels`);
    return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width: out.info.width, height: out.info.height };
  } catch (e) {
    throw new ImageReadError(file, describeImageError(e), { cause: e });
  }
}
