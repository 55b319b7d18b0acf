/**
 * FITS header cards: parsing 80-character cards into HeaderCard values and formatting them back.
 *
 * Reading follows the FITS standard 4.0 (section 4) with the usual conventions: HIERARCH keywords
 * (key = the text between HIERARCH and '='), the CONTINUE long-string convention ('&' at the end of
 * a string continued by the next CONTINUE card), D exponents in numbers. Parsing never throws: a
 * card that makes no sense keeps its text as a string value.
 */

import type { HeaderCard } from '../image.js';
import { InvalidOptionError } from '../errors.js';

export const BLOCK = 2880;
export const CARD = 80;

type Value = HeaderCard['value'];

interface MutableCard {
  key: string;
  value: Value;
  comment?: string;
}

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?$/;
const INTEGER_RE = /^[+-]?\d+$/;

/** Reads a card's value field (the text after `= `): a quoted string, T/F, a number or raw text. */
function parseValueField(text: string): { value: Value; comment?: string; quoted: boolean } {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) === 32) i++;
  if (text.charCodeAt(i) === 39 /* ' */) {
    let out = '';
    let j = i + 1;
    let closed = false;
    // Each step consumes at least one character, so this ends within text.length steps.
    while (j <= text.length) {
      const k = text.indexOf("'", j);
      if (k < 0) {
        out += text.slice(j);
        j = text.length;
        break;
      }
      if (text.charCodeAt(k + 1) === 39) {
        out += text.slice(j, k) + "'";
        j = k + 2;
        continue;
      }
      out += text.slice(j, k);
      j = k + 1;
      closed = true;
      break;
    }
    const rest = closed ? text.slice(j) : '';
    const slash = rest.indexOf('/');
    const comment = slash >= 0 ? rest.slice(slash + 1).trim() : '';
    return { value: out.trimEnd(), quoted: true, ...(comment ? { comment } : {}) };
  }
  const slash = text.indexOf('/', i);
  const raw = (slash >= 0 ? text.slice(i, slash) : text.slice(i)).trim();
  const comment = slash >= 0 ? text.slice(slash + 1).trim() : '';
  const extra = comment ? { comment } : {};
  if (raw === '') return { value: null, quoted: false, ...extra };
  if (raw === 'T') return { value: true, quoted: false, ...extra };
  if (raw === 'F') return { value: false, quoted: false, ...extra };
  if (NUMBER_RE.test(raw)) {
    const n = INTEGER_RE.test(raw) ? Number(raw) : Number(raw.replace(/[Dd]/, 'E'));
    if (Number.isFinite(n)) return { value: n, quoted: false, ...extra };
  }
  return { value: raw, quoted: false, ...extra };
}

export interface ParsedCard {
  card: HeaderCard;
  /** 'continue' is a CONTINUE card holding a string (a long-string continuation). */
  kind: 'value' | 'commentary' | 'continue' | 'end';
  quoted: boolean;
}

/** Parses one 80-character card (shorter text is read as if padded with spaces). */
export function parseFitsCard(text: string): ParsedCard {
  const key8 = text.slice(0, 8).trimEnd().toUpperCase();
  if (key8 === 'END' && text.slice(8).trim() === '') {
    return { card: { key: 'END', value: null }, kind: 'end', quoted: false };
  }
  if (key8 === 'HIERARCH') {
    const rest = text.slice(8);
    const eq = rest.indexOf('=');
    if (eq > 0 && rest.slice(0, eq).trim() !== '') {
      const key = rest.slice(0, eq).trim().replace(/\s+/g, ' ');
      const { value, comment, quoted } = parseValueField(rest.slice(eq + 1));
      return { card: comment !== undefined ? { key, value, comment } : { key, value }, kind: 'value', quoted };
    }
  }
  if (key8 === 'CONTINUE' && text.slice(8, 10) !== '= ') {
    const body = text.slice(8);
    if (body.trimStart().startsWith("'")) {
      const { value, comment, quoted } = parseValueField(body);
      return {
        card: comment !== undefined ? { key: 'CONTINUE', value, comment } : { key: 'CONTINUE', value },
        kind: 'continue',
        quoted,
      };
    }
  }
  if (text.slice(8, 10) !== '= ' || key8 === 'COMMENT' || key8 === 'HISTORY' || key8 === '') {
    const comment = text.slice(8).trimEnd();
    return { card: { key: key8, value: null, comment }, kind: 'commentary', quoted: false };
  }
  const { value, comment, quoted } = parseValueField(text.slice(10));
  return {
    card: comment !== undefined ? { key: key8, value, comment } : { key: key8, value },
    kind: 'value',
    quoted,
  };
}

