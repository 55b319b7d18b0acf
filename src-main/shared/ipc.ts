/**
 * The one map of the IPC channels between the Electron main process, the preload script and the
 * renderer. Main implements every invoke channel (src-main/app/ipc.ts), the preload exposes them as
 * `window.cpgd` (src-main/preload.ts) and the renderer calls them; all three are typed from here.
 *
 * Everything here is plain data that survives structured cloning. No Node, DOM or Electron types:
 * this module is compiled with the core (tsconfig.core.json) and read by the renderer.
 *
 * Invoke channels never reject for expected failures: they resolve to an IpcResult, whose error
 * carries a stable code and a one-line message for people. The renderer cannot name arbitrary
 * files: images come from the open dialog, a dropped File (the preload turns it into a path) or
 * the recent-files list kept by main.
 */

/** What the app and its runtime are. */
import type { Source } from '../core/catalog/types.js';
import type { HeaderCard } from '../core/image.js';

export interface AppInfo {
  name: string;
  version: string;
  electron: string;
  chrome: string;
  node: string;
  platform: string;
  /** Worker threads the detection pool uses. */
  threads: number;
}

/** The image currently open in main (one at a time). */
export interface ImageInfo {
  /** Changes with every file opened: frames and detections name the image they belong to. */
  imageId: number;
  /** File name (no directory), for titles. */
  name: string;
  /** Full path, for display and the recent-files list. */
  path: string;
  format: 'fits' | 'tiff';
  width: number;
  height: number;
  frames: number;
  /** Physical pixel size in nanometres, when the file says. */
  pixelSizeNm: { x: number; y: number } | null;
  /**
   * Camera fields the file gives (OME-TIFF detector Offset in ADU; EMCCD AmplificationGain as the EM
   * gain), which the app prefills in the camera settings as `cpgd detect` takes them.
   */
  camera?: { offset?: number; emGain?: number };
  /** Set when the image is one of the samples that ship with the app (see SAMPLES). */
  sample?: SampleId;
  /**
   * The celestial WCS of the image, when it has one: a one-line description, and the header cards
   * that define it (for the RA/Dec readout; the exports carry RA/Dec too).
   */
  wcs?: { description: string; cards: HeaderCard[] };
}

/** Statistics of the finite pixels of a frame. */
export interface FrameStats {
  min: number;
  max: number;
  mean: number;
  /** Robust standard deviation (1.4826 × MAD of a sample). */
  sigma: number;
  median: number;
  /** Number of finite pixels; the others are NaN/blank. */
  finite: number;
}

/** One frame's pixels, row-major (`pixels[y * width + x]`), NaN where blank. */
export interface FrameData {
  imageId: number;
  frame: number;
  width: number;
  height: number;
  pixels: Float32Array;
  stats: FrameStats;
}

/** An analytic PSF (sizes in image pixels): what the settings keep between runs. */
export type SavedPsfSetting = { kind: 'gaussian'; sigma: number } | { kind: 'moffat'; fwhm: number; beta: number };

/**
 * A PSF stamp file the user chose with `psf:openFile`: main keeps its pixels and the renderer
 * names it by `fileId` (never by path). Not saved in the settings (chosen again each session).
 */
export interface PsfFileSetting {
  kind: 'file';
  fileId: number;
  /** File name, for display and catalogue metadata. */
  name: string;
  /** Stamp pixels per image pixel (whole number ≥ 1). */
  oversample: number;
}

/** PSF as the app offers it (sizes in image pixels). */
export type PsfSetting = SavedPsfSetting | PsfFileSetting;

/** A PSF file loaded by main. */
export interface PsfFileInfo {
  fileId: number;
  name: string;
  width: number;
  height: number;
  oversample: number;
  /** Gaussian-equivalent σ of the PSF in image pixels (from its second moments). */
  sigma: number;
  /** The stamp, row-major (width × height), for the panel's preview. */
  stamp: number[];
}

/** λ: automatic (scaled by a factor) or a fixed value. */
export type LambdaSetting = { mode: 'auto'; factor: number } | { mode: 'value'; value: number };

export type BackgroundSetting = 'auto' | 'none' | 'constant' | 'plane' | 'surface';

