/**
 * Writes ONNX models without the onnx or protobuf packages. Field numbers follow onnx/onnx.proto
 * (checked against the onnx repository); tensors are stored as little-endian raw_data.
 *
 * ```ts
 * const g = new OnnxGraphBuilder('pyocyte-unet');
 * g.addInput('image', ['N', 1, 'H', 'W']);
 * g.addInitializer('w', [8, 1, 3, 3], weights);
 * g.addNode('Conv', ['image', 'w'], ['features'], { pads: [1, 1, 1, 1] });
 * g.addOutput('features', ['N', 8, 'H', 'W']);
 * const bytes = encodeOnnxModel(g, { producerVersion: '0.1.0' });
 * ```
 */
import { PyocyteErrors, fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import { ProtoMessage, ProtoWriter, littleEndianBytes } from './protobuf.js';

/** ONNX TensorProto.DataType codes for the element types we write. */
export const ONNX_ELEMENT_TYPES = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, double: 11 } as const;
/** An element type name: 'float', 'int64', ... */
export type OnnxElementType = keyof typeof ONNX_ELEMENT_TYPES;

/** AttributeProto.AttributeType codes. */
const ATTRIBUTE_TYPES = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/** A dimension: a fixed size, or a symbolic name such as 'N', 'H', 'W' that varies per run. */
export type OnnxDim = number | string;

/** Tensor data; the typed array decides the element type. */
export type OnnxTensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A constant tensor, e.g. an initializer or the value of a Constant node. */
export interface OnnxTensor {
  dims: number[];
  data: OnnxTensorData;
}

/**
 * A node attribute. An integer number is written as INT and a fractional one as FLOAT; use
 * `{ float: 1 }` to force FLOAT for a whole value. `number[]` is INTS, `Float32Array` is FLOATS.
 */
export type OnnxAttributeValue = number | number[] | string | Float32Array | { float: number } | { tensor: OnnxTensor };

/** A graph input or output. */
export interface OnnxValueInfo {
  name: string;
  dims: OnnxDim[];
  elementType: OnnxElementType;
}

/** A graph node. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttributeValue>;
  name: string;
  domain: string;
}

/** Collects inputs, initializers, nodes (in topological order) and outputs of one graph. */
export class OnnxGraphBuilder {
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  readonly initializers: (OnnxTensor & { name: string })[] = [];
  readonly nodes: OnnxNode[] = [];

  /** @param name the graph name; @param docString a human-readable description. */
  constructor(readonly name: string, readonly docString = '') {}

  /** Declares a graph input, e.g. `addInput('image', ['N', 3, 'H', 'W'])`. */
  addInput(name: string, dims: OnnxDim[], elementType: OnnxElementType = 'float'): this {
    lookup(ONNX_ELEMENT_TYPES, elementType, 'ONNX element type');
    this.inputs.push({ name, dims: [...dims], elementType });
    return this;
  }

  /** Adds a constant tensor (weights) with shape `dims`; `data` is referenced, not copied. */
  addInitializer(name: string, dims: number[], data: OnnxTensorData): this {
    checkTensor(name, { dims, data });
    this.initializers.push({ name, dims: [...dims], data });
    return this;
  }

