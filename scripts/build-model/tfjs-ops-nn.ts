/** TensorFlow reductions, matrix products and image ops (NHWC) → ONNX (part of the graph converter, tfjs-graph-onnx.ts). */
import { Attrs, type TfNode } from './tfjs-graph-files';
import { broadcast, convOut, type OpContext, type Shape, type Value, nodeArgs } from './tfjs-graph-values';

/** Reductions, matrix products, softmax, convolutions, pooling and resizing (NHWC). Undefined for any other op. */
export function convertNnOp(c: OpContext, node: TfNode): Value[] | undefined {
  const { ins, a, v, same, unary } = nodeArgs(c, node);
  switch (node.op) {
    case 'Sum':
      return [reduce(c, node, ins, 'ReduceSum')];
    case 'Mean':
      return [reduce(c, node, ins, 'ReduceMean')];
    case 'Max':
      return [reduce(c, node, ins, 'ReduceMax')];
    case 'Min':
      return [reduce(c, node, ins, 'ReduceMin')];
    case 'Prod':
      return [reduce(c, node, ins, 'ReduceProd')];
    case 'ArgMax':
    case 'ArgMin': {
      const x = v(0);
      const [axis] = c.constInts(ins[1], node);
      const rank = x.shape?.length;
      const ax = axis < 0 && rank !== undefined ? axis + rank : axis;
      return [{ name: c.op(node.op, [x.name], { axis, keepdims: 0 }), type: 'int64', shape: x.shape ? x.shape.filter((_, i) => i !== ax) : null }];
    }
    // -- linear algebra --
    case 'MatMul':
    case '_FusedMatMul': {
      let x = v(0);
      let w = v(1);
      if (a.bool('transpose_a')) x = { ...x, name: c.op('Transpose', [x.name], { perm: [1, 0] }), shape: x.shape ? [x.shape[1], x.shape[0]] : null };
      if (a.bool('transpose_b')) w = { ...w, name: c.op('Transpose', [w.name], { perm: [1, 0] }), shape: w.shape ? [w.shape[1], w.shape[0]] : null };
      let y: Value = { name: c.op('MatMul', [x.name, w.name]), type: 'float32', shape: x.shape && w.shape ? [x.shape[0], w.shape[1]] : null };
      if (node.op === '_FusedMatMul') {
        const ops = a.strs('fused_ops');
        let extra = 2;
        if (ops[0] === 'BiasAdd') {
          y = c.binary('Add', y, c.value(ins[extra++]));
          ops.shift();
        }
        if (ops.length > 1) throw c.fail(node, `fused ops ${a.strs('fused_ops').join(', ')} are not supported.`);
        if (ops.length === 1) y = same(activation(c, node, ops[0], y.name, ops[0] === 'Prelu' ? c.value(ins[extra]).name : undefined), y);
      }
      return [y];
    }
    case 'BatchMatMul':
    case 'BatchMatMulV2': {
      const lastTwo = (x: Value, flag: string): Value => {
        if (!a.bool(flag)) return x;
        const r = x.shape?.length;
        if (r === undefined) throw c.fail(node, `${flag} needs the input rank, which is not known here.`);
        const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
        return { ...x, name: c.op('Transpose', [x.name], { perm }), shape: perm.map((p) => x.shape![p]) };
      };
      const x = lastTwo(v(0), 'adj_x');
      const y = lastTwo(v(1), 'adj_y');
      let shape: Shape = null;
      if (x.shape && y.shape) shape = [...(broadcast(x.shape.slice(0, -2), y.shape.slice(0, -2)) ?? []), x.shape[x.shape.length - 2], y.shape[y.shape.length - 1]];
      return [{ name: c.op('MatMul', [x.name, y.name]), type: 'float32', shape }];
    }
    case 'Softmax':
      return unary('Softmax');
    // -- images (NHWC) --
    case 'Conv2D':
      return [conv(c, node, ins, false, [])];
    case 'DepthwiseConv2dNative':
      return [conv(c, node, ins, true, [])];
    case '_FusedConv2D':
      return [conv(c, node, ins, false, a.strs('fused_ops'))];
    case 'FusedDepthwiseConv2dNative':
      return [conv(c, node, ins, true, a.strs('fused_ops'))];
    case 'MaxPool':
      return [pool(c, node, ins, 'MaxPool')];
    case 'AvgPool':
      return [pool(c, node, ins, 'AveragePool')];
    case 'ResizeBilinear': {
      const x = v(0);
      const size = v(1);
      const mode = a.bool('align_corners') ? 'align_corners' : a.bool('half_pixel_centers') ? 'half_pixel' : 'asymmetric';
      const nc = c.op('Slice', [c.op('Shape', [x.name]), c.int64s([0]), c.int64s([1])]);
      const ch = c.op('Slice', [c.op('Shape', [x.name]), c.int64s([3]), c.int64s([4])]);
      const sizes = c.op('Concat', [nc, ch, size.name], { axis: 0 });
      const y = c.op('Resize', [c.toNchw(x), '', '', sizes], { mode: 'linear', coordinate_transformation_mode: mode });
      let hw: (number | null)[] = [null, null];
      if (c.nodeOp(ins[1]) === 'Const') hw = c.constInts(ins[1], node);
      return [{ name: c.toNhwc(y), type: 'float32', shape: x.shape ? [x.shape[0], hw[0], hw[1], x.shape[3]] : null }];
    }
    default:
      return undefined;
  }
}

