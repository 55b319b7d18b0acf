/**
 * The detection parameters form: text fields ↔ the typed parameters sent to main. Main checks
 * every value again (src-main/app/validate.ts); these checks only explain mistakes as they are
 * typed, with the same limits. Pure.
 */
import type { BackgroundSetting, PsfFileInfo, PsfSetting, Settings } from '../../src-main/shared/ipc.js';

/** What a detection needs; the PSF may also be a PSF file loaded by main (not saved in settings). */
export type DetectParams = Pick<Settings, 'lambda' | 'background' | 'camera'> & { psf: PsfSetting };

export interface ParamsForm {
  psfKind: 'gaussian' | 'moffat' | 'file';
  sigma: string;
  fwhm: string;
  beta: string;
  /** Stamp pixels per image pixel of a PSF file. */
  oversample: string;
  lambdaMode: 'auto' | 'value';
  factor: string;
  value: string;
  background: BackgroundSetting;
  /** Empty: estimated from the image. */
  gain: string;
  offset: string;
  /** Empty: folded into the measured sky noise. */
  readNoise: string;
  /** Camera pixel size in the sample plane, nm; empty: unknown (the file's, if it gives one). */
  pixelSize: string;
  /** Photoelectrons per ADU; empty: not given (use the gain in ADU per photon, or none). */
  ePerAdu: string;
  /** EM gain (≥ 1, with photoelectrons per ADU); empty: no electron multiplication. */
  emGain: string;
}

export type FormErrors = Partial<Record<keyof ParamsForm, string>>;

export function defaultParams(): DetectParams {
  return {
    psf: { kind: 'gaussian', sigma: 1.5 },
    lambda: { mode: 'auto', factor: 1 },
    background: 'auto',
    camera: { gain: null, offset: 0, readNoise: null },
  };
}

export function formFromParams(p: DetectParams): ParamsForm {
  return {
    psfKind: p.psf.kind,
    sigma: p.psf.kind === 'gaussian' ? String(p.psf.sigma) : '1.5',
    fwhm: p.psf.kind === 'moffat' ? String(p.psf.fwhm) : '3',
    beta: p.psf.kind === 'moffat' ? String(p.psf.beta) : '2.5',
    oversample: p.psf.kind === 'file' ? String(p.psf.oversample) : '1',
    lambdaMode: p.lambda.mode,
    factor: p.lambda.mode === 'auto' ? String(p.lambda.factor) : '1',
    value: p.lambda.mode === 'value' ? String(p.lambda.value) : '',
    background: p.background,
    gain: p.camera.gain === null ? '' : String(p.camera.gain),
    offset: String(p.camera.offset),
    readNoise: p.camera.readNoise === null ? '' : String(p.camera.readNoise),
    pixelSize: p.camera.pixelSizeNm == null ? '' : String(p.camera.pixelSizeNm),
    ePerAdu: p.camera.electronsPerAdu == null ? '' : String(p.camera.electronsPerAdu),
    emGain: p.camera.emGain == null ? '' : String(p.camera.emGain),
  };
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Rule {
  above?: number;
  min?: number;
  max?: number;
}

function parse(text: string, rule: Rule): { value: number } | { error: string } {
  const t = text.trim();
  if (!NUMBER.test(t)) return { error: 'a number' };
  const v = Number(t);
  if (rule.above !== undefined && !(v > rule.above)) return { error: `> ${rule.above}` };
  if (rule.min !== undefined && v < rule.min) return { error: `≥ ${rule.min}` };
  if (rule.max !== undefined && v > rule.max) return { error: `≤ ${rule.max}` };
  return { value: v };
}

/**
 * The parameters of a form, or the fields in error (each with what it must be). A PSF file comes
 * from `psfFile` (the one loaded; its oversampling is the form's).
 */
export function paramsFromForm(f: ParamsForm, psfFile: PsfFileInfo | null = null): { ok: true; params: DetectParams } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {};
  const num = (key: keyof ParamsForm, rule: Rule): number => {
    const r = parse(String(f[key]), rule);
    if ('error' in r) {
      errors[key] = `must be ${r.error}`;
      return NaN;
    }
    return r.value;
  };
  const optional = (key: keyof ParamsForm, rule: Rule): number | null => (String(f[key]).trim() === '' ? null : num(key, rule));

  let psf: DetectParams['psf'];
  if (f.psfKind === 'file') {
    const oversample = num('oversample', { min: 1, max: 16 });
    if (!Number.isInteger(oversample) && !errors.oversample) errors.oversample = 'must be a whole number';
    if (!psfFile) errors.psfKind = 'choose a PSF file';
    psf = { kind: 'file', fileId: psfFile?.fileId ?? 0, name: psfFile?.name ?? '', oversample };
  } else psf = f.psfKind === 'moffat' ? { kind: 'moffat', fwhm: num('fwhm', { above: 0, max: 250 }), beta: num('beta', { above: 1, max: 50 }) } : { kind: 'gaussian', sigma: num('sigma', { above: 0, max: 100 }) };
  const lambda: DetectParams['lambda'] = f.lambdaMode === 'value' ? { mode: 'value', value: num('value', { min: 0 }) } : { mode: 'auto', factor: num('factor', { above: 0, max: 100 }) };
  const camera: DetectParams['camera'] = {
    gain: optional('gain', { above: 0 }),
    offset: String(f.offset).trim() === '' ? 0 : num('offset', {}),
    readNoise: optional('readNoise', { min: 0 }),
  };
  // The fields of physical units are sent only when given (settings of older versions lack them).
  const pixelSizeNm = optional('pixelSize', { above: 0, max: 1e6 });
  const electronsPerAdu = optional('ePerAdu', { above: 0 });
  const emGain = optional('emGain', { min: 1 });
  if (pixelSizeNm !== null) camera.pixelSizeNm = pixelSizeNm;
  if (electronsPerAdu !== null) camera.electronsPerAdu = electronsPerAdu;
  if (emGain !== null) camera.emGain = emGain;
  // One way to give the gain, as `cpgd detect` takes it.
  if (camera.gain !== null && electronsPerAdu !== null && !errors.ePerAdu) errors.ePerAdu = 'or the gain in ADU/photon, not both';
  if (emGain !== null && electronsPerAdu === null && !errors.emGain) errors.emGain = 'needs e⁻ per ADU';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, params: { psf, lambda, background: f.background, camera } };
}