  /** Adds a 1-D int64 initializer, e.g. the `starts`/`axes` inputs of Slice. */
  addInt64Initializer(name: string, values: readonly number[]): this {
    return this.addInitializer(name, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** Appends a node; nodes must be added in topological order. An empty input name means "absent". */
  addNode(opType: string, inputs: string[], outputs: string[], attributes: Record<string, OnnxAttributeValue> = {},
    name = `${opType}_${this.nodes.length}`): this {
    this.nodes.push({ opType, inputs: [...inputs], outputs: [...outputs], attributes, name, domain: '' });
    return this;
  }

  /** Declares a graph output produced by some node. */
  addOutput(name: string, dims: OnnxDim[], elementType: OnnxElementType = 'float'): this {
    lookup(ONNX_ELEMENT_TYPES, elementType, 'ONNX element type');
    this.outputs.push({ name, dims: [...dims], elementType });
    return this;
  }
}

/** Options of {@link encodeOnnxModel}. */
export interface EncodeOnnxOptions {
  /** Default 17 (supported by onnxruntime ≥ 1.13). */
  opsetVersion?: number;
  /** Default 8, the IR version that goes with opset 17. */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Stored as ModelProto.metadata_props, readable with onnxruntime's session metadata. */
  metadata?: Record<string, string>;
}

function elementTypeOf(data: OnnxTensorData): OnnxElementType {
  if (data instanceof Float32Array) return 'float';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

function checkTensor(name: string, tensor: OnnxTensor): void {
  if (!tensor.dims.every((d) => Number.isInteger(d) && d >= 0)) fail(`ONNX tensor '${name}' has invalid dims [${tensor.dims}]`);
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (count !== tensor.data.length) {
    fail(`ONNX tensor '${name}' has dims [${tensor.dims}] (${count} values) but ${tensor.data.length} values of data`);
  }
}

function tensorProto(name: string, tensor: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of tensor.dims) w.varint(1, d);
  w.varint(2, ONNX_ELEMENT_TYPES[elementTypeOf(tensor.data)]);
  if (name) w.string(8, name);
  return w.bytes(9, littleEndianBytes(tensor.data));
}

function valueInfoProto(info: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of info.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, ONNX_ELEMENT_TYPES[info.elementType]).message(2, shape);
  return new ProtoWriter().string(1, info.name).message(2, new ProtoWriter().message(1, tensorType));
}

function attributeProto(node: string, name: string, value: OnnxAttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`attribute '${name}' of node '${node}' is ${value}`);
    return Number.isInteger(value) ? w.varint(3, value).varint(20, ATTRIBUTE_TYPES.int) : w.float(2, value).varint(20, ATTRIBUTE_TYPES.float);
  }
  if (typeof value === 'string') return w.string(4, value).varint(20, ATTRIBUTE_TYPES.string);
  if (value instanceof Float32Array) {
    for (const v of value) w.float(7, v);
    return w.varint(20, ATTRIBUTE_TYPES.floats);
  }
  if (Array.isArray(value)) {
    if (!value.every(Number.isSafeInteger)) fail(`attribute '${name}' of node '${node}' has non-integer values [${value}]; pass a Float32Array for FLOATS`);
    for (const v of value) w.varint(8, v);
    return w.varint(20, ATTRIBUTE_TYPES.ints);
  }
  if ('float' in value) return w.float(2, value.float).varint(20, ATTRIBUTE_TYPES.float);
  checkTensor(`${node}.${name}`, value.tensor);
  return w.message(5, tensorProto('', value.tensor)).varint(20, ATTRIBUTE_TYPES.tensor);
}

function nodeProto(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes)) w.message(5, attributeProto(node.name, name, value));
  if (node.domain) w.string(7, node.domain);
  return w;
}

/** Every dangling, duplicated or unused name in the graph, as readable sentences. */
export function checkOnnxGraph(graph: OnnxGraphBuilder): string[] {
  const problems: string[] = [];
  const defined = new Set<string>();
  const define = (name: string, what: string): void => {
    if (defined.has(name)) problems.push(`${what} '${name}' redefines an existing value`);
    defined.add(name);
  };
  for (const input of graph.inputs) define(input.name, 'input');
  for (const init of graph.initializers) define(init.name, 'initializer');
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !defined.has(input)) problems.push(`node '${node.name}' (${node.opType}) reads '${input}', which is not an input, initializer or earlier node output`);
    }
    for (const output of node.outputs) define(output, `output of node '${node.name}'`);
  }
  for (const output of graph.outputs) {
    if (!defined.has(output.name)) problems.push(`graph output '${output.name}' is not produced by any node`);
  }
  if (graph.outputs.length === 0) problems.push('the graph has no outputs');
  // An unused weight means the exported graph does not compute what the trained model does.
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const init of graph.initializers) {
    if (!read.has(init.name)) problems.push(`initializer '${init.name}' is not used by any node`);
  }
  return problems;
}

/** Serializes the graph as an ONNX ModelProto. Fails listing every dangling name first. */
export function encodeOnnxModel(graph: OnnxGraphBuilder, options: EncodeOnnxOptions = {}): Uint8Array {
  const { opsetVersion = 17, irVersion = 8, producerName = 'pyocyte', producerVersion = '', docString = '', metadata = {} } = options;
  const problems = checkOnnxGraph(graph);
  if (problems.length > 0) throw new PyocyteErrors(`ONNX graph '${graph.name}' is inconsistent`, problems);

  const g = new ProtoWriter();
  for (const node of graph.nodes) g.message(1, nodeProto(node));
  g.string(2, graph.name);
  for (const init of graph.initializers) g.message(5, tensorProto(init.name, init));
  if (graph.docString) g.string(10, graph.docString);
  for (const input of graph.inputs) g.message(11, valueInfoProto(input));
  for (const output of graph.outputs) g.message(12, valueInfoProto(output));

  const model = new ProtoWriter().varint(1, irVersion).string(2, producerName);
  if (producerVersion) model.string(3, producerVersion);
  if (docString) model.string(6, docString);
  model.message(7, g);
  model.message(8, new ProtoWriter().string(1, '').varint(2, opsetVersion));
  for (const [key, value] of Object.entries(metadata)) model.message(14, new ProtoWriter().string(1, key).string(2, value));
  return model.finish();
}

