/** Small numerical helpers shared by the core. */

/**
 * The error function. Abramowitz & Stegun 7.1.26 refined by one Newton-free correction is not
 * enough for sub-1e-9 work, so this uses the complementary-error-function series of
 * Numerical Recipes (erfc via Chebyshev-like rational fit, |relative error| < 1.2e-7) only as a
 * placeholder: see erf tests for the accuracy actually guaranteed.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}
