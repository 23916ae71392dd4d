/**
 * The desktop bridge: exposes one function per API method plus onEvent as `window.photoSearch`.
 * Never ipcRenderer itself (one XSS would otherwise reach every IPC channel).
 * A sandboxed preload is CommonJS and may only require('electron'): so no imports of shared values here,
 * only types, and the channel names are repeated in main/electron/channels.ts (a unit test keeps them equal).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiEvent, ApiMethod, PhotoSearchApi } from '../shared/api';

const CALL_CHANNEL = 'photo-search:call';
const EVENT_CHANNEL = 'photo-search:event';

// `satisfies` makes the compiler fail when the contract gains or loses a method.
const METHODS = {
  status: true,
  search: true,
  searchLike: true,
  folders: true,
  addFolder: true,
  removeFolder: true,
  rescan: true,
  skipped: true,
  jobs: true,
  cancelJob: true,
  inspectCaptionSet: true,
  startTraining: true,
  models: true,
  activateModel: true,
  importModel: true,
  removeModel: true,
  openPhoto: true,
  showInFolder: true,
  pickFolder: true,
} satisfies Record<ApiMethod, true>;

type Bridge = Omit<PhotoSearchApi, 'photoUrl' | 'desktop'>;

const bridge: Record<string, unknown> = {};
for (const method of Object.keys(METHODS) as ApiMethod[]) {
  bridge[method] = (request?: unknown) => ipcRenderer.invoke(CALL_CHANNEL, method, request);
}
bridge.onEvent = (listener: (e: ApiEvent) => void): (() => void) => {
  if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
  const handler = (_e: IpcRendererEvent, event: ApiEvent) => listener(event);
  ipcRenderer.on(EVENT_CHANNEL, handler);
  return () => {
    ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  };
};

contextBridge.exposeInMainWorld('photoSearch', bridge as unknown as Bridge);
