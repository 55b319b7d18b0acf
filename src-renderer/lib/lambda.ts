/**
 * The λ slider: a logarithmic scale of the factor that multiplies the noise-based λ (auto), from
 * 1/10 to 10 times it, in SLIDER_STEPS steps; 1× sits in the middle. Pure.
 */

export const SLIDER_STEPS = 400;
export const FACTOR_RANGE = { min: 0.1, max: 10 } as const;

const logMin = Math.log(FACTOR_RANGE.min);
const logSpan = Math.log(FACTOR_RANGE.max) - logMin;

/** Slider position (0 … SLIDER_STEPS) → factor, rounded to 3 significant digits. */
export function sliderToFactor(position: number): number {
  const p = Math.min(SLIDER_STEPS, Math.max(0, position));
  return Number(Math.exp(logMin + (p / SLIDER_STEPS) * logSpan).toPrecision(3));
}

/** Factor → nearest slider position (clamped to the range). */
export function factorToSlider(factor: number): number {
  if (!(factor > 0)) return 0;
  const p = ((Math.log(factor) - logMin) / logSpan) * SLIDER_STEPS;
  return Math.round(Math.min(SLIDER_STEPS, Math.max(0, p)));
}
