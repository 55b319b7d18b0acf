/**
 * In-memory images. Pixels are row-major: the value at column x, row y is `data[y * width + x]`.
 * Coordinates are 0-based with the centre of the first pixel at (0, 0), x along columns.
 */

import { InvalidImageError } from './errors.js';

/** One frame of pixels. */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly data: Float64Array;
}

/** A header card as read from a file (FITS keyword, TIFF tag); values keep their native type. */
export interface HeaderCard {
  readonly key: string;
  readonly value: string | number | boolean | null;
  readonly comment?: string;
}

/**
 * A file's image as frames of height × width, read lazily: a 2 GB stack shows its first frame
 * without decoding the rest. `frame(i)` returns the pixels after scaling (BZERO/BSCALE), with
 * blanked pixels as NaN.
 */
export interface ImageSource {
  readonly format: 'fits' | 'tiff';
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** FITS: the 0-based HDU index read. */
  readonly hdu?: number;
  /** Header cards of the HDU (FITS) or the main tags (TIFF), for display and WCS. */
  readonly header: readonly HeaderCard[];
  /** Physical pixel size in nanometres (OME-TIFF PhysicalSizeX/Y), when the file says. */
  readonly pixelSizeNm?: { x: number; y: number };
  /** Camera fields the file gives (OME-TIFF detector Offset, EMCCD AmplificationGain; see camera.ts cameraFromOmeXml). */
  readonly camera?: { offset?: number; emGain?: number };
  frame(index: number): Promise<Image>;
  /** Release the file a lazily read source keeps open (frames cannot be read afterwards). */
  close?(): Promise<void>;
}

export function makeImage(width: number, height: number, data?: Float64Array): Image {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InvalidImageError(`image size must be positive integers (got ${width}×${height})`);
  }
  const d = data ?? new Float64Array(width * height);
  if (d.length !== width * height) {
    throw new InvalidImageError(`image has ${d.length} pixels, expected ${width}×${height}`);
  }
  return { width, height, data: d };
}
