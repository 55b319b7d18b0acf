"""Shared helpers of the peer scripts run by bench/peers.mjs (Debian's python3-astropy, numpy).

Every peer script reads the same simulated FITS image (2-D, or a cube of frames), the PSF kernel
the benchmark gives every tool (a FITS stamp, unit sum, centred), and prints one JSON object on
stdout: {"tool", "version", "runs": [{"threshold", "seconds", "sources": [[frame, x, y, flux], ...]}]}.
Positions are 0-based with the centre of the first pixel at (0, 0) (numpy/SEP/photutils
convention, the same as cpgd's); fluxes are total fluxes in image units (ADU).
"""
import argparse
import json
import sys
import time

import numpy as np
from astropy.io import fits


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--image', required=True, help='FITS image (2-D or a cube of frames)')
    p.add_argument('--kernel', required=True, help='PSF stamp (FITS, unit sum, centre at the centre)')
    p.add_argument('--fwhm', type=float, required=True, help='PSF FWHM, pixels')
    p.add_argument('--thresholds', required=True, help='comma-separated detection thresholds (tool units)')
    p.add_argument('--aperture', type=float, required=True, help='aperture radius for fluxes, pixels')
    p.add_argument('--ee', type=float, required=True, help='PSF flux fraction inside the aperture (aperture correction)')
    p.add_argument('--back-size', type=int, default=64, help='background mesh size, pixels')
    if extra:
        extra(p)
    return p.parse_args()


def read_frames(path):
    data = fits.getdata(path)
    data = np.ascontiguousarray(data, dtype=np.float64)  # native byte order for the C libraries
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise SystemExit(f'{path}: expected a 2-D image or a cube, got {data.ndim} axes')
    return data


def read_kernel(path):
    k = np.ascontiguousarray(fits.getdata(path), dtype=np.float64)
    return k / k.sum()


def thresholds(text):
    return [float(t) for t in text.split(',') if t.strip()]


def emit(tool, version, runs, notes=None):
    # JSON has no NaN: a failed fit is written as null.
    for r in runs:
        r['sources'] = [[v if np.isfinite(v) else None for v in s] for s in r['sources']]
    json.dump({'tool': tool, 'version': version, 'runs': runs, 'notes': notes or []}, sys.stdout)
    sys.stdout.write('\n')


class Timer:
    def __init__(self):
        self.t = time.perf_counter()

    def lap(self):
        now = time.perf_counter()
        dt = now - self.t
        self.t = now
        return dt
