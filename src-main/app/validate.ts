/**
 * Checks of every IPC argument that reaches main. The renderer is not trusted: each value is
 * checked for type, range and shape, unknown keys are refused, and the result is a fresh object
 * of the exact type (nothing of the caller's object is kept). Failures throw IpcArgumentError.
 * No Electron here, so these run in plain Node tests.
 */
import { isAbsolute } from 'node:path';
import { MAX_FIT_STARS, MAX_REGION_SIDE, SAMPLES } from '../shared/ipc.js';
import type {
  AutoLambdaRequest,
  BackgroundSetting,
  CameraSetting,
  CatalogueFormat,
  CatalogueView,
  LocalisationFilterSetting,
  RenderRequest,
  DetectRequest,
  ExportOptions,
  Region,
  SampleId,
  IpcError,
  IpcErrorCode,
  LambdaSetting,
  PsfFitRequest,
  PsfSetting,
  SavedPsfSetting,
  SettingsPatch,
} from '../shared/ipc.js';

/** An IPC argument is missing, of the wrong type or out of range. */
export class IpcArgumentError extends Error {
  readonly code = 'invalid-argument' as const;
  /** Where in the argument the problem is, e.g. `request.psf.sigma`. */
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'IpcArgumentError';
    this.field = field;
  }
}

