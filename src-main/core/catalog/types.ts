/**
 * One detected (or simulated) source. Coordinates are 0-based pixels with the centre of the first
 * pixel at (0, 0), x along columns. These fields are the `cpgd detect` CSV contract:
 * `id,frame,x,y,flux,x_err,y_err,flux_err,snr` then `ra,dec` when the image has a celestial WCS.
 */
export interface Source {
  /** 1-based running number within the catalogue. */
  id: number;
  /** 0-based frame index (0 for single images). */
  frame: number;
  /** Column position, pixels. */
  x: number;
  /** Row position, pixels. */
  y: number;
  /** Total flux: image units above offset divided by gain (photons when the gain is given). */
  flux: number;
  /** 1σ uncertainty of x from the Fisher information, pixels. */
  xErr: number;
  /** 1σ uncertainty of y, pixels. */
  yErr: number;
  /** 1σ uncertainty of flux, same unit as flux. */
  fluxErr: number;
  /** flux / fluxErr. */
  snr: number;
  /** Local background under the source, per pixel, same unit as flux. */
  background?: number;
  /** Right ascension, degrees (only with a celestial WCS). */
  ra?: number;
  /** Declination, degrees (only with a celestial WCS). */
  dec?: number;
}

/** A true source of a simulation. */
export interface TruthSource {
  id: number;
  frame: number;
  x: number;
  y: number;
  /** Photons (gain-corrected flux). */
  flux: number;
}
