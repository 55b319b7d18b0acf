/**
 * Canvas attachments of the image view.
 *   drawFrame    draws the frame bitmap with the current view, and the sources on top. It re-runs
 *                when what it reads changes (bitmap, view, size, sources); the bitmap is copied to
 *                an offscreen canvas only when it changes, so panning and zooming only blit.
 *   interact     wheel zoom about the cursor, drag to pan, double-click to fit, pointer readout,
 *                and the canvas size (ResizeObserver). It reads no state, so it runs once.
 */
import type { Attachment } from 'svelte/attachments';
import { overlayColour } from '../lib/colormap.js';
import { imageToScreen, wheelFactor } from '../lib/view.js';
import type { Display } from '../state/display.svelte.js';

export function drawFrame(display: Display): Attachment<HTMLCanvasElement> {
  let source: Display['rgba'] = null;
  let bitmap: HTMLCanvasElement | null = null;

  return (canvas) => {
    const rgba = display.rgba;
    const view = display.view;
    const w = display.canvasW;
    const h = display.canvasH;
    const sources = display.showSources ? display.ws.sources : [];
    const colour = overlayColour(display.colormap);

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

    if (sources.length > 0) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.25;
      const r = Math.max(4, 2.5 * view.scale);
      ctx.beginPath();
      for (const s of sources) {
        const p = imageToScreen(view, s.x, s.y);
        if (p.sx < -r || p.sy < -r || p.sx > w + r || p.sy > h + r) continue;
        ctx.moveTo(p.sx + r, p.sy);
        ctx.arc(p.sx, p.sy, r, 0, 2 * Math.PI);
      }
      ctx.stroke();
    }
  };
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
    let drag: { id: number; x: number; y: number } | null = null;
    const onDown = (e: PointerEvent) => {
      if (e.button !== 0) return;
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
      canvas.setPointerCapture(e.pointerId);
      canvas.classList.add('dragging');
    };
    const onMove = (e: PointerEvent) => {
      if (drag && e.pointerId === drag.id) {
        display.pan(e.clientX - drag.x, e.clientY - drag.y);
        drag = { ...drag, x: e.clientX, y: e.clientY };
      }
      const p = local(e);
      display.pointAt(p.x, p.y);
    };
    const onUp = (e: PointerEvent) => {
      if (drag && e.pointerId === drag.id) {
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
