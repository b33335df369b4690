/** Reads ONNX models back as plain data, for tests and `describeOnnx`. */
import { fail } from '../util/errors.js';
import type { OnnxDim } from './onnx-proto.js';
import {
  ATTRIBUTE_TYPES,
  type AttributeMessage,
  type ModelMessage,
  ONNX_ELEMENT_TYPES,
  type ValueInfoMessage,
  modelProto,
} from './onnx-schema.js';

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
    nodes: {
      name: string;
      opType: string;
      domain: string;
      inputs: string[];
      outputs: string[];
      attributes: Record<string, number | number[] | string | { tensorDims: number[] }>;
    }[];
  };
}

const utf8Decoder = new TextDecoder();

function decodeValueInfo(m: ValueInfoMessage): DecodedOnnxModel['graph']['inputs'][number] {
  const tensorType = m.type?.tensorType;
  const dims = (tensorType?.shape?.dim ?? []).map((d): OnnxDim => d.dimParam ?? d.dimValue ?? 0);
  return { name: m.name ?? '', elementType: tensorType?.elemType ?? 0, dims };
}

function decodeAttribute(m: AttributeMessage): number | number[] | string | { tensorDims: number[] } {
  switch (m.type) {
    case ATTRIBUTE_TYPES.float:
      return m.f ?? 0;
    case ATTRIBUTE_TYPES.int:
      return m.i ?? 0;
    case ATTRIBUTE_TYPES.string:
      return utf8Decoder.decode(m.s ?? new Uint8Array(0));
    case ATTRIBUTE_TYPES.tensor:
      return { tensorDims: m.t?.dims ?? [] };
    case ATTRIBUTE_TYPES.floats:
      return m.floats ?? [];
    case ATTRIBUTE_TYPES.ints:
      return m.ints ?? [];
    default:
      return `<attribute type ${m.type}>`;
  }
}

/** Decodes the parts of a ModelProto that this module writes. */
export function decodeOnnxModel(bytes: Uint8Array, { file = 'model.onnx' }: { file?: string } = {}): DecodedOnnxModel {
  let model: ModelMessage;
  try {
    const type = modelProto();
    model = type.toObject(type.decode(bytes), { longs: Number }) as ModelMessage;
  } catch (error) {
    return fail(`${file} is not a valid ONNX model: ${(error as Error).message}`, { file, cause: error });
  }
  const graph = model.graph ?? fail(`${file} is not an ONNX model: it has no graph`, { file });
  return {
    irVersion: model.irVersion ?? 0,
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    docString: model.docString ?? '',
    opsetImports: (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: o.version ?? 0 })),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((e) => [e.key ?? '', e.value ?? ''])),
    graph: {
      name: graph.name ?? '',
      docString: graph.docString ?? '',
      inputs: (graph.input ?? []).map(decodeValueInfo),
      outputs: (graph.output ?? []).map(decodeValueInfo),
      initializers: (graph.initializer ?? []).map((t) => {
        const raw = t.rawData ?? new Uint8Array(0);
        return { name: t.name ?? '', dataType: t.dataType ?? 0, dims: t.dims ?? [], byteLength: raw.length, raw };
      }),
      nodes: (graph.node ?? []).map((n) => ({
        name: n.name ?? '',
        opType: n.opType ?? '',
        domain: n.domain ?? '',
        inputs: n.input ?? [],
        outputs: n.output ?? [],
        attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', decodeAttribute(a)])),
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
  const opsets = m.opsetImports.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ');
  const lines = [
    `${`graph '${m.graph.name}' by ${m.producerName} ${m.producerVersion}`.trimEnd()}, IR ${m.irVersion}, opset ${opsets}`,
    `inputs: ${values(m.graph.inputs)}`,
    `outputs: ${values(m.graph.outputs)}`,
    `initializers: ${m.graph.initializers.length} (${parameters.toLocaleString('en-US')} values)`,
    `nodes: ${m.graph.nodes.length} (${[...ops].map(([op, n]) => `${op}×${n}`).join(', ')})`,
  ];
  for (const [key, value] of Object.entries(m.metadata)) lines.push(`metadata ${key}: ${value}`);
  return lines.join('\n');
}
