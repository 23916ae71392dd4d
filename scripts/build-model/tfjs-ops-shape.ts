/** TensorFlow shape and indexing ops → ONNX (part of the graph converter, tfjs-graph-onnx.ts). */
import { tensorProto } from '../../main/backend/onnx/builder';
import { Attrs, type TfNode } from './tfjs-graph-files';
import { INT64_MAX, INT64_MIN, type OpContext, type Shape, type Value, nodeArgs } from './tfjs-graph-values';

/** Shape ops: shapes, reshapes, expand/squeeze, concat, stack, transpose. Undefined for any other op. */
export function convertShapeOp(c: OpContext, node: TfNode): Value[] | undefined {
  const { ins, a, v } = nodeArgs(c, node);
  switch (node.op) {
    case 'Shape': {
      const x = v(0);
      return [{ name: c.op('Shape', [x.name]), type: 'int64', shape: [x.shape ? x.shape.length : null] }];
    }
    case 'Reshape': {
      const x = v(0);
      const s = v(1);
      let shape: Shape = s.shape && s.shape[0] !== null ? new Array<number | null>(s.shape[0]).fill(null) : null;
      const known = c.nodeOp(ins[1]) === 'Const' ? c.constInts(ins[1], node) : null;
      if (known) shape = known.map((d) => (d < 0 ? null : d));
      return [{ name: c.op('Reshape', [x.name, s.name]), type: x.type, shape }];
    }
    case 'ExpandDims': {
      const x = v(0);
      const [axis] = c.constInts(ins[1], node);
      let shape: Shape = null;
      if (x.shape) {
        const pos = axis < 0 ? x.shape.length + 1 + axis : axis;
        shape = [...x.shape.slice(0, pos), 1, ...x.shape.slice(pos)];
      }
      return [{ name: c.op('Unsqueeze', [x.name, c.int64s([axis])]), type: x.type, shape }];
    }
    case 'Squeeze': {
      const x = v(0);
      const axes = a.ints('squeeze_dims') ?? a.ints('axis') ?? [];
      if (!axes.length) {
        return [{ name: c.op('Squeeze', [x.name]), type: x.type, shape: x.shape && x.shape.every((d) => d !== null) ? x.shape.filter((d) => d !== 1) : null }];
      }
      const rank = x.shape?.length;
      const norm = axes.map((ax) => (ax < 0 && rank !== undefined ? ax + rank : ax));
      return [{ name: c.op('Squeeze', [x.name, c.int64s(axes)]), type: x.type, shape: x.shape ? x.shape.filter((_, i) => !norm.includes(i)) : null }];
    }
    case 'ConcatV2': {
      const xs = ins.slice(0, -1).map((r) => c.value(r));
      const [axis] = c.constInts(ins[ins.length - 1], node);
      let shape: Shape = null;
      const first = xs[0].shape;
      if (first && xs.every((x) => x.shape?.length === first.length)) {
        const ax = axis < 0 ? axis + first.length : axis;
        shape = first.map((d, i) => (i === ax ? xs.reduce<number | null>((acc, x) => (acc === null || x.shape![i] === null ? null : acc + (x.shape![i] as number)), 0) : d));
      }
      return [{ name: c.op('Concat', xs.map((x) => x.name), { axis }), type: xs[0].type, shape }];
    }
    case 'Pack': {
      const xs = ins.map((r) => c.value(r));
      const axis = a.int('axis', 0);
      const parts = xs.map((x) => c.op('Unsqueeze', [x.name, c.int64s([axis])]));
      const s = xs[0].shape;
      let shape: Shape = null;
      if (s) {
        const pos = axis < 0 ? s.length + 1 + axis : axis;
        shape = [...s.slice(0, pos), xs.length, ...s.slice(pos)];
      }
      return [{ name: parts.length === 1 ? parts[0] : c.op('Concat', parts, { axis }), type: xs[0].type, shape }];
    }
    case 'Transpose': {
      const x = v(0);
      const perm = c.constInts(ins[1], node);
      return [{ name: c.op('Transpose', [x.name], { perm }), type: x.type, shape: x.shape ? perm.map((p) => x.shape![p]) : null }];
    }
    default:
      return undefined;
  }
}

