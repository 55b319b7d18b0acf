/**
 * Binary tables (XTENSION = 'BINTABLE'): column layout from TFIELDS/TFORMn/TTYPEn, variable-length
 * array descriptors (P and Q) into the heap, and a reader of scalar numeric columns.
 */

import { formatError, type FitsContext, type HduLayout } from './fits-hdu.js';

export interface ColumnLayout {
  /** 1-based column number (the n of TTYPEn). */
  readonly number: number;
  /** TTYPEn, trimmed ('' when absent). */
  readonly name: string;
  readonly form: string;
  readonly unit: string | null;
  /** Type letter: L X B I J K A E D C M P Q. */
  readonly type: string;
  readonly repeat: number;
  /** For P and Q: the element type letter of the array. */
  readonly elementType: string | null;
  /** Byte offset of the field in a row, and its width. */
  readonly offset: number;
  readonly width: number;
}

const TYPE_BYTES: Record<string, number> = { L: 1, B: 1, I: 2, J: 4, K: 8, A: 1, E: 4, D: 8, C: 8, M: 16, P: 8, Q: 16 };

/** Bytes taken by `n` elements of a type letter (X is bits). */
export function elementBytes(type: string, n: number): number {
  if (type === 'X') return Math.ceil(n / 8);
  return (TYPE_BYTES[type] ?? 1) * n;
}

/** The columns of a binary table HDU. */
export function tableColumns(h: HduLayout, ctx: FitsContext): ColumnLayout[] {
  const tfields = h.kw.get('TFIELDS');
  if (typeof tfields !== 'number' || !Number.isInteger(tfields) || tfields < 0 || tfields > 999) {
    throw formatError(ctx, `HDU ${h.index}: TFIELDS = ${JSON.stringify(tfields ?? null)} is not an integer 0-999`, h.headerOffset);
  }
  const rowBytes = h.naxis[0] ?? 0;
  const cols: ColumnLayout[] = [];
  let offset = 0;
  for (let n = 1; n <= tfields; n++) {
    const form = h.kw.str(`TFORM${n}`);
    if (form === undefined) throw formatError(ctx, `HDU ${h.index} has no TFORM${n}`, h.headerOffset);
    const m = /^\s*(\d*)\s*([LXBIJKAEDCMPQ])(.*)$/i.exec(form);
    if (!m) throw formatError(ctx, `HDU ${h.index}: TFORM${n} = '${form}' is not a binary table format`, h.headerOffset);
    const repeat = m[1] ? Number(m[1]) : 1;
    const type = m[2]!.toUpperCase();
    let elementType: string | null = null;
    if (type === 'P' || type === 'Q') {
      const e = /^\s*([LXBIJKAEDCM])/i.exec(m[3] ?? '');
      if (!e) throw formatError(ctx, `HDU ${h.index}: TFORM${n} = '${form}' has no array element type`, h.headerOffset);
      elementType = e[1]!.toUpperCase();
    }
    if (!Number.isSafeInteger(repeat)) throw formatError(ctx, `HDU ${h.index}: TFORM${n} = '${form}' is absurd`, h.headerOffset);
    const width = elementBytes(type, repeat);
    const name = (h.kw.str(`TTYPE${n}`) ?? '').trim();
    const unit = h.kw.str(`TUNIT${n}`);
    cols.push({ number: n, name, form: form.trim(), unit: unit === undefined ? null : unit.trim(), type, repeat, elementType, offset, width });
    offset += width;
  }
  if (offset > rowBytes) {
    throw formatError(ctx, `HDU ${h.index}: the columns take ${offset} bytes but a row (NAXIS1) has ${rowBytes}`, h.headerOffset);
  }
  return cols;
}

/** Reads variable-length arrays of one column: where each row's array is in the file. */
export class HeapReader {
  private readonly dv: DataView;
  private readonly rowBytes: number;
  readonly rows: number;
  private readonly heapStart: number;
  private readonly heapEnd: number;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly h: HduLayout,
    private readonly ctx: FitsContext,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.rowBytes = h.naxis[0] ?? 0;
    this.rows = h.naxis.length >= 2 ? h.naxis[1]! : 0;
    const tableBytes = this.rowBytes * this.rows;
    if (tableBytes > h.dataBytes) {
      throw formatError(ctx, `HDU ${h.index}: the table (${this.rows} rows of ${this.rowBytes} bytes) is larger than its data`, h.headerOffset);
    }
    const theap = h.kw.get('THEAP') ?? tableBytes;
    if (typeof theap !== 'number' || !Number.isInteger(theap) || theap < tableBytes || theap > h.dataBytes) {
      throw formatError(ctx, `HDU ${h.index}: THEAP = ${JSON.stringify(theap)} is outside the data`, h.headerOffset);
    }
    this.heapStart = h.dataOffset + theap;
    this.heapEnd = h.dataOffset + h.dataBytes;
  }

  /** The bytes of the array in row `row` (0-based) of a P or Q column, and its element count. */
  array(col: ColumnLayout, row: number): { bytes: Uint8Array; count: number } {
    const pos = this.h.dataOffset + row * this.rowBytes + col.offset;
    let count: number;
    let offset: number;
    if (col.type === 'P') {
      count = this.dv.getInt32(pos);
      offset = this.dv.getInt32(pos + 4);
    } else {
      count = this.dv.getInt32(pos) * 4294967296 + this.dv.getUint32(pos + 4);
      offset = this.dv.getInt32(pos + 8) * 4294967296 + this.dv.getUint32(pos + 12);
    }
    const type = col.elementType ?? 'B';
    const size = elementBytes(type, count);
    if (count < 0 || offset < 0 || this.heapStart + offset + size > this.heapEnd) {
      throw formatError(
        this.ctx,
        `HDU ${this.h.index}, row ${row + 1}: the array of ${col.name || `column ${col.number}`} (${count} elements at heap offset ${offset}) is outside the heap`,
        pos,
      );
    }
    const start = this.heapStart + offset;
    return { bytes: this.bytes.subarray(start, start + size), count };
  }

  /** A scalar numeric field (B I J K E D) of a row as a number. */
  scalar(col: ColumnLayout, row: number): number {
    const pos = this.h.dataOffset + row * this.rowBytes + col.offset;
    switch (col.type) {
      case 'B':
        return this.dv.getUint8(pos);
      case 'I':
        return this.dv.getInt16(pos);
      case 'J':
        return this.dv.getInt32(pos);
      case 'K':
        return this.dv.getInt32(pos) * 4294967296 + this.dv.getUint32(pos + 4);
      case 'E':
        return this.dv.getFloat32(pos);
      case 'D':
        return this.dv.getFloat64(pos);
      default:
        return NaN;
    }
  }
}
