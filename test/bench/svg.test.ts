/**
 * The SVG plot writer of the benchmark figures (bench/lib/svg.mjs): well-formed SVG, log axes
 * that place values by their logarithm with decade ticks, escaped text, broken lines.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module of the benchmark (no declarations)
import { escapeXml, linearTicks, logTicks, svgPlot } from '../../bench/lib/svg.mjs';

/** Well-formedness: every element closed in order, attributes quoted, one root <svg>. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const between = svg.slice(last, m.index);
    expect(between, `stray markup before <${m[2]}>`).not.toMatch(/[<>]/);
    expect(between, 'unescaped &').not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
    last = tag.lastIndex;
    const [, close, name, , self] = m;
    if (close) expect(stack.pop(), `</${name}>`).toBe(name);
    else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  expect(svg.trimStart().startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

/** The numbers of a polyline's points attribute. */
const polylines = (svg: string) => [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));

describe('svgPlot', () => {
  const plot = svgPlot({
    title: 'F − F* <check> & "quotes"',
    xLabel: 'iteration t',
    yLabel: 'F(μ_t) − F*',
    yLog: true,
    xDomain: [0, 100],
    yDomain: [1e-8, 1],
    width: 600,
    height: 400,
    series: [
      { label: 'a', points: [[0, 1], [50, 1e-4], [100, 1e-8]], color: '#d62728' },
      { label: 'b', points: [[0, 1e-2], null, [50, 1e-2], [60, 0], [100, 1e-3]], dash: '4 2' },
    ],
  });

  it('is well-formed SVG with the title and labels escaped', () => {
    checkWellFormed(plot);
    expect(plot).toContain('F − F* &lt;check&gt; &amp; &quot;quotes&quot;');
    expect(plot).toContain('>iteration t<');
    expect(plot).toContain('>F(μ_t) − F*<');
  });

  it('places values by their logarithm on a log axis and labels the decades', () => {
    const [a] = polylines(plot);
    // 1 at the top, 1e-8 at the bottom, 1e-4 exactly half-way; x linear.
    const [top, mid, bottom] = a;
    expect(mid[1]).toBeCloseTo((top[1] + bottom[1]) / 2, 1);
    expect(mid[0]).toBeCloseTo((top[0] + bottom[0]) / 2, 1);
    expect(bottom[1]).toBeGreaterThan(top[1]);
    // Decade labels 10^-8 … 10^-1 (superscript) and 1.
    for (const e of [8, 6, 4, 2]) expect(plot).toContain(`10<tspan dy="-0.5em" font-size="0.75em">−${e}</tspan>`);
    expect(plot).toMatch(/>1<\/text>/);
  });

  it('breaks a line at null and at values a log axis cannot show, and draws the legend', () => {
    const lines = polylines(plot);
    // a: one line; b: [0,1e-2] alone (a dot), then [50,1e-2] alone (0 dropped), then [100,1e-3] alone.
    expect(lines).toHaveLength(1);
    expect((plot.match(/<circle /g) ?? []).length).toBe(3);
    expect(plot).toContain('class="legend"');
    expect(plot).toContain('stroke-dasharray="4 2"');
  });

  it('refuses a plot with nothing to draw and no domain', () => {
    expect(() => svgPlot({ title: 't', xLabel: 'x', yLabel: 'y', yLog: true, series: [{ points: [[1, 0], [2, -1]] }] })).toThrow(/no finite points/);
  });
});

describe('ticks', () => {
  it('log ticks are the decades, with 1-2-5 steps inside a single decade', () => {
    expect(logTicks(1e-10, 0.5)).toEqual([1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]);
    expect(logTicks(1.5, 9)).toEqual([2, 5]);
    expect(logTicks(1e-30, 1).length).toBeLessThanOrEqual(11);
  });
  it('linear ticks are round numbers covering the range', () => {
    expect(linearTicks(0, 2000)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(linearTicks(0, 64)).toEqual([0, 20, 40, 60]);
    expect(linearTicks(-0.3, 0.3)).toEqual([-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3]);
  });
  it('escapes XML', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