/** Indexing ops: gathers, scatters, ranges, slices, splits, tiles, fills and pads. Undefined for any other op. */
export function convertIndexOp(c: OpContext, node: TfNode): Value[] | undefined {
  const { ins, a, v } = nodeArgs(c, node);
  switch (node.op) {
    case 'GatherV2': {
      const params = v(0);
      const idx = v(1);
      const [axis] = c.constInts(ins[2], node);
      if (a.int('batch_dims', 0) !== 0) throw c.fail(node, 'batch_dims other than 0 is not supported.');
      let shape: Shape = null;
      if (params.shape && idx.shape) {
        const ax = axis < 0 ? axis + params.shape.length : axis;
        shape = [...params.shape.slice(0, ax), ...idx.shape, ...params.shape.slice(ax + 1)];
      }
      return [{ name: c.op('Gather', [params.name, idx.name], { axis }), type: params.type, shape }];
    }
    case 'GatherNd': {
      const params = v(0);
      const idx = v(1);
      let shape: Shape = null;
      const k = idx.shape?.[idx.shape.length - 1];
      if (params.shape && idx.shape && typeof k === 'number') shape = [...idx.shape.slice(0, -1), ...params.shape.slice(k)];
      return [{ name: c.op('GatherND', [params.name, idx.name]), type: params.type, shape }];
    }
    case 'ScatterNd': {
      const idx = v(0);
      const updates = v(1);
      const shapeV = v(2);
      // TensorFlow adds up updates at repeated indices: ScatterND with reduction "add" onto zeros does the same.
      const zero = tensorProto('zero', [1], updates.type === 'float32' ? Float32Array.of(0) : BigInt64Array.of(0n));
      const data = c.op('ConstantOfShape', [shapeV.name], { value: zero });
      const rank = shapeV.shape?.[0];
      return [{ name: c.op('ScatterND', [data, idx.name, updates.name], { reduction: 'add' }), type: updates.type, shape: typeof rank === 'number' ? new Array<null>(rank).fill(null) : null }];
    }
    case 'SparseToDense': {
      let idx = v(0);
      const shapeV = v(1);
      let vals = v(2);
      const dflt = v(3);
      if (idx.shape?.length === 0) idx = { ...idx, name: c.op('Reshape', [idx.name, c.int64s([1, 1])]), shape: [1, 1] };
      else if (idx.shape?.length === 1) idx = { ...idx, name: c.op('Unsqueeze', [idx.name, c.int64s([1])]), shape: [idx.shape[0], 1] };
      else if (idx.shape?.length !== 2) throw c.fail(node, 'sparse indices of unknown rank are not supported.');
      if (vals.shape?.length === 0) {
        const n = c.op('Slice', [c.op('Shape', [idx.name]), c.int64s([0]), c.int64s([1])]);
        vals = { ...vals, name: c.op('Expand', [vals.name, n]), shape: [null] };
      }
      const base = c.op('Expand', [dflt.name, shapeV.name]);
      const rank = shapeV.shape?.[0];
      return [{ name: c.op('ScatterND', [base, idx.name, vals.name]), type: vals.type, shape: typeof rank === 'number' ? new Array<null>(rank).fill(null) : null }];
    }
    case 'Where': {
      if (ins.length !== 1) throw c.fail(node, 'only the one-input form (coordinates of true values) is supported; use SelectV2 for the three-input form.');
      const x = v(0);
      // NonZero gives [rank, n]; TensorFlow's Where gives [n, rank] int64.
      return [{ name: c.op('Transpose', [c.op('NonZero', [x.name])], { perm: [1, 0] }), type: 'int64', shape: [null, x.shape ? x.shape.length : null] }];
    }
    case 'Range': {
      const [start, limit, delta] = [v(0), v(1), v(2)];
      return [{ name: c.op('Range', [start.name, limit.name, delta.name]), type: start.type, shape: [null] }];
    }
    case 'Slice': {
      const x = v(0);
      const beginV = v(1);
      // TensorFlow takes sizes (-1: to the end); ONNX takes ends.
      const isConst = (r: string) => c.nodeOp(r) === 'Const';
      let ends: string;
      if (isConst(ins[1]) && isConst(ins[2])) {
        const b = c.constInts(ins[1], node);
        const s = c.constInts(ins[2], node);
        ends = c.int64s(s.map((n, i) => (n === -1 ? INT64_MAX : BigInt(b[i] + n))));
      } else {
        const sizeV = v(2);
        const sum = c.op('Add', [beginV.name, sizeV.name]);
        const toEnd = c.op('Equal', [sizeV.name, c.int64s([-1])]);
        ends = c.op('Where', [toEnd, c.int64s([INT64_MAX]), sum]);
      }
      return [{ name: c.op('Slice', [x.name, beginV.name, ends]), type: x.type, shape: x.shape ? x.shape.map(() => null) : null }];
    }
    case 'StridedSlice':
      return [stridedSlice(c, node, ins)];
    case 'SplitV': {
      const x = v(0);
      const sizes = c.constInts(ins[1], node);
      const [axis] = c.constInts(ins[2], node);
      const n = a.int('num_split');
      const rank = x.shape?.length;
      const ax = axis < 0 && rank !== undefined ? axis + rank : axis;
      if (sizes.includes(-1)) {
        const dim = x.shape?.[ax];
        if (typeof dim !== 'number') throw c.fail(node, 'a -1 split size needs the split dimension, which is not known here.');
        const rest = dim - sizes.filter((s) => s !== -1).reduce((p, q) => p + q, 0);
        sizes[sizes.indexOf(-1)] = rest;
      }
      const outs = Array.from({ length: n }, () => c.g.fresh('split'));
      c.g.op('Split', [x.name, c.int64s(sizes)], { axis }, outs);
      return outs.map((name, i) => ({ name, type: x.type, shape: x.shape ? x.shape.map((d, j) => (j === ax ? sizes[i] : d)) : null }));
    }
    case 'Tile': {
      const x = v(0);
      return [{ name: c.op('Tile', [x.name, v(1).name]), type: x.type, shape: x.shape ? x.shape.map(() => null) : null }];
    }
    case 'Fill': {
      const dims = v(0);
      const value = v(1);
      const rank = dims.shape?.[0];
      return [{ name: c.op('Expand', [value.name, dims.name]), type: value.type, shape: typeof rank === 'number' ? new Array<null>(rank).fill(null) : null }];
    }
    case 'Pad':
    case 'PadV2': {
      const x = v(0);
      const p = c.constInts(ins[1], node);
      const r = p.length / 2;
      const pads = [...Array.from({ length: r }, (_, i) => p[2 * i]), ...Array.from({ length: r }, (_, i) => p[2 * i + 1])];
      const inputs = [x.name, c.int64s(pads)];
      if (node.op === 'PadV2') inputs.push(v(2).name);
      const shape = x.shape ? x.shape.map((d, i) => (d === null ? null : d + p[2 * i] + p[2 * i + 1])) : null;
      return [{ name: c.op('Pad', inputs, { mode: 'constant' }), type: x.type, shape }];
    }
    default:
      return undefined;
  }
}

