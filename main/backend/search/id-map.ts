/**
 * Photo id → row, in typed arrays, which matters at start-up (the map is rebuilt from the sidecar's ids
 * each time). Keys are non-negative integers (SQLite rowids).
 *
 * Photo ids are rowids, so they are usually dense (1…N, a few gaps from removals): then the map is one
 * Int32Array indexed by id (4 B a possible id; 1M ids: 4 MB, filled in ~10 ms). When ids get sparse (the
 * array would need more than 4 slots per entry) it turns, for good, into open addressing with linear
 * probing, kept at most half full (12 B a slot; 1M ids filled in ~0.8 CPU-s here, most of it page faults of
 * the 24 MB; a JS Map took 0.5–0.7 CPU-s and ~40 B an entry). Removal shifts the following entries back
 * (no tombstones), so lookups never slow down with churn.
 */
const EMPTY = -1;
const MIN_SLOTS = 16;
/** Direct addressing while the array needs at most this many slots per entry (plus a small floor). */
const DENSE_SLOTS_PER_ENTRY = 4;
const DENSE_FLOOR = 4096;

export class IdMap {
  /** Direct mode: row of each id (EMPTY when absent); null once the map hashes. */
  private direct: Int32Array | null;
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  private n = 0;

  constructor(expected = 0) {
    this.direct = new Int32Array(slotsFor(expected / 2)).fill(EMPTY);
    this.keys = new Float64Array(0);
    this.vals = new Int32Array(0);
    this.mask = 0;
  }

  /** Whether ids are addressed directly (dense ids) rather than hashed. */
  get dense(): boolean {
    return this.direct !== null;
  }

  get size(): number {
    return this.n;
  }

  /** Bytes held by the arrays. */
  bytes(): number {
    return (this.direct?.byteLength ?? 0) + this.keys.byteLength + this.vals.byteLength;
  }

  /** The row of `id`, or -1. */
  get(id: number): number {
    const direct = this.direct;
    if (direct) return id < direct.length && id >= 0 && Number.isInteger(id) ? direct[id] : EMPTY;
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
    if (this.direct) {
      if (id >= this.direct.length) this.widen(id);
      if (this.direct) {
        if (this.direct[id] === EMPTY) this.n++;
        this.direct[id] = row;
        return;
      }
    }
    if ((this.n + 1) * 2 > this.keys.length) this.rehash(Math.max(MIN_SLOTS, this.keys.length * 2));
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
    const direct = this.direct;
    if (direct) {
      if (!(id >= 0 && id < direct.length && Number.isInteger(id)) || direct[id] === EMPTY) return false;
      direct[id] = EMPTY;
      this.n--;
      return true;
    }
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
    this.direct?.fill(EMPTY);
    this.keys.fill(EMPTY);
    this.n = 0;
  }

  /** Make room for `id` in direct mode, or switch to hashing when that would be too sparse. */
  private widen(id: number): void {
    const old = this.direct as Int32Array;
    let slots = old.length;
    while (slots <= id) slots *= 2;
    if (slots <= Math.max(DENSE_FLOOR, (this.n + 1) * DENSE_SLOTS_PER_ENTRY)) {
      const next = new Int32Array(slots).fill(EMPTY);
      next.set(old);
      this.direct = next;
      return;
    }
    const hashSlots = slotsFor(this.n + 1);
    this.direct = null;
    this.n = 0;
    this.keys = new Float64Array(hashSlots).fill(EMPTY);
    this.vals = new Int32Array(hashSlots);
    this.mask = hashSlots - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== EMPTY) this.set(i, old[i]);
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