/** A decoded model, as plain data (for tests and {@link describeOnnx}). */
export interface DecodedOnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  opsetImports: { domain: string; version: number }[];
  metadata: Record<string, string>;
  graph: {
    name: string;
    docString: string;
    inputs: { name: string; elementType: number; dims: OnnxDim[] }[];
    outputs: { name: string; elementType: number; dims: OnnxDim[] }[];
    initializers: { name: string; dataType: number; dims: number[]; byteLength: number; raw: Uint8Array }[];
    nodes: { name: string; opType: string; domain: string; inputs: string[]; outputs: string[];
      attributes: Record<string, number | number[] | string | { tensorDims: number[] }> }[];
  };
}

function decodeValueInfo(m: ProtoMessage): DecodedOnnxModel['graph']['inputs'][number] {
  const tensorType = m.message(2)?.message(1);
  const dims = (tensorType?.message(2)?.messages(1) ?? []).map((d): OnnxDim => (d.has(2) ? d.string(2) : d.int64(1)));
  return { name: m.string(1), elementType: tensorType?.int64(1) ?? 0, dims };
}

function decodeAttribute(m: ProtoMessage): number | number[] | string | { tensorDims: number[] } {
  switch (m.int64(20)) {
    case ATTRIBUTE_TYPES.float: return m.float(2);
    case ATTRIBUTE_TYPES.int: return m.int64(3);
    case ATTRIBUTE_TYPES.string: return m.string(4);
    case ATTRIBUTE_TYPES.tensor: return { tensorDims: m.message(5)?.int64s(1) ?? [] };
    case ATTRIBUTE_TYPES.floats: return m.floats(7);
    case ATTRIBUTE_TYPES.ints: return m.int64s(8);
    default: return `<attribute type ${m.int64(20)}>`;
  }
}

/** Decodes the parts of a ModelProto that this module writes. */
export function decodeOnnxModel(bytes: Uint8Array, { file = 'model.onnx' }: { file?: string } = {}): DecodedOnnxModel {
  let model: ProtoMessage;
  try {
    model = new ProtoMessage(bytes);
  } catch (error) {
    return fail(`${file} is not a valid ONNX model: ${(error as Error).message}`, { file, cause: error });
  }
  const graph = model.message(7) ?? fail(`${file} is not an ONNX model: it has no graph`, { file });
  return {
    irVersion: model.int64(1),
    producerName: model.string(2),
    producerVersion: model.string(3),
    docString: model.string(6),
    opsetImports: model.messages(8).map((o) => ({ domain: o.string(1), version: o.int64(2) })),
    metadata: Object.fromEntries(model.messages(14).map((e) => [e.string(1), e.string(2)])),
    graph: {
      name: graph.string(2),
      docString: graph.string(10),
      inputs: graph.messages(11).map(decodeValueInfo),
      outputs: graph.messages(12).map(decodeValueInfo),
      initializers: graph.messages(5).map((t) => {
        const raw = t.bytes(9) ?? new Uint8Array(0);
        return { name: t.string(8), dataType: t.int64(2), dims: t.int64s(1), byteLength: raw.length, raw };
      }),
      nodes: graph.messages(1).map((n) => ({
        name: n.string(3), opType: n.string(4), domain: n.string(7), inputs: n.strings(1), outputs: n.strings(2),
        attributes: Object.fromEntries(n.messages(5).map((a) => [a.string(1), decodeAttribute(a)])),
      })),
    },
  };
}

/** A few human-readable lines about a model: producer, opset, inputs/outputs, parameter count, ops. */
export function describeOnnx(bytes: Uint8Array, options: { file?: string } = {}): string {
  const m = decodeOnnxModel(bytes, options);
  const typeName = (code: number): string => Object.entries(ONNX_ELEMENT_TYPES).find(([, v]) => v === code)?.[0] ?? `type${code}`;
  const values = (list: DecodedOnnxModel['graph']['inputs']): string =>
    list.map((v) => `${v.name}: ${typeName(v.elementType)}[${v.dims.join(', ')}]`).join('; ');
  const parameters = m.graph.initializers.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  const ops = new Map<string, number>();
  for (const node of m.graph.nodes) ops.set(node.opType, (ops.get(node.opType) ?? 0) + 1);
  const lines = [
    `graph '${m.graph.name}' by ${m.producerName} ${m.producerVersion}`.trimEnd() + `, IR ${m.irVersion}, opset ${m.opsetImports.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`,
    `inputs: ${values(m.graph.inputs)}`,
    `outputs: ${values(m.graph.outputs)}`,
    `initializers: ${m.graph.initializers.length} (${parameters.toLocaleString('en-US')} values)`,
    `nodes: ${m.graph.nodes.length} (${[...ops].map(([op, n]) => `${op}×${n}`).join(', ')})`,
  ];
  for (const [key, value] of Object.entries(m.metadata)) lines.push(`metadata ${key}: ${value}`);
  return lines.join('\n');
}
