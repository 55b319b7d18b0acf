/**
 * The implementation of every invoke channel of src-main/shared/ipc.ts, without Electron, so the
 * same table serves the Electron main process (main.ts registers it with ipcMain) and the browser
 * mode's HTTP server. What differs between the two (native dialogs, the window, where events go)
 * is behind `Host`. Arguments arrive untrusted: each handler validates them (validate.ts) before use.
 */
import { join } from 'node:path';
import { VERSION } from '../core/version.js';
import type { AppInfo, CatalogueFormat, EventChannel, EventMap, ExportOptions, ImageInfo, InvokeChannel, InvokeResult, RenderRequest, SampleId } from '../shared/ipc.js';
import type { Session } from './session.js';
import type { SettingsStore } from './settings.js';
import {
  AppError,
  checkArity,
  checkAutoLambdaRequest,
  checkCatalogueFormat,
  checkDetectRequest,
  checkExportOptions,
  checkIndex,
  checkOversample,
  checkPathArgument,
  checkPsfFitRequest,
  checkRenderRequest,
  checkSampleId,
  checkSettingsPatch,
  IpcArgumentError,
} from './validate.js';

/** A file type offered in a save dialog. */
export interface FileFilter {
  name: string;
  extensions: string[];
}

/** What the process hosting the handlers provides: Electron's dialogs and window, or the web server's. */
export interface Host {
  /** The runtime for `app:info` (Electron and Chrome versions are empty outside Electron). */
  runtime(): Pick<AppInfo, 'name' | 'electron' | 'chrome'>;
  /** Ask the user for an image to open; null when cancelled. */
  chooseImage(): Promise<string | null>;
  /**
   * Ask the user for a PSF stamp file (FITS or TIFF); null when cancelled. Hosts without it answer
   * `psf:openFile` with 'not-available'.
   */
  choosePsfFile?(): Promise<string | null>;
  /**
   * Give the user a file: Electron asks where to save it and writes it atomically; the browser
   * mode offers it as a download. Resolves to where it went (a path or a file name), or null when
   * the user cancelled.
   */
  saveFile(suggestedName: string, filters: FileFilter[], data: string | Uint8Array): Promise<string | null>;
  /** Deliver an event to the renderer. */
  send<E extends EventChannel>(channel: E, payload: EventMap[E]): void;
  /** An image was opened (window title, menu of recent files). */
  imageOpened?(info: ImageInfo): void;
  /** The recent-files list changed. */
  recentChanged?(): void;
}

export interface HandlerDeps {
  session: Session;
  settings: SettingsStore;
  host: Host;
  /** Detection worker threads, for `app:info`. */
  threads: number;
  /**
   * The folder of the sample images (resources/samples in a checkout, process.resourcesPath/samples
   * in packaged builds); without it `file:openSample` answers 'not-available'.
   */
  samplesDir?: string;
}

/** The file of each sample in the samples folder (the renderer names samples by id only). */
export const SAMPLE_FILES: Record<SampleId, string> = {
  'star-field': 'star-field.fits',
  'smlm-stack': 'smlm-stack.tif',
};

/** One channel's handler: its arity (checked before the call) and the function. */
export interface Handler<C extends InvokeChannel> {
  arity: number;
  /** Trailing arguments that may be left out (default 0). */
  optional?: number;
  run(args: unknown[]): Promise<InvokeResult<C>> | InvokeResult<C>;
}
export type HandlerTable = { [C in InvokeChannel]: Handler<C> };

const EXPORT_FILTERS: Record<CatalogueFormat, FileFilter> = {
  csv: { name: 'CSV catalogue', extensions: ['csv'] },
  ds9: { name: 'DS9 regions', extensions: ['reg'] },
  thunderstorm: { name: 'ThunderSTORM CSV', extensions: ['csv'] },
  fits: { name: 'FITS table', extensions: ['fits', 'fit', 'fts'] },
};

/** The operations the menus share with the handlers. */
export class AppActions {
  constructor(private readonly deps: HandlerDeps) {}

  /** Open an image by path and remember it among the recent files. */
  async openPath(path: string): Promise<ImageInfo> {
    const { session, settings, host } = this.deps;
    const info = await session.open(path);
    settings.addRecent(path);
    host.recentChanged?.();
    host.imageOpened?.(info);
    return info;
  }

  async openWithDialog(): Promise<ImageInfo | null> {
    const path = await this.deps.host.chooseImage();
    return path === null ? null : this.openPath(path);
  }

