// The few ONNX protobuf messages a graph needs (onnx.proto3: ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto), written by hand in protobuf's wire format: varints and length-delimited fields.

/** An attribute value: a float, an int, a string, ints or floats (the types the built graphs use). */
export type AttrValue = { f: number } | { i: number } | { s: string } | { ints: number[] } | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** ONNX TensorProto.DataType: 1 float, 2 uint8, 3 int8, 7 int64. */
  dataType: 1 | 2 | 3 | 7;
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: 1 | 7;
  /** A number is a fixed size, a string a named dynamic one ('batch', 'sequence'). */
  shape: (number | string)[];
}

export interface OnnxModel {
  producer: string;
  opset: number;
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

class Writer {
  private readonly parts: Uint8Array[] = [];
  private len = 0;
  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.len += b.length;
  }
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    this.push(Uint8Array.from(out));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): void {
    this.bytes(field, w.finish());
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer();
  w.string(1, name);
  if ('f' in v) {
    w.float(2, v.f);
    w.int(20, ATTR_FLOAT);
  } else if ('i' in v) {
    w.int(3, v.i);
    w.int(20, ATTR_INT);
  } else if ('s' in v) {
    w.string(4, v.s);
    w.int(20, ATTR_STRING);
  } else if ('floats' in v) {
    for (const f of v.floats) w.float(7, f);
    w.int(20, ATTR_FLOATS);
  } else {
    for (const i of v.ints) w.int(8, i);
    w.int(20, ATTR_INTS);
  }
  return w;
}

function node(n: OnnxNode): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  if (n.domain !== undefined) w.string(7, n.domain);
  return w;
}

function tensor(t: OnnxTensor): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  return w;
}

function valueInfo(v: OnnxValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer();
  tensorType.int(1, v.elemType);
  tensorType.message(2, shape);
  const type = new Writer();
  type.message(1, tensorType);
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

/** The serialised ModelProto (IR version 8), ready for ONNX Runtime or `onnx.load`. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const graph = new Writer();
  for (const n of m.nodes) graph.message(1, node(n));
  graph.string(2, m.graphName);
  for (const t of m.initializers) graph.message(5, tensor(t));
  for (const i of m.inputs) graph.message(11, valueInfo(i));
  for (const o of m.outputs) graph.message(12, valueInfo(o));
  const opset = new Writer();
  opset.string(1, '');
  opset.int(2, m.opset);
  const model = new Writer();
  model.int(1, 8);
  model.message(8, opset);
  model.string(2, m.producer);
  model.message(7, graph);
  return model.finish();
}

/** float32 values as a tensor's raw_data (little-endian). */
export function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
  return { name, dims, dataType: 1, raw };
}

/** 8-bit integers as a tensor (uint8 or int8, raw bytes). */
export function int8Tensor(name: string, dims: number[], data: Uint8Array | Int8Array, signed: boolean): OnnxTensor {
  return { name, dims, dataType: signed ? 3 : 2, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int64Tensor(name: string, values: number[]): OnnxTensor {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: 7, raw };
}
