/**
 * What the window works on: the open image and its current frame, the detection parameters (kept
 * in main's settings), the running detection and its result, and messages for the user. Every
 * call to main goes through window.cpgd (the typed map of src-main/shared/ipc.ts).
 */
import {
  SAMPLES,
  type AppInfo,
  type CatalogueFormat,
  type CatalogueView,
  type CpgdApi,
  type DetectProgress,
  type DetectRequest,
  type DetectSummary,
  type DroppedFile,
  type ExportOptions,
  type FrameData,
  type ImageInfo,
  type IpcResult,
  type ParticleSnapshot,
  type RenderRequest,
  type RenderResult,
  type PsfFileInfo,
  type PsfFitSummary,
  type SavedPsfSetting,
  type Region,
  type SampleId,
  type SettingsPatch,
} from '../../src-main/shared/ipc.js';
import { emptySeries, liveSeries, pushSample, sampleOf, traceSeries, type ChartSeries, type LiveSample } from '../lib/convergence.js';
import { defaultParams, type DetectParams } from '../lib/params.js';
import { parseFrameRange } from '../lib/stack.js';
import { filterSetting, parseBound, type RangeFilter } from '../lib/table.js';

/** The source table's bounds as typed (empty: no bound). */
export interface FilterForm {
  snrMin: string;
  snrMax: string;
  fluxMin: string;
  fluxMax: string;
  /** nm. */
  uncertaintyMax: string;
}

