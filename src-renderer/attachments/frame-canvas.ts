/**
 * Canvas attachments of the image view.
 *   drawFrame    draws the frame bitmap with the current view, and on top: the sources (circles
 *                sized by flux, coloured by snr), the live particles of a running solve, the
 *                region of interest and its preview sources, and the selected source. It re-runs
 *                when what it reads changes; the bitmap is copied to an offscreen canvas only when
 *                it changes, so panning and zooming only blit.
 *   interact     wheel zoom about the cursor, drag to pan, Shift+drag to draw a region of interest,
 *                double-click to fit, pointer readout, and the canvas size (ResizeObserver). It
 *                reads no state, so it runs once.
 */
import type { Attachment } from 'svelte/attachments';
import type { ParticleSnapshot, Region, SourceRow } from '../../src-main/shared/ipc.js';
import { maxFlux, particleRadius, snrColour, sourceRadius } from '../lib/overlay.js';
import { imageToScreen, wheelFactor, type View } from '../lib/view.js';
import type { Display } from '../state/display.svelte.js';

export function drawFrame(display: Display): Attachment<HTMLCanvasElement> {
  let source: Display['rgba'] = null;
  let bitmap: HTMLCanvasElement | null = null;

  return (canvas) => {
    const rgba = display.rgba;
    const view = display.view;
    const w = display.canvasW;
    const h = display.canvasH;
    const ws = display.ws;
    // The overlays are in camera pixels: on the camera frame only, not on a rendering.
    const onImage = display.mode === 'image';
    const sources = display.showSources && onImage ? ws.sources : [];
    const regionRun = display.showSources && onImage ? ws.regionShown : null;
    const particles = ws.running && onImage ? ws.particles : null;
    const region = onImage ? ws.region : null;
    const drag = onImage ? display.regionDrag : null;
    const selected = ws.selectedId;
    const picked = onImage ? ws.psfStars : [];
    const fitted = onImage ? (ws.psfFit?.stars ?? []) : [];

    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const pw = Math.max(1, Math.round(w * dpr));
    const ph = Math.max(1, Math.round(h * dpr));
    if (canvas.width !== pw) canvas.width = pw;
    if (canvas.height !== ph) canvas.height = ph;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!rgba) return;

    if (rgba !== source || !bitmap) {
      bitmap ??= document.createElement('canvas');
      bitmap.width = rgba.width;
      bitmap.height = rgba.height;
      bitmap.getContext('2d')?.putImageData(new ImageData(rgba.data, rgba.width, rgba.height), 0, 0);
      source = rgba;
    }
    // Pixels stay square blocks when zoomed in; smoothing only when zoomed out.
    ctx.imageSmoothingEnabled = view.scale < 1;
    ctx.drawImage(bitmap, view.offsetX, view.offsetY, rgba.width * view.scale, rgba.height * view.scale);

    const top = maxFlux(sources.length > 0 ? sources : (regionRun?.sources ?? []));
    const psf = ws.params.psf;
    const sigma = psf.kind === 'gaussian' ? psf.sigma : psf.kind === 'moffat' ? psf.fwhm / 2.3548 : (ws.psfFile?.sigma ?? 1.5);
    drawSources(ctx, view, w, h, sources, top, selected, false, sigma);
    if (regionRun) drawSources(ctx, view, w, h, regionRun.sources, top, null, true, sigma);
    if (particles) drawParticles(ctx, view, w, h, particles);
    if (region) drawRegion(ctx, view, region, regionRun ? '#f5c542' : 'rgba(245, 197, 66, 0.8)');
    if (picked.length > 0 || fitted.length > 0) drawStars(ctx, view, picked, fitted);
    if (drag) {
      const x = Math.min(drag.x0, drag.x1);
      const y = Math.min(drag.y0, drag.y1);
      drawRegion(ctx, view, { x: x + 0.5, y: y + 0.5, width: Math.abs(drag.x1 - drag.x0), height: Math.abs(drag.y1 - drag.y0) }, '#ffffff');
    }
  };
}

/**
 * Circles: radius from flux (at least 3 screen pixels), colour from snr; the selected one ringed.
 * A region's preview sources are dashed, so they read apart from the full run's.
 */
