/** Byte order of typed arrays: safetensors and ONNX store tensors little-endian. */

/** True on the little-endian hosts (x86, ARM) where typed-array bytes are already in file order. */
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