/**
 * Camera model in physical units (core/camera.ts, the same as `cpgd detect`'s options); null
 * fields are estimated from the image or unknown. The gain is given either as ADU per photon
 * (`gain`, the CLI's --gain) or as photoelectrons per ADU with an optional EM gain
 * (`electronsPerAdu`, `emGain`: ADU per photon = emGain / electronsPerAdu), not both. With either,
 * fluxes are photons. The optional fields may be absent (settings of older versions).
 */
export interface CameraSetting {
  /** ADU per photon (> 0); null: not given. */
  gain: number | null;
  /** ADU of zero light (base level, bias). */
  offset: number;
  /** ADU rms (≥ 0); null: folded into the measured sky noise. */
  readNoise: number | null;
  /** Camera pixel size in the sample plane, nm (> 0); null: unknown (positions in pixels only). */
  pixelSizeNm?: number | null;
  /** Photoelectrons per ADU (> 0), the camera sheet's conversion factor; null: not given. */
  electronsPerAdu?: number | null;
  /** EM gain of an EMCCD (≥ 1; needs electronsPerAdu); null or 1: no electron multiplication. */
  emGain?: number | null;
}

export interface WindowSetting {
  width: number;
  height: number;
  maximized: boolean;
}

/** Everything the app remembers between runs (userData/settings.json). */
export interface Settings {
  psf: SavedPsfSetting;
  lambda: LambdaSetting;
  background: BackgroundSetting;
  camera: CameraSetting;
  window: WindowSetting;
}

/** What the renderer may change (the window size is main's business). */
export type SettingsPatch = Partial<Pick<Settings, 'psf' | 'lambda' | 'background' | 'camera'>>;

/** A rectangle of image pixels: columns x … x + width − 1, rows y … y + height − 1. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Largest region of interest side, pixels: a quick solve to tune λ by eye, not a full run. */
export const MAX_REGION_SIDE = 512;

/** A detection of one frame of the open image. */
export interface DetectRequest {
  imageId: number;
  frame: number;
  psf: PsfSetting;
  lambda: LambdaSetting;
  background: BackgroundSetting;
  camera: CameraSetting;
  /**
   * Solve only this region of interest (sides ≤ MAX_REGION_SIDE), for a quick look while tuning λ.
   * An automatic λ is the one of the whole frame, so the region shows what the full run will
   * find there. The result does not replace the catalogue that is exported.
   */
  region?: Region;
  /**
   * Solve every frame of the image (a stack: one job per frame, frames side by side on the
   * workers), not only `frame`; the catalogue holds them all. Not with `region`.
   */
  allFrames?: boolean;
  /**
   * With `allFrames`: only frames `first` … `last` (0-based, inclusive, as `cpgd detect --frames
   * A-B`). Default: every frame.
   */
  frameRange?: FrameRange;
}

/** Frames first … last of a stack, 0-based and inclusive. */
export interface FrameRange {
  first: number;
  last: number;
}

/** Stars to fit the PSF shape to, in a frame of the open image. */
export interface PsfFitRequest {
  imageId: number;
  frame: number;
  /** The profile to fit; the current setting of that kind is the starting point. */
  kind: 'gaussian' | 'moffat';
  start: SavedPsfSetting;
  /** Star positions the user picked (image pixels), or null for bright isolated stars the app proposes. */
  stars: { x: number; y: number }[] | null;
}

/** Stars fitted at most (and picked at most by the user). */
export const MAX_FIT_STARS = 40;

/** One star's box: the data and the fitted model, row-major, size × size pixels from (x0, y0). */
export interface PsfFitBox {
  x0: number;
  y0: number;
  size: number;
  data: number[];
  model: number[];
}

export interface PsfFitSummary {
  psf: SavedPsfSetting;
  /** The stars fitted, with their fitted centre, flux and background (image units). */
  stars: { x: number; y: number; flux: number; background: number; residual: number }[];
  /** Stars dropped because they fitted much worse than the others (blends, cosmic rays). */
  rejected: number;
  /** rms residual / rms signal over the stars' boxes (0: perfect). */
  relativeResidual: number;
  converged: boolean;
  /** The boxes of the first few stars, for showing the residual. */
  boxes: PsfFitBox[];
}

/** The noise-based λ of a frame for a PSF and camera (what `auto` with factor 1 means there). */
export interface AutoLambdaRequest {
  imageId: number;
  frame: number;
  psf: PsfSetting;
  camera: CameraSetting;
}

