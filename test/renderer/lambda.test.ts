import { describe, expect, it } from 'vitest';
import { factorToSlider, sliderToFactor, SLIDER_STEPS } from '../../src-renderer/lib/lambda.js';

describe('λ log slider', () => {
  it('spans 0.1× to 10× the automatic λ, with 1× in the middle', () => {
    expect(sliderToFactor(0)).toBe(0.1);
    expect(sliderToFactor(SLIDER_STEPS)).toBe(10);
    expect(sliderToFactor(SLIDER_STEPS / 2)).toBe(1);
    expect(sliderToFactor(-50)).toBe(0.1);
  });

  it('equal slider steps are equal ratios, and positions round-trip', () => {
    const r1 = sliderToFactor(300) / sliderToFactor(200);
    const r2 = sliderToFactor(200) / sliderToFactor(100);
    expect(r1).toBeCloseTo(r2, 2);
    for (const p of [0, 37, 200, 311, SLIDER_STEPS]) expect(factorToSlider(sliderToFactor(p))).toBe(p);
    expect(factorToSlider(1000)).toBe(SLIDER_STEPS);
    expect(factorToSlider(0)).toBe(0);
  });
});