  /** Open a recent file; a recent file that can no longer be read leaves the list. */
  async openRecent(path: string): Promise<ImageInfo> {
    const { settings, host } = this.deps;
    if (!settings.hasRecent(path)) throw new IpcArgumentError('path', 'is not in the recent-files list');
    try {
      return await this.openPath(path);
    } catch (e) {
      if ((e as { code?: string }).code === 'io-error') {
        settings.removeRecent(path);
        host.recentChanged?.();
      }
      throw e;
    }
  }

  /** Open a sample image; samples are not added to the recent files (the menu always offers them). */
  async openSample(id: SampleId): Promise<ImageInfo> {
    const { session, host, samplesDir } = this.deps;
    if (!samplesDir) throw new AppError('not-available', 'the sample images are not available in this installation');
    const info: ImageInfo = { ...(await session.open(join(samplesDir, SAMPLE_FILES[id]))), sample: id };
    host.imageOpened?.(info);
    return info;
  }

  /** Save the latest catalogue where the user says; the path written, or null when cancelled. */
  async exportWithDialog(format: CatalogueFormat, options: ExportOptions = {}): Promise<string | null> {
    const { data, suggestedName } = this.deps.session.exportCatalogue(format, options);
    return this.deps.host.saveFile(suggestedName, [EXPORT_FILTERS[format]], data);
  }

  /** Save a rendering of the latest catalogue as a 32-bit float TIFF where the user says. */
  async exportRendering(request: RenderRequest): Promise<string | null> {
    const { data, suggestedName } = this.deps.session.renderTiff(request);
    return this.deps.host.saveFile(suggestedName, [{ name: '32-bit float TIFF', extensions: ['tif', 'tiff'] }], data);
  }
}

/** The handler of every invoke channel. */
export function createHandlers(deps: HandlerDeps, actions = new AppActions(deps)): HandlerTable {
  const { session, settings, host } = deps;
  return {
    'app:info': {
      arity: 0,
      run: () => ({
        ...host.runtime(),
        version: VERSION,
        node: process.versions.node,
        platform: process.platform,
        threads: deps.threads,
      }),
    },
    'file:open': { arity: 0, run: () => actions.openWithDialog() },
    'file:drop': { arity: 1, run: ([p]) => actions.openPath(checkPathArgument(p)) },
    'file:recent': { arity: 0, run: () => settings.recent },
    'file:openRecent': { arity: 1, run: ([p]) => actions.openRecent(checkPathArgument(p)) },
    'file:openSample': { arity: 1, run: ([id]) => actions.openSample(checkSampleId(id)) },
    'image:frame': { arity: 2, run: ([id, f]) => session.frame(checkIndex(id, 'imageId'), checkIndex(f, 'frame')) },
    'detect:start': { arity: 1, run: ([r]) => session.detect(checkDetectRequest(r), (p) => host.send('detect:progress', p)) },
    'detect:cancel': { arity: 0, run: () => session.cancel() },
    'detect:autoLambda': { arity: 1, run: ([r]) => session.autoLambda(checkAutoLambdaRequest(r)) },
    'psf:fit': { arity: 1, run: ([r]) => session.fitPsf(checkPsfFitRequest(r)) },
    'psf:openFile': {
      arity: 1,
      run: async ([o]) => {
        const oversample = checkOversample(o);
        if (!host.choosePsfFile) throw new AppError('not-available', 'choosing a PSF file is not available here');
        const path = await host.choosePsfFile();
        return path === null ? null : session.loadPsfFile(path, oversample);
      },
    },
    'settings:get': { arity: 0, run: () => settings.get() },
    'settings:set': { arity: 1, run: ([patch]) => settings.update(checkSettingsPatch(patch)) },
    'catalogue:export': { arity: 1, optional: 1, run: ([f, o]) => actions.exportWithDialog(checkCatalogueFormat(f), checkExportOptions(o)) },
    'render:image': { arity: 1, run: ([r]) => session.render(checkRenderRequest(r)) },
    'render:export': { arity: 1, run: ([r]) => actions.exportRendering(checkRenderRequest(r)) },
  };
}

/** Run a handler with its arity checked. */
export async function invokeHandler<C extends InvokeChannel>(table: HandlerTable, channel: C, args: unknown[]): Promise<InvokeResult<C>> {
  const h = table[channel] as Handler<C>;
  checkArity(args, h.arity, channel, h.optional ?? 0);
  return h.run(args);
}
