"""photutils (Debian python3-photutils) on a benchmark image, at each threshold of a sweep.

Configuration:
- background: Background2D with a mesh of --back-size pixels, 3x3 median filter, 3-sigma
  clipped medians, no mesh box excluded (dense SMLM frames would otherwise exclude them all); noise = the median background RMS;
- detection: DAOStarFinder with the PSF's FWHM, threshold in units of that RMS, sources at
  the border kept;
- without --psf-fit: positions are DAOStarFinder's centroids and fluxes aperture sums in
  --aperture px divided by the PSF's encircled energy there (--ee);
- with --psf-fit: PSF photometry (BasicPSFPhotometry, DAOGroup at 2 FWHM, Levenberg-Marquardt)
  with the known PSF: IntegratedGaussianPRF of fixed sigma for Gaussian PSFs (--gaussian-sigma),
  otherwise the whole PSF stamp (--psf-model) as a FittableImageModel; positions and fluxes are the fitted ones,
  started from the finder's.
The time of a run is background + detection (+ photometry), over all frames, without the
interpreter start-up and file reading.
"""
import warnings

import numpy as np
import photutils
from astropy.stats import SigmaClip
from astropy.table import Table
from photutils.aperture import CircularAperture, aperture_photometry
from photutils.background import Background2D, MedianBackground
from photutils.detection import DAOStarFinder

from common import Timer, emit, parse_args, read_frames, read_kernel, thresholds


def extra(p):
    p.add_argument('--psf-fit', action='store_true', help='PSF photometry with the known PSF')
    p.add_argument('--psf-model', default='', help='PSF stamp for the fit (FITS, whole support; default: --kernel)')
    p.add_argument('--gaussian-sigma', type=float, default=0.0, help='sigma of a Gaussian PSF (0: use the stamp)')


def main():
    a = parse_args('photutils DAOStarFinder (+ PSF photometry) at several thresholds', extra)
    warnings.simplefilter('ignore')
    frames = read_frames(a.image)
    kernel = read_kernel(a.kernel)
    h, w = frames.shape[1], frames.shape[2]
    bs = min(a.back_size, h, w)
    mesh_ok = h // bs >= 3 and w // bs >= 3
    clock = Timer()
    subs = []
    back_time = 0.0
    for f in frames:
        clock.lap()
        bkg = Background2D(f, (bs, bs), filter_size=(3, 3) if mesh_ok else (1, 1),
                           sigma_clip=SigmaClip(sigma=3.0), bkg_estimator=MedianBackground(),
                           exclude_percentile=100.0)
        subs.append((f - bkg.background, float(bkg.background_rms_median)))
        back_time += clock.lap()

    phot = None
    if a.psf_fit:
        from astropy.modeling.fitting import LevMarLSQFitter
        from photutils.psf import BasicPSFPhotometry, DAOGroup, FittableImageModel, IntegratedGaussianPRF
        if a.gaussian_sigma > 0:
            model = IntegratedGaussianPRF(sigma=a.gaussian_sigma)
            model.sigma.fixed = True
        else:
            model = FittableImageModel(read_kernel(a.psf_model) if a.psf_model else kernel, normalize=True, oversampling=1)
        size = int(2 * np.ceil(1.5 * a.fwhm) + 1)
        phot = BasicPSFPhotometry(group_maker=DAOGroup(2.0 * a.fwhm), bkg_estimator=None, psf_model=model,
                                  fitshape=(size, size), fitter=LevMarLSQFitter(), aperture_radius=a.aperture)

    runs = []
    for thr in thresholds(a.thresholds):
        clock.lap()
        sources = []
        for i, (sub, rms) in enumerate(subs):
            finder = DAOStarFinder(threshold=thr * rms, fwhm=a.fwhm, exclude_border=False)
            tbl = finder(sub)
            if tbl is None or len(tbl) == 0:
                continue
            x = np.asarray(tbl['xcentroid'], dtype=float)
            y = np.asarray(tbl['ycentroid'], dtype=float)
            if phot is not None:
                res = phot(image=sub, init_guesses=Table({'x_0': x, 'y_0': y}))
                x = np.asarray(res['x_fit'], dtype=float)
                y = np.asarray(res['y_fit'], dtype=float)
                flux = np.asarray(res['flux_fit'], dtype=float)
            else:
                ap = aperture_photometry(sub, CircularAperture(np.transpose([x, y]), r=a.aperture))
                flux = np.asarray(ap['aperture_sum'], dtype=float) / a.ee
            for xx, yy, ff in zip(x, y, flux):
                sources.append([i, float(xx), float(yy), float(ff)])
        runs.append({'threshold': thr, 'seconds': back_time + clock.lap(), 'sources': sources})
    emit('photutils-psf' if a.psf_fit else 'photutils', photutils.__version__, runs)


if __name__ == '__main__':
    main()
