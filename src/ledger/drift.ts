import type { TableClient } from "@azure/data-tables";
import { buildKey } from "./keys";
import { statusOf } from "./storageErrors";
import type { LedgerTables } from "./tables";

/*
 * The drift watch: data property paths that stored events carry and their schemas do not name
 * (src/catalog/namedPaths.ts), one SchemaDrift row per (event type, path): PartitionKey the type,
 * RowKey the escaped path, with firstSeen, lastSeen, count and exampleEventId.
 *
 * Steady state costs no request: each process remembers the paths it has recorded and counts their
 * sightings in memory; a known path's row is written again (count added, lastSeen moved) at most every
 * DRIFT_WRITE_INTERVAL_MS, by the first event that finds it due. Only a path new to this process
 * costs a write at once: a create, which also says whether it is new to the ledger (the create
 * succeeds) or already recorded, by another instance or before a restart (409).
 *
 * Drift is best-effort: it is recorded after the event's own rows are written, and a failed drift
 * write is logged and retried later (its count stays in memory); it never fails or loses the event.
 */

/** How often a known path's row is written again, at most, per process. */
export const DRIFT_WRITE_INTERVAL_MS = 5 * 60_000;
/** After a failed drift write, the earliest retry of that row. */
export const DRIFT_RETRY_MS = 30_000;
/** Paths remembered per process; past this, new ones are not recorded (hostile keys cannot grow memory). */
export const MAX_TRACKED_PATHS = 1_000;
/** How often every remembered path is checked for an unwritten count, not only those of the event at hand. */
const SWEEP_INTERVAL_MS = 30_000;
const MERGE_ATTEMPTS = 5;

/** How the warning about a path new to the ledger starts (infra/main.bicep's alert and the README's query look for it). */
export const NEW_DRIFT_WARNING = "schema drift: new data property path";

/** Where the watch's warnings go: the invocation's logger in a function. */
export interface DriftLog {
  warn(message: string): void;
}

export interface DriftWatchOptions {
  /** The clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

interface Tracked {
  readonly eventType: string;
  readonly path: string;
  readonly exampleEventId: string;
  /** Whether the row is known to exist. */
  recorded: boolean;
  firstSeen: number;
  lastSeen: number;
  /** Sightings not yet added to the row's count. */
  pending: number;
  /** Earliest time this row may be written again. */
  nextWriteAt: number;
  writing: Promise<void> | undefined;
}

/** One SchemaDrift row as stored and as `acs-ledger drift` lists it. */
export interface DriftRow {
  readonly eventType: string;
  readonly path: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
  readonly exampleEventId: string;
}

export class DriftWatch {
  readonly #tables: LedgerTables;
  readonly #now: () => number;
  readonly #byType = new Map<string, Map<string, Tracked>>();
  #tracked = 0;
  #full = false;
  #nextSweepAt: number;

  constructor(tables: LedgerTables, options: DriftWatchOptions = {}) {
    this.#tables = tables;
    this.#now = options.now ?? Date.now;
    this.#nextSweepAt = this.#now() + SWEEP_INTERVAL_MS;
  }

