/**
 * Writes and reads ONNX models with protobufjs and the official schema (proto/onnx.proto, vendored
 * from the ONNX project). Tensors are stored as little-endian raw_data.
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
import { littleEndianBytes } from '../util/bytes.js';
import { PyocyteErrors, fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import {
  ATTRIBUTE_TYPES,
  type AttributeMessage,
  type DimensionMessage,
  type ModelMessage,
  ONNX_ELEMENT_TYPES,
  type OnnxElementType,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
  modelProto,
} from './onnx-schema.js';

/** A dimension: a fixed size, or a symbolic name such as 'N', 'H', 'W' that varies per run. */
export type OnnxDim = number | string;

/** Tensor data; the typed array decides the element type. */
export type OnnxTensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

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
  constructor(
    readonly name: string,
    readonly docString = '',
  ) {}

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

  /** Adds a float64 initializer of shape `dims` (default 1-D), for arithmetic that must match JavaScript's doubles. */
  addDoubleInitializer(name: string, values: readonly number[], dims: number[] = [values.length]): this {
    return this.addInitializer(name, dims, Float64Array.from(values));
  }

  /** Appends a node; nodes must be added in topological order. An empty input name means "absent". */
  addNode(
    opType: string,
    inputs: string[],
    outputs: string[],
    attributes: Record<string, OnnxAttributeValue> = {},
    name = `${opType}_${this.nodes.length}`,
  ): this {
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
  if (data instanceof Float64Array) return 'double';
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

const utf8 = new TextEncoder();

function tensorMessage(name: string, tensor: OnnxTensor): TensorMessage {
  const message: TensorMessage = {
    dims: tensor.dims,
    dataType: ONNX_ELEMENT_TYPES[elementTypeOf(tensor.data)],
    rawData: littleEndianBytes(tensor.data),
  };
  if (name) message.name = name;
  return message;
}

function valueInfoMessage(info: OnnxValueInfo): ValueInfoMessage {
  const dim = info.dims.map((d): DimensionMessage => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: info.name, type: { tensorType: { elemType: ONNX_ELEMENT_TYPES[info.elementType], shape: { dim } } } };
}

function attributeMessage(node: string, name: string, value: OnnxAttributeValue): AttributeMessage {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`attribute '${name}' of node '${node}' is ${value}`);
    return Number.isInteger(value) ? { name, i: value, type: ATTRIBUTE_TYPES.int } : { name, f: value, type: ATTRIBUTE_TYPES.float };
  }
  if (typeof value === 'string') return { name, s: utf8.encode(value), type: ATTRIBUTE_TYPES.string };
  if (value instanceof Float32Array) return { name, floats: [...value], type: ATTRIBUTE_TYPES.floats };
  if (Array.isArray(value)) {
    if (!value.every(Number.isSafeInteger))
      fail(`attribute '${name}' of node '${node}' has non-integer values [${value}]; pass a Float32Array for FLOATS`);
    return { name, ints: value, type: ATTRIBUTE_TYPES.ints };
  }
  if ('float' in value) return { name, f: value.float, type: ATTRIBUTE_TYPES.float };
  checkTensor(`${node}.${name}`, value.tensor);
  return { name, t: tensorMessage('', value.tensor), type: ATTRIBUTE_TYPES.tensor };
}

function nodeMessage(node: OnnxNode): NodeMessage {
  const attribute = Object.entries(node.attributes).map(([name, value]) => attributeMessage(node.name, name, value));
  return {
    input: node.inputs,
    output: node.outputs,
    name: node.name,
    opType: node.opType,
    attribute,
    ...(node.domain ? { domain: node.domain } : {}),
  };
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
      if (input !== '' && !defined.has(input))
        problems.push(`node '${node.name}' (${node.opType}) reads '${input}', which is not an input, initializer or earlier node output`);
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

  const model: ModelMessage = {
    irVersion,
    producerName,
    graph: {
      node: graph.nodes.map(nodeMessage),
      name: graph.name,
      initializer: graph.initializers.map((init) => tensorMessage(init.name, init)),
      input: graph.inputs.map(valueInfoMessage),
      output: graph.outputs.map(valueInfoMessage),
      ...(graph.docString ? { docString: graph.docString } : {}),
    },
    opsetImport: [{ domain: '', version: opsetVersion }],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    ...(producerVersion ? { producerVersion } : {}),
    ...(docString ? { docString } : {}),
  };
  return modelProto().encode(model).finish();
}
