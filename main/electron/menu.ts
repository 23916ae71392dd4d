/**
 * The native menu. Shortcuts that drive the UI (find, switch sections) are handled by the renderer so they
 * work the same in browser mode; the menu shows them without registering them, and a click replays the key.
 */
import { Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';

export function buildMenu(getWindow: () => BrowserWindow | null, opts: { dev: boolean }): Menu {
  const isMac = process.platform === 'darwin';
  const mod = isMac ? 'meta' : 'control';

  const replay = (key: string) => () => {
    const win = getWindow();
    if (!win) return;
    win.focus();
    win.webContents.sendInputEvent({ type: 'keyDown', keyCode: key, modifiers: [mod] });
    win.webContents.sendInputEvent({ type: 'keyUp', keyCode: key, modifiers: [mod] });
  };
  const uiShortcut = (label: string, key: string): MenuItemConstructorOptions => ({
    label,
    accelerator: `CmdOrCtrl+${key.toUpperCase()}`,
    registerAccelerator: false,
    click: replay(key),
  });

  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [uiShortcut('Library…', '2'), { type: 'separator' }, isMac ? { role: 'close' } : { role: 'quit' }],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        uiShortcut('Find Photos', 'f'),
        { type: 'separator' },
        uiShortcut('Search', '1'),
        uiShortcut('Library', '2'),
        uiShortcut('Training', '3'),
        uiShortcut('Models', '4'),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(opts.dev ? [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }] : []),
      ],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ role: 'about' }] },
  ];
  return Menu.buildFromTemplate(template);
}
