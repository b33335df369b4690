/**
 * The ONNX schema (proto/onnx.proto, vendored from the ONNX project) loaded with protobufjs, and
 * the TypeScript shapes of the messages pyocyte writes and reads as protobufjs plain objects
 * (camelCase field names, int64 as numbers).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** ONNX TensorProto.DataType codes for the element types we write. */
export const ONNX_ELEMENT_TYPES = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, double: 11 } as const;
/** An element type name: 'float', 'int64', ... */
export type OnnxElementType = keyof typeof ONNX_ELEMENT_TYPES;

/** AttributeProto.AttributeType codes. */
export const ATTRIBUTE_TYPES = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/** The messages of proto/onnx.proto that pyocyte writes and reads, as protobufjs plain objects. */
export interface TensorMessage {
  dims?: number[];
  dataType?: number;
  name?: string;
  rawData?: Uint8Array;
}
export interface DimensionMessage {
  dimValue?: number;
  dimParam?: string;
}
export interface ValueInfoMessage {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: DimensionMessage[] } } };
}
export interface AttributeMessage {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  floats?: number[];
  ints?: number[];
}
export interface NodeMessage {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: AttributeMessage[];
}
export interface ModelMessage {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  opsetImport?: { domain?: string; version?: number }[];
  metadataProps?: { key?: string; value?: string }[];
  graph?: {
    name?: string;
    docString?: string;
    node?: NodeMessage[];
    initializer?: TensorMessage[];
    input?: ValueInfoMessage[];
    output?: ValueInfoMessage[];
  };
}

/** The official schema, beside src/ and dist/ alike; parsed on first use (about 0.1 s). */
const SCHEMA_FILE = fileURLToPath(new URL('../../proto/onnx.proto', import.meta.url));
let modelProtoType: protobuf.Type | undefined;
export function modelProto(): protobuf.Type {
  modelProtoType ??= protobuf.loadSync(SCHEMA_FILE).lookupType('onnx.ModelProto');
  return modelProtoType;
}
