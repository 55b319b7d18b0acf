/**
 * The drift curve (chart.js): dx and dy in nm against the frame, as drift correction estimated
 * it from sub-stack renderings (core/drift.ts). Two attachments on one canvas, like the
 * convergence charts: driftCanvas creates the chart once, driftData hands it the curve.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { Attachment } from 'svelte/attachments';
import type { DriftInfo } from '../../src-main/shared/ipc.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const TEXT = '#9aa1ad';
const GRID = 'rgba(255, 255, 255, 0.07)';

export interface DriftHolder {
  chart: Chart<'line', { x: number; y: number }[]> | null;
}

/** The curve as chart points: (frame, dx) and (frame, dy). */
export function driftPoints(d: DriftInfo | null): { dx: { x: number; y: number }[]; dy: { x: number; y: number }[] } {
  if (!d) return { dx: [], dy: [] };
  return { dx: d.frames.map((f, k) => ({ x: f, y: d.dxNm[k]! })), dy: d.frames.map((f, k) => ({ x: f, y: d.dyNm[k]! })) };
}

export function driftCanvas(holder: DriftHolder): Attachment<HTMLCanvasElement> {
  return (canvas) => {
    const axis = { ticks: { color: TEXT, maxTicksLimit: 5 }, grid: { color: GRID }, border: { color: GRID } };
    const line = (label: string, colour: string) => ({ label, data: [] as { x: number; y: number }[], borderColor: colour, backgroundColor: colour, borderWidth: 1.5, pointRadius: 0, tension: 0 });
    const chart = new Chart<'line', { x: number; y: number }[]>(canvas, {
      type: 'line',
      data: { datasets: [line('dx (nm)', '#4f8cff'), line('dy (nm)', '#f5c542')] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: { legend: { display: true, labels: { color: TEXT, boxWidth: 12 } }, tooltip: { enabled: true } },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'frame', color: TEXT }, ...axis },
          y: { type: 'linear', title: { display: true, text: 'drift (nm)', color: TEXT }, ...axis },
        },
      },
    });
    holder.chart = chart;
    return () => {
      chart.destroy();
      if (holder.chart === chart) holder.chart = null;
    };
  };
}

export function driftData(holder: DriftHolder, drift: () => DriftInfo | null): Attachment<HTMLCanvasElement> {
  return () => {
    const p = driftPoints(drift());
    const chart = holder.chart;
    if (!chart) return;
    chart.data.datasets[0]!.data = p.dx;
    chart.data.datasets[1]!.data = p.dy;
    chart.update('none');
  };
}
