import type { TableClient } from "@azure/data-tables";
import { ConcurrencyError, StorageError } from "../errors";
import type { Properties, TableName } from "../catalog/spec";
import { assertWithinLimits, decodeProperties, encodeOwnedProperties, type StoredProperties } from "./entity";
import { sameContent } from "../eventContent";
import { mergeAll } from "./merge";
import { rowKeyOf, StateCache, type CachedRow } from "./stateCache";
import { describeStorageError, statusOf } from "./storageErrors";
import type { LedgerTables } from "./tables";

/** A row ready to write: keys escaped, properties encoded and checked against the service's limits. */
export interface PreparedAppend {
  readonly kind: "append";
  readonly table: TableName;
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly entity: StoredProperties;
  /** A fact row (it holds `rawEvent`): on 409 the stored row's event is compared with this one. */
  readonly fact?: true;
}

export interface PreparedState {
  readonly kind: "state";
  readonly table: TableName;
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly facets: readonly { readonly name: string; readonly version: string; readonly props: Properties }[];
  /** The event's identity, `eventId|identityTag`: after the version, what orders two events' changes. */
  readonly identity: string;
  /** Written with every applied change: which event last changed the row. */
  readonly common: Properties;
}

export type PreparedWrite = PreparedAppend | PreparedState;

export { mergeAll, mergeFacets } from "./merge";

/**
 * What happened to one write: new row, row already there (redelivery), state already newer, or an
 * identity conflict: a fact row already holds another event with this (source, id, type), so this
 * event's state changes were not applied.
 */
export type WriteOutcome = "written" | "existing" | "unchanged" | "conflict";

const STATE_ATTEMPTS = 12;
/** Random backoff between attempts, so that concurrent writers of one row stop colliding. */
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
const ENTITY_METADATA = new Set(["partitionKey", "rowKey", "etag", "timestamp", "odata.metadata", "odata.etag"]);

/**
 * Writes prepared rows. Appends are `createEntity`, and a 409 means the row is already there (a
 * redelivery, or the SDK's own retry of an insert that succeeded); for a fact row, one read then tells
 * a redelivery from an identity conflict by comparing the two events' content (src/eventContent.ts).
 * Current-state rows are merge-write with ETags: a row this process knows (src/ledger/stateCache.ts) is
 * merged in memory and replaced if its ETag still matches; an unknown one is created, or read first
 * where such rows usually exist; a 409/412/404 reads and merges again. Every other storage failure is
 * thrown, so Event Grid retries.
 */
export class LedgerWriter {
  readonly #tables: LedgerTables;
  readonly #cache: StateCache;

  constructor(tables: LedgerTables, cache: StateCache = new StateCache()) {
    this.#tables = tables;
    this.#cache = cache;
  }

  get tables(): LedgerTables {
    return this.#tables;
  }

