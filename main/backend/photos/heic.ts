/**
 * HEIC/HEIF photos (iPhones save HEVC inside HEIF): sharp's prebuilt libvips reads HEIF only with AV1 inside, so
 * these are decoded by libheif (with libde265 for HEVC) compiled to WebAssembly, from the `libheif-js` package.
 * The decoder applies the file's own rotation and mirroring (irot/imir), so the pixels come out upright; the
 * primary image is the one decoded (a burst or a depth map in the same file are not photos of their own).
 *
 * libheif and libde265 are LGPL-3.0: the package's unmodified glue and .wasm are loaded from its own folder at run
 * time (the installer leaves them outside the app archive: electron-builder.yml), so a user can replace them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ImageReadError } from './read-error';

/** The parts of libheif-js this file uses. */
interface HeifImage {
  get_width(): number;
  get_height(): number;
  is_primary(): boolean;
  display(target: { data: Uint8ClampedArray; width: number; height: number }, done: (out: { data: Uint8ClampedArray } | null) => void): void;
  free(): void;
}
interface LibHeif {
  HeifDecoder: new () => { decode(buf: Uint8Array): HeifImage[]; decoder: { delete(): void } };
}

/** ISO-BMFF brands of HEIF files whose images libheif-js decodes (HEVC); AVIF stays with sharp. */
const HEVC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2']);
const AV1_BRANDS = new Set(['avif', 'avis']);

/** The ftyp box's major and compatible brands, or null when the bytes do not start with one. */
export function ftypBrands(buf: Uint8Array): string[] | null {
  if (buf.length < 16) return null;
  const size = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
  const type = String.fromCharCode(buf[4], buf[5], buf[6], buf[7]);
  if (type !== 'ftyp' || size < 16 || size > Math.min(buf.length, 4096)) return null;
  const brands = [String.fromCharCode(buf[8], buf[9], buf[10], buf[11])];
  for (let p = 16; p + 4 <= size; p += 4) brands.push(String.fromCharCode(buf[p], buf[p + 1], buf[p + 2], buf[p + 3]));
  return brands;
}

/** A HEIF file for libheif (HEVC), not an AVIF (sharp reads those itself). */
export function isHeic(buf: Uint8Array): boolean {
  const brands = ftypBrands(buf);
  if (!brands) return false;
  if (brands.some((b) => AV1_BRANDS.has(b)) && !brands.some((b) => HEVC_BRANDS.has(b))) return false;
  return brands.some((b) => HEVC_BRANDS.has(b) || HEIF_BRANDS.has(b));
}

let lib: LibHeif | null = null;

/** libheif's WebAssembly build, loaded once per process (~0.1 s), from the package's own files. */
function libheif(): LibHeif {
  if (lib) return lib;
  const req = createRequire(__filename);
  const glue = req.resolve('libheif-js/libheif-wasm/libheif.js');
  const wasmBinary = readFileSync(glue.replace(/libheif\.js$/, 'libheif.wasm'));
  const factory = req(glue) as (opts: { wasmBinary: Buffer; print: () => void; printErr: () => void }) => LibHeif;
  // Its own console lines ("Could not parse HEIF file …") would interleave with ours: the reason is reported once, by us.
  lib = factory({ wasmBinary, print: () => {}, printErr: () => {} });
  return lib;
}

export interface HeicPixels {
  /** RGBA, 8 bits per channel, upright. */
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
}

/**
 * Decode the primary image of a HEIC file to RGBA. Its size is checked against `limit` (width × height) before
 * any pixel is decoded; a damaged file throws an ImageReadError with one line.
 */
export async function decodeHeic(buf: Buffer, file: string, limit: number): Promise<HeicPixels> {
  const heif = libheif();
  const decoder = new heif.HeifDecoder();
  let images: HeifImage[] = [];
  try {
    // The wrapper reports a file it cannot parse with console.log and returns no image: the reason goes in our one
    // line instead. decode() is synchronous, so nothing else logs meanwhile.
    const log = console.log;
    console.log = () => {};
    try {
      images = decoder.decode(buf);
    } catch (e) {
      throw new ImageReadError(file, 'truncated or corrupt HEIC/HEIF image', { cause: e });
    } finally {
      console.log = log;
    }
    if (images.length === 0) throw new ImageReadError(file, 'truncated or corrupt HEIC/HEIF image (no image in the file)');
    const image = images.find((i) => i.is_primary()) ?? images[0];
    const width = image.get_width();
    const height = image.get_height();
    if (!(width > 0 && height > 0)) throw new ImageReadError(file, 'truncated or corrupt HEIC/HEIF image');
    if (width * height > limit) {
      throw new ImageReadError(file, `image too large (${((width * height) / 1e6).toFixed(1)} megapixels > limit of ${(limit / 1e6).toFixed(0)} megapixels)`);
    }
    const target = { data: new Uint8ClampedArray(width * height * 4), width, height };
    const out = await new Promise<{ data: Uint8ClampedArray } | null>((resolve) => {
      try {
        image.display(target, resolve);
      } catch {
        resolve(null);
      }
    });
    if (!out) throw new ImageReadError(file, 'truncated or corrupt HEIC/HEIF image (its pixels could not be decoded)');
    return { data: Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength), width, height, channels: 4 };
  } finally {
    for (const i of images) i.free();
    decoder.decoder.delete();
  }
}
