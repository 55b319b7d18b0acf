/**
 * How the frame is shown: stretch, limits, colour map, and the view (zoom and pan) of the canvas.
 * The RGBA bitmap is derived from the frame and these choices (recomputed only when they change,
 * not on pan or zoom); the canvas attachments draw it.
 */
import { colormap, type ColormapName } from '../lib/colormap.js';
import { renderRgba } from '../lib/render.js';
import { stretchTable, type StretchKind } from '../lib/stretch.js';
import { fitView, panBy, screenToImage, zoomAt, type View } from '../lib/view.js';
import { computeLimits, type Limits, type LimitsMode } from '../lib/zscale.js';
import type { SourceRow } from '../../src-main/shared/ipc.js';
import type { Workspace } from './workspace.svelte.js';

export interface Cursor {
  x: number;
  y: number;
  col: number;
  row: number;
}

export class Display {
  readonly ws: Workspace;
  stretch = $state<StretchKind>('asinh');
  limitsMode = $state<LimitsMode>('zscale');
  colormap = $state<ColormapName>('grey');
  showSources = $state(true);
  view = $state.raw<View>({ scale: 1, offsetX: 0, offsetY: 0 });
  /** Canvas size in CSS pixels. */
  canvasW = $state(0);
  canvasH = $state(0);
  cursor = $state.raw<Cursor | null>(null);
  private pendingFit: { w: number; h: number } | null = null;

  constructor(ws: Workspace) {
    this.ws = ws;
  }

  limits: Limits = $derived.by(() => {
    const f = this.ws.frame;
    return f ? computeLimits(f.pixels, this.limitsMode) : { lo: 0, hi: 1 };
  });

  rgba: { width: number; height: number; data: Uint8ClampedArray<ArrayBuffer> } | null = $derived.by(() => {
    const f = this.ws.frame;
    if (!f) return null;
    const data = new Uint8ClampedArray(4 * f.width * f.height);
    renderRgba(f.pixels, this.limits, stretchTable(this.stretch), colormap(this.colormap), data);
    return { width: f.width, height: f.height, data };
  });

  /** The pixel under the cursor and its value, when inside the frame. */
  readout: { col: number; row: number; x: number; y: number; value: number } | null = $derived.by(() => {
    const c = this.cursor;
    const f = this.ws.frame;
    if (!c || !f || c.col < 0 || c.row < 0 || c.col >= f.width || c.row >= f.height) return null;
    return { ...c, value: f.pixels[c.row * f.width + c.col]! };
  });

  /** The detected source nearest the cursor, within 3 image pixels (or 8 screen pixels). */
  hovered: SourceRow | null = $derived.by(() => {
    const c = this.cursor;
    if (!c) return null;
    const reach = Math.max(3, 8 / this.view.scale);
    let best: SourceRow | null = null;
    let bestD = reach * reach;
    for (const s of this.ws.sources) {
      const d = (s.x - c.x) ** 2 + (s.y - c.y) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = s;
      }
    }
    return best;
  });

  /** Fit an image of this size once the canvas has a size. */
  requestFit(w: number, h: number): void {
    if (this.canvasW > 0 && this.canvasH > 0) this.view = fitView(w, h, this.canvasW, this.canvasH);
    else this.pendingFit = { w, h };
  }

  fit(): void {
    const f = this.ws.frame ?? this.ws.image;
    if (f) this.requestFit(f.width, f.height);
  }

  resize(w: number, h: number): void {
    this.canvasW = w;
    this.canvasH = h;
    if (this.pendingFit && w > 0 && h > 0) {
      const p = this.pendingFit;
      this.pendingFit = null;
      this.view = fitView(p.w, p.h, w, h);
    }
  }

  zoom(factor: number, sx: number, sy: number): void {
    this.view = zoomAt(this.view, factor, sx, sy);
  }

  pan(dx: number, dy: number): void {
    this.view = panBy(this.view, dx, dy);
  }

  pointAt(sx: number, sy: number): void {
    this.cursor = screenToImage(this.view, sx, sy);
  }
}