function drawSources(ctx: CanvasRenderingContext2D, view: View, w: number, h: number, sources: readonly SourceRow[], top: number, selected: number | null, dashed: boolean, sigma: number): void {
  ctx.lineWidth = 1.5;
  ctx.setLineDash(dashed ? [3, 3] : []);
  for (const s of sources) {
    const p = imageToScreen(view, s.x, s.y);
    const r = Math.max(3, sourceRadius(s.flux, top, sigma) * view.scale);
    if (p.sx < -r || p.sy < -r || p.sx > w + r || p.sy > h + r) continue;
    ctx.strokeStyle = snrColour(s.snr);
    ctx.beginPath();
    ctx.arc(p.sx, p.sy, r, 0, 2 * Math.PI);
    ctx.stroke();
    if (s.id === selected) {
      ctx.save();
      ctx.strokeStyle = '#ffffff';
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.arc(p.sx, p.sy, r + 5, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.restore();
    }
  }
  ctx.setLineDash([]);
}

/** Live particles: orange dots, area from weight. */
function drawParticles(ctx: CanvasRenderingContext2D, view: View, w: number, h: number, p: ParticleSnapshot): void {
  let top = 0;
  for (const a of p.a) if (Math.abs(a) > top) top = Math.abs(a);
  ctx.fillStyle = 'rgba(255, 140, 40, 0.85)';
  ctx.beginPath();
  for (let i = 0; i < p.x.length; i++) {
    const q = imageToScreen(view, p.x[i]!, p.y[i]!);
    if (q.sx < -4 || q.sy < -4 || q.sx > w + 4 || q.sy > h + 4) continue;
    const r = particleRadius(p.a[i]!, top);
    ctx.moveTo(q.sx + r, q.sy);
    ctx.arc(q.sx, q.sy, r, 0, 2 * Math.PI);
  }
  ctx.fill();
}

/** Stars for the PSF fit: picked ones as crosses, fitted ones as small squares (cyan). */
function drawStars(ctx: CanvasRenderingContext2D, view: View, picked: readonly { x: number; y: number }[], fitted: readonly { x: number; y: number }[]): void {
  ctx.save();
  ctx.strokeStyle = '#38e8ff';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (const s of picked) {
    const p = imageToScreen(view, s.x, s.y);
    ctx.moveTo(p.sx - 6, p.sy);
    ctx.lineTo(p.sx + 6, p.sy);
    ctx.moveTo(p.sx, p.sy - 6);
    ctx.lineTo(p.sx, p.sy + 6);
  }
  for (const s of fitted) {
    const p = imageToScreen(view, s.x, s.y);
    const r = Math.max(5, 3 * view.scale);
    ctx.rect(p.sx - r, p.sy - r, 2 * r, 2 * r);
  }
  ctx.stroke();
  ctx.restore();
}

/** A region's outline (pixels x … x + width − 1 drawn edge to edge). */
function drawRegion(ctx: CanvasRenderingContext2D, view: View, r: Region, colour: string): void {
  const a = imageToScreen(view, r.x - 0.5, r.y - 0.5);
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.25;
  ctx.setLineDash([6, 4]);
  ctx.strokeRect(a.sx, a.sy, r.width * view.scale, r.height * view.scale);
  ctx.restore();
}

export function interact(display: Display): Attachment<HTMLCanvasElement> {
  return (canvas) => {
    const local = (e: { clientX: number; clientY: number }) => {
      const r = canvas.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    const observer = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]!.contentRect;
      display.resize(box.width, box.height);
    });
    observer.observe(canvas);

    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const p = local(e);
      display.zoom(wheelFactor(e.deltaY, e.deltaMode), p.x, p.y);
      display.pointAt(p.x, p.y);
    };
    let drag: { id: number; x: number; y: number; region: boolean; x0: number; y0: number } | null = null;
    const onDown = (e: PointerEvent) => {
      if (e.button !== 0) return;
      const region = e.shiftKey;
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY, region, x0: e.clientX, y0: e.clientY };
      canvas.setPointerCapture(e.pointerId);
      if (region) {
        const p = local(e);
        display.pointAt(p.x, p.y);
        const c = display.cursor;
        if (c) display.regionDrag = { x0: c.x, y0: c.y, x1: c.x, y1: c.y };
      } else canvas.classList.add('dragging');
    };
    const onMove = (e: PointerEvent) => {
      const p = local(e);
      if (drag && e.pointerId === drag.id && !drag.region) {
        display.pan(e.clientX - drag.x, e.clientY - drag.y);
        drag = { ...drag, x: e.clientX, y: e.clientY };
      }
      display.pointAt(p.x, p.y);
      const c = display.cursor;
      if (drag?.region && display.regionDrag && c) display.regionDrag = { ...display.regionDrag, x1: c.x, y1: c.y };
    };
    const onUp = (e: PointerEvent) => {
      if (drag && e.pointerId === drag.id) {
        if (drag.region) display.finishRegion();
        // A click (not a drag) while picking stars adds a star for the PSF fit.
        else if (display.ws.pickingStars && Math.hypot(e.clientX - drag.x0, e.clientY - drag.y0) < 4) display.pickStar();
        drag = null;
        canvas.classList.remove('dragging');
        if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
      }
    };
    const onLeave = () => {
      if (!drag) display.cursor = null;
    };
    const onDouble = () => display.fit();

    canvas.addEventListener('wheel', onWheel, { passive: false });
    canvas.addEventListener('pointerdown', onDown);
    canvas.addEventListener('pointermove', onMove);
    canvas.addEventListener('pointerup', onUp);
    canvas.addEventListener('pointercancel', onUp);
    canvas.addEventListener('pointerleave', onLeave);
    canvas.addEventListener('dblclick', onDouble);
    return () => {
      observer.disconnect();
      canvas.removeEventListener('wheel', onWheel);
      canvas.removeEventListener('pointerdown', onDown);
      canvas.removeEventListener('pointermove', onMove);
      canvas.removeEventListener('pointerup', onUp);
      canvas.removeEventListener('pointercancel', onUp);
      canvas.removeEventListener('pointerleave', onLeave);
      canvas.removeEventListener('dblclick', onDouble);
    };
  };
}
