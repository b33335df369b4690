/**
 * A minimal protobuf wire-format writer and reader: just enough to write ONNX models without a
 * protobuf dependency and to read them back for tests and `describeOnnx`.
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 */
import { fail } from '../util/errors.js';

/** True on the little-endian hosts (x86, ARM) where typed-array bytes are already wire order. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A typed array's little-endian bytes: a view on little-endian hosts, a byte-swapped copy otherwise. */
export function littleEndianBytes(data: ArrayBufferView & { BYTES_PER_ELEMENT: number }): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return HOST_IS_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1 ? bytes : swapBytes(bytes, data.BYTES_PER_ELEMENT);
}

/** A copy of `bytes` with every `elementSize`-byte group reversed (little ↔ big endian). */
export function swapBytes(bytes: Uint8Array, elementSize: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += elementSize) {
    for (let j = 0; j < elementSize; j++) out[i + j] = bytes[i + elementSize - 1 - j];
  }
  return out;
}

/** The protobuf wire types we write or read. */
export const WIRE_TYPES = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const TWO_POW_64 = 1n << 64n;

/** Appends the varint encoding of a non-negative bigint below 2^64 to `out`. */
function pushVarint(out: number[], value: bigint): void {
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** The varint bytes of an integer; negative int64 values take ten bytes (two's complement). */
export function encodeVarint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) fail(`protobuf varint must be a safe integer, got ${value}`);
  let v = BigInt(value);
  if (v < 0n) v += TWO_POW_64;
  if (v < 0n || v >= TWO_POW_64) fail(`protobuf varint ${value} does not fit in 64 bits`);
  const out: number[] = [];
  pushVarint(out, v);
  return Uint8Array.from(out);
}

/**
 * Builds one message. Sub-messages and byte fields are kept as chunks and joined once in
 * {@link ProtoWriter.finish}, so writing a 100 MB initializer copies it only once.
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private byteLength = 0;

  /** The number of bytes written so far. */
  get length(): number {
    return this.byteLength + this.pending.length;
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.byteLength += this.pending.length;
    this.pending = [];
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) fail(`invalid protobuf field number ${field}`);
    pushVarint(this.pending, BigInt(field * 8 + wireType));
  }

  private rawChunk(bytes: Uint8Array): void {
    this.flushPending();
    this.chunks.push(bytes);
    this.byteLength += bytes.length;
  }

  /** An int32/int64/uint64/enum/bool field (negative numbers as 64-bit two's complement). */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_TYPES.varint);
    this.pending.push(...encodeVarint(value));
    return this;
  }

  /** A `float` field (fixed32, little-endian IEEE 754). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_TYPES.fixed32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.pending.push(...bytes);
    return this;
  }

  /** A `bytes` field. The array is referenced, not copied, until {@link finish}. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_TYPES.lengthDelimited);
    pushVarint(this.pending, BigInt(value.length));
    this.rawChunk(value);
    return this;
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** An embedded message field. */
  message(field: number, message: ProtoWriter): this {
    this.tag(field, WIRE_TYPES.lengthDelimited);
    pushVarint(this.pending, BigInt(message.length));
    message.flushPending();
    this.flushPending();
    for (const chunk of message.chunks) this.rawChunk(chunk);
    return this;
  }

  /** A packed `repeated float` field. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, bytes);
  }

  /** A packed `repeated int64` (or int32) field. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const out: number[] = [];
    for (const value of values) out.push(...encodeVarint(value));
    return this.bytes(field, Uint8Array.from(out));
  }

  /** The finished message bytes. */
  finish(): Uint8Array {
    this.flushPending();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.byteLength);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/** One decoded field: varints as bigint, fixed32/fixed64 as their raw little-endian bytes. */
export interface ProtoField {
  field: number;
  wireType: number;
  /** bigint for varints; the payload bytes (a view, not a copy) for the other wire types. */
  value: bigint | Uint8Array;
}

/** Reads a varint at `offset`; returns the value and the offset after it. */
export function readVarint(bytes: Uint8Array, offset: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const byte = bytes[i];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: value & (TWO_POW_64 - 1n), next: i + 1 };
    shift += 7n;
  }
  return fail(`malformed protobuf: unterminated varint at byte ${offset}`);
}