/** One catalogue row as the renderer shows it: the core Source without its optional fields. */
export type SourceRow = Pick<Source, 'id' | 'frame' | 'x' | 'y' | 'flux' | 'xErr' | 'yErr' | 'fluxErr' | 'snr' | 'ra' | 'dec' | 'background'>;

export type DetectStatus = 'converged' | 'max-iter' | 'cancelled';

/**
 * The convergence of a finished run at full resolution (at most ~1000 points), from the solver
 * histories of its tiles. Tiles are independent problems solved side by side, so the frame's
 * objective is the sum over tiles: at iteration i, F − F_best is Σ_t (F_t(i) − min F_t), a tile
 * that has stopped counting with its last value; the gap is the worst certificate over the tiles
 * (each tile's latest at or before i); particles are summed.
 */
export interface ConvergenceTrace {
  iteration: number[];
  fMinusBest: number[];
  particles: number[];
  /** Iterations where certificates were computed, and the worst relative gap there. */
  gapIteration: number[];
  relativeGap: number[];
}

export interface DetectSummary {
  runId: number;
  imageId: number;
  frame: number;
  /** The region of interest solved, or null for the whole frame. */
  region: Region | null;
  /** Frames solved: 1, or all the frames of a stack (then `frame` is the first and the sources carry theirs). */
  frames: number;
  /**
   * A stack run: the frames asked for and how many of them were solved to the end. A cancelled
   * stack run keeps the frames it finished (`framesDone` < `frames`, status 'cancelled'): they
   * are the catalogue shown and exported; frames cut short by the cancel are left out whole.
   */
  stack?: { range: FrameRange; framesDone: number };
  /** Fluxes (and backgrounds) are photons: the camera gain was given. Otherwise image units above the offset. */
  photons: boolean;
  /** The camera pixel size of the run, nm (the settings', else the file's), or null. */
  pixelSizeNm: number | null;
  status: DetectStatus;
  sources: SourceRow[];
  lambda: number;
  background: Exclude<BackgroundSetting, 'auto'>;
  iterations: number;
  relativeGap: number;
  elapsedMs: number;
  convergence: ConvergenceTrace;
}

/** Live particles, in image pixels, as parallel arrays (positions and weights). */
export interface ParticleSnapshot {
  x: number[];
  y: number[];
  a: number[];
}

/**
 * Progress of a running detection, at most a few times a second (≤ 20). Tiles run in parallel:
 * the aggregate fields combine the latest report of every tile.
 */
export interface DetectProgress {
  runId: number;
  /** Tile reported (0-based) and the number of tiles of the frame (tiles run in parallel). */
  tile: number;
  tiles: number;
  /** Tiles that have reported progress so far. */
  tilesStarted: number;
  /** Largest solver iteration reached by any tile. */
  iteration: number;
  /** Live particles over all tiles (each tile's latest count). */
  particles: number;
  /** Worst (largest) latest relative duality gap over the tiles, null before any certificate. */
  relativeGap: number | null;
  /** Objective F summed over the tiles that have reported (each tile's latest). */
  objective: number;
  /** Each tile's latest F, null for tiles that have not reported yet. */
  tileObjectives: (number | null)[];
  /** The live particles of every tile (the heaviest, at most a few thousand), for the overlay. */
  snapshot: ParticleSnapshot | null;
  /**
   * A run over all the frames of a stack: frames finished and in all (null for one frame). The
   * other fields then describe the frame that reported (`frame`), and there is no snapshot.
   */
  stack: {
    frame: number;
    done: number;
    frames: number;
    /** Localisations in the frames done. */
    localisations: number;
    /** Time since the run started, ms (main's clock): rate = done / elapsed. */
    elapsedMs: number;
  } | null;
}

export type CatalogueFormat = 'csv' | 'ds9' | 'thunderstorm' | 'fits';

/**
 * Per-localisation filters (inclusive bounds; absent: no bound), as the source table applies
 * them: snr, flux (photons with a calibrated camera) and position uncertainty √((x_err² +
 * y_err²)/2) in nm (needs the camera pixel size).
 */
export interface LocalisationFilterSetting {
  minSnr?: number;
  maxSnr?: number;
  minPhotons?: number;
  maxPhotons?: number;
  maxUncertaintyNm?: number;
}

/**
 * How the latest catalogue is seen by exports and renderings: the camera pixel size, the filters
 * and drift correction. Applied in the order `cpgd detect` applies them: filters, then the drift
 * estimated from the kept localisations and subtracted from their positions.
 */
