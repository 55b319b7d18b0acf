import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Reader fixtures written by astropy, tifffile and Pillow (see ../shared/fixtures/README.md). */
export const FIXTURES = resolve(ROOT, '../shared/fixtures/images');
