/**
 * The desktop shell: one sandboxed window over the built renderer, the validated IPC API, the photo:// and
 * app:// protocols, the menu and the remembered window state. Indexing and training run in the backend's
 * worker threads; searches, imports and model switches run in this process, asynchronously.
 */
import { app, BrowserWindow, dialog, Menu, screen, session, shell } from 'electron';
import path from 'node:path';
import { type RunningBackend, backendPort, startBackend, resolveDataDir } from '../backend';
import { APP_HOST, APP_SCHEME } from './channels';
import { registerIpc } from './ipc';
import { buildMenu } from './menu';
import { handleProtocols, registerSchemes } from './protocol';
import { loadWindowState, saveWindowState, type WindowState } from './window-state';
import { oneLine } from '../../shared/format';

const DEV = !app.isPackaged && process.env.PHOTO_SEARCH_DEVTOOLS === '1';
const RENDERER_DIR = path.join(__dirname, '..', '..', 'renderer');
const PRELOAD = path.join(__dirname, '..', '..', 'preload', 'index.js');
const START_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

registerSchemes();
app.enableSandbox();

let backend: RunningBackend | null = null;
let mainWindow: BrowserWindow | null = null;

if (!app.requestSingleInstanceLock()) {
  // A second launch focuses the first window instead of opening the same database twice.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app
    .whenReady()
    .then(start)
    .catch((e: unknown) => fatal(e));
}

function fatal(e: unknown): void {
  const message = oneLine(e);
  dialog.showErrorBox('Photo Search could not start', message);
  app.exit(1);
}

async function start(): Promise<void> {
  try {
    backend = await startBackend({ dataDir: resolveDataDir(null), modelDir: process.env.PHOTO_SEARCH_MODEL_DIR || null });
  } catch (e) {
    return fatal(e);
  }
  const b = backend;
  // An interrupted model switch resumes; the search index loads now rather than at the first search.
  void b.startUp();

  // Library folders change rarely; photo requests are many. Refresh the cached list on library events.
  let roots: Promise<string[]> | null = null;
  const allowedRoots = (): Promise<string[]> => {
    roots ??= b.handlers.status().then(
      (st) => [...st.roots, b.thumbnailsDir],
      () => [b.thumbnailsDir],
    );
    return roots;
  };
  b.onEvent((e) => {
    if (e.type === 'library-changed' || (e.type === 'job' && e.job.kind === 'index')) roots = null;
  });

  // Nothing in this app needs a permission (camera, notifications, geolocation…).
  session.defaultSession.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'clipboard-sanitized-write'));

  const port = backendPort(b);
  handleProtocols({ backend: port, rendererDir: RENDERER_DIR, allowedRoots });
  registerIpc({ backend: port, allowedRoots });
  Menu.setApplicationMenu(buildMenu(() => mainWindow, { dev: DEV }));
  createWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

function createWindow(): void {
  const stateFile = path.join(app.getPath('userData'), 'window-state.json');
  const state = loadWindowState(
    stateFile,
    screen.getAllDisplays().map((d) => d.workArea),
  );
  const win = new BrowserWindow({
    x: state.x,
    y: state.y,
    width: state.width,
    height: state.height,
    minWidth: 640,
    minHeight: 480,
    show: false,
    title: 'Photo Search',
    backgroundColor: '#15171b',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  mainWindow = win;
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());

  // Remember size and position (debounced while dragging; once more on close).
  let timer: NodeJS.Timeout | null = null;
  const current = (): WindowState => {
    const bounds = win.getNormalBounds();
    return { ...bounds, maximized: win.isMaximized() };
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void saveWindowState(stateFile, current()).catch(() => undefined), 500);
  };
  win.on('resize', schedule);
  win.on('move', schedule);
  win.on('close', () => {
    if (timer) clearTimeout(timer);
    void saveWindowState(stateFile, current()).catch(() => undefined);
  });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });

  void win.loadURL(START_URL);
}

// Every web contents: no navigation away from the app, no new windows, no <webview>.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (url !== contents.getURL()) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Only plain web links leave the app, and they open in the user's browser.
    if (/^https:\/\//i.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

let closing = false;
app.on('before-quit', (event) => {
  if (!backend || closing) return;
  // Let running jobs stop and the database close before the process exits.
  event.preventDefault();
  closing = true;
  const b = backend;
  backend = null;
  void b.close().finally(() => app.quit());
});
