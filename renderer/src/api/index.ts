/** Pick the transport once at start: the desktop preload bridge when present, else the browser-mode server. */
import type { PhotoSearchApi } from '../../../shared/api';
import { createHttpApi } from './http';
import { createIpcApi } from './ipc';

export function createApi(): PhotoSearchApi {
  return window.photoSearch ? createIpcApi(window.photoSearch) : createHttpApi('');
}