/** The rendering's settings as typed. */
export interface RenderForm {
  /** Render pixel size, nm. */
  pixelSize: string;
  mode: 'histogram' | 'gaussian';
  drift: boolean;
  /** Frames per drift segment. */
  segment: string;
}

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
  /** What the running detection solves: the whole frame, or a region of interest. */
  runKind = $state<'frame' | 'region' | null>(null);
  progress = $state.raw<DetectProgress | null>(null);
  /** The latest whole-frame result (its catalogue is the one exported). */
  result = $state.raw<DetectSummary | null>(null);
  /** The latest region-of-interest result (a preview while tuning λ). */
  regionResult = $state.raw<DetectSummary | null>(null);
  /** The region of interest (image pixels), drawn with Shift+drag on the image. */
  region = $state.raw<Region | null>(null);
  /** Live chart samples of the running detection. */
  liveSamples = $state.raw<LiveSample[]>([]);
  /** The live particles of the running detection, for the overlay. */
  particles = $state.raw<ParticleSnapshot | null>(null);
  /** The noise-based λ of the frame for the current PSF and camera (λ auto × 1), when known. */
  autoLambda = $state<number | null>(null);
  /** The source picked in the table (highlighted on the image). */
  selectedId = $state<number | null>(null);
  /** The PSF file loaded in main, if any (kept for the session, not in the settings). */
  psfFile = $state.raw<PsfFileInfo | null>(null);
  /** Stars picked on the image for the PSF fit (image pixels). */
  psfStars = $state.raw<{ x: number; y: number }[]>([]);
  /** Clicks on the image pick stars for the PSF fit (instead of nothing). */
  pickingStars = $state(false);
  /** The latest PSF fit, until applied or the image changes. */
  psfFit = $state.raw<PsfFitSummary | null>(null);
  fitting = $state(false);
  /** The table's filters, which the exports and renderings follow. */
  filterForm = $state<FilterForm>({ snrMin: '', snrMax: '', fluxMin: '', fluxMax: '', uncertaintyMax: '' });
  /** The frames of a stack run, as typed (empty: from the first, to the last). */
  rangeForm = $state({ first: '', last: '' });
  renderForm = $state<RenderForm>({ pixelSize: '10', mode: 'gaussian', drift: false, segment: '10' });
  /** The latest rendering of the catalogue (raw: its pixels are never proxied). */
  rendering = $state.raw<RenderResult | null>(null);
  /** The request the rendering was made with (to tell when the filters or settings moved on). */
  renderedWith = $state.raw<string | null>(null);
  renderBusy = $state(false);
  /** Called when a rendering arrives (the display shows it). */
  onRendering: ((r: RenderResult) => void) | null = null;
  /** Called to centre the view on image coordinates (the display does it). */
  onCentre: ((x: number, y: number) => void) | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private unsubscribe: (() => void)[] = [];
  /** Called with each newly opened image (the display fits it to the canvas). */
  onImage: ((info: ImageInfo) => void) | null = null;

  constructor(api: CpgdApi | null) {
    this.api = api;
  }

  /** The camera pixel size in nm: the camera settings', else the file's, else null. */
  get pixelSizeNm(): number | null {
    return this.params.camera.pixelSizeNm ?? this.image?.pixelSizeNm?.x ?? null;
  }

  /** The table's bounds; a bound that is not a number counts as none (the field shows it in red). */
  get filter(): RangeFilter {
    const f = this.filterForm;
    const b = (t: string) => parseBound(t) ?? null;
    return { snrMin: b(f.snrMin), snrMax: b(f.snrMax), fluxMin: b(f.fluxMin), fluxMax: b(f.fluxMax), uncertaintyMax: b(f.uncertaintyMax) };
  }

  /** How exports and renderings see the catalogue: camera pixel size, the table's filters, drift correction when on. */
  catalogueView(): CatalogueView {
    const view: CatalogueView = {};
    const px = this.pixelSizeNm;
    if (px !== null) view.pixelSizeNm = px;
    const f = filterSetting(this.filter);
    if (f.maxUncertaintyNm !== undefined && px === null) delete f.maxUncertaintyNm;
    if (Object.keys(f).length > 0) view.filter = f;
    const seg = Number(this.renderForm.segment);
    if (this.renderForm.drift && Number.isInteger(seg) && seg >= 1) view.driftSegmentFrames = seg;
    return view;
  }

  /** The frame range of a stack run, or why the typed one is not valid. */
  get frameRange() {
    return parseFrameRange(this.rangeForm.first, this.rangeForm.last, this.image?.frames ?? 1);
  }

  /** Sources of the result, when it belongs to the frame shown. */
  get sources() {
    const r = this.result;
    const f = this.frame;
    if (!r || !f || r.imageId !== f.imageId) return [];
    // A stack's catalogue holds every frame: show the sources of the frame shown.
    if (r.stack) return r.sources.filter((s) => s.frame === f.frame);
    return r.frame === f.frame ? r.sources : [];
  }

  /** The region result, when it belongs to the frame shown. */
  get regionShown(): DetectSummary | null {
    const r = this.regionResult;
    const f = this.frame;
    return r && f && r.imageId === f.imageId && r.frame === f.frame ? r : null;
  }

  /** The convergence chart: live during a run, then the run's full trace. */
  get series(): ChartSeries {
    if (this.running) return liveSeries(this.liveSamples);
    const last = this.lastRun ?? this.result;
    return last ? traceSeries(last.convergence) : emptySeries();
  }

  /** The latest finished run of either kind (for the chart). */
  lastRun = $state.raw<DetectSummary | null>(null);

  async init(): Promise<void> {
    const api = this.api;
    if (!api) {
      this.message = { level: 'error', text: 'This page runs outside the desktop app: there is no access to files. Start it with `npm start`.' };
      return;
    }
    this.unsubscribe.push(
      api.on('detect:progress', (p) => {
        if (!this.running) return;
        this.progress = p;
        // Frames of a stack are separate problems solved side by side: no single curve to draw.
        if (p.stack) return;
        this.liveSamples = pushSample(this.liveSamples, sampleOf(p));
        if (p.snapshot) this.particles = p.snapshot;
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

  async openSample(id: SampleId): Promise<void> {
    if (!this.api) return;
    const info = this.take(await this.api.invoke('file:openSample', id));
    if (info) await this.adopt(info);
  }

  private async adopt(info: ImageInfo): Promise<void> {
    this.message = null;
    this.image = info;
    this.result = null;
    this.regionResult = null;
    this.lastRun = null;
    this.region = null;
    this.selectedId = null;
    this.autoLambda = null;
    this.psfStars = [];
    this.psfFit = null;
    this.pickingStars = false;
    this.progress = null;
    this.frame = null;
    // A sample was simulated with known PSF and camera: start from them.
    this.rendering = null;
    this.rangeForm = { first: '', last: '' };
    const sample = SAMPLES.find((s) => s.id === info.sample);
    if (sample) this.setParams({ psf: sample.psf, camera: sample.camera, lambda: { mode: 'auto', factor: 1 } });
    // What the file says about its camera (OME-TIFF PhysicalSizeX, detector offset, EMCCD gain)
    // replaces the settings' values, as `cpgd detect` takes them from the file.
    const camera = { ...this.params.camera };
    const notes: string[] = [];
    if (info.pixelSizeNm) {
      camera.pixelSizeNm = info.pixelSizeNm.x;
      notes.push(`pixel size ${info.pixelSizeNm.x} nm`);
    }
    if (info.camera?.offset !== undefined) {
      camera.offset = info.camera.offset;
      notes.push(`offset ${info.camera.offset} ADU`);
    }
    if (info.camera?.emGain !== undefined && camera.electronsPerAdu != null) {
      camera.emGain = info.camera.emGain;
      notes.push(`EM gain ${info.camera.emGain}`);
    }
    if (notes.length > 0) {
      this.setParams({ camera });
      this.message = { level: 'info', text: `Camera from the file: ${notes.join(', ')}.` };
    }
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

  /**
   * Change detection parameters; saved to main's settings shortly after the last change (all but
   * a PSF file, which is chosen again each session).
   */
  setParams(patch: Partial<DetectParams>): void {
    this.params = { ...this.params, ...patch };
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      const { psf, ...rest } = $state.snapshot(this.params) as DetectParams;
      const saved: SettingsPatch = psf.kind === 'file' ? rest : { ...rest, psf };
      void this.api?.invoke('settings:set', saved).then((r) => {
        if (!r.ok) this.message = { level: 'error', text: `Settings not saved: ${r.error.message}` };
      });
    }, 400);
  }

  /**
   * Detect on the whole frame, or only in `region` (a quick preview while tuning λ), or on every
   * frame of a stack (`allFrames`).
   */
  async detect(region: Region | null = null, allFrames = false): Promise<void> {
    const api = this.api;
    const frame = this.frame;
    if (!api || !frame || this.running) return;
    const request: DetectRequest = { imageId: frame.imageId, frame: frame.frame, ...($state.snapshot(this.params) as DetectParams) };
    if (region) request.region = { ...region };
    else if (allFrames) {
      const range = this.frameRange;
      if (!range.ok) {
        this.message = { level: 'error', text: `Frames: ${range.error}.` };
        return;
      }
      request.allFrames = true;
      request.frameRange = range.range;
    }
    this.running = true;
    this.runKind = region ? 'region' : 'frame';
    this.progress = null;
    this.liveSamples = [];
    this.particles = null;
    if (this.message?.level === 'error') this.message = null;
    try {
      const r = this.take(await api.invoke('detect:start', request));
      if (r) {
        this.lastRun = r;
        // A cancelled stack run keeps the frames it finished (main keeps them for export too).
        if (r.status === 'cancelled' && r.stack && r.stack.framesDone > 0) {
          this.rendering = null;
          this.result = r;
          this.regionResult = null;
          this.selectedId = null;
          this.message = { level: 'info', text: `Cancelled after ${r.stack.framesDone} of ${r.frames} frames: the ${r.sources.length} localisations of the frames finished are kept.` };
        }
        // A cancelled run keeps the previous catalogue on screen (main keeps it for export too).
        else if (r.status === 'cancelled') this.message = { level: 'info', text: 'Detection cancelled.' };
        else if (region) this.regionResult = r;
        else {
          // The rendering was of the previous catalogue.
          this.rendering = null;
          this.result = r;
          this.regionResult = null;
          this.selectedId = null;
        }
      }
    } finally {
      this.running = false;
      this.runKind = null;
      this.progress = null;
      this.particles = null;
    }
  }

  /** Ask main for the noise-based λ of the frame shown with the current PSF and camera. */
  async refreshAutoLambda(): Promise<void> {
    const api = this.api;
    const frame = this.frame;
    if (!api || !frame) return;
    const { psf, camera } = $state.snapshot(this.params) as DetectParams;
    const r = await api.invoke('detect:autoLambda', { imageId: frame.imageId, frame: frame.frame, psf, camera });
    if (r.ok && this.frame === frame) this.autoLambda = r.value;
  }

  /** Fit the PSF shape to the picked stars, or to stars the app proposes when none is picked. */
  /** Choose and load a PSF file (main's dialog); it becomes the PSF. */
  async openPsfFile(oversample: number): Promise<void> {
    if (!this.api) return;
    const info = this.take(await this.api.invoke('psf:openFile', oversample));
    if (!info) return;
    this.psfFile = info;
    this.setParams({ psf: { kind: 'file', fileId: info.fileId, name: info.name, oversample: info.oversample } });
    this.message = { level: 'info', text: `PSF file ${info.name}: ${info.width}×${info.height}, σ ≈ ${info.sigma.toFixed(2)} px` };
  }

  async fitPsf(kind: 'gaussian' | 'moffat', start: SavedPsfSetting): Promise<void> {
    const api = this.api;
    const frame = this.frame;
    if (!api || !frame || this.fitting) return;
    this.fitting = true;
    try {
      const stars = this.psfStars.length > 0 ? this.psfStars.map((s) => ({ ...s })) : null;
      const fit = this.take(await api.invoke('psf:fit', { imageId: frame.imageId, frame: frame.frame, kind, start: { ...start }, stars }));
      if (fit) {
        this.psfFit = fit;
        this.pickingStars = false;
      }
    } finally {
      this.fitting = false;
    }
  }

  /** Use the fitted PSF (rounded to 3 decimals, well below what the fit can tell). */
  applyPsfFit(): void {
    const f = this.psfFit;
    if (!f) return;
    const r = (v: number) => Number(v.toFixed(3));
    this.setParams({ psf: f.psf.kind === 'gaussian' ? { kind: 'gaussian', sigma: r(f.psf.sigma) } : { kind: 'moffat', fwhm: r(f.psf.fwhm), beta: r(f.psf.beta) } });
    this.psfFit = null;
    this.psfStars = [];
    this.message = { level: 'info', text: 'Fitted PSF applied.' };
  }

  /** Pick a source (table row): highlight it and centre the view on it. */
  select(id: number): void {
    // A stack's table may list other frames than the one shown: go to the source's frame.
    const s = this.sources.find((q) => q.id === id) ?? (this.result?.stack ? this.result.sources.find((q) => q.id === id) : undefined);
    if (!s) return;
    this.selectedId = id;
    if (this.frame && s.frame !== this.frame.frame) void this.loadFrame(s.frame);
    this.onCentre?.(s.x, s.y);
  }

  async cancel(): Promise<void> {
    if (this.api && this.running) await this.api.invoke('detect:cancel');
  }

  /** Export the catalogue as the table shows it: filters, camera pixel size, drift correction when on. */
  async exportCatalogue(format: CatalogueFormat, options: ExportOptions = this.catalogueView()): Promise<void> {
    if (!this.api) return;
    const path = this.take(await this.api.invoke('catalogue:export', format, options));
    if (path) this.message = { level: 'info', text: `Catalogue written to ${path}` };
  }

  /** The rendering request of the form, or null after saying what is wrong. */
  private renderRequest(): RenderRequest | null {
    const px = Number(this.renderForm.pixelSize);
    if (!(this.renderForm.pixelSize.trim() !== '' && Number.isFinite(px) && px > 0)) {
      this.message = { level: 'error', text: 'The render pixel size must be a number of nm > 0.' };
      return null;
    }
    if (this.renderForm.drift && !(Number.isInteger(Number(this.renderForm.segment)) && Number(this.renderForm.segment) >= 1)) {
      this.message = { level: 'error', text: 'The drift segment must be a whole number of frames ≥ 1.' };
      return null;
    }
    return { ...this.catalogueView(), renderPixelSizeNm: px, mode: this.renderForm.mode };
  }

  /** The rendering no longer shows what the filters, camera or render settings now say. */
  get renderingStale(): boolean {
    if (!this.rendering || this.renderedWith === null) return false;
    const px = Number(this.renderForm.pixelSize);
    return JSON.stringify({ ...this.catalogueView(), renderPixelSizeNm: px, mode: this.renderForm.mode }) !== this.renderedWith;
  }

  /** Render the catalogue (main, core/render.ts) and show it. */
  async render(): Promise<void> {
    const api = this.api;
    const request = this.renderRequest();
    if (!api || !request || this.renderBusy) return;
    this.renderBusy = true;
    try {
      const r = this.take(await api.invoke('render:image', request));
      if (r) {
        this.rendering = r;
        this.renderedWith = JSON.stringify(request);
        if (this.message?.level === 'error') this.message = null;
        this.onRendering?.(r);
      }
    } finally {
      this.renderBusy = false;
    }
  }

  /** Save the rendering as a 32-bit float TIFF through the host. */
  async exportRendering(): Promise<void> {
    const api = this.api;
    const request = this.renderRequest();
    if (!api || !request) return;
    const path = this.take(await api.invoke('render:export', request));
    if (path) this.message = { level: 'info', text: `Rendering written to ${path}` };
  }
}
