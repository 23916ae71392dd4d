/**
 * The desktop bridge, exposed as `window.photoSearch`: `call(method, request)` and `onEvent(listener)`,
 * functions only, never ipcRenderer itself (one XSS would otherwise reach every IPC channel). Main checks
 * every call against the API table (sender, method, request schema), so the bridge needs no method list of
 * its own: the renderer's client builds one function per method from the same table.
 * A sandboxed preload is CommonJS and may only require('electron'): so no imports of shared values here,
 * only types, and the channel names are repeated in main/electron/channels.ts (a unit test keeps them equal).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiEvent, Result } from '../shared/api';

const CALL_CHANNEL = 'photo-search:call';
const EVENT_CHANNEL = 'photo-search:event';

/** What the renderer sees of the desktop app (renderer/src/api/ipc.ts wraps it in the typed client). */
export interface PhotoSearchBridge {
  call(method: string, request?: unknown): Promise<Result<unknown>>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
}

const bridge: PhotoSearchBridge = {
  call: (method, request) => ipcRenderer.invoke(CALL_CHANNEL, method, request) as Promise<Result<unknown>>,
  onEvent(listener) {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
    const handler = (_e: IpcRendererEvent, event: ApiEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('photoSearch', bridge);
