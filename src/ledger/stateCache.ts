/**
 * What this process knows about current-state rows, so that a state write costs one request where it
 * can: the rows it has read or written (ETag and decoded properties, most recently used kept, bounded
 * in rows and in characters), whether a row a table's events miss in the cache is usually there
 * already (then read first instead of create first), and one write at a time per row in this process
 * (so that copies of one change arriving together do not collide on the row's ETag).
 *
 * The cache is only ever a guess: a write based on it is conditional on the ETag, and a stale entry
 * costs a 412 and a read, never a wrong row.
 */

export interface CachedRow {
  readonly etag: string;
  /** The row's properties as a read would return them (decoded, nothing absent). */
  readonly props: Readonly<Record<string, unknown>>;
}

export interface StateCacheLimits {
  readonly maxRows: number;
  /** Sum of the rows' string lengths (message bodies can be 28 K characters each). */
  readonly maxChars: number;
}

/** About 10 MB at the mix's row sizes, and at most about 2 × 8 M characters with big bodies. */
export const DEFAULT_LIMITS: StateCacheLimits = { maxRows: 20_000, maxChars: 8_000_000 };

/** How many recent misses of one table and event type decide whether to read first. */
const MISS_WINDOW = 32;

export class StateCache {
  readonly #limits: StateCacheLimits;
  readonly #rows = new Map<string, { row: CachedRow; chars: number }>();
  #chars = 0;
  /** Per table and event type: a moving share of cache misses whose row turned out to exist. */
  readonly #existing = new Map<string, number>();
  readonly #busy = new Map<string, Promise<void>>();

  constructor(limits: StateCacheLimits = DEFAULT_LIMITS) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#rows.size;
  }

  get(key: string): CachedRow | undefined {
    const entry = this.#rows.get(key);
    if (!entry) return undefined;
    // Map order is the eviction order: a hit moves to the back.
    this.#rows.delete(key);
    this.#rows.set(key, entry);
    return entry.row;
  }

  set(key: string, row: CachedRow): void {
    this.forget(key);
    const chars = charsOf(row.props);
    if (chars > this.#limits.maxChars) return;
    this.#rows.set(key, { row, chars });
    this.#chars += chars;
    for (const [oldest, entry] of this.#rows) {
      if (this.#rows.size <= this.#limits.maxRows && this.#chars <= this.#limits.maxChars) break;
      this.#rows.delete(oldest);
      this.#chars -= entry.chars;
    }
  }

  forget(key: string): void {
    const entry = this.#rows.get(key);
    if (!entry) return;
    this.#rows.delete(key);
    this.#chars -= entry.chars;
  }

  /** Whether a row missing from the cache is more likely there already than not, for this kind of write. */
  likelyExists(kind: string): boolean {
    return (this.#existing.get(kind) ?? 0) > 0.5;
  }

  /** Records what a miss found: the row there already, or not. */
  recordMiss(kind: string, existed: boolean): void {
    const share = this.#existing.get(kind) ?? 0;
    this.#existing.set(kind, share + ((existed ? 1 : 0) - share) / MISS_WINDOW);
  }

  /** Runs `fn` after every earlier `exclusive` call for the same key has settled. */
  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#busy.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before ? before.then(() => mine) : mine;
    this.#busy.set(key, tail);
    try {
      if (before) await before;
      return await fn();
    } finally {
      release();
      if (this.#busy.get(key) === tail) this.#busy.delete(key);
    }
  }
}

/** The cache key of a row. */
export function rowKeyOf(table: string, partitionKey: string, rowKey: string): string {
  return `${table}\n${partitionKey}\n${rowKey}`;
}

function charsOf(props: Readonly<Record<string, unknown>>): number {
  let n = 0;
  for (const key in props) {
    const value = props[key];
    n += key.length + (typeof value === "string" ? value.length : 8);
  }
  return n;
}
