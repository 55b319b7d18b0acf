/**
 * The convergence charts (chart.js), as two attachments on the same canvas, like the image view:
 *   chartCanvas  creates the chart once (it reads no state) and destroys it with the canvas;
 *   chartData    hands it the current series and redraws without animation; it re-runs whenever
 *                the series change (live progress events, then the run's final trace).
 * Two kinds: 'objective' (F − F_best on a log axis, left; the relative duality gap on a log axis,
 * right) and 'particles' (the live particle count, linear). The x axis is the solver iteration.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import type { Attachment } from 'svelte/attachments';
import type { ChartSeries } from '../lib/convergence.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export type ChartKind = 'objective' | 'particles';

/** Where the chart lives between the two attachments. */
export interface ChartHolder {
  chart: Chart<'line', { x: number; y: number }[]> | null;
}

const TEXT = '#9aa1ad';
const GRID = 'rgba(255, 255, 255, 0.07)';

/** Log-axis ticks: powers of ten only, as 1e-6 … 1e4 (chart.js would write 10,000.000). */
function powerTick(value: number | string): string | null {
  const v = Number(value);
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9 ? (Math.abs(e) <= 2 ? String(Number(v.toPrecision(1))) : `1e${Math.round(e)}`) : null;
}

function config(kind: ChartKind): ChartConfiguration<'line', { x: number; y: number }[]> {
  const axis = { ticks: { color: TEXT, maxTicksLimit: 5 }, grid: { color: GRID }, border: { color: GRID } };
  const logAxis = (colour: string) => ({ ...axis, ticks: { color: colour, autoSkip: true, maxTicksLimit: 6, callback: powerTick } });
  const line = (label: string, colour: string, yAxisID: string) => ({ label, data: [], borderColor: colour, backgroundColor: colour, yAxisID, borderWidth: 1.5, pointRadius: 0, tension: 0 });
  const datasets = kind === 'objective' ? [line('F − F_best (left)', '#4f8cff', 'y'), line('relative gap (right)', '#f5c542', 'gap')] : [line('particles', '#ff8c28', 'y')];
  const scales: Record<string, object> =
    kind === 'objective'
      ? {
          x: { type: 'linear', title: { display: true, text: 'iteration', color: TEXT }, ...axis },
          y: { type: 'logarithmic', position: 'left', ...logAxis('#4f8cff') },
          gap: { type: 'logarithmic', position: 'right', ...logAxis('#f5c542'), grid: { drawOnChartArea: false } },
        }
      : {
          x: { type: 'linear', title: { display: true, text: 'iteration', color: TEXT }, ...axis },
          // Titled axis instead of a legend: the small plot keeps room for its count ticks.
          y: { type: 'linear', beginAtZero: true, ...axis, title: { display: true, text: 'particles', color: '#ff8c28' }, ticks: { color: '#ff8c28', maxTicksLimit: 4, precision: 0 } },
        };
  return {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      plugins: { legend: { display: kind === 'objective', labels: { color: TEXT, boxWidth: 12 } }, tooltip: { enabled: true } },
      scales,
    },
  };
}

export function chartCanvas(holder: ChartHolder, kind: ChartKind): Attachment<HTMLCanvasElement> {
  return (canvas) => {
    const chart = new Chart(canvas, config(kind));
    holder.chart = chart;
    return () => {
      chart.destroy();
      if (holder.chart === chart) holder.chart = null;
    };
  };
}

export function chartData(holder: ChartHolder, kind: ChartKind, series: () => ChartSeries): Attachment<HTMLCanvasElement> {
  return () => {
    const s = series();
    const chart = holder.chart;
    if (!chart) return;
    if (kind === 'objective') {
      chart.data.datasets[0]!.data = s.fMinusBest;
      chart.data.datasets[1]!.data = s.gap;
    } else chart.data.datasets[0]!.data = s.particles;
    chart.update('none');
  };
}
