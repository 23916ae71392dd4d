/** TensorFlow elementwise ops → ONNX (part of the graph converter, tfjs-graph-onnx.ts). */
import { ELEM } from '../../main/backend/onnx/builder';
import type { TfNode } from './tfjs-graph-files';
import { broadcast, onnxType, type OpContext, type Value, nodeArgs } from './tfjs-graph-values';
import { activation } from './tfjs-ops-nn';

/** Elementwise ops: math, comparisons, logic, casts. Undefined for any other op. */
export function convertElementwise(c: OpContext, node: TfNode): Value[] | undefined {
  const { a, v, same, unary } = nodeArgs(c, node);
  switch (node.op) {
    case 'Relu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Sin':
    case 'Cos':
    case 'Exp':
    case 'Log':
    case 'Sqrt':
    case 'Abs':
    case 'Neg':
    case 'Floor':
    case 'Ceil':
    case 'Reciprocal':
    case 'Erf':
      return unary(node.op);
    case 'LogicalNot':
      return unary('Not');
    case 'Relu6':
    case 'Elu': {
      const x = v(0);
      return [same(activation(c, node, node.op, x.name), x)];
    }
    case 'LeakyRelu': {
      // The standalone op calls its slope "alpha" (the fused convolutions: "leakyrelu_alpha").
      const x = v(0);
      return [same(c.op('LeakyRelu', [x.name], { alpha: { float: a.float('alpha', 0.2) } }), x)];
    }
    case 'Rsqrt': {
      const x = v(0);
      return [same(c.op('Reciprocal', [c.op('Sqrt', [x.name])]), x)];
    }
    case 'Square': {
      const x = v(0);
      return [same(c.op('Mul', [x.name, x.name]), x)];
    }
    case 'Add':
    case 'AddV2':
      return [c.binary('Add', v(0), v(1))];
    case 'BiasAdd': {
      if (a.str('data_format', 'NHWC') !== 'NHWC') throw c.fail(node, 'only NHWC BiasAdd is supported.');
      return [c.binary('Add', v(0), v(1))];
    }
    case 'Sub':
      return [c.binary('Sub', v(0), v(1))];
    case 'Mul':
      return [c.binary('Mul', v(0), v(1))];
    case 'RealDiv':
      return [c.binary('Div', v(0), v(1))];
    case 'Maximum':
      return [c.binary('Max', v(0), v(1))];
    case 'Minimum':
      return [c.binary('Min', v(0), v(1))];
    case 'Pow':
      return [c.binary('Pow', v(0), v(1))];
    case 'SquaredDifference': {
      const d = c.binary('Sub', v(0), v(1));
      return [same(c.op('Mul', [d.name, d.name]), d)];
    }
    case 'FloorDiv': {
      const x = v(0);
      const y = v(1);
      if (x.type !== 'float32') throw c.fail(node, 'integer FloorDiv is not supported.');
      const q = c.binary('Div', x, y);
      return [same(c.op('Floor', [q.name]), q)];
    }
    case 'FloorMod': {
      const x = v(0);
      const y = v(1);
      // ONNX Mod with fmod = 0 takes the divisor's sign, like TensorFlow's FloorMod (integers only).
      if (x.type !== 'int64') throw c.fail(node, 'float FloorMod is not supported.');
      return [{ name: c.op('Mod', [x.name, y.name], { fmod: 0 }), type: x.type, shape: broadcast(x.shape, y.shape) }];
    }
    case 'Less':
      return [c.binary('Less', v(0), v(1), 'bool')];
    case 'LessEqual':
      return [c.binary('LessOrEqual', v(0), v(1), 'bool')];
    case 'Greater':
      return [c.binary('Greater', v(0), v(1), 'bool')];
    case 'GreaterEqual':
      return [c.binary('GreaterOrEqual', v(0), v(1), 'bool')];
    case 'Equal':
      return [c.binary('Equal', v(0), v(1), 'bool')];
    case 'NotEqual': {
      const e = c.binary('Equal', v(0), v(1), 'bool');
      return [same(c.op('Not', [e.name]), e)];
    }
    case 'LogicalAnd':
      return [c.binary('And', v(0), v(1), 'bool')];
    case 'LogicalOr':
      return [c.binary('Or', v(0), v(1), 'bool')];
    case 'SelectV2': {
      const cond = v(0);
      const x = v(1);
      const y = v(2);
      return [{ name: c.op('Where', [cond.name, x.name, y.name]), type: x.type, shape: broadcast(broadcast(cond.shape, x.shape), y.shape) }];
    }
    case 'Cast': {
      const x = v(0);
      const to = onnxType(a.dtype('DstT') ?? 'float32');
      if (to === x.type) return [x];
      return [{ name: c.op('Cast', [x.name], { to: ELEM[to] }), type: to, shape: x.shape }];
    }
    case 'ClipByValue': {
      const x = v(0);
      return [same(c.op('Clip', [x.name, v(1).name, v(2).name]), x)];
    }
    default:
      return undefined;
  }
}