/** Latin-1 text of bytes[start, end) (FITS headers are ASCII). */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  const stop = Math.min(end, bytes.length);
  for (let i = start; i < stop; i += 4096) {
    s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, Math.min(stop, i + 4096))));
  }
  return s;
}

/**
 * Joins the cards of one header: CONTINUE cards are merged into the string they continue, blank
 * cards (key '' and no text) are dropped. `cards` stops before END.
 */
export function joinCards(parsed: readonly ParsedCard[]): HeaderCard[] {
  const out: MutableCard[] = [];
  let continuable = false;
  for (const p of parsed) {
    if (p.kind === 'continue') {
      const prev = out[out.length - 1];
      if (continuable && prev && typeof prev.value === 'string' && typeof p.card.value === 'string') {
        prev.value = prev.value.slice(0, -1) + p.card.value;
        if (p.card.comment) prev.comment = prev.comment ? `${prev.comment} ${p.card.comment}` : p.card.comment;
        continuable = prev.value.endsWith('&');
        continue;
      }
      // A CONTINUE that continues nothing is kept as commentary.
      out.push({ key: 'CONTINUE', value: null, comment: typeof p.card.value === 'string' ? p.card.value : '' });
      continuable = false;
      continue;
    }
    if (p.kind === 'commentary' && p.card.key === '' && !p.card.comment) {
      continuable = false;
      continue;
    }
    const c: MutableCard = { key: p.card.key, value: p.card.value };
    if (p.card.comment !== undefined) c.comment = p.card.comment;
    out.push(c);
    continuable = p.quoted && typeof c.value === 'string' && c.value.endsWith('&');
  }
  return out;
}