export interface CatalogueView {
  /**
   * Camera pixel size in the sample plane, nm: nm columns in the CSV, ThunderSTORM coordinates.
   * Default: the run's (camera settings, else the image file's); a ThunderSTORM export, a
   * rendering or drift correction without one is refused.
   */
  pixelSizeNm?: number;
  filter?: LocalisationFilterSetting;
  /** Correct stage drift with segments of this many frames (≥ 1, at least two segments), as `cpgd detect --drift`. */
  driftSegmentFrames?: number;
}

/** Options of a catalogue export. */
export type ExportOptions = CatalogueView;

/** A super-resolution rendering of the latest catalogue (core/render.ts), as `cpgd render` makes it. */
export interface RenderRequest extends CatalogueView {
  /** Render pixel size, nm (> 0), e.g. 10. */
  renderPixelSizeNm: number;
  mode: 'histogram' | 'gaussian';
}

/** Rendering pixels shown in the app at most (4096²); exports may be larger (core MAX_RENDER_PIXELS). */
export const MAX_SHOWN_RENDER_PIXELS = 4096 * 4096;

/** A drift curve: the drift of every frame, nm (0 at the first), subtracted from positions when correcting. */
export interface DriftInfo {
  frames: number[];
  dxNm: number[];
  dyNm: number[];
  segments: number;
}

export interface RenderResult {
  width: number;
  height: number;
  renderPixelSizeNm: number;
  cameraPixelSizeNm: number;
  mode: 'histogram' | 'gaussian';
  /** Row-major, localisations per render pixel. */
  pixels: Float32Array;
  stats: FrameStats;
  /** Localisations drawn, and those the filters left out. */
  drawn: number;
  filteredOut: number;
  /** The drift curve applied, when drift correction is on. */
  drift: DriftInfo | null;
}

/** The sample images that ship with the app (resources/samples), named by id, never by path. */
export type SampleId = 'star-field' | 'smlm-stack';

export interface SampleInfo {
  id: SampleId;
  title: string;
  description: string;
  /** Settings that suit the sample (it was simulated with them). */
  psf: PsfSetting;
  camera: CameraSetting;
}

export const SAMPLES: readonly SampleInfo[] = [
  {
    id: 'star-field',
    title: 'Star field',
    description: '256×256 FITS, 120 stars, Gaussian PSF σ 1.5 px',
    psf: { kind: 'gaussian', sigma: 1.5 },
    camera: { gain: 1, offset: 0, readNoise: 5 },
  },
  {
    id: 'smlm-stack',
    title: 'SMLM stack',
    description: '40 frames of 64×64 TIFF, single fluorophores, Gaussian PSF σ 1.1 px',
    psf: { kind: 'gaussian', sigma: 1.1 },
    camera: { gain: 1, offset: 100, readNoise: 1.5 },
  },
];

export type IpcErrorCode =
  | 'invalid-argument'
  | 'no-image'
  | 'no-catalogue'
  | 'busy'
  | 'io-error'
  | 'bad-format'
  | 'unsupported-format'
  | 'invalid-option'
  | 'invalid-image'
  | 'invalid-psf'
  | 'worker-failed'
  | 'not-available'
  | 'internal';

export interface IpcError {
  code: IpcErrorCode;
  message: string;
}

