/** The indexer's flow control: a bounded batch queue between decoding and the tower, and a decode limit. */

/** A bounded async queue: `push` waits while full; `take` waits for a full batch or the end. */
export class BatchQueue<T> {
  private items: T[] = [];
  private closed = false;
  private wakeTaker: (() => void) | null = null;
  private wakePushers: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) await new Promise<void>((r) => this.wakePushers.push(r));
    if (this.closed) return; // dropped: the run is stopping
    this.items.push(item);
    this.wakeTaker?.();
  }

  /** Up to `n` items once `n` are queued or the queue is closed; null at the end. */
  async take(n: number): Promise<T[] | null> {
    while (this.items.length < n && !this.closed) await new Promise<void>((r) => (this.wakeTaker = r));
    this.wakeTaker = null;
    if (this.items.length === 0) return null;
    const out = this.items.splice(0, n);
    for (const wake of this.wakePushers.splice(0)) wake();
    return out;
  }

  close(): void {
    this.closed = true;
    this.wakeTaker?.();
    for (const wake of this.wakePushers.splice(0)) wake();
  }

  /** Stop now: drop what is queued and release waiting pushers. */
  abort(): void {
    this.items = [];
    this.close();
  }
}

/** At most `n` decodes at once. */
export class Slots {
  private free: number;
  private waiters: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}