/** First-occurrence keyword lookup over a header (keys compared upper-case). */
export class Keywords {
  private readonly map = new Map<string, Value>();
  constructor(cards: readonly HeaderCard[]) {
    for (const c of cards) {
      if (c.value === null && (c.key === 'COMMENT' || c.key === 'HISTORY' || c.key === '')) continue;
      const k = c.key.toUpperCase();
      if (!this.map.has(k)) this.map.set(k, c.value);
    }
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  get(key: string): Value | undefined {
    return this.map.get(key);
  }
  num(key: string): number | undefined {
    const v = this.map.get(key);
    return typeof v === 'number' ? v : undefined;
  }
  str(key: string): string | undefined {
    const v = this.map.get(key);
    return typeof v === 'string' ? v : undefined;
  }
  bool(key: string): boolean | undefined {
    const v = this.map.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting (for the writers)

const STANDARD_KEY_RE = /^[A-Z0-9_-]{0,8}$/;

function asciiOnly(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

function formatNumber(key: string, n: number): string {
  if (!Number.isFinite(n)) throw new InvalidOptionError(`cards.${key}`, n, 'FITS header numbers must be finite');
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n).toUpperCase();
  // Make sure the value reads back as a real: it needs a '.' or an exponent.
  return s.includes('.') || s.includes('E') ? s : s + '.';
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function pad80(s: string): string {
  return s.length >= CARD ? s.slice(0, CARD) : s + ' '.repeat(CARD - s.length);
}

function withComment(head: string, comment: string | undefined): string {
  if (!comment) return pad80(head);
  const room = CARD - head.length - 3;
  if (room <= 0) return pad80(head);
  return pad80(`${head} / ${asciiOnly(comment).slice(0, room)}`);
}

/** Splits s so that each piece, quoted with '' escaping plus a trailing '&', fits `room` chars. */
function splitForContinue(s: string, room: number): string[] {
  const pieces: string[] = [];
  let cur = '';
  let len = 0;
  for (const ch of s) {
    const w = ch === "'" ? 2 : 1;
    if (len + w > room) {
      pieces.push(cur);
      cur = '';
      len = 0;
    }
    cur += ch;
    len += w;
  }
  pieces.push(cur);
  return pieces;
}

/**
 * Formats a header card as one or more 80-character cards. Keys longer than 8 characters or with
 * characters outside A-Z0-9_- become HIERARCH cards; strings too long for one card use CONTINUE.
 */
export function formatFitsCard(card: HeaderCard): string[] {
  const rawKey = asciiOnly(String(card.key)).trim();
  const upper = rawKey.toUpperCase();
  if (upper === 'COMMENT' || upper === 'HISTORY' || (upper === '' && card.value === null)) {
    const text = asciiOnly(card.comment ?? (card.value === null ? '' : String(card.value)));
    const out: string[] = [];
    for (let i = 0; i === 0 || i < text.length; i += 72) out.push(pad80(upper.padEnd(8) + text.slice(i, i + 72)));
    return out;
  }
  if (upper === '') throw new InvalidOptionError('cards', card, 'a card with a value needs a keyword');
  const hierarch = !STANDARD_KEY_RE.test(upper);
  const v = card.value;
  let valueText: string;
  if (v === null) valueText = '';
  else if (typeof v === 'boolean') valueText = (v ? 'T' : 'F').padStart(20);
  else if (typeof v === 'number') valueText = formatNumber(rawKey, v).padStart(20);
  else {
    const s = asciiOnly(v);
    const q = quote(s.length < 8 ? s.padEnd(8) : s);
    const head = hierarch ? `HIERARCH ${rawKey} = ${q}` : `${upper.padEnd(8)}= ${q}`;
    if (head.length <= CARD) return [withComment(head, card.comment)];
    if (hierarch) throw new InvalidOptionError(`cards.${rawKey}`, v, 'string too long for a HIERARCH card');
    // Long-string convention: 'part&' then CONTINUE  'part&' ... 'last'. A comment that does not
    // fit after the last part goes on a final CONTINUE  '' card.
    const pieces = splitForContinue(s, CARD - 10 - 3);
    const comment = card.comment ? asciiOnly(card.comment) : '';
    const lastLen = quote(pieces[pieces.length - 1]!).length + 10;
    if (comment && lastLen + 3 + comment.length > CARD) pieces.push('');
    const out: string[] = [];
    pieces.forEach((p, i) => {
      const last = i === pieces.length - 1;
      const body = quote(last ? p : p + '&');
      const head2 = i === 0 ? `${upper.padEnd(8)}= ${body}` : `CONTINUE  ${body}`;
      out.push(last ? withComment(head2, comment) : pad80(head2));
    });
    return out;
  }
  if (hierarch) {
    const head = `HIERARCH ${rawKey} = ${valueText.trim()}`;
    if (head.length > CARD) throw new InvalidOptionError(`cards.${rawKey}`, v, 'HIERARCH card longer than 80 characters');
    return [withComment(head, card.comment)];
  }
  return [withComment(`${upper.padEnd(8)}= ${valueText}`, card.comment)];
}

/** Formats cards plus END into whole 2880-byte blocks. */
export function headerBytes(cards: readonly string[]): Uint8Array {
  const n = cards.length + 1;
  const size = Math.ceil((n * CARD) / BLOCK) * BLOCK;
  const out = new Uint8Array(size).fill(32);
  let p = 0;
  for (const c of [...cards, pad80('END')]) {
    for (let i = 0; i < CARD; i++) out[p + i] = c.charCodeAt(i) & 0x7f;
    p += CARD;
  }
  return out;
}
