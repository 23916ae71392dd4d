/** PhotoSearchApi over the desktop app's preload bridge (window.photoSearch); photos by the photo:// protocol. */
import type { PhotoSearchApi, Result } from '../../../shared/api';
import type { PhotoSearchBridge } from '../../../preload/index';
import { oneLine } from '../../../shared/format';
import { buildApi } from './build';

export type { PhotoSearchBridge };

declare global {
  interface Window {
    photoSearch?: PhotoSearchBridge;
  }
}

export function createIpcApi(bridge: PhotoSearchBridge): PhotoSearchApi {
  // A rejected invoke (main not ready, handler missing) still becomes a Result the UI can show.
  async function call(method: string, request?: unknown): Promise<Result<unknown>> {
    try {
      return await bridge.call(method, request);
    } catch (e) {
      return { ok: false, code: 'internal', message: oneLine(e) };
    }
  }

  return buildApi(call, {
    photoUrl: (id, size) => `photo://${size}/${id}`,
    onEvent: (listener) => bridge.onEvent(listener),
    desktop: true,
  });
}
