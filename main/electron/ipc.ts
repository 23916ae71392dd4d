/**
 * IPC wiring: one validated `ipcMain.handle` for every API method, events forwarded to every window, and the
 * desktop-only actions (open a photo, show it in its folder, pick a folder) done with shell and dialog.
 */
import { BrowserWindow, dialog, ipcMain, shell } from 'electron';
import type { BackendPort, Result } from '../../shared/api';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels';
import { dispatchCall, type DesktopOverrides } from './dispatch';
import { resolveAllowedFile } from './protocol-paths';

export function registerIpc(opts: { backend: BackendPort; allowedRoots: () => Promise<string[]> }): () => void {
  const { backend } = opts;

  /** A photo's original file, only when it is inside the library folders. */
  async function photoPath({ id }: { id: number }): Promise<Result<string>> {
    const file = await backend.photoFile(id, 'original');
    if (!file) return { ok: false, code: 'not_found', message: `No photo with id ${id}; search again.` };
    const allowed = await resolveAllowedFile(file, await opts.allowedRoots());
    if (!allowed) return { ok: false, code: 'forbidden', message: `${file} is not inside a library folder (or no longer exists).` };
    return { ok: true, value: allowed };
  }

  const overrides: DesktopOverrides = {
    async openPhoto(request) {
      const p = await photoPath(request);
      if (!p.ok) return p;
      const problem = await shell.openPath(p.value);
      return problem ? { ok: false, code: 'internal', message: `Could not open ${p.value}: ${problem}` } : { ok: true, value: null };
    },
    async showInFolder(request) {
      const p = await photoPath(request);
      if (!p.ok) return p;
      shell.showItemInFolder(p.value);
      return { ok: true, value: null };
    },
    async pickFolder() {
      const win = BrowserWindow.getFocusedWindow();
      const options: Electron.OpenDialogOptions = { title: 'Add a folder of photos', properties: ['openDirectory'] };
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return { ok: true, value: r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0] };
    },
  };

  ipcMain.handle(CALL_CHANNEL, (event, method: unknown, request: unknown) =>
    dispatchCall(backend, overrides, event.senderFrame?.url, method, request),
  );

  const off = backend.onEvent((e) => {
    for (const win of BrowserWindow.getAllWindows()) {
      if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, e);
    }
  });

  return () => {
    off();
    ipcMain.removeHandler(CALL_CHANNEL);
  };
}
