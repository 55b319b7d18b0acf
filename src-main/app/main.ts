/**
 * The Electron main process: one window (sandboxed, context-isolated, no Node in the page, strict
 * CSP, no navigation, no new windows, no permissions), the application menu, the dialogs, and the
 * IPC handlers of src-main/shared/ipc.ts. The work itself is in Electron-free modules: Session
 * (image, frames, detection, catalogue), SettingsStore (settings.json, recent files) and
 * validate.ts (every IPC argument). Failures become messages in the window; the app keeps running.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  session as electronSession,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
  type WebContents,
} from 'electron';
import workerPath from '../jobs/detect.worker.ts?modulePath';
import { writeAtomic } from '../cli/io.js';
import { VERSION } from '../core/version.js';
import { DetectPool } from '../jobs/pool.js';
import { SAMPLES, type EventChannel, type EventMap, type InvokeChannel, type InvokeResult, type IpcResult } from '../shared/ipc.js';
import { AppActions, createHandlers, invokeHandler, type HandlerTable, type Host } from './handlers.js';
import { CONTENT_SECURITY_POLICY, isAppUrl } from './security.js';
import { Session } from './session.js';
import { SettingsStore, WINDOW_LIMITS } from './settings.js';
import { AppError, toIpcError } from './validate.js';

const here = import.meta.dirname;
const PRELOAD = join(here, '../preload/preload.cjs');
const RENDERER_HTML = join(here, '../renderer/index.html');
const RENDERER_FILE_URL = pathToFileURL(RENDERER_HTML).href;
const DEV_URL = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;

const THREADS = Math.max(1, availableParallelism() - 1);

let mainWindow: BrowserWindow | null = null;
let settings: SettingsStore;
let work: Session;
let pool: DetectPool;
let actions: AppActions;

// ---------------------------------------------------------------------------------------------
// Security: every web contents, now and later.

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

function lockDownSession(): void {
  const s = electronSession.defaultSession;
  s.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  s.setPermissionCheckHandler(() => false);
  // The strict policy on every response (the page's meta tag says the same). The dev server's
  // pages keep their own, relaxed for hot reload (electron.vite.config.ts devCsp).
  s.webRequest.onHeadersReceived((details, callback) => {
    if (DEV_URL) return callback({});
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  // No remote content: only our files (and the dev server in development) load.
  s.webRequest.onBeforeRequest((details, callback) => {
    const u = details.url;
    const ok = u.startsWith('file:') || u.startsWith('devtools:') || u.startsWith('data:') || u.startsWith('blob:') || (DEV_URL !== undefined && (u.startsWith(DEV_URL) || u.startsWith(DEV_URL.replace(/^http/, 'ws'))));
    callback({ cancel: !ok });
  });
}

// ---------------------------------------------------------------------------------------------
// IPC

function send<E extends EventChannel>(channel: E, payload: EventMap[E]): void {
  const w = mainWindow;
  if (w && !w.isDestroyed()) w.webContents.send(channel, payload);
}

function fromOurPage(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || frame !== event.sender.mainFrame) return false;
  if (!mainWindow || event.sender !== mainWindow.webContents) return false;
  return isAppUrl(frame.url, RENDERER_FILE_URL, DEV_URL);
}

/** Register every channel of the handler table: sender checked, errors turned into IpcResult errors. */
function registerIpc(table: HandlerTable): void {
  for (const channel of Object.keys(table) as InvokeChannel[]) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<IpcResult<InvokeResult<typeof channel>>> => {
      try {
        if (!fromOurPage(event)) throw new AppError('invalid-argument', 'refused: the call does not come from the app window');
        return { ok: true, value: await invokeHandler(table, channel, args) };
      } catch (e) {
        const error = toIpcError(e);
        if (error.code === 'internal') console.error(`[${channel}]`, e);
        return { ok: false, error };
      }
    });
  }
}

const IMAGE_FILTERS = [
  { name: 'Images (FITS, TIFF)', extensions: ['fits', 'fit', 'fts', 'gz', 'tif', 'tiff'] },
  { name: 'All files', extensions: ['*'] },
];

/** Electron's side of the handlers: native dialogs, the window title, the menu, webContents events. */
const electronHost: Host = {
  runtime: () => ({ name: app.getName(), electron: process.versions.electron ?? '', chrome: process.versions.chrome ?? '' }),
  async chooseImage() {
    const w = mainWindow;
    const options = { title: 'Open image', properties: ['openFile' as const], filters: IMAGE_FILTERS };
    const r = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
    return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!;
  },
  async choosePsfFile() {
    const w = mainWindow;
    const options = { title: 'Choose a PSF file', properties: ['openFile' as const], filters: IMAGE_FILTERS };
    const r = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
    return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!;
  },
  async saveFile(suggestedName, filters, data) {
    const options = { title: 'Export catalogue', defaultPath: suggestedName, filters };
    const w = mainWindow;
    const r = w ? await dialog.showSaveDialog(w, options) : await dialog.showSaveDialog(options);
    if (r.canceled || !r.filePath) return null;
    writeAtomic(r.filePath, data);
    return r.filePath;
  },
  send,
  imageOpened(info) {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.setTitle(`${info.name} — CPGD Sources`);
  },
  recentChanged: () => rebuildMenu(),
};