/** An expected failure of an app operation that is not an argument problem (no image open...). */
export class AppError extends Error {
  readonly code: IpcErrorCode;
  constructor(code: IpcErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
}

const fail = (field: string, reason: string): never => {
  throw new IpcArgumentError(field, reason);
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A plain object with only the given keys (all optional here; callers check presence). */
function record(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(v)) fail(field, 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${field}.${k}`, 'is not a known field');
  return o;
}

export interface NumberRule {
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  max?: number;
  integer?: boolean;
}

export function checkNumber(v: unknown, field: string, rule: NumberRule = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(field, 'must be a finite number');
  if (rule.integer && !Number.isInteger(v)) fail(field, 'must be a whole number');
  if (rule.min !== undefined && v < rule.min) fail(field, `must be ≥ ${rule.min}`);
  if (rule.above !== undefined && !(v > rule.above)) fail(field, `must be > ${rule.above}`);
  if (rule.max !== undefined && v > rule.max) fail(field, `must be ≤ ${rule.max}`);
  return v;
}

function checkNullableNumber(v: unknown, field: string, rule: NumberRule): number | null {
  return v === null ? null : checkNumber(v, field, rule);
}

/** PSF sizes are pixels; beyond these the problem is not a point-source problem any more. */
export const PSF_LIMITS = { sigmaMax: 100, fwhmMax: 250, betaMax: 50 } as const;

/** An analytic PSF (the settings keep only these). */
export function checkPsf(v: unknown, field = 'psf'): SavedPsfSetting {
  if (!isPlainObject(v)) return fail(field, 'must be an object');
  switch (v.kind) {
    case 'gaussian': {
      const o = record(v, field, ['kind', 'sigma']);
      return { kind: 'gaussian', sigma: checkNumber(o.sigma, `${field}.sigma`, { above: 0, max: PSF_LIMITS.sigmaMax }) };
    }
    case 'moffat': {
      const o = record(v, field, ['kind', 'fwhm', 'beta']);
      return {
        kind: 'moffat',
        fwhm: checkNumber(o.fwhm, `${field}.fwhm`, { above: 0, max: PSF_LIMITS.fwhmMax }),
        beta: checkNumber(o.beta, `${field}.beta`, { above: 1, max: PSF_LIMITS.betaMax }),
      };
    }
    default:
      return fail(`${field}.kind`, "must be 'gaussian' or 'moffat'");
  }
}

/** Oversampling of a PSF file: stamp pixels per image pixel. */
export function checkOversample(v: unknown, field = 'oversample'): number {
  return checkNumber(v, field, { integer: true, min: 1, max: 16 });
}

/** Any PSF a detection may use: an analytic one, or a PSF file loaded by main (named by id). */
export function checkAnyPsf(v: unknown, field = 'psf'): PsfSetting {
  if (!isPlainObject(v) || v.kind !== 'file') return checkPsf(v, field);
  const o = record(v, field, ['kind', 'fileId', 'name', 'oversample']);
  if (typeof o.name !== 'string' || o.name.length > 255) fail(`${field}.name`, 'must be a file name');
  return { kind: 'file', fileId: checkIndex(o.fileId, `${field}.fileId`), name: o.name as string, oversample: checkOversample(o.oversample, `${field}.oversample`) };
}

export function checkLambda(v: unknown, field = 'lambda'): LambdaSetting {
  if (!isPlainObject(v)) return fail(field, 'must be an object');
  switch (v.mode) {
    case 'auto': {
      const o = record(v, field, ['mode', 'factor']);
      return { mode: 'auto', factor: checkNumber(o.factor, `${field}.factor`, { above: 0, max: 100 }) };
    }
    case 'value': {
      const o = record(v, field, ['mode', 'value']);
      return { mode: 'value', value: checkNumber(o.value, `${field}.value`, { min: 0 }) };
    }
    default:
      return fail(`${field}.mode`, "must be 'auto' or 'value'");
  }
}

const BACKGROUNDS: readonly BackgroundSetting[] = ['auto', 'none', 'constant', 'plane', 'surface'];

export function checkBackground(v: unknown, field = 'background'): BackgroundSetting {
  if (typeof v !== 'string' || !(BACKGROUNDS as readonly string[]).includes(v)) return fail(field, `must be one of ${BACKGROUNDS.join(', ')}`);
  return v as BackgroundSetting;
}

/**
 * A camera: gain, offset and read noise required; pixel size, photoelectrons per ADU and EM gain
 * optional (null or absent: not given). The gain is given one way only, as `cpgd detect` takes it.
 */
export function checkCamera(v: unknown, field = 'camera'): CameraSetting {
  const o = record(v, field, ['gain', 'offset', 'readNoise', 'pixelSizeNm', 'electronsPerAdu', 'emGain']);
  for (const k of ['gain', 'offset', 'readNoise']) if (!(k in o)) fail(`${field}.${k}`, 'is required');
  const c: CameraSetting = {
    gain: checkNullableNumber(o.gain, `${field}.gain`, { above: 0 }),
    offset: checkNumber(o.offset, `${field}.offset`),
    readNoise: checkNullableNumber(o.readNoise, `${field}.readNoise`, { min: 0 }),
  };
  const optional = (k: 'pixelSizeNm' | 'electronsPerAdu' | 'emGain', rule: NumberRule) => {
    if (o[k] !== undefined) c[k] = checkNullableNumber(o[k], `${field}.${k}`, rule);
  };
  optional('pixelSizeNm', { above: 0, max: 1e6 });
  optional('electronsPerAdu', { above: 0 });
  optional('emGain', { min: 1 });
  if (c.gain !== null && (c.electronsPerAdu ?? null) !== null) fail(`${field}.electronsPerAdu`, 'contradicts gain: give the camera either as ADU per photon or as photoelectrons per ADU (with the EM gain)');
  if ((c.emGain ?? null) !== null && (c.electronsPerAdu ?? null) === null) fail(`${field}.emGain`, 'needs electronsPerAdu (photoelectrons per ADU): ADU per photon is then EM gain / photoelectrons per ADU');
  return c;
}

export function checkSettingsPatch(v: unknown, field = 'patch'): SettingsPatch {
  const o = record(v, field, ['psf', 'lambda', 'background', 'camera']);
  const out: SettingsPatch = {};
  if (o.psf !== undefined) out.psf = checkPsf(o.psf, `${field}.psf`);
  if (o.lambda !== undefined) out.lambda = checkLambda(o.lambda, `${field}.lambda`);
  if (o.background !== undefined) out.background = checkBackground(o.background, `${field}.background`);
  if (o.camera !== undefined) out.camera = checkCamera(o.camera, `${field}.camera`);
  return out;
}

/** Image and frame identifiers: whole numbers ≥ 0 (frame range is checked against the image). */
export function checkIndex(v: unknown, field: string): number {
  return checkNumber(v, field, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
}

/** A region of interest: whole pixels, at least 8 and at most MAX_REGION_SIDE per side (checked against the image later). */
export function checkRegion(v: unknown, field = 'region'): Region {
  const o = record(v, field, ['x', 'y', 'width', 'height']);
  const side = { integer: true, min: 8, max: MAX_REGION_SIDE };
  return {
    x: checkIndex(o.x, `${field}.x`),
    y: checkIndex(o.y, `${field}.y`),
    width: checkNumber(o.width, `${field}.width`, side),
    height: checkNumber(o.height, `${field}.height`, side),
  };
}

export function checkDetectRequest(v: unknown, field = 'request'): DetectRequest {
  const o = record(v, field, ['imageId', 'frame', 'psf', 'lambda', 'background', 'camera', 'region', 'allFrames', 'frameRange']);
  const r: DetectRequest = {
    imageId: checkIndex(o.imageId, `${field}.imageId`),
    frame: checkIndex(o.frame, `${field}.frame`),
    psf: checkAnyPsf(o.psf, `${field}.psf`),
    lambda: checkLambda(o.lambda, `${field}.lambda`),
    background: checkBackground(o.background, `${field}.background`),
    camera: checkCamera(o.camera, `${field}.camera`),
  };
  if (o.region !== undefined) r.region = checkRegion(o.region, `${field}.region`);
  if (o.allFrames !== undefined) {
    if (typeof o.allFrames !== 'boolean') fail(`${field}.allFrames`, 'must be true or false');
    if (o.allFrames && r.region) fail(`${field}.allFrames`, 'cannot be combined with a region');
    if (o.allFrames) r.allFrames = true;
  }
  if (o.frameRange !== undefined) {
    if (!r.allFrames) fail(`${field}.frameRange`, 'only with allFrames');
    const f = record(o.frameRange, `${field}.frameRange`, ['first', 'last']);
    const first = checkIndex(f.first, `${field}.frameRange.first`);
    const last = checkIndex(f.last, `${field}.frameRange.last`);
    if (last < first) fail(`${field}.frameRange.last`, `must be ≥ first (${first})`);
    r.frameRange = { first, last };
  }
  return r;
}

export function checkAutoLambdaRequest(v: unknown, field = 'request'): AutoLambdaRequest {
  const o = record(v, field, ['imageId', 'frame', 'psf', 'camera']);
  return {
    imageId: checkIndex(o.imageId, `${field}.imageId`),
    frame: checkIndex(o.frame, `${field}.frame`),
    psf: checkAnyPsf(o.psf, `${field}.psf`),
    camera: checkCamera(o.camera, `${field}.camera`),
  };
}

export function checkPsfFitRequest(v: unknown, field = 'request'): PsfFitRequest {
  const o = record(v, field, ['imageId', 'frame', 'kind', 'start', 'stars']);
  if (o.kind !== 'gaussian' && o.kind !== 'moffat') fail(`${field}.kind`, "must be 'gaussian' or 'moffat'");
  let stars: PsfFitRequest['stars'] = null;
  if (o.stars !== null) {
    if (!Array.isArray(o.stars)) return fail(`${field}.stars`, 'must be a list of {x, y} or null');
    if (o.stars.length < 1 || o.stars.length > MAX_FIT_STARS) fail(`${field}.stars`, `must hold 1 to ${MAX_FIT_STARS} stars`);
    stars = o.stars.map((s: unknown, i: number) => {
      const p = record(s, `${field}.stars[${i}]`, ['x', 'y']);
      return { x: checkNumber(p.x, `${field}.stars[${i}].x`, { min: -1, max: 1e6 }), y: checkNumber(p.y, `${field}.stars[${i}].y`, { min: -1, max: 1e6 }) };
    });
  }
  return {
    imageId: checkIndex(o.imageId, `${field}.imageId`),
    frame: checkIndex(o.frame, `${field}.frame`),
    kind: o.kind as PsfFitRequest['kind'],
    start: checkPsf(o.start, `${field}.start`),
    stars,
  };
}

const FORMATS: readonly CatalogueFormat[] = ['csv', 'ds9', 'thunderstorm', 'fits'];

export function checkCatalogueFormat(v: unknown, field = 'format'): CatalogueFormat {
  if (typeof v !== 'string' || !(FORMATS as readonly string[]).includes(v)) return fail(field, `must be one of ${FORMATS.join(', ')}`);
  return v as CatalogueFormat;
}

const FILTER_KEYS = ['minSnr', 'maxSnr', 'minPhotons', 'maxPhotons', 'maxUncertaintyNm'] as const;

/** Localisation filters: each bound optional; a lower bound above its upper bound is refused. */
export function checkFilter(v: unknown, field = 'filter'): LocalisationFilterSetting {
  const o = record(v, field, FILTER_KEYS);
  const out: LocalisationFilterSetting = {};
  for (const k of FILTER_KEYS) {
    if (o[k] === undefined) continue;
    out[k] = checkNumber(o[k], `${field}.${k}`, k === 'maxUncertaintyNm' ? { above: 0 } : k.endsWith('Snr') ? { min: 0 } : {});
  }
  if (out.minSnr !== undefined && out.maxSnr !== undefined && out.minSnr > out.maxSnr) fail(`${field}.maxSnr`, `is below minSnr ${out.minSnr}: nothing could be kept`);
  if (out.minPhotons !== undefined && out.maxPhotons !== undefined && out.minPhotons > out.maxPhotons) fail(`${field}.maxPhotons`, `is below minPhotons ${out.minPhotons}: nothing could be kept`);
  return out;
}

const VIEW_KEYS = ['pixelSizeNm', 'filter', 'driftSegmentFrames'] as const;

function checkView(o: Record<string, unknown>, field: string): CatalogueView {
  const out: CatalogueView = {};
  if (o.pixelSizeNm !== undefined) out.pixelSizeNm = checkNumber(o.pixelSizeNm, `${field}.pixelSizeNm`, { above: 0, max: 1e6 });
  if (o.filter !== undefined) out.filter = checkFilter(o.filter, `${field}.filter`);
  if (o.driftSegmentFrames !== undefined) out.driftSegmentFrames = checkNumber(o.driftSegmentFrames, `${field}.driftSegmentFrames`, { integer: true, min: 1, max: 1e7 });
  return out;
}

/** Export options; undefined (left out) is no options. */
export function checkExportOptions(v: unknown, field = 'options'): ExportOptions {
  if (v === undefined) return {};
  return checkView(record(v, field, VIEW_KEYS), field);
}

/** A rendering of the catalogue: render pixel size (nm) and mode, with the catalogue view. */
export function checkRenderRequest(v: unknown, field = 'request'): RenderRequest {
  const o = record(v, field, [...VIEW_KEYS, 'renderPixelSizeNm', 'mode']);
  if (o.mode !== 'histogram' && o.mode !== 'gaussian') fail(`${field}.mode`, "must be 'histogram' or 'gaussian'");
  return {
    ...checkView(o, field),
    renderPixelSizeNm: checkNumber(o.renderPixelSizeNm, `${field}.renderPixelSizeNm`, { above: 0, max: 1e6 }),
    mode: o.mode as RenderRequest['mode'],
  };
}

export function checkSampleId(v: unknown, field = 'sample'): SampleId {
  const ids = SAMPLES.map((s) => s.id);
  if (typeof v !== 'string' || !(ids as string[]).includes(v)) return fail(field, `must be one of ${ids.join(', ')}`);
  return v as SampleId;
}

/** A path string as main received it (from the preload's dropped File or the recent list). */
export function checkPathArgument(v: unknown, field = 'path'): string {
  if (typeof v !== 'string' || v.length === 0) return fail(field, 'must be a non-empty string');
  if (v.length > 4096) fail(field, 'is too long');
  if (v.includes('\0')) fail(field, 'contains a NUL character');
  if (!isAbsolute(v)) fail(field, 'must be an absolute path');
  return v;
}

/** `n` arguments, or up to `optional` more: extra arguments are refused rather than ignored. */
export function checkArity(args: readonly unknown[], n: number, channel: string, optional = 0): void {
  if (args.length < n || args.length > n + optional) {
    const want = optional === 0 ? `${n}` : `${n} to ${n + optional}`;
    fail(channel, `takes ${want} argument${n + optional === 1 ? '' : 's'} (got ${args.length})`);
  }
}

const CORE_CODES: readonly IpcErrorCode[] = ['io-error', 'bad-format', 'unsupported-format', 'invalid-option', 'invalid-image', 'invalid-psf', 'worker-failed'];

/**
 * The error to send to the renderer for anything thrown by a handler: our typed errors keep their
 * code and one-line message (core errors name their file), anything else is 'internal'.
 */
export function toIpcError(e: unknown): IpcError {
  if (e instanceof IpcArgumentError || e instanceof AppError) return { code: e.code, message: e.message };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CORE_CODES as readonly string[]).includes(code)) {
      const describe = (e as { describe?: () => string }).describe;
      const message = typeof describe === 'function' ? describe.call(e) : e.message;
      return { code: code as IpcErrorCode, message: firstLine(message) };
    }
    return { code: 'internal', message: firstLine(e.message) || e.name };
  }
  return { code: 'internal', message: firstLine(String(e)) };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 500);
}