  /**
   * Writes all rows of one event; throws the first failure after every write has settled. Fact rows
   * go first: the state changes follow once they are known to be new or a true redelivery, so that an
   * identity conflict changes no other row (its state writes come back as "conflict", unwritten).
   */
  async write(writes: readonly PreparedWrite[], eventLabel: string): Promise<WriteOutcome[]> {
    const deadline = this.#deadline();
    const facts = await settled(writes.map((w) => (w.kind === "append" ? this.#append(w, eventLabel, deadline) : undefined)));
    const conflict = facts.includes("conflict");
    const states = await settled(writes.map((w) => (w.kind === "state" ? (conflict ? "conflict" : this.#state([w], eventLabel, false, deadline)) : undefined)));
    return facts.map((outcome, i) => (outcome ?? states[i]) as WriteOutcome);
  }

  /**
   * Several events' patches of one current-state row (same table and keys) in one read-merge-write,
   * applied in order: the row ends as one write per patch would leave it. With `exists`, the row is
   * read first instead of created first. (The replay merges the patches that queue up for a busy row.)
   */
  writeState(patches: readonly PreparedState[], eventLabel: string, options: { readonly exists?: boolean } = {}): Promise<WriteOutcome> {
    return this.#state(patches, eventLabel, options.exists ?? false, this.#deadline());
  }

  async #append(w: PreparedAppend, eventLabel: string, deadline: number): Promise<WriteOutcome> {
    const client = await this.#client(w.table, eventLabel);
    try {
      await client.createEntity({ partitionKey: w.partitionKey, rowKey: w.rowKey, ...w.entity }, this.#within(deadline));
      return "written";
    } catch (error) {
      if (statusOf(error) === 409) return w.fact ? this.#redeliveryOrConflict(client, w, eventLabel, deadline) : "existing";
      throw this.#storageError(error, `writing its ${w.table} row`, eventLabel);
    }
  }

  /** A fact row that is there already: the same event again ("existing"), or another one ("conflict"). */
  async #redeliveryOrConflict(client: TableClient, w: PreparedAppend, eventLabel: string, deadline: number): Promise<WriteOutcome> {
    let stored: Record<string, unknown>;
    try {
      stored = decodeProperties(await client.getEntity<Record<string, unknown>>(w.partitionKey, w.rowKey, this.#within(deadline)));
    } catch (error) {
      throw this.#storageError(error, `reading its ${w.table} row`, eventLabel);
    }
    const storedEvent = stored["rawEvent"];
    const event = decodeProperties(w.entity)["rawEvent"];
    if (typeof storedEvent !== "string" || typeof event !== "string") return "existing";
    return sameContent(storedEvent, event) ? "existing" : "conflict";
  }

  async #state(patches: readonly PreparedState[], eventLabel: string, exists: boolean, deadline: number): Promise<WriteOutcome> {
    const w = patches[0];
    if (!w) return "unchanged";
    const client = await this.#client(w.table, eventLabel);
    const key = rowKeyOf(w.table, w.partitionKey, w.rowKey);
    return this.#cache.exclusive(key, async () => {
      // A row this process knows goes straight to a conditional write (or to nothing, if the known
      // version already covers the patch); an unknown one is created first where that usually works.
      const kind = `${w.table}\n${String(w.common["eventType"])}`;
      let current: CachedRow | undefined = this.#cache.get(key);
      const miss = !current;
      let read = miss && (exists || this.#cache.likelyExists(kind));
      for (let attempt = 0; attempt < STATE_ATTEMPTS; attempt++) {
        if (read) {
          if (attempt > 1) await backoff(attempt);
          current = await this.#read(client, w, eventLabel, deadline);
          if (miss && attempt === 0) this.#cache.recordMiss(kind, current !== undefined);
        }
        read = true;
        const merged = mergeAll(current?.props ?? {}, patches);
        if (!merged) return "unchanged";
        const entity = encodeOwnedProperties(merged); // the merge's own object: encoded in place when nothing changes
        assertWithinLimits(w.table, w.partitionKey, w.rowKey, entity, eventLabel);
        const row = { partitionKey: w.partitionKey, rowKey: w.rowKey, ...entity };
        try {
          const written = current
            ? await client.updateEntity(row, "Replace", { etag: current.etag, ...this.#within(deadline) })
            : await client.createEntity(row, this.#within(deadline));
          // The merged properties are the row as a read would decode it (a merge leaves no absent value).
          if (written.etag) this.#cache.set(key, { etag: written.etag, props: merged });
          else this.#cache.forget(key);
          if (miss && attempt === 0 && !current) this.#cache.recordMiss(kind, false);
          return "written";
        } catch (error) {
          const status = statusOf(error);
          // 409: created meanwhile; 412: changed meanwhile; 404: deleted meanwhile. Read again and re-merge.
          if (status !== 409 && status !== 412 && status !== 404) throw this.#storageError(error, `writing its ${w.table} row`, eventLabel);
          this.#cache.forget(key);
          if (miss && attempt === 0 && !current) this.#cache.recordMiss(kind, true);
        }
      }
      throw new ConcurrencyError(`${eventLabel}: the ${w.table} row ${w.partitionKey}/${w.rowKey} changed under ${STATE_ATTEMPTS} attempts in a row`);
    });
  }

  async #read(client: TableClient, w: PreparedState, eventLabel: string, deadline: number): Promise<CachedRow | undefined> {
    const cacheKey = rowKeyOf(w.table, w.partitionKey, w.rowKey);
    try {
      const entity = await client.getEntity<Record<string, unknown>>(w.partitionKey, w.rowKey, this.#within(deadline));
      const props: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entity)) if (!ENTITY_METADATA.has(key)) props[key] = value;
      const row = { etag: entity.etag, props: decodeProperties(props) };
      this.#cache.set(cacheKey, row);
      return row;
    } catch (error) {
      this.#cache.forget(cacheKey);
      if (statusOf(error) === 404) return undefined;
      throw this.#storageError(error, `reading its ${w.table} row`, eventLabel);
    }
  }

  async #client(table: TableName, eventLabel: string): Promise<TableClient> {
    try {
      return await this.#tables.client(table);
    } catch (error) {
      throw this.#storageError(error, `creating the ${this.#tables.nameOf(table)} table`, eventLabel);
    }
  }

  /** When the time budget of one event's (or one row's) requests runs out: `requestTimeoutMs` from now. */
  #deadline(): number {
    return Date.now() + this.#tables.settings.requestTimeoutMs;
  }

  /**
   * One request's options: what is left of the budget, as the SDK's own per-request timer (an abort,
   * which it does not retry). Not an AbortSignal: the SDK then adds and removes an abort listener on
   * every request, and a controller per event with those listeners came to about 6 % of the CPU the
   * handlers spent beyond the bare SDK loop (profiled, Node 20). A spent budget fails at once.
   */
  #within(deadline: number): { requestOptions: { timeout: number } } {
    const left = deadline - Date.now();
    if (left <= 0) throw new DOMException(`no answer within ${this.#tables.settings.requestTimeoutMs} ms`, "TimeoutError");
    return { requestOptions: { timeout: left } };
  }

  #storageError(error: unknown, doing: string, eventLabel: string): StorageError {
    const name = (error as { name?: string } | null)?.name;
    const why =
      name === "AbortError" || name === "TimeoutError"
        ? `no answer within ${this.#tables.settings.requestTimeoutMs} ms`
        : describeStorageError(error);
    return new StorageError(`${eventLabel}: ${doing} failed (${why}); the invocation fails so that Event Grid retries`, { cause: error });
  }
}

/** Waits for every write (`undefined`: none), then throws the first failure or gives the outcomes. */
async function settled(writes: readonly (Promise<WriteOutcome> | WriteOutcome | undefined)[]): Promise<(WriteOutcome | undefined)[]> {
  const results = await Promise.allSettled(writes);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<WriteOutcome | undefined>).value);
}