// ---------------------------------------------------------------------------------------------
// Menu

function reportError(e: unknown): void {
  send('app:message', { level: 'error', text: toIpcError(e).message });
}

function rebuildMenu(): void {
  const recent = settings.recent;
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        {
          label: 'Open…',
          accelerator: 'CmdOrCtrl+O',
          click: () => {
            actions.openWithDialog().then((info) => info && send('image:opened', info), reportError);
          },
        },
        {
          label: 'Open Recent',
          submenu:
            recent.length === 0
              ? [{ label: 'No recent files', enabled: false }]
              : recent.map((p) => ({
                  label: p,
                  click: () => {
                    actions.openPath(p).then((info) => send('image:opened', info), reportError);
                  },
                })),
        },
        {
          label: 'Open Sample',
          submenu: SAMPLES.map((s) => ({
            label: `${s.title} (${s.description})`,
            click: () => {
              actions.openSample(s.id).then((info) => send('image:opened', info), reportError);
            },
          })),
        },
        { type: 'separator' },
        { label: 'Export catalogue as CSV…', accelerator: 'CmdOrCtrl+E', click: () => actions.exportWithDialog('csv').catch(reportError) },
        { label: 'Export catalogue as DS9 regions…', click: () => actions.exportWithDialog('ds9').catch(reportError) },
        { label: 'Export catalogue as ThunderSTORM CSV…', click: () => actions.exportWithDialog('thunderstorm').catch(reportError) },
        { label: 'Export catalogue as FITS table…', click: () => actions.exportWithDialog('fits').catch(reportError) },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit', label: 'Quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'About CPGD Sources',
          click: () => {
            const detail = `Version ${VERSION}\nElectron ${process.versions.electron}, Chrome ${process.versions.chrome}, Node ${process.versions.node}\nDetection workers: ${pool.size}`;
            const options = { type: 'info' as const, title: 'About', message: 'CPGD Sources', detail };
            if (mainWindow) void dialog.showMessageBox(mainWindow, options);
            else void dialog.showMessageBox(options);
          },
        },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

// ---------------------------------------------------------------------------------------------
// Window

function createWindow(): BrowserWindow {
  const size = settings.get().window;
  const w = new BrowserWindow({
    width: size.width,
    height: size.height,
    minWidth: WINDOW_LIMITS.minWidth,
    minHeight: WINDOW_LIMITS.minHeight,
    show: false,
    title: 'CPGD Sources',
    backgroundColor: '#14161a',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  if (size.maximized) w.maximize();
  w.once('ready-to-show', () => w.show());
  w.on('close', () => {
    const b = w.getNormalBounds();
    try {
      settings.setWindow({ width: b.width, height: b.height, maximized: w.isMaximized() });
    } catch (e) {
      console.error('cannot save the window size:', e);
    }
  });
  w.on('closed', () => {
    if (mainWindow === w) mainWindow = null;
    work.cancel();
  });
  const wc: WebContents = w.webContents;
  wc.on('render-process-gone', (_e, details) => console.error('renderer gone:', details.reason));
  if (DEV_URL) void w.loadURL(DEV_URL);
  else void w.loadFile(RENDERER_HTML);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

// A bug in a handler must not take the app down with an unexplained dialog: log it.
process.on('unhandledRejection', (reason) => console.error('unhandled rejection:', reason));

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });

  app.whenReady().then(() => {
    settings = new SettingsStore(app.getPath('userData'));
    // Packaged builds unpack the worker next to app.asar (package.json build.asarUnpack):
    // worker_threads cannot start a script from inside the archive.
    // Workers report as often as the window is told (100 ms): each report carries a particle snapshot.
    pool = new DetectPool({ threads: THREADS, progressIntervalMs: 100, workerUrl: workerPath.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1') });
    work = new Session({ pool, progressIntervalMs: 100 });
    // Packaged: electron-builder's extraResources copies resources/samples next to app.asar.
    const samplesDir = app.isPackaged ? join(process.resourcesPath, 'samples') : join(app.getAppPath(), 'resources', 'samples');
    const deps = { session: work, settings, host: electronHost, threads: pool.size, samplesDir };
    actions = new AppActions(deps);
    lockDownSession();
    registerIpc(createHandlers(deps, actions));
    rebuildMenu();
    mainWindow = createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app.on('will-quit', () => {
    void pool?.close();
  });
}
