/**
 * Photo id → row, in two typed arrays (open addressing, linear probing, kept at most half full). A JS Map
 * of 1M numbers took 0.5–0.7 CPU-s to fill here and ~40 B an entry; this takes 12 B a slot and a fraction
 * of the time, which matters at start-up (the map is rebuilt from the sidecar's ids each time).
 * Removal shifts the following entries back (no tombstones), so lookups never slow down with churn.
 * Keys are non-negative integers (SQLite rowids).
 */
const EMPTY = -1;
const MIN_SLOTS = 16;

export class IdMap {
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  private n = 0;

  constructor(expected = 0) {
    const slots = slotsFor(expected);
    this.keys = new Float64Array(slots).fill(EMPTY);
    this.vals = new Int32Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.n;
  }

  /** Bytes held by the two arrays. */
  bytes(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }

  /** The row of `id`, or -1. */
  get(id: number): number {
    const keys = this.keys;
    for (let i = this.slot(id); ; i = (i + 1) & this.mask) {
      const k = keys[i];
      if (k === id) return this.vals[i];
      if (k === EMPTY) return -1;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== -1;
  }

  set(id: number, row: number): void {
    if (!(Number.isInteger(id) && id >= 0)) throw new RangeError(`photo id ${id} is not a non-negative integer`);
    if ((this.n + 1) * 2 > this.keys.length) this.rehash(this.keys.length * 2);
    const keys = this.keys;
    let i = this.slot(id);
    while (keys[i] !== EMPTY && keys[i] !== id) i = (i + 1) & this.mask;
    if (keys[i] === EMPTY) {
      keys[i] = id;
      this.n++;
    }
    this.vals[i] = row;
  }

  delete(id: number): boolean {
    const keys = this.keys;
    let i = this.slot(id);
    for (;;) {
      if (keys[i] === id) break;
      if (keys[i] === EMPTY) return false;
      i = (i + 1) & this.mask;
    }
    // Backward shift: move each following entry of the run into the hole unless its home slot lies
    // (cyclically) after the hole, so every entry stays reachable from its home slot.
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const k = keys[j];
      if (k === EMPTY) break;
      const home = this.slot(k);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      keys[i] = k;
      this.vals[i] = this.vals[j];
      i = j;
    }
    keys[i] = EMPTY;
    this.n--;
    return true;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.n = 0;
  }

  private slot(id: number): number {
    // Fold the high bits in (ids above 2^32 are legal), then a Fibonacci hash.
    const h = Math.imul((id | 0) ^ ((id / 4_294_967_296) | 0), 0x9e3779b1);
    return (h ^ (h >>> 15)) & this.mask;
  }

  private rehash(slots: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Float64Array(slots).fill(EMPTY);
    this.vals = new Int32Array(slots);
    this.mask = slots - 1;
    this.n = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.set(oldKeys[i], oldVals[i]);
  }
}

function slotsFor(expected: number): number {
  let slots = MIN_SLOTS;
  while (slots < expected * 2) slots *= 2;
  return slots;
}