export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** Invoke channels: renderer → main, with their arguments and results. */
export interface InvokeMap {
  'app:info': { args: []; result: AppInfo };
  /** Show the open dialog; null when the user cancels. */
  'file:open': { args: []; result: ImageInfo | null };
  /** A dropped file (the preload's openDropped turns a File into its path; not callable directly). */
  'file:drop': { args: [path: string]; result: ImageInfo };
  /** The recent files, newest first. */
  'file:recent': { args: []; result: string[] };
  /** Open a file of the recent list (any other path is refused). */
  'file:openRecent': { args: [path: string]; result: ImageInfo };
  /** Open one of the sample images that ship with the app. */
  'file:openSample': { args: [id: SampleId]; result: ImageInfo };
  'image:frame': { args: [imageId: number, frame: number]; result: FrameData };
  /** Run a detection; resolves when it ends (status 'cancelled' after detect:cancel). */
  'detect:start': { args: [request: DetectRequest]; result: DetectSummary };
  /** Ask the running detection to stop; false when none runs. */
  'detect:cancel': { args: []; result: boolean };
  /** The noise-based λ of a frame (λ auto with factor 1). */
  'detect:autoLambda': { args: [request: AutoLambdaRequest]; result: number };
  /**
   * Choose a PSF stamp file (FITS or TIFF) with the host's dialog and load it; null when the user
   * cancels. The argument is the oversampling (stamp pixels per image pixel).
   */
  'psf:openFile': { args: [oversample: number]; result: PsfFileInfo | null };
  /** Fit the PSF shape to stars of a frame (picked, or proposed by the app). */
  'psf:fit': { args: [request: PsfFitRequest]; result: PsfFitSummary };
  'settings:get': { args: []; result: Settings };
  'settings:set': { args: [patch: SettingsPatch]; result: Settings };
  /**
   * Save the latest catalogue through the save dialog; the path written, or null when cancelled.
   * The options may be left out.
   */
  'catalogue:export': { args: [format: CatalogueFormat, options?: ExportOptions]; result: string | null };
  /** Render the latest catalogue (at most MAX_SHOWN_RENDER_PIXELS) for the rendering view. */
  'render:image': { args: [request: RenderRequest]; result: RenderResult };
  /** Render the latest catalogue and save it as a 32-bit float TIFF through the host; the path, or null when cancelled. */
  'render:export': { args: [request: RenderRequest]; result: string | null };
}

/** Events: main → renderer. */
export interface EventMap {
  'detect:progress': DetectProgress;
  /** An image was opened from the application menu. */
  'image:opened': ImageInfo;
  /** A message for the user about something started outside the renderer (menu actions). */
  'app:message': { level: 'info' | 'error'; text: string };
}

export type InvokeChannel = keyof InvokeMap;
/** Channels the renderer invokes by name (file:drop only goes through openDropped). */
export type RendererChannel = Exclude<InvokeChannel, 'file:drop'>;
export type InvokeArgs<C extends InvokeChannel> = InvokeMap[C]['args'];
export type InvokeResult<C extends InvokeChannel> = InvokeMap[C]['result'];
export type EventChannel = keyof EventMap;

/** Runtime lists of the channel names, checked against the maps above. */
export const RENDERER_CHANNELS = [
  'app:info',
  'file:open',
  'file:recent',
  'file:openRecent',
  'file:openSample',
  'image:frame',
  'detect:start',
  'detect:cancel',
  'detect:autoLambda',
  'psf:fit',
  'psf:openFile',
  'settings:get',
  'settings:set',
  'catalogue:export',
  'render:image',
  'render:export',
] as const satisfies readonly RendererChannel[];
export const EVENT_CHANNELS = ['detect:progress', 'image:opened', 'app:message'] as const satisfies readonly EventChannel[];
/**
 * Channels whose handler asks the host for a file with a dialog (Host.chooseImage,
 * Host.choosePsfFile). The browser mode has no native dialog: its page shows the browser's file
 * picker for these and uploads the file, which the server's host gives as the dialog's answer
 * (src-main/web/server.ts, src-renderer/lib/web-api.ts). A new channel that opens a file dialog
 * belongs here.
 */
export const FILE_DIALOG_CHANNELS = ['file:open', 'psf:openFile'] as const satisfies readonly RendererChannel[];

// Compile-time completeness: every channel of the maps is listed.
type Missing<All, Listed> = Exclude<All, Listed>;
const _allRenderer: Missing<RendererChannel, (typeof RENDERER_CHANNELS)[number]> extends never ? true : never = true;
const _allEvents: Missing<EventChannel, (typeof EVENT_CHANNELS)[number]> extends never ? true : never = true;
void _allRenderer;
void _allEvents;

/** A dropped file as the renderer sees it (a DOM File). */
export interface DroppedFile {
  readonly name: string;
  readonly size: number;
}

/** `window.cpgd`: the whole API the preload gives the renderer. */
export interface CpgdApi {
  invoke<C extends RendererChannel>(channel: C, ...args: InvokeArgs<C>): Promise<IpcResult<InvokeResult<C>>>;
  /** Open a file dropped on the window. */
  openDropped(file: DroppedFile): Promise<IpcResult<ImageInfo>>;
  /** Listen to an event; returns the function that stops listening. */
  on<E extends EventChannel>(channel: E, listener: (payload: EventMap[E]) => void): () => void;
}
