/**
 * How the frame is shown: stretch, limits, colour map, and the view (zoom and pan) of the canvas.
 * The RGBA bitmap is derived from the frame and these choices (recomputed only when they change,
 * not on pan or zoom); the canvas attachments draw it.
 *
 * Two things can be shown with the same controls: the camera frame ('image') or the super-
 * resolution rendering of the localisations ('rendering'), each a displayable grid of pixels.
 * Each keeps its own stretch, limits, colour map and view, so switching back and forth finds
 * both as they were left.
 */
import { colormap, type ColormapName } from '../lib/colormap.js';
import { renderRgba } from '../lib/render.js';
import { stretchTable, type StretchKind } from '../lib/stretch.js';
import { nearestSource } from '../lib/overlay.js';
import { capRegion } from '../lib/region.js';
import { wcsOf } from '../lib/sky.js';
import { fitView, panBy, screenToImage, zoomAt, type View } from '../lib/view.js';
import { computeLimits, type Limits, type LimitsMode } from '../lib/zscale.js';
import { MAX_FIT_STARS, MAX_REGION_SIDE, type Region, type SourceRow } from '../../src-main/shared/ipc.js';
import type { Workspace } from './workspace.svelte.js';

export interface Cursor {
  x: number;
  y: number;
  col: number;
  row: number;
}

/** A grid of pixels the view shows: a camera frame or a rendering. */
export interface Displayable {
  width: number;
  height: number;
  pixels: Float32Array;
}

export type DisplayMode = 'image' | 'rendering';

interface ModeSettings {
  stretch: StretchKind;
  limitsMode: LimitsMode;
  colormap: ColormapName;
  view: View;
}

export class Display {
  readonly ws: Workspace;
  /** What the user chose to see; the rendering only while there is one (a new run clears it). */
  private wanted = $state<DisplayMode>('image');
  /** What is shown: the camera frame or the rendering of the localisations. */
  get mode(): DisplayMode {
    return this.wanted === 'rendering' && this.ws.rendering ? 'rendering' : 'image';
  }
  set mode(m: DisplayMode) {
    this.wanted = m;
  }
  private settings = $state<Record<DisplayMode, ModeSettings>>({
    image: { stretch: 'asinh', limitsMode: 'zscale', colormap: 'grey', view: { scale: 1, offsetX: 0, offsetY: 0 } },
    // Renderings are mostly empty with a few bright pixels: limits by percentile, a colour map.
    rendering: { stretch: 'sqrt', limitsMode: 'p999', colormap: 'viridis', view: { scale: 1, offsetX: 0, offsetY: 0 } },
  });
  showSources = $state(true);

  get stretch(): StretchKind {
    return this.settings[this.mode].stretch;
  }
  set stretch(v: StretchKind) {
    this.settings[this.mode].stretch = v;
  }
  get limitsMode(): LimitsMode {
    return this.settings[this.mode].limitsMode;
  }
  set limitsMode(v: LimitsMode) {
    this.settings[this.mode].limitsMode = v;
  }
  get colormap(): ColormapName {
    return this.settings[this.mode].colormap;
  }
  set colormap(v: ColormapName) {
    this.settings[this.mode].colormap = v;
  }
  get view(): View {
    return this.settings[this.mode].view;
  }
  set view(v: View) {
    this.settings[this.mode].view = v;
  }

  /** The pixels shown: the frame, or the rendering in rendering mode. */
  shown: Displayable | null = $derived.by(() => (this.mode === 'rendering' ? this.ws.rendering : this.ws.frame));

  /** Show the rendering (fitted to the canvas the first time a rendering of its size arrives) or the image. */
  setMode(mode: DisplayMode): void {
    if (mode === 'rendering' && !this.ws.rendering) return;
    this.mode = mode;
  }

  /** A new rendering: show it, fitted when its size changed. */
  showRendering(r: Displayable, previous: { width: number; height: number } | null): void {
    this.mode = 'rendering';
    if (!previous || previous.width !== r.width || previous.height !== r.height) this.requestFit(r.width, r.height);
  }
  /** Canvas size in CSS pixels. */
  canvasW = $state(0);
  canvasH = $state(0);
  cursor = $state.raw<Cursor | null>(null);
  /** A region being drawn (Shift+drag), image coordinates of its two corners. */
  regionDrag = $state.raw<{ x0: number; y0: number; x1: number; y1: number } | null>(null);
  private pendingFit: { w: number; h: number } | null = null;

  constructor(ws: Workspace) {
    this.ws = ws;
  }

  limits: Limits = $derived.by(() => {
    const f = this.shown;
    return f ? computeLimits(f.pixels, this.limitsMode) : { lo: 0, hi: 1 };
  });

