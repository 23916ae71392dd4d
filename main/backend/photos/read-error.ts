/**
 * Why a photo cannot be used: the one-line reasons the indexer records as skips and the fronts show
 * ("not an image", "truncated or corrupt image", ...), whichever step found the problem.
 */
import { UnsafeFileError } from '../fs/safe-read';
import { oneLine } from '../../../shared/format';

/** A photo that cannot be used; `reason` is the short phrase the indexer records ("not an image", ...). */
export class ImageReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot use ${file}: ${reason}.`, options);
    this.name = 'ImageReadError';
  }
}

/** Short, user-facing reason why a photo could not be read (no stack, no file name). */
export function describeImageError(e: unknown, _file?: string): string {
  if (e instanceof ImageReadError || e instanceof UnsafeFileError) return e.reason;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'unreadable (permission denied)';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EMFILE' || code === 'ENFILE') return 'too many open files (try again)';
  const msg = String((e as Error)?.message ?? e);
  if (/buffer is empty|empty file/i.test(msg)) return 'empty file';
  if (/unsupported image format|input file is missing|not a known file format|bad seek|is not in a known format/i.test(msg)) return 'not an image';
  if (/pixel limit/i.test(msg)) return 'image too large';
  // sharp's prebuilt libvips reads HEIF containers only with AVIF inside: iPhone HEIC photos land here.
  if (/heif|heic/i.test(msg)) return 'unsupported or corrupt HEIC/HEIF image';
  if (/premature end|truncat|corrupt|invalid|bad|unexpected end|not enough|vipsjpeg|pngload|webp|gifload|tiff|heif|read error|decode/i.test(msg)) return 'truncated or corrupt image';
  return `could not decode image (${oneLine(msg, 120)})`;
}