/** Splits one message into its fields, in wire order. Unknown wire types are an error. */
export function decodeFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const key = readVarint(bytes, offset);
    const field = Number(key.value >> 3n);
    const wireType = Number(key.value & 7n);
    offset = key.next;
    const take = (length: number): Uint8Array => {
      if (offset + length > bytes.length) fail(`malformed protobuf: field ${field} runs past the end of the message`);
      const view = bytes.subarray(offset, offset + length);
      offset += length;
      return view;
    };
    if (wireType === WIRE_TYPES.varint) {
      const v = readVarint(bytes, offset);
      offset = v.next;
      fields.push({ field, wireType, value: v.value });
    } else if (wireType === WIRE_TYPES.fixed64) {
      fields.push({ field, wireType, value: take(8) });
    } else if (wireType === WIRE_TYPES.fixed32) {
      fields.push({ field, wireType, value: take(4) });
    } else if (wireType === WIRE_TYPES.lengthDelimited) {
      const length = readVarint(bytes, offset);
      offset = length.next;
      fields.push({ field, wireType, value: take(Number(length.value)) });
    } else {
      fail(`malformed protobuf: unsupported wire type ${wireType} for field ${field} at byte ${offset}`);
    }
  }
  return fields;
}

/** A signed 64-bit varint value as a JS number (exact below 2^53). */
export function int64ToNumber(value: bigint): number {
  return Number(value >= 1n << 63n ? value - TWO_POW_64 : value);
}

/** Decoded fields grouped by field number, with typed accessors. */
export class ProtoMessage {
  readonly fields: readonly ProtoField[];

  constructor(bytes: Uint8Array) {
    this.fields = decodeFields(bytes);
  }

  private all(field: number): ProtoField[] {
    return this.fields.filter((f) => f.field === field);
  }

  /** The bytes of every occurrence of a length-delimited field (strings, messages, packed data). */
  bytesList(field: number): Uint8Array[] {
    return this.all(field).filter((f) => f.value instanceof Uint8Array).map((f) => f.value as Uint8Array);
  }

  /** The last occurrence of a bytes field (protobuf's "last one wins"), or undefined. */
  bytes(field: number): Uint8Array | undefined {
    const list = this.bytesList(field);
    return list[list.length - 1];
  }

  /** A UTF-8 string field, '' when absent. */
  string(field: number): string {
    const bytes = this.bytes(field);
    return bytes === undefined ? '' : textDecoder.decode(bytes);
  }

  /** Every occurrence of a repeated string field. */
  strings(field: number): string[] {
    return this.bytesList(field).map((b) => textDecoder.decode(b));
  }

  /** Every occurrence of a repeated message field, decoded. */
  messages(field: number): ProtoMessage[] {
    return this.bytesList(field).map((b) => new ProtoMessage(b));
  }

  /** An embedded message field, or undefined. */
  message(field: number): ProtoMessage | undefined {
    const bytes = this.bytes(field);
    return bytes === undefined ? undefined : new ProtoMessage(bytes);
  }

  /** A repeated int64/int32 field, packed or not (parsers must accept both). */
  int64s(field: number): number[] {
    const out: number[] = [];
    for (const f of this.all(field)) {
      if (typeof f.value === 'bigint') {
        out.push(int64ToNumber(f.value));
      } else {
        for (let offset = 0; offset < f.value.length;) {
          const v = readVarint(f.value, offset);
          out.push(int64ToNumber(v.value));
          offset = v.next;
        }
      }
    }
    return out;
  }

  /** An int64/int32/enum field, or `fallback` when absent. */
  int64(field: number, fallback = 0): number {
    const list = this.int64s(field);
    return list.length === 0 ? fallback : list[list.length - 1];
  }

  /** A repeated float field, packed or not. */
  floats(field: number): number[] {
    const out: number[] = [];
    for (const f of this.all(field)) {
      if (!(f.value instanceof Uint8Array)) continue;
      const view = new DataView(f.value.buffer, f.value.byteOffset, f.value.byteLength);
      for (let offset = 0; offset + 4 <= f.value.length; offset += 4) out.push(view.getFloat32(offset, true));
    }
    return out;
  }

  /** A float field, or `fallback` when absent. */
  float(field: number, fallback = 0): number {
    const list = this.floats(field);
    return list.length === 0 ? fallback : list[list.length - 1];
  }

  /** Whether the field occurs at all. */
  has(field: number): boolean {
    return this.fields.some((f) => f.field === field);
  }
}
