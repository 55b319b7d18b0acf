/**
 * What the window works on: the open image and its current frame, the detection parameters (kept
 * in main's settings), the running detection and its result, and messages for the user. Every
 * call to main goes through window.cpgd (the typed map of src-main/shared/ipc.ts).
 */
import type {
  AppInfo,
  CatalogueFormat,
  CpgdApi,
  DetectProgress,
  DetectRequest,
  DetectSummary,
  DroppedFile,
  FrameData,
  ImageInfo,
  IpcResult,
  SettingsPatch,
} from '../../src-main/shared/ipc.js';
import { defaultParams, type DetectParams } from '../lib/params.js';

export interface Message {
  level: 'info' | 'error';
  text: string;
}

export class Workspace {
  readonly api: CpgdApi | null;
  appInfo = $state<AppInfo | null>(null);
  image = $state<ImageInfo | null>(null);
  /** The frame shown; raw: its pixels are never proxied. */
  frame = $state.raw<FrameData | null>(null);
  frameIndex = $state(0);
  loading = $state(false);
  recent = $state<string[]>([]);
  message = $state<Message | null>(null);
  params = $state<DetectParams>(defaultParams());
  running = $state(false);
  progress = $state.raw<DetectProgress | null>(null);
  result = $state.raw<DetectSummary | null>(null);
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private unsubscribe: (() => void)[] = [];
  /** Called with each newly opened image (the display fits it to the canvas). */
  onImage: ((info: ImageInfo) => void) | null = null;

  constructor(api: CpgdApi | null) {
    this.api = api;
  }

  /** Sources of the result, when it belongs to the frame shown. */
  get sources() {
    const r = this.result;
    const f = this.frame;
    return r && f && r.imageId === f.imageId && r.frame === f.frame ? r.sources : [];
  }

  async init(): Promise<void> {
    const api = this.api;
    if (!api) {
      this.message = { level: 'error', text: 'This page runs outside the desktop app: there is no access to files. Start it with `npm start`.' };
      return;
    }
    this.unsubscribe.push(
      api.on('detect:progress', (p) => {
        if (this.running) this.progress = p;
      }),
      api.on('image:opened', (info) => void this.adopt(info)),
      api.on('app:message', (m) => {
        this.message = m;
        void this.refreshRecent();
      }),
    );
    const [info, settings] = await Promise.all([api.invoke('app:info'), api.invoke('settings:get')]);
    if (info.ok) this.appInfo = info.value;
    if (settings.ok) {
      const { psf, lambda, background, camera } = settings.value;
      this.params = { psf, lambda, background, camera };
    }
    await this.refreshRecent();
  }

  destroy(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** The value of a result, or null after showing its error. */
  private take<T>(r: IpcResult<T>): T | null {
    if (r.ok) return r.value;
    this.message = { level: 'error', text: r.error.message };
    return null;
  }

  async refreshRecent(): Promise<void> {
    if (!this.api) return;
    const r = await this.api.invoke('file:recent');
    if (r.ok) this.recent = r.value;
  }

  async open(): Promise<void> {
    if (!this.api) return;
    const info = this.take(await this.api.invoke('file:open'));
    if (info) await this.adopt(info);
  }

  async openDropped(file: DroppedFile): Promise<void> {
    if (!this.api) return;
    const info = this.take(await this.api.openDropped(file));
    if (info) await this.adopt(info);
  }

  async openRecent(path: string): Promise<void> {
    if (!this.api) return;
    const info = this.take(await this.api.invoke('file:openRecent', path));
    await this.refreshRecent();
    if (info) await this.adopt(info);
  }

  private async adopt(info: ImageInfo): Promise<void> {
    this.image = info;
    this.result = null;
    this.progress = null;
    this.frame = null;
    this.message = null;
    this.onImage?.(info);
    await Promise.all([this.loadFrame(0), this.refreshRecent()]);
  }

  async loadFrame(index: number): Promise<void> {
    const image = this.image;
    if (!this.api || !image) return;
    const i = Math.min(image.frames - 1, Math.max(0, Math.round(index)));
    this.frameIndex = i;
    this.loading = true;
    try {
      const f = this.take(await this.api.invoke('image:frame', image.imageId, i));
      // Keep only the latest answer (frames may be requested faster than they arrive).
      if (f && this.image?.imageId === f.imageId && this.frameIndex === f.frame) this.frame = f;
    } finally {
      this.loading = false;
    }
  }

  /** Change detection parameters; saved to main's settings shortly after the last change. */
  setParams(patch: SettingsPatch): void {
    this.params = { ...this.params, ...patch };
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.api?.invoke('settings:set', $state.snapshot(this.params) as SettingsPatch).then((r) => {
        if (!r.ok) this.message = { level: 'error', text: `Settings not saved: ${r.error.message}` };
      });
    }, 400);
  }

  async detect(): Promise<void> {
    const api = this.api;
    const frame = this.frame;
    if (!api || !frame || this.running) return;
    const request: DetectRequest = { imageId: frame.imageId, frame: frame.frame, ...($state.snapshot(this.params) as DetectParams) };
    this.running = true;
    this.progress = null;
    this.message = null;
    try {
      const r = this.take(await api.invoke('detect:start', request));
      if (r) {
        this.result = r;
        if (r.status === 'cancelled') this.message = { level: 'info', text: 'Detection cancelled.' };
      }
    } finally {
      this.running = false;
      this.progress = null;
    }
  }

  async cancel(): Promise<void> {
    if (this.api && this.running) await this.api.invoke('detect:cancel');
  }

  async exportCatalogue(format: CatalogueFormat): Promise<void> {
    if (!this.api) return;
    const path = this.take(await this.api.invoke('catalogue:export', format));
    if (path) this.message = { level: 'info', text: `Catalogue written to ${path}` };
  }
}
