/**
 * The Hugging Face safetensors format: an 8-byte little-endian header length, a JSON header
 * `{ "__metadata__": {...}, name: { dtype, shape, data_offsets: [begin, end] } }` padded with
 * spaces to a multiple of 8, then the tensors' little-endian bytes back to back.
 * We write byte-for-byte what the reference implementation (huggingface/safetensors,
 * `serialize`) writes: tensors ordered by descending dtype alignment then by name, compact JSON,
 * `__metadata__` first; and we read everything it accepts. Data is copied as bytes, never as
 * numbers, so NaN payloads, -0 and denormals survive a round trip.
 */
import { readFile } from 'node:fs/promises';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkName } from '../util/registry.js';
import { HOST_IS_LITTLE_ENDIAN, littleEndianBytes, swapBytes } from '../util/bytes.js';

type TypedArrayConstructor = { new (buffer: ArrayBuffer): SafetensorsData; BYTES_PER_ELEMENT: number };

/**
 * Every safetensors dtype, in the reference's enum order (which is its sort order):
 * bytes per element and the typed array a decoded tensor comes back as. F16/BF16 come back as
 * their raw bits (Uint16Array) and FP8 as raw bytes.
 */
export const SAFETENSORS_DTYPES = {
  BOOL: { bytes: 1, array: Uint8Array },
  U8: { bytes: 1, array: Uint8Array },
  I8: { bytes: 1, array: Int8Array },
  F8_E5M2: { bytes: 1, array: Uint8Array },
  F8_E4M3: { bytes: 1, array: Uint8Array },
  I16: { bytes: 2, array: Int16Array },
  U16: { bytes: 2, array: Uint16Array },
  F16: { bytes: 2, array: Uint16Array },
  BF16: { bytes: 2, array: Uint16Array },
  I32: { bytes: 4, array: Int32Array },
  U32: { bytes: 4, array: Uint32Array },
  F32: { bytes: 4, array: Float32Array },
  F64: { bytes: 8, array: Float64Array },
  I64: { bytes: 8, array: BigInt64Array },
  U64: { bytes: 8, array: BigUint64Array },
} as const satisfies Record<string, { bytes: number; array: TypedArrayConstructor }>;
/** A safetensors dtype name: 'F32', 'I64', ... */
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/** Tensor data as a typed array; its bytes are written as they are. */
export type SafetensorsData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

