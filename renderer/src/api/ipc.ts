/** PhotoSearchApi over the desktop app's preload bridge (window.photoSearch); photos by the photo:// protocol. */
import type { ApiMethod, PhotoSearchApi, Result } from '../../../shared/api';
import { buildApi } from './build';

/** What preload/index.ts exposes: every request method plus onEvent, functions only. */
export type PhotoSearchBridge = Omit<PhotoSearchApi, 'photoUrl' | 'desktop'>;

declare global {
  interface Window {
    photoSearch?: PhotoSearchBridge;
  }
}

export function createIpcApi(bridge: PhotoSearchBridge): PhotoSearchApi {
  // A rejected invoke (main not ready, handler missing) still becomes a Result the UI can show.
  async function call<T>(method: ApiMethod, request?: unknown): Promise<Result<T>> {
    try {
      const fn = bridge[method] as (req?: unknown) => Promise<Result<T>>;
      return await fn(request);
    } catch (e) {
      return { ok: false, code: 'internal', message: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  }

  return buildApi(call, {
    photoUrl: (id, size) => `photo://${size}/${id}`,
    onEvent: (listener) => bridge.onEvent(listener),
    desktop: true,
  });
}