/** A fused or standalone activation applied to x. */
export function activation(c: OpContext, node: TfNode, kind: string, x: string, alpha?: string): string {
  switch (kind) {
    case 'Relu':
      return c.op('Relu', [x]);
    case 'Relu6':
      return c.op('Clip', [x, c.floatScalar(0), c.floatScalar(6)]);
    case 'Sigmoid':
      return c.op('Sigmoid', [x]);
    case 'Tanh':
      return c.op('Tanh', [x]);
    case 'Elu':
      return c.op('Elu', [x], { alpha: { float: 1 } });
    case 'LeakyRelu':
      return c.op('LeakyRelu', [x], { alpha: { float: new Attrs(node).float('leakyrelu_alpha', 0.2) } });
    case 'Prelu':
      if (!alpha) throw c.fail(node, 'Prelu needs its alpha argument.');
      return c.op('PRelu', [x, alpha]);
    default:
      throw c.fail(node, `fused activation ${kind} is not supported (Relu, Relu6, Sigmoid, Tanh, Elu, LeakyRelu, Prelu).`);
  }
}

/** Conv2D / DepthwiseConv2dNative and their fused forms, on NHWC input. */
export function conv(c: OpContext, node: TfNode, ins: string[], depthwise: boolean, fusedOps: string[]): Value {
  const a = new Attrs(node);
  const format = a.str('data_format', 'NHWC');
  if (format !== 'NHWC') throw c.fail(node, `data_format ${format} is not supported (NHWC only).`);
  const x = c.value(ins[0]);
  const filter = c.constData(ins[1], node);
  if (filter.dtype !== 'float32' || filter.shape.length !== 4) throw c.fail(node, 'the filter must be a float32 constant of rank 4.');
  const [kh, kw, cin, cout0] = filter.shape;
  const strides = a.ints('strides') ?? [1, 1, 1, 1];
  const dil = a.ints('dilations') ?? [1, 1, 1, 1];
  const padding = a.str('padding');
  const group = depthwise ? cin : 1;
  const cout = depthwise ? cin * cout0 : cout0;
  const inPerGroup = depthwise ? 1 : cin;
  // TensorFlow [kh, kw, in, out] (depthwise [kh, kw, in, multiplier]) → ONNX [out, in/group, kh, kw].
  const src = filter.data as Float32Array;
  const W = new Float32Array(cout * inPerGroup * kh * kw);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let ci = 0; ci < cin; ci++)
        for (let co = 0; co < cout0; co++) {
          const o = depthwise ? ci * cout0 + co : co;
          const inIdx = depthwise ? 0 : ci;
          W[((o * inPerGroup + inIdx) * kh + i) * kw + j] = src[((i * kw + j) * cin + ci) * cout0 + co];
        }
  const attrs: Record<string, number | number[] | string> = { kernel_shape: [kh, kw], strides: [strides[1], strides[2]], dilations: [dil[1], dil[2]], group };
  if (padding === 'SAME') attrs.auto_pad = 'SAME_UPPER';
  else if (padding === 'VALID') attrs.auto_pad = 'VALID';
  else if (padding === 'EXPLICIT') {
    const p = a.ints('explicit_paddings') ?? [];
    attrs.pads = [p[2], p[4], p[3], p[5]];
  } else throw c.fail(node, `padding ${padding} is not supported.`);
  const convInputs = [c.toNchw(x), c.g.constant(W, [cout, inPerGroup, kh, kw])];
  // Fused ops: [BiasAdd, activation?]; the bias and Prelu alpha are the extra inputs, in order.
  let extra = 2;
  const ops = [...fusedOps];
  if (ops[0] === 'BiasAdd') {
    const bias = c.constData(ins[extra++], node);
    convInputs.push(c.g.constant(bias.data as Float32Array, [cout]));
    ops.shift();
  } else if (ops.length) throw c.fail(node, `fused ops ${ops.join(', ')} are not supported (BiasAdd first).`);
  let y = c.op('Conv', convInputs, attrs);
  if (ops.length > 1) throw c.fail(node, `fused ops ${fusedOps.join(', ')} are not supported.`);
  if (ops.length === 1) {
    let alpha: string | undefined;
    if (ops[0] === 'Prelu') {
      const al = c.constData(ins[extra], node);
      alpha = c.g.constant(al.data as Float32Array, [cout, 1, 1]);
    }
    y = activation(c, node, ops[0], y, alpha);
  }
  const s = x.shape;
  const shape: Shape = s && s.length === 4 ? [s[0], convOut(s[1], kh, strides[1], dil[1], padding), convOut(s[2], kw, strides[2], dil[2], padding), cout] : [null, null, null, cout];
  return { name: c.toNhwc(y), type: 'float32', shape };
}