  rgba: { width: number; height: number; data: Uint8ClampedArray<ArrayBuffer> } | null = $derived.by(() => {
    const f = this.shown;
    if (!f) return null;
    const data = new Uint8ClampedArray(4 * f.width * f.height);
    renderRgba(f.pixels, this.limits, stretchTable(this.stretch), colormap(this.colormap), data);
    return { width: f.width, height: f.height, data };
  });

  /** The pixel under the cursor and its value, when inside the frame. */
  readout: { col: number; row: number; x: number; y: number; value: number } | null = $derived.by(() => {
    const c = this.cursor;
    const f = this.shown;
    if (!c || !f || c.col < 0 || c.row < 0 || c.col >= f.width || c.row >= f.height) return null;
    return { ...c, value: f.pixels[c.row * f.width + c.col]! };
  });

  /** The image's celestial WCS (for the RA/Dec readout), or null. */
  wcs = $derived.by(() => wcsOf(this.ws.image));

  /** RA and Dec (degrees) under the cursor, when the image has a WCS. */
  sky: { ra: number; dec: number } | null = $derived.by(() => {
    const c = this.cursor;
    const w = this.wcs;
    if (!c || !w || this.mode !== 'image') return null;
    const [ra, dec] = w.pixelToWorld(c.x, c.y);
    return { ra, dec };
  });

  /** The detected source nearest the cursor, within 3 image pixels (or 8 screen pixels). */
  hovered: SourceRow | null = $derived.by(() => {
    const c = this.cursor;
    if (!c || this.mode !== 'image') return null;
    const reach = Math.max(3, 8 / this.view.scale);
    const shown = this.ws.regionShown?.sources ?? [];
    return nearestSource(this.ws.sources, c.x, c.y, reach) ?? nearestSource(shown, c.x, c.y, reach);
  });

  /** Put image point (x, y) at the centre of the canvas, zooming in to at least 3× to see it. */
  centreOn(x: number, y: number): void {
    const scale = Math.max(this.view.scale, 3);
    this.view = { scale, offsetX: this.canvasW / 2 - (x + 0.5) * scale, offsetY: this.canvasH / 2 - (y + 0.5) * scale };
  }

  /** The part of the frame in view, capped at `cap` pixels per side around the view's centre. */
  visibleRegion(cap = 128): Region | null {
    const f = this.ws.frame;
    if (!f || this.canvasW === 0) return null;
    const a = screenToImage(this.view, 0, 0);
    const b = screenToImage(this.view, this.canvasW, this.canvasH);
    const x0 = Math.max(0, Math.floor(a.x + 0.5));
    const y0 = Math.max(0, Math.floor(a.y + 0.5));
    const x1 = Math.min(f.width, Math.ceil(b.x + 0.5));
    const y1 = Math.min(f.height, Math.ceil(b.y + 0.5));
    return capRegion({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, cap, f.width, f.height);
  }

  /** Add the star under the cursor to the PSF fit's stars (at most MAX_FIT_STARS). */
  pickStar(): void {
    if (this.mode !== 'image') return;
    const c = this.cursor;
    const f = this.ws.frame;
    if (!c || !f || c.col < 0 || c.row < 0 || c.col >= f.width || c.row >= f.height) return;
    if (this.ws.psfStars.length >= MAX_FIT_STARS) return;
    this.ws.psfStars = [...this.ws.psfStars, { x: c.x, y: c.y }];
  }

  /** End a Shift+drag: the rectangle becomes the region of interest (too small: none). */
  finishRegion(): void {
    const d = this.regionDrag;
    this.regionDrag = null;
    const f = this.ws.frame;
    if (!d || !f || this.mode !== 'image') return;
    const x0 = Math.max(0, Math.round(Math.min(d.x0, d.x1) + 0.5));
    const y0 = Math.max(0, Math.round(Math.min(d.y0, d.y1) + 0.5));
    const x1 = Math.min(f.width, Math.round(Math.max(d.x0, d.x1) + 0.5));
    const y1 = Math.min(f.height, Math.round(Math.max(d.y0, d.y1) + 0.5));
    if (x1 - x0 < 8 || y1 - y0 < 8) return;
    this.ws.region = capRegion({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, MAX_REGION_SIDE, f.width, f.height);
  }

  /** Fit an image of this size once the canvas has a size. */
  requestFit(w: number, h: number): void {
    if (this.canvasW > 0 && this.canvasH > 0) this.view = fitView(w, h, this.canvasW, this.canvasH);
    else this.pendingFit = { w, h };
  }

  fit(): void {
    const f = this.shown ?? this.ws.image;
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

