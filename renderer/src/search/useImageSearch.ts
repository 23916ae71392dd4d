/** Searching by an image that need not be in the library: dropped, pasted or chosen, checked here before anything is sent. */
import { useEffect, useState } from 'react';
import { MAX_SEARCH_IMAGE_BYTES } from '../../../shared/api';
import { urlFor } from './url';
import { PAGE, type Search } from './useSearch';

const MB = 1024 * 1024;

export const firstFile = (list: FileList | null | undefined): File | null => (list && list.length > 0 ? list[0]! : null);

export function useImageSearch({ mode, setMode, setSelected, setLimit, setViewer }: Search) {
  /** Why a dropped, pasted or chosen image was refused (kept apart so a search answer does not clear it). */
  const [imageError, setImageError] = useState<string | null>(null);

  // The dropped image's preview URL lives as long as its chip.
  useEffect(() => {
    if (mode.kind !== 'image') return;
    const url = mode.url;
    return () => URL.revokeObjectURL(url);
  }, [mode]);

  const searchByFile = (file: File) => {
    setImageError(null);
    if (file.type && !file.type.startsWith('image/')) {
      setImageError(`${file.name} is not an image (${file.type}): drop or choose a JPEG, PNG, WebP, GIF, TIFF or AVIF file.`);
      return;
    }
    if (file.size > MAX_SEARCH_IMAGE_BYTES) {
      setImageError(`${file.name} is ${(file.size / MB).toFixed(1)} MB: an image to search by can be at most ${MAX_SEARCH_IMAGE_BYTES / MB} MB. Choose a smaller copy.`);
      return;
    }
    if (file.size === 0) {
      setImageError(`${file.name} is empty: choose another image.`);
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      // A data URL: the base64 after the comma is what the API takes.
      setMode({ kind: 'image', name: file.name || 'pasted image', data: url.slice(url.indexOf(',') + 1), url: URL.createObjectURL(file) });
      setSelected(0);
      setLimit(PAGE);
      setViewer(null);
      window.history.replaceState(window.history.state, '', urlFor('', { kind: 'text' }));
    };
    reader.onerror = () => setImageError(`Could not read ${file.name}: choose the image again or try another one.`);
    reader.readAsDataURL(file);
  };

  const onPaste = (e: React.ClipboardEvent) => {
    const file = firstFile(e.clipboardData.files);
    if (!file) return; // plain text pastes as usual
    e.preventDefault();
    searchByFile(file);
  };

  const onDragOver = (e: React.DragEvent) => {
    if (e.dataTransfer.types.includes('Files')) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  };

  const onDrop = (e: React.DragEvent) => {
    const file = firstFile(e.dataTransfer.files);
    if (!file) return;
    e.preventDefault();
    searchByFile(file);
  };

  return { imageError, setImageError, searchByFile, onPaste, onDragOver, onDrop };
}