export function stridedSlice(c: OpContext, node: TfNode, ins: string[]): Value {
  const a = new Attrs(node);
  const x = c.value(ins[0]);
  const begin = c.constInts(ins[1], node);
  const end = c.constInts(ins[2], node);
  const strides = c.constInts(ins[3], node);
  const bit = (mask: number, i: number) => ((mask >> i) & 1) === 1;
  const [bm, em, el, na, sh] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => a.int(k, 0));
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  const axes: number[] = [];
  const steps: number[] = [];
  const squeeze: number[] = [];
  const unsqueeze: number[] = [];
  const rank = x.shape?.length;
  const outShape: (number | null)[] = [];
  let inDim = 0;
  let outDim = 0;
  const dimOf = (d: number) => (x.shape ? x.shape[d] ?? null : null);
  for (let i = 0; i < begin.length; i++) {
    if (bit(el, i)) {
      if (rank === undefined) throw c.fail(node, 'an ellipsis needs the input rank, which is not known here.');
      let later = 0;
      for (let j = i + 1; j < begin.length; j++) if (!bit(na, j)) later++;
      const covered = rank - inDim - later;
      for (let k = 0; k < covered; k++) outShape.push(dimOf(inDim + k));
      inDim += covered;
      outDim += covered;
      continue;
    }
    if (bit(na, i)) {
      unsqueeze.push(outDim);
      outShape.push(1);
      outDim++;
      continue;
    }
    const s = strides[i];
    if (s === 0) throw c.fail(node, 'stride 0 is not allowed.');
    if (bit(sh, i)) {
      starts.push(BigInt(begin[i]));
      ends.push(begin[i] === -1 ? INT64_MAX : BigInt(begin[i] + 1));
      axes.push(inDim);
      steps.push(1);
      squeeze.push(inDim);
      inDim++;
      continue;
    }
    const b = bit(bm, i) ? (s > 0 ? 0n : INT64_MAX) : BigInt(begin[i]);
    const e = bit(em, i) ? (s > 0 ? INT64_MAX : INT64_MIN) : BigInt(end[i]);
    const full = s === 1 && b === 0n && e === INT64_MAX;
    if (!full) {
      starts.push(b);
      ends.push(e);
      axes.push(inDim);
      steps.push(s);
    }
    const d = dimOf(inDim);
    if (full) outShape.push(d);
    else if (d !== null) {
      // Python slicing: negative positions count from the end, then clamp to [0, d] (stride > 0) or [-1, d - 1].
      const [lo, hi] = s > 0 ? [0, d] : [-1, d - 1];
      const clamp = (v: bigint) => Math.min(hi, Math.max(lo, Number(v) < 0 ? Number(v) + d : Number(v)));
      outShape.push(Math.max(0, Math.ceil((clamp(e) - clamp(b)) / s)));
    } else outShape.push(null);
    inDim++;
    outDim++;
  }
  if (rank !== undefined) for (let d = inDim; d < rank; d++) outShape.push(dimOf(d));
  let y = x.name;
  if (axes.length) {
    y = c.op('Slice', [y, c.int64s(starts), c.int64s(ends), c.int64s(axes), c.int64s(steps)]);
  }
  if (squeeze.length) y = c.op('Squeeze', [y, c.int64s(squeeze)]);
  if (unsqueeze.length) y = c.op('Unsqueeze', [y, c.int64s(unsqueeze)]);
  if (y === x.name) y = c.op('Identity', [y]);
  return { name: y, type: x.type, shape: rank !== undefined ? outShape : null };
}
