/**
 * DB (differentiable binarization) post-processing, as PaddleOCR's DBPostProcess does it: the detector's
 * probability map → threshold → connected regions → each region's minimum-area rectangle → score (mean
 * probability inside) → grown by the unclip ratio (the detector predicts shrunk text kernels). Pure code,
 * no image library: the map is at most 960 × 960.
 */

/** A point in pixels of the image the detector saw. */
export interface Point {
  x: number;
  y: number;
}

/**
 * A text box: `origin` is its top-left corner as the text reads, `u` runs along the text (its length is
 * the box's width), `v` down across it (its length is the height). Axis-aligned text has u = (w, 0).
 */
export interface TextBox {
  origin: Point;
  u: Point;
  v: Point;
  score: number;
}

export interface BoxOptions {
  /** Pixels above this probability are text (PaddleOCR: 0.3). */
  threshold: number;
  /** Regions whose mean probability is below this are dropped (PaddleOCR: 0.6). */
  boxThreshold: number;
  /** How much a region is grown (PaddleOCR: 1.5). */
  unclipRatio: number;
  /** At most this many boxes, the largest first: a photo with thousands of tiny regions stays bounded. */
  maxBoxes: number;
}

/** Boxes from a `width` × `height` probability map (row-major), largest first, then in reading order. */
export function boxesFromMap(prob: Float32Array, width: number, height: number, opts: BoxOptions): TextBox[] {
  const n = width * height;
  const label = new Int32Array(n); // 0: not yet seen; -1: background
  const stack = new Int32Array(n);
  const found: { box: TextBox; area: number }[] = [];
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (label[start] !== 0) continue;
    if (prob[start]! <= opts.threshold) {
      label[start] = -1;
      continue;
    }
    // One region by flood fill (4-neighbours), keeping each row's leftmost and rightmost pixel for the hull.
    next++;
    let top = 0;
    stack[top++] = start;
    label[start] = next;
    let sum = 0;
    let count = 0;
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % width;
      const y = (i - x) / width;
      sum += prob[i]!;
      count++;
      const lo = rowMin.get(y);
      if (lo === undefined || x < lo) rowMin.set(y, x);
      const hi = rowMax.get(y);
      if (hi === undefined || x > hi) rowMax.set(y, x);
      const visit = (j: number) => {
        if (label[j] !== 0) return;
        if (prob[j]! > opts.threshold) {
          label[j] = next;
          stack[top++] = j;
        } else label[j] = -1;
      };
      if (x > 0) visit(i - 1);
      if (x < width - 1) visit(i + 1);
      if (y > 0) visit(i - width);
      if (y < height - 1) visit(i + width);
    }
    if (count < 4 || sum / count < opts.boxThreshold) continue;
    const pts: Point[] = [];
    for (const [y, x0] of rowMin) {
      const x1 = rowMax.get(y)! + 1;
      pts.push({ x: x0, y }, { x: x0, y: y + 1 }, { x: x1, y }, { x: x1, y: y + 1 });
    }
    const rect = minAreaRect(convexHull(pts));
    if (!rect || Math.min(rect.w, rect.h) < 2) continue;
    const grown = unclip(rect, opts.unclipRatio);
    if (Math.min(grown.w, grown.h) < 5) continue;
    found.push({ box: { ...toTextBox(grown), score: sum / count }, area: grown.w * grown.h });
  }
  found.sort((a, b) => b.area - a.area);
  return readingOrder(found.slice(0, opts.maxBoxes).map((f) => clipBox(f.box, width, height)));
}

/** Top to bottom, then left to right among boxes on the same line (centres within half a line height). */
export function readingOrder(boxes: TextBox[]): TextBox[] {
  const centre = (b: TextBox) => ({ x: b.origin.x + (b.u.x + b.v.x) / 2, y: b.origin.y + (b.u.y + b.v.y) / 2, h: Math.hypot(b.v.x, b.v.y) });
  const sorted = [...boxes].sort((a, b) => centre(a).y - centre(b).y);
  const lines: TextBox[][] = [];
  for (const b of sorted) {
    const c = centre(b);
    const line = lines[lines.length - 1];
    if (line && Math.abs(centre(line[0]!).y - c.y) < Math.max(c.h, centre(line[0]!).h) / 2) line.push(b);
    else lines.push([b]);
  }
  return lines.flatMap((l) => l.sort((a, b) => centre(a).x - centre(b).x));
}

interface Rect {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Angle of the `w` side, radians. */
  angle: number;
}

/** Andrew's monotone chain; points in counter-clockwise order (y down), no collinear ones. */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** The smallest rectangle holding the hull: one of its sides lies on a hull edge (rotating calipers). */
export function minAreaRect(hull: Point[]): Rect | null {
  if (hull.length < 3) return null;
  let best: Rect | null = null;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len === 0) continue;
    const ux = (b.x - a.x) / len;
    const uy = (b.y - a.y) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const pu = p.x * ux + p.y * uy;
      const pv = -p.x * uy + p.y * ux;
      if (pu < minU) minU = pu;
      if (pu > maxU) maxU = pu;
      if (pv < minV) minV = pv;
      if (pv > maxV) maxV = pv;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, angle: Math.atan2(uy, ux) };
    }
  }
  return best;
}

/** Grow a rectangle by area × ratio / perimeter on every side (PaddleOCR's unclip of a 4-point box). */
function unclip(r: Rect, ratio: number): Rect {
  const d = (r.w * r.h * ratio) / (2 * (r.w + r.h));
  return { ...r, w: r.w + 2 * d, h: r.h + 2 * d };
}

/** The rectangle as a box whose `u` side is the more horizontal one, pointing right; `v` points down. */
function toTextBox(r: Rect): Omit<TextBox, 'score'> {
  let ux = Math.cos(r.angle);
  let uy = Math.sin(r.angle);
  let w = r.w;
  let h = r.h;
  if (Math.abs(uy) > Math.abs(ux)) {
    // the `w` side is the more vertical: swap the sides
    [ux, uy] = [-uy, ux];
    [w, h] = [h, w];
  }
  if (ux < 0) {
    ux = -ux;
    uy = -uy;
  }
  const vx = -uy;
  const vy = ux; // u turned a quarter clockwise on screen (y down): points down
  const origin = { x: r.cx - (ux * w) / 2 - (vx * h) / 2, y: r.cy - (uy * w) / 2 - (vy * h) / 2 };
  return { origin, u: { x: ux * w, y: uy * w }, v: { x: vx * h, y: vy * h } };
}

/** Keep an axis-aligned box inside the map (a grown box may stick out); rotated boxes are sampled with clamping. */
function clipBox(b: TextBox, width: number, height: number): TextBox {
  if (Math.abs(b.u.y) > 1e-6 || Math.abs(b.v.x) > 1e-6) return b;
  const x0 = Math.max(0, b.origin.x);
  const y0 = Math.max(0, b.origin.y);
  const x1 = Math.min(width, b.origin.x + b.u.x);
  const y1 = Math.min(height, b.origin.y + b.v.y);
  return { origin: { x: x0, y: y0 }, u: { x: x1 - x0, y: 0 }, v: { x: 0, y: y1 - y0 }, score: b.score };
}