  /**
   * Notes the unnamed paths of one stored event and writes the rows that are new or due. Never
   * throws: a failed write is logged, and retried later.
   */
  async observe(eventType: string, eventId: string, paths: readonly string[], log: DriftLog): Promise<void> {
    const now = this.#now();
    let due: Tracked[] | undefined;
    if (paths.length > 0) {
      let known = this.#byType.get(eventType);
      if (!known) this.#byType.set(eventType, (known = new Map()));
      for (const path of paths) {
        let t = known.get(path);
        if (!t) {
          if (this.#tracked >= MAX_TRACKED_PATHS) {
            if (!this.#full) log.warn(`schema drift: ${MAX_TRACKED_PATHS} paths are tracked; this instance records no new ones until it restarts`);
            this.#full = true;
            continue;
          }
          t = { eventType, path, exampleEventId: eventId, recorded: false, firstSeen: now, lastSeen: now, pending: 0, nextWriteAt: now, writing: undefined };
          known.set(path, t);
          this.#tracked++;
        }
        t.pending++;
        t.lastSeen = now;
        if (now >= t.nextWriteAt && !t.writing) (due ??= []).push(t);
      }
    }
    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
      for (const t of this.#each()) if (t.pending > 0 && now >= t.nextWriteAt && !t.writing && !due?.includes(t)) (due ??= []).push(t);
    }
    if (due) await Promise.all(due.map((t) => this.#write(t, log)));
  }

  /** Writes every count not yet written, due or not (the end of a replay, tests). */
  async flush(log: DriftLog): Promise<void> {
    await Promise.all([...this.#each()].map((t) => (t.writing ?? Promise.resolve()).then(() => (t.pending > 0 ? this.#write(t, log) : undefined))));
  }

  *#each(): Iterable<Tracked> {
    for (const paths of this.#byType.values()) yield* paths.values();
  }

  #write(t: Tracked, log: DriftLog): Promise<void> {
    t.writing = this.#store(t, log).finally(() => (t.writing = undefined));
    return t.writing;
  }

  async #store(t: Tracked, log: DriftLog): Promise<void> {
    const count = t.pending;
    const seen = { firstSeen: t.firstSeen, lastSeen: t.lastSeen };
    t.pending = 0;
    try {
      const client = await this.#tables.client("SchemaDrift");
      const created = !t.recorded && (await this.#create(client, t, count, seen));
      if (!created) await this.#merge(client, t, count, seen);
      t.recorded = true;
      t.nextWriteAt = this.#now() + DRIFT_WRITE_INTERVAL_MS;
      if (created) log.warn(`${NEW_DRIFT_WARNING} ${logSafe(t.path)} in ${logSafe(t.eventType)} events (recorded in SchemaDrift)`);
    } catch (error) {
      t.pending += count;
      t.nextWriteAt = this.#now() + DRIFT_RETRY_MS;
      const status = statusOf(error);
      const why = status !== undefined ? `HTTP ${status}` : ((error as { name?: string } | null)?.name ?? "error");
      log.warn(`schema drift: recording ${logSafe(t.path)} in ${logSafe(t.eventType)} events failed (${why}); the event is stored, and the drift row is retried later`);
    }
  }

  /** True when this create made the row; false when it was already there. */
  async #create(client: TableClient, t: Tracked, count: number, seen: { firstSeen: number; lastSeen: number }): Promise<boolean> {
    try {
      await client.createEntity({ ...keysOf(t), ...rowOf(t, count, seen.firstSeen, seen.lastSeen) }, { abortSignal: this.#timeout() });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /** Adds `count` to the stored row and widens its first/last seen, with ETags (other instances write it too). */
  async #merge(client: TableClient, t: Tracked, count: number, seen: { firstSeen: number; lastSeen: number }): Promise<void> {
    const { partitionKey, rowKey } = keysOf(t);
    for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
      let stored;
      try {
        stored = await client.getEntity<Record<string, unknown>>(partitionKey, rowKey, { abortSignal: this.#timeout() });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        if (await this.#create(client, t, count, seen)) return; // deleted meanwhile (by an operator): start again
        continue;
      }
      const storedFirst = Date.parse(String(stored["firstSeen"]));
      const storedLast = Date.parse(String(stored["lastSeen"]));
      const storedCount = typeof stored["count"] === "number" ? stored["count"] : 0;
      const exampleEventId = typeof stored["exampleEventId"] === "string" ? stored["exampleEventId"] : t.exampleEventId;
      const row = {
        partitionKey,
        rowKey,
        ...rowOf({ ...t, exampleEventId }, storedCount + count, Number.isNaN(storedFirst) ? seen.firstSeen : Math.min(storedFirst, seen.firstSeen), Number.isNaN(storedLast) ? seen.lastSeen : Math.max(storedLast, seen.lastSeen)),
      };
      try {
        await client.updateEntity(row, "Replace", { etag: stored.etag, abortSignal: this.#timeout() });
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 404) throw error; // changed or deleted meanwhile: read again
      }
    }
    throw new Error(`the row changed under ${MERGE_ATTEMPTS} attempts in a row`);
  }

  #timeout(): AbortSignal {
    return AbortSignal.timeout(this.#tables.settings.requestTimeoutMs);
  }
}

function keysOf(t: { readonly eventType: string; readonly path: string }): { partitionKey: string; rowKey: string } {
  return { partitionKey: buildKey([t.eventType]), rowKey: buildKey([t.path]) };
}

function rowOf(t: { readonly eventType: string; readonly path: string; readonly exampleEventId: string }, count: number, firstSeen: number, lastSeen: number): DriftRow {
  return { eventType: t.eventType, path: t.path, firstSeen: new Date(firstSeen).toISOString(), lastSeen: new Date(lastSeen).toISOString(), count, exampleEventId: t.exampleEventId };
}

/**
 * Paths are made of event keys, which an attacker chooses: in a log line, anything but printable ASCII
 * is escaped (no forged lines, no terminal escapes) and a long path is clipped.
 */
export function logSafe(text: string, max = 200): string {
  const clipped = text.length > max ? `${text.slice(0, max)}…` : text;
  return clipped.replace(/[^\x20-\x7e…]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