/** One tensor: `data` holds the values in row-major order for `shape`. */
export interface SafetensorsTensor {
  /** Inferred from the array type when omitted (Float32Array → F32, Int32Array → I32, ...); required for Uint16Array (F16 or BF16?). */
  dtype?: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

/** A decoded file. */
export interface SafetensorsFile {
  tensors: Record<string, Required<SafetensorsTensor>>;
  metadata: Record<string, string>;
}

/** The reference rejects larger headers; so do we, before parsing JSON. */
const MAX_HEADER_BYTES = 100_000_000;

const INFERRED_DTYPES: [new (...args: never[]) => SafetensorsData, SafetensorsDtype][] = [
  [Float32Array, 'F32'],
  [Float64Array, 'F64'],
  [Int32Array, 'I32'],
  [Uint32Array, 'U32'],
  [Int16Array, 'I16'],
  [Int8Array, 'I8'],
  [Uint8Array, 'U8'],
  [BigInt64Array, 'I64'],
  [BigUint64Array, 'U64'],
];

function dtypeOf(name: string, tensor: SafetensorsTensor): SafetensorsDtype {
  if (tensor.dtype !== undefined) return checkName(SAFETENSORS_DTYPES, tensor.dtype, 'safetensors dtype');
  const found = INFERRED_DTYPES.find(([type]) => tensor.data instanceof type);
  return found?.[1] ?? fail(`tensor '${name}' needs an explicit dtype (F16 or BF16?) for its ${tensor.data.constructor.name}`);
}

/** A byte count for messages: '812 B', '3.4 kB', '4.0 MB'. */
export function formatByteCount(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const DTYPE_RANK = Object.fromEntries(Object.keys(SAFETENSORS_DTYPES).map((d, i) => [d, i])) as Record<SafetensorsDtype, number>;

/** Encodes tensors (and optional string metadata) as safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  { metadata }: { metadata?: Record<string, string> } = {},
): Uint8Array {
  const entries = Object.entries(tensors).map(([name, tensor]) => {
    if (name === '__metadata__') fail(`'__metadata__' is reserved in safetensors and cannot name a tensor`);
    const dtype = dtypeOf(name, tensor);
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape [${tensor.shape}]`);
    const bytes = littleEndianBytes(tensor.data);
    const expected = tensor.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[dtype].bytes;
    if (bytes.length !== expected) {
      fail(`tensor '${name}' is ${dtype}[${tensor.shape}] (${expected} bytes) but its data has ${bytes.length} bytes`);
    }
    return { name, dtype, shape: tensor.shape, bytes };
  });
  // The reference's order: larger dtypes first so every tensor stays aligned, then by name
  // (compared as UTF-8 bytes, like Rust strings).
  entries.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareUtf8(a.name, b.name));

  // Built as entries so that a name like '__proto__' stays an ordinary key.
  const header: [string, unknown][] = [];
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') fail(`safetensors metadata '${key}' must be a string, got ${typeof value}`);
    }
    header.push(['__metadata__', Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => compareUtf8(a, b)))]);
  }
  let offset = 0;
  for (const entry of entries) {
    header.push([entry.name, { dtype: entry.dtype, shape: entry.shape, data_offsets: [offset, offset + entry.bytes.length] }]);
    offset += entry.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(header)));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const entry of entries) {
    out.set(entry.bytes, position);
    position += entry.bytes.length;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes safetensors bytes, checking everything the reference checks. `file` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, { file = 'safetensors data' }: { file?: string } = {}): SafetensorsFile {
  const bad = (problem: string): never => fail(`${file} ${problem}`, { file });
  if (bytes.length < 8) bad(`is not a safetensors file: it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    bad(`is not a safetensors file: its header length field says ${headerLength} bytes (at most ${MAX_HEADER_BYTES} allowed)`);
  }
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.length) {
    bad(`is truncated: the header alone should be ${formatByteCount(Number(headerLength))}, the file has ${formatByteCount(bytes.length)}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    return bad(`has a corrupt header (not valid UTF-8 JSON: ${(error as Error).message}); re-export the file`);
  }
  if (!isRecord(header)) return bad('has a corrupt header: it is not a JSON object');

  let metadata: Record<string, string> = {};
  const infos: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string'))
        bad('has invalid __metadata__: it must map strings to strings');
      metadata = value as Record<string, string>;
      continue;
    }
    if (!isRecord(value)) return bad(`has an invalid entry for tensor '${name}'`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPES, dtype)) {
      bad(`has tensor '${name}' with unsupported dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      bad(`has tensor '${name}' with an invalid shape ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      offsets[0] > offsets[1]
    ) {
      bad(`has tensor '${name}' with invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    infos.push({
      name,
      dtype: dtype as SafetensorsDtype,
      shape: shape as number[],
      begin: (offsets as number[])[0],
      end: (offsets as number[])[1],
    });
  }

  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - dataStart;
  const declared = infos.reduce((max, t) => Math.max(max, t.end), 0);
  if (declared > dataLength) {
    bad(
      `is truncated: header says ${formatByteCount(declared)} of data, file has ${formatByteCount(dataLength)}; copy or download it again`,
    );
  }
  let expectedBegin = 0;
  for (const [i, info] of infos.entries()) {
    if (info.begin < expectedBegin)
      bad(`is corrupt: tensors '${infos[i - 1].name}' and '${info.name}' overlap (bytes ${info.begin}–${expectedBegin})`);
    if (info.begin > expectedBegin) bad(`is corrupt: ${info.begin - expectedBegin} unused bytes before tensor '${info.name}'`);
    const count = info.shape.reduce((a, b) => a * b, 1);
    const size = count * SAFETENSORS_DTYPES[info.dtype].bytes;
    if (info.end - info.begin !== size) {
      bad(
        `is corrupt: tensor '${info.name}' is ${info.dtype}[${info.shape}] (${size} bytes) but data_offsets span ${info.end - info.begin} bytes`,
      );
    }
    expectedBegin = info.end;
  }
  if (declared < dataLength) bad(`is corrupt: ${dataLength - declared} bytes after the last tensor`);

  const tensors = infos.map((info): [string, Required<SafetensorsTensor>] => {
    const { bytes: size, array } = SAFETENSORS_DTYPES[info.dtype];
    // A copy (not Buffer#slice, which is a view), so the result is aligned and independent of the input.
    let copy = new Uint8Array(info.end - info.begin);
    copy.set(bytes.subarray(dataStart + info.begin, dataStart + info.end));
    if (!HOST_IS_LITTLE_ENDIAN && size > 1) copy = swapBytes(copy, size);
    return [info.name, { dtype: info.dtype, shape: info.shape, data: new (array as TypedArrayConstructor)(copy.buffer) }];
  });
  return { tensors: Object.fromEntries(tensors), metadata };
}

/** Writes a .safetensors file atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, options));
}

/** Reads and validates a .safetensors file; errors name the file. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return fail(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path, cause: error });
  }
  return decodeSafetensors(bytes, { file: path });
}
