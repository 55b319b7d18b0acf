"""SEP (Debian python3-sep) on a benchmark image, at each detection threshold of a sweep.

Configuration (what a careful SEP user would do with a known PSF):
- background: sep.Background with a mesh of --back-size pixels and a 3x3 median filter,
  subtracted; noise = the background's global RMS;
- detection: sep.extract with the PSF stamp as a *matched* filter, threshold in units of that
  RMS, minarea 3, deblending with 32 levels and contrast 0.005, cleaning on (SExtractor defaults);
- positions: windowed centroids (sep.winpos, the XWIN_IMAGE of SExtractor) with the PSF's sigma,
  more accurate than the isophotal barycentres;
- fluxes: sum in a circular aperture of --aperture px divided by the PSF's encircled energy
  inside it (--ee), i.e. an aperture-corrected total flux.
The time of a run is background + extraction + centroids + photometry, over all frames, without
the interpreter start-up and file reading.
"""
import numpy as np
import sep

from common import Timer, emit, parse_args, read_frames, read_kernel, thresholds


def main():
    a = parse_args('SEP extraction at several thresholds')
    frames = read_frames(a.image)
    kernel = read_kernel(a.kernel)
    sig = a.fwhm / 2.3548
    # Room for every pixel of the frame in the extraction stack (the default 300000 overflows on
    # large fields at low thresholds); allocated per call, so no bigger than needed.
    sep.set_extract_pixstack(max(300_000, frames.shape[1] * frames.shape[2]))
    sep.set_sub_object_limit(8192)
    bs = min(a.back_size, frames.shape[1], frames.shape[2])
    clock = Timer()
    subs = []
    back_time = 0.0
    for f in frames:
        clock.lap()
        bkg = sep.Background(f, bw=bs, bh=bs, fw=3, fh=3)
        subs.append((f - bkg.back(), bkg.globalrms))
        back_time += clock.lap()
    runs = []
    notes = []
    for thr in thresholds(a.thresholds):
        clock.lap()
        sources = []
        failed = None
        for i, (sub, rms) in enumerate(subs):
            try:
                objs = sep.extract(sub, thr, err=rms, minarea=3, filter_kernel=kernel, filter_type='matched',
                                   deblend_nthresh=32, deblend_cont=0.005, clean=True)
            except Exception as e:  # pixel stack or deblending overflow at low thresholds
                failed = f'threshold {thr}: {e}'
                break
            if len(objs) == 0:
                continue
            x, y, _ = sep.winpos(sub, objs['x'], objs['y'], np.full(len(objs), sig))
            flux, _, _ = sep.sum_circle(sub, x, y, a.aperture, err=rms, subpix=5)
            for xx, yy, ff in zip(x, y, flux):
                sources.append([i, float(xx), float(yy), float(ff) / a.ee])
        dt = clock.lap()
        if failed:
            notes.append(failed)
            continue
        runs.append({'threshold': thr, 'seconds': back_time + dt, 'sources': sources})
    emit('sep', sep.__version__, runs, notes)


if __name__ == '__main__':
    main()