export function pool(c: OpContext, node: TfNode, ins: string[], kind: 'MaxPool' | 'AveragePool'): Value {
  const a = new Attrs(node);
  if (a.str('data_format', 'NHWC') !== 'NHWC') throw c.fail(node, 'only NHWC pooling is supported.');
  const x = c.value(ins[0]);
  const k = a.ints('ksize') ?? [1, 1, 1, 1];
  const st = a.ints('strides') ?? [1, 1, 1, 1];
  const padding = a.str('padding');
  if (padding !== 'SAME' && padding !== 'VALID') throw c.fail(node, `padding ${padding} is not supported.`);
  // TensorFlow's SAME average pooling divides by the valid count: ONNX count_include_pad = 0 (the default).
  const y = c.op(kind, [c.toNchw(x)], { kernel_shape: [k[1], k[2]], strides: [st[1], st[2]], auto_pad: padding === 'SAME' ? 'SAME_UPPER' : 'VALID' });
  const s = x.shape;
  const shape: Shape = s && s.length === 4 ? [s[0], convOut(s[1], k[1], st[1], 1, padding), convOut(s[2], k[2], st[2], 1, padding), s[3]] : null;
  return { name: c.toNhwc(y), type: 'float32', shape };
}

export function reduce(c: OpContext, node: TfNode, ins: string[], onnxOp: string): Value {
  const x = c.value(ins[0]);
  const axes = c.constInts(ins[1], node);
  const keep = new Attrs(node).bool('keep_dims');
  if (axes.length === 0) return x;
  const rank = x.shape?.length;
  const norm = axes.map((ax) => (ax < 0 && rank !== undefined ? ax + rank : ax));
  let shape: Shape = null;
  if (x.shape && norm.every((ax) => ax >= 0)) shape = keep ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  // Opset 17: ReduceSum takes axes as an input, the other reductions as an attribute.
  const name = onnxOp === 'ReduceSum' ? c.op(onnxOp, [x.name, c.int64s(axes)], { keepdims: keep ? 1 : 0 }) : c.op(onnxOp, [x.name], { axes, keepdims: keep ? 1 : 0 });
  return { name, type: x.type, shape };
}
