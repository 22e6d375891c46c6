import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import type { Properties, TableName } from "../catalog/spec";
import { sameContent } from "../eventContent";
import { assertWithinLimits, decodeProperties, encodeProperties, type StoredProperties } from "../ledger/entity";
import { statusOf } from "../ledger/storageErrors";
import { mergeAll, type LedgerWriter, type PreparedAppend, type PreparedState, type PreparedWrite, type WriteOutcome } from "../ledger/writer";

/*
 * The replay's write path: many events' rows at once, as fast as the Table service takes them.
 *
 * - Rows are gathered per (table, partition) and sent as transactions of at most 100 creates and at
 *   most ~4 MiB. A row that two events both produce (a redelivery within one input) is sent once.
 * - A current-state row not known to exist goes into its partition's transaction too, as a create of
 *   the patches gathered for it so far, merged in arrival order (what LedgerWriter would create).
 * - A transaction is all or nothing: one row already there (409) or one row the service refuses sinks
 *   it. On a 409, a query of the batch's keys finds the rows already there (appends: done; state rows:
 *   LedgerWriter's ETag read-merge-write) and the rest go again as one transaction. Otherwise each row
 *   is written alone through LedgerWriter (create; 409 = already there), so one bad row never sinks
 *   the others, and re-running an input is safe.
 * - A state row has one write at a time (two at once would only make the ETag loop spin). Patches
 *   that arrive meanwhile wait and then go as one read-merge-write, applied in arrival order:
 *   the row ends exactly as one write per event, in input order, would leave it.
 * - At most `concurrency` requests are in flight. Rows wait in memory only up to `maxBufferedRows`,
 *   and partial batches go out after `flushAfterMs`, so memory stays flat whatever the input size.
 */

export interface BatchWriterOptions {
  /** Requests in flight at once: transactions, single writes, state writes (default 16). */
  readonly concurrency?: number;
  /** Rows held while batches fill; beyond this, the largest partial batches are sent (default 5,000). */
  readonly maxBufferedRows?: number;
  /** A partial batch older than this is sent anyway (default 500 ms). */
  readonly flushAfterMs?: number;
  /** Rows per transaction (default and maximum 100). */
  readonly maxBatchRows?: number;
  /** Estimated request bytes per transaction (default 3.75 MiB; the service's cap is 4 MiB). */
  readonly maxBatchBytes?: number;
}

/** How an event's rows ended; with `conflict`, the fact row that holds another event with its identity (nothing else was written). */
export type EventSettled = { readonly ok: true; readonly conflict?: PreparedAppend } | { readonly ok: false; readonly error: unknown };

export interface BatchWriterStats {
  /** Transactions that succeeded, the rows they wrote, and how many of those were state rows. */
  transactions: number;
  transactionRows: number;
  transactionStateRows: number;
  /** Transactions refused with 409 whose rows already there were then found by querying their keys. */
  presenceChecks: number;
  /** Transactions that failed otherwise and whose rows were then written one by one. */
  fallbacks: number;
  /** Appends written alone: a partition's lone row, or a fallback. */
  singleAppends: number;
  /** State rows written through LedgerWriter's read-merge-write, and the patches they carried. */
  stateWrites: number;
  statePatches: number;
  /** Per row written: new, already there (409), state row already as new or newer; and failed. */
  written: number;
  existing: number;
  unchanged: number;
  failed: number;
  /** Fact rows found holding another event with the same (source, id, type): identity conflicts. */
  conflict: number;
}

export const MAX_TRANSACTION_ROWS = 100;
const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/** Row keys per point query: with the partition key, 15 comparisons, the service's most per filter. */
const KEYS_PER_QUERY = 14;
/** Patches per read-merge-write of one state row. */
const MAX_PATCHES_PER_WRITE = 100;
/** Patches merged into one state row's pending create before its batch is sent anyway. */
const MAX_PATCHES_PER_CREATE = 1_000;
/** State patches held for rows whose write is under way. */
const MAX_PARKED_PATCHES = 2_000;
/** State rows remembered as existing (written in this run), so their patches skip the create attempt. */
const KNOWN_ROWS = 20_000;

interface Ticket {
  readonly label: string;
  remaining: number;
  /** Fact rows not settled yet; the event's state patches wait in `held` until they are. */
  facts: number;
  readonly held: PreparedState[];
  conflict: PreparedAppend | undefined;
  error: unknown;
  readonly done: (result: EventSettled) => void;
}

interface Patch {
  readonly write: PreparedState;
  readonly ticket: Ticket;
}

interface AppendRow {
  readonly kind: "append";
  readonly rowKey: string;
  readonly append: PreparedAppend;
  readonly tickets: Ticket[];
  /** Other events' rows under the same key (identity conflicts): written alone once this one has settled. */
  readonly after: AppendRow[];
}

/** A state row's create, waiting in a batch: the merge of every patch gathered for it so far. */
interface StateRow {
  readonly kind: "state";
  readonly rowKey: string;
  readonly laneKey: string;
  readonly lane: Lane;
  readonly partitionKey: string;
  readonly patches: Patch[];
  props: Properties;
  entity: StoredProperties;
  bytes: number;
  group: Group;
}

type PendingRow = AppendRow | StateRow;

interface Group {
  readonly key: string;
  readonly table: TableName;
  readonly partitionKey: string;
  readonly rows: Map<string, PendingRow>;
  bytes: number;
  readonly since: number;
}

/** One state row's writes: a create waiting in a batch, or a write under way (and patches waiting for it). */
interface Lane {
  candidate: StateRow | undefined;
  busy: boolean;
  readonly parked: Patch[];
}

export class BatchWriter {
  readonly #writer: LedgerWriter;
  readonly #concurrency: number;
  readonly #maxBufferedRows: number;
  readonly #flushAfterMs: number;
  readonly #maxBatchRows: number;
  readonly #maxBatchBytes: number;
  readonly #groups = new Map<string, Group>();
  readonly #lanes = new Map<string, Lane>();
  readonly #known = new Map<string, true>();
  readonly #waiting: (() => void)[] = [];
  #bufferedRows = 0;
  #parkedPatches = 0;
  #running = 0;
  /** Tasks scheduled and not yet finished (running or waiting for a slot). */
  #outstanding = 0;
  #idle: (() => void)[] = [];
  #roomy: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Set by {@link stop}: what every row not yet sent settles with. */
  #stopped: WritesStopped | undefined;
  readonly stats: BatchWriterStats = {
    transactions: 0,
    transactionRows: 0,
    transactionStateRows: 0,
    presenceChecks: 0,
    fallbacks: 0,
    singleAppends: 0,
    stateWrites: 0,
    statePatches: 0,
    written: 0,
    existing: 0,
    unchanged: 0,
    failed: 0,
    conflict: 0,
  };

  constructor(writer: LedgerWriter, options: BatchWriterOptions = {}) {
    this.#writer = writer;
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? 16));
    this.#maxBufferedRows = Math.max(MAX_TRANSACTION_ROWS, options.maxBufferedRows ?? 5_000);
    this.#flushAfterMs = options.flushAfterMs ?? 500;
    this.#maxBatchRows = Math.min(MAX_TRANSACTION_ROWS, Math.max(1, options.maxBatchRows ?? MAX_TRANSACTION_ROWS));
    this.#maxBatchBytes = Math.min(MAX_TRANSACTION_BYTES, options.maxBatchBytes ?? MAX_TRANSACTION_BYTES - 256 * 1024);
  }

  get writer(): LedgerWriter {
    return this.#writer;
  }

  /**
   * Queues one event's rows; `done` is called once all of them are written (or one has failed).
   * Returns a promise when the caller should wait before adding more (too much is in flight).
   */
  add(writes: readonly PreparedWrite[], label: string, done: (result: EventSettled) => void): Promise<void> | undefined {
    if (writes.length === 0) {
      done({ ok: true });
      return undefined;
    }
    const ticket: Ticket = { label, remaining: writes.length, facts: 0, held: [], conflict: undefined, error: undefined, done };
    // State patches wait for the event's fact rows, so that an identity conflict changes no other row.
    for (const w of writes) if (w.kind === "append") ticket.facts++;
    for (const w of writes) {
      if (w.kind === "append") this.#addAppend(w, ticket);
      else if (ticket.facts > 0) ticket.held.push(w);
      else this.#addState(w, ticket);
    }
    if (this.#bufferedRows > this.#maxBufferedRows) this.#sendLargest();
    this.#startTimer();
    return this.room();
  }

  /** A promise to wait on when too much is in flight; `undefined` when there is room. */
  room(): Promise<void> | undefined {
    return this.#busy() ? new Promise<void>((resolve) => this.#roomy.push(resolve)) : undefined;
  }

  /** Runs a task under the concurrency bound (the replay uses it for its quarantine-row updates). */
  schedule<T>(task: () => Promise<T>): Promise<T> {
    this.#outstanding++;
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.#running++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            this.#outstanding--;
            this.#waiting.shift()?.();
            this.#wake();
          });
      };
      if (this.#running < this.#concurrency) run();
      else this.#waiting.push(run);
    });
  }

  /** Sends everything buffered and waits until every row has settled. */
  async flush(): Promise<void> {
    while (this.#groups.size > 0 || this.#outstanding > 0 || this.#parkedPatches > 0) {
      for (const group of [...this.#groups.values()]) this.#send(group);
      if (this.#outstanding === 0) {
        if (this.#parkedPatches > 0) throw new Error(`internal error: ${this.#parkedPatches} state patches wait with no write under way`);
        continue;
      }
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    this.#stopTimer();
  }

  /**
   * No more requests: rows not yet sent (buffered, waiting for a slot, or falling back to single
   * writes) settle at once with a {@link WritesStopped} error instead of each failing slowly against
   * storage that is gone. Requests under way finish as they do.
   */
  stop(reason: string): void {
    this.#stopped ??= new WritesStopped(reason);
  }

  /** Stops the flush timer (flush does this too). */
  close(): void {
    this.#stopTimer();
  }

  /** Enough queued: two requests per slot, or many patches waiting for busy state rows. */
  #busy(): boolean {
    return this.#outstanding >= this.#concurrency * 2 || this.#parkedPatches >= MAX_PARKED_PATCHES;
  }

  #wake(): void {
    if (this.#roomy.length > 0 && this.#outstanding < this.#concurrency * 1.5 && this.#parkedPatches < MAX_PARKED_PATCHES / 2) {
      const roomy = this.#roomy;
      this.#roomy = [];
      roomy.forEach((resolve) => resolve());
    }
    if (this.#outstanding === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      idle.forEach((resolve) => resolve());
    }
  }

  #startTimer(): void {
    if (this.#timer) return;
    const every = Math.max(20, Math.min(250, this.#flushAfterMs / 2));
    this.#timer = setInterval(() => {
      const cutoff = Date.now() - this.#flushAfterMs;
      for (const group of [...this.#groups.values()]) if (group.since <= cutoff) this.#send(group);
      if (this.#groups.size === 0 && this.#outstanding === 0) this.#stopTimer();
    }, every);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The partition's open batch, with room for `bytes` more (a full one is sent and a new one opened). */
  #groupFor(table: TableName, partitionKey: string, bytes: number): Group {
    const key = `${table}\u0000${partitionKey}`;
    let group = this.#groups.get(key);
    if (group && group.bytes + bytes > this.#maxBatchBytes) {
      this.#send(group);
      group = undefined;
    }
    if (!group) {
      group = { key, table, partitionKey, rows: new Map(), bytes: 0, since: Date.now() };
      this.#groups.set(key, group);
    }
    return group;
  }

  #addAppend(w: PreparedAppend, ticket: Ticket): void {
    const open = this.#groups.get(`${w.table}\u0000${w.partitionKey}`)?.rows.get(w.rowKey);
    if (open?.kind === "append") {
      if (!w.fact || sameContent(String(decodeProperties(open.append.entity)["rawEvent"]), String(decodeProperties(w.entity)["rawEvent"]))) {
        open.tickets.push(ticket); // the same row twice in one batch: sent once, both events wait for it
        return;
      }
      // Another event under the same key (an identity conflict): written after it, so the first in the input is kept.
      open.after.push({ kind: "append", rowKey: w.rowKey, append: w, tickets: [ticket], after: [] });
      return;
    }
    const bytes = estimateRequestBytes(w.partitionKey, w.rowKey, w.entity);
    const group = this.#groupFor(w.table, w.partitionKey, bytes);
    group.rows.set(w.rowKey, { kind: "append", rowKey: w.rowKey, append: w, tickets: [ticket], after: [] });
    this.#added(group, bytes);
  }

  #added(group: Group, bytes: number): void {
    group.bytes += bytes;
    this.#bufferedRows++;
    if (group.rows.size >= this.#maxBatchRows) this.#send(group);
  }

  #addState(w: PreparedState, ticket: Ticket): void {
    const laneKey = `${w.table}\u0000${w.partitionKey}\u0000${w.rowKey}`;
    const patch: Patch = { write: w, ticket };
    const lane = this.#lanes.get(laneKey);
    if (lane) {
      if (!(lane.candidate && this.#fold(lane.candidate, patch))) this.#park(lane, patch);
      return;
    }
    const fresh: Lane = { candidate: undefined, busy: false, parked: [] };
    this.#lanes.set(laneKey, fresh);
    const candidate = this.#known.has(laneKey) ? undefined : this.#candidate(laneKey, fresh, patch);
    if (candidate) return;
    // Known to exist (or too big to batch): a read-merge-write of its own.
    this.#park(fresh, patch);
    this.#writeLane(laneKey, fresh, this.#known.has(laneKey));
  }

  #park(lane: Lane, patch: Patch): void {
    lane.parked.push(patch);
    this.#parkedPatches++;
  }

  /** Puts a create of the row, as this patch makes it, into the partition's batch. */
  #candidate(laneKey: string, lane: Lane, patch: Patch): StateRow | undefined {
    const w = patch.write;
    const props = mergeAll({}, [w]);
    if (!props) return undefined;
    const entity = encodeProperties(props);
    if (!withinLimits(w, entity)) return undefined; // LedgerWriter will say why, naming the event
    const bytes = estimateRequestBytes(w.partitionKey, w.rowKey, entity);
    const group = this.#groupFor(w.table, w.partitionKey, bytes);
    const row: StateRow = { kind: "state", rowKey: w.rowKey, laneKey, lane, partitionKey: w.partitionKey, patches: [patch], props, entity, bytes, group };
    lane.candidate = row;
    group.rows.set(w.rowKey, row);
    this.#added(group, bytes);
    return row;
  }

  /** Merges a patch into a create that has not been sent yet; false if the row would grow past a limit. */
  #fold(row: StateRow, patch: Patch): boolean {
    const merged = mergeAll(row.props, [patch.write]);
    if (merged) {
      const entity = encodeProperties(merged);
      if (!withinLimits(patch.write, entity)) return false;
      const bytes = estimateRequestBytes(row.partitionKey, row.rowKey, entity);
      row.group.bytes += bytes - row.bytes;
      row.props = merged;
      row.entity = entity;
      row.bytes = bytes;
    }
    row.patches.push(patch);
    if (row.patches.length >= MAX_PATCHES_PER_CREATE || row.group.bytes > this.#maxBatchBytes) this.#send(row.group);
    return true;
  }

  /** Sends the fullest partial batches until half the buffer is free. */
  #sendLargest(): void {
    const groups = [...this.#groups.values()].sort((a, b) => b.rows.size - a.rows.size);
    for (const group of groups) {
      if (this.#bufferedRows <= this.#maxBufferedRows / 2) break;
      this.#send(group);
    }
  }

  #send(group: Group): void {
    if (this.#groups.get(group.key) !== group) return; // sent already
    this.#groups.delete(group.key);
    this.#bufferedRows -= group.rows.size;
    const rows = [...group.rows.values()];
    for (const row of rows) {
      if (row.kind === "state") {
        row.lane.candidate = undefined; // from now on, its patches wait for this write
        row.lane.busy = true;
      }
    }
    if (rows.length === 1) {
      const row = rows[0] as PendingRow;
      if (row.kind === "append") void this.schedule(() => this.#single(row));
      else this.#writeState(row, false);
      return;
    }
    void this.schedule(() => this.#transaction(group.table, rows));
  }

  async #transaction(table: TableName, rows: PendingRow[], retry = false): Promise<void> {
    if (this.#stopped) {
      for (const row of rows) {
        if (row.kind === "append") this.#dropRow(row);
        else this.#writeState(row, false); // its lane's patches are dropped there, in order
      }
      return;
    }
    let client: TableClient | undefined;
    try {
      client = await this.#writer.tables.client(table);
      const actions: TransactionAction[] = rows.map((r) => ["create", r.kind === "append" ? { partitionKey: r.append.partitionKey, rowKey: r.rowKey, ...r.append.entity } : { partitionKey: r.partitionKey, rowKey: r.rowKey, ...r.entity }]);
      await client.submitTransaction(actions, { abortSignal: this.#timeout() });
      this.stats.transactions++;
      this.stats.transactionRows += rows.length;
      for (const row of rows) {
        if (row.kind === "append") this.#settleRow(row, "written", undefined);
        else {
          this.stats.transactionStateRows++;
          this.#settle(row.patches.map((p) => p.ticket), "written", undefined);
          this.#laneDone(row.laneKey, row.lane);
        }
      }
      return;
    } catch (error) {
      // 409: some of these rows are there already (a re-run, an overlap, the SDK's retry of a
      // transaction that did succeed). A query of the batch's keys says which; the rest are sent
      // again as one transaction. A re-run then costs a few requests per batch instead of 100.
      if (!retry && client && statusOf(error) === 409) {
        const present = await this.#presentRowKeys(client, rows);
        if (present && present.size > 0) {
          this.stats.presenceChecks++;
          const missing: PendingRow[] = [];
          for (const row of rows) {
            const stored = present.get(row.rowKey);
            if (stored === undefined) missing.push(row);
            else if (row.kind === "state") this.#writeState(row, true); // there already: merge into it
            else if (!row.append.fact || stored.rawEvent === undefined) this.#settleRow(row, "existing", undefined);
            else if (stored.split) void this.schedule(() => this.#single(row)); // a raw event split across properties: LedgerWriter reads it whole
            else this.#settleRow(row, sameContent(stored.rawEvent, String(decodeProperties(row.append.entity)["rawEvent"])) ? "existing" : "conflict", undefined);
          }
          if (missing.length === 1) {
            const row = missing[0] as PendingRow;
            if (row.kind === "append") await this.#single(row);
            else this.#writeState(row, false);
          } else if (missing.length > 1) await this.#transaction(table, missing, true);
          return;
        }
      }
    }
    // Whatever sank it (a row refused, a timeout, a row that appeared meanwhile), each row now goes
    // alone; a real outage then fails each of them with LedgerWriter's own error naming the event.
    this.stats.fallbacks++;
    for (const row of rows) {
      if (row.kind === "append") void this.schedule(() => this.#single(row));
      else this.#writeState(row, false);
    }
  }

  /**
   * Which of these rows (all in one partition) exist, with their raw events (to tell a redelivery from
   * an identity conflict): one read of the range between the batch's lowest and highest key when that
   * range is dense, else point queries of {@link KEYS_PER_QUERY} keys each. `undefined` when a query fails.
   */
  async #presentRowKeys(client: TableClient, rows: readonly PendingRow[]): Promise<Map<string, StoredEvent> | undefined> {
    const keys = rows.map((r) => r.rowKey).sort();
    const first = rows[0] as PendingRow;
    const partitionKey = first.kind === "append" ? first.append.partitionKey : first.partitionKey;
    const present = new Map<string, StoredEvent>();
    const select = ["RowKey", "rawEvent", "rawEvent__parts"];
    const read = async (filter: string, pageSize: number): Promise<boolean> => {
      const pages = client.listEntities({ queryOptions: { filter, select }, abortSignal: this.#timeout() }).byPage({ maxPageSize: pageSize });
      for await (const page of pages) {
        for (const entity of page) {
          const rawEvent = entity["rawEvent"];
          present.set(entity.rowKey as string, { rawEvent: typeof rawEvent === "string" ? rawEvent : undefined, split: typeof entity["rawEvent__parts"] === "number" });
        }
        if (page.continuationToken) return false; // more than one page: not dense
      }
      return true;
    };
    try {
      const range = odata`PartitionKey eq ${partitionKey} and RowKey ge ${keys[0] as string} and RowKey le ${keys[keys.length - 1] as string}`;
      if (await read(range, Math.max(200, 2 * keys.length))) return present;
      present.clear();
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        const some = keys.slice(i, i + KEYS_PER_QUERY).map((k) => odata`RowKey eq ${k}`);
        await read(`${odata`PartitionKey eq ${partitionKey}`} and (${some.join(" or ")})`, KEYS_PER_QUERY);
      }
      return present;
    } catch {
      return undefined;
    }
  }

  async #single(row: AppendRow): Promise<void> {
    if (this.#stopped) return this.#dropRow(row);
    this.stats.singleAppends++;
    try {
      const [outcome] = await this.#writer.write([row.append], (row.tickets[0] as Ticket).label);
      this.#settleRow(row, outcome ?? "written", undefined);
    } catch (error) {
      this.#settleRow(row, undefined, error);
    }
  }

  /** A state row's create that did not go in a transaction: its patches (and any parked since) through LedgerWriter. */
  #writeState(row: StateRow, exists: boolean): void {
    row.lane.parked.unshift(...row.patches); // they come before anything parked meanwhile
    this.#parkedPatches += row.patches.length;
    this.#writeLane(row.laneKey, row.lane, exists);
  }

  /** Writes the lane's parked patches (in order, up to 100 at once); then the next ones, or retires the lane. */
  #writeLane(laneKey: string, lane: Lane, exists: boolean): void {
    lane.busy = true;
    const batch = lane.parked.splice(0, MAX_PATCHES_PER_WRITE);
    this.#parkedPatches -= batch.length;
    void this.schedule(async () => {
      await this.#writeStates(batch, exists);
      this.#laneDone(laneKey, lane); // before this task counts as finished, so flush never sees a gap
    });
  }

  #laneDone(laneKey: string, lane: Lane): void {
    if (lane.parked.length > 0) {
      this.#writeLane(laneKey, lane, true);
      return;
    }
    lane.busy = false;
    if (!lane.candidate) {
      this.#lanes.delete(laneKey);
      this.#known.delete(laneKey);
      this.#known.set(laneKey, true);
      if (this.#known.size > KNOWN_ROWS) this.#known.delete(this.#known.keys().next().value as string);
    }
  }

  async #writeStates(batch: readonly Patch[], exists: boolean): Promise<void> {
    const first = batch[0];
    if (!first) return;
    if (this.#stopped) return this.#drop(batch.map((p) => p.ticket));
    this.stats.stateWrites++;
    this.stats.statePatches += batch.length;
    const label = batch.length > 1 ? `${first.ticket.label} (and ${batch.length - 1} more events)` : first.ticket.label;
    try {
      const outcome = await this.#writer.writeState(batch.map((p) => p.write), label, { exists });
      this.#settle(batch.map((p) => p.ticket), outcome, undefined);
      return;
    } catch (error) {
      if (batch.length === 1) {
        this.#settle([first.ticket], undefined, error);
        return;
      }
      // One patch may be what fails (a row grown past a limit): write them one by one, in order.
    }
    for (const p of batch) {
      this.stats.stateWrites++;
      this.stats.statePatches++;
      try {
        this.#settle([p.ticket], await this.#writer.writeState([p.write], p.ticket.label, { exists }), undefined);
      } catch (error) {
        this.#settle([p.ticket], undefined, error);
      }
    }
  }

  /**
   * An append row settled. Once all of an event's fact rows have, its held state patches go (none after
   * a conflict or failure); rows of other events under the same key go next.
   */
  #settleRow(row: AppendRow, outcome: WriteOutcome | undefined, error: unknown): void {
    const append = row.append;
    for (const ticket of row.tickets) {
      if (outcome === "conflict") ticket.conflict ??= append;
      if (--ticket.facts > 0 || ticket.held.length === 0) continue;
      const held = ticket.held.splice(0);
      if (ticket.conflict === undefined && ticket.error === undefined && outcome !== undefined) {
        for (const w of held) this.#addState(w, ticket);
        this.#startTimer();
      } else ticket.remaining -= held.length; // never written: the event ends as its conflict or failure
    }
    this.#settle(row.tickets, outcome, error);
    for (const next of row.after) void this.schedule(() => this.#single(next));
  }

  #settle(tickets: readonly Ticket[], outcome: WriteOutcome | undefined, error: unknown): void {
    if (outcome !== undefined) this.stats[outcome]++;
    else this.stats.failed++;
    for (const ticket of tickets) {
      if (outcome === undefined) ticket.error ??= error ?? new Error("write failed");
      if (--ticket.remaining > 0) continue;
      if (ticket.error !== undefined) ticket.done({ ok: false, error: ticket.error });
      else ticket.done(ticket.conflict === undefined ? { ok: true } : { ok: true, conflict: ticket.conflict });
    }
  }

  /** An append row never sent after {@link stop}: with its events' held state patches, and the rows waiting after it. */
  #dropRow(row: AppendRow): void {
    for (const ticket of row.tickets) if (--ticket.facts === 0) ticket.remaining -= ticket.held.splice(0).length;
    this.#drop(row.tickets);
    for (const next of row.after) this.#dropRow(next);
  }

  /** Rows never sent after {@link stop}: not counted as written or failed. */
  #drop(tickets: readonly Ticket[]): void {
    for (const ticket of tickets) {
      ticket.error ??= this.#stopped;
      if (--ticket.remaining === 0) ticket.done({ ok: false, error: ticket.error });
    }
  }

  #timeout(): AbortSignal {
    return AbortSignal.timeout(this.#writer.tables.settings.requestTimeoutMs);
  }
}

/** A row found by a presence query: its raw event, unless split across properties (then read whole). */
interface StoredEvent {
  readonly rawEvent: string | undefined;
  readonly split: boolean;
}

/** What a row not sent after {@link BatchWriter.stop} settles with. */
export class WritesStopped extends Error {
  override readonly name = "WritesStopped";
}

function withinLimits(w: PreparedState, entity: StoredProperties): boolean {
  try {
    assertWithinLimits(w.table, w.partitionKey, w.rowKey, entity, "");
    return true;
  } catch {
    return false;
  }
}

/**
 * An upper bound of a create's share of a transaction request: multipart headers and URL, and the
 * JSON body with every UTF-16 unit counted as 3 bytes (UTF-8's worst case for the BMP). Rarer
 * escapes can exceed it; the service then refuses the transaction and its rows go one by one.
 */
export function estimateRequestBytes(partitionKey: string, rowKey: string, entity: StoredProperties): number {
  let bytes = 600 + 6 * (partitionKey.length + rowKey.length);
  for (const name in entity) {
    const value = entity[name];
    bytes += 3 * name.length + 48 + (typeof value === "string" ? 3 * value.length : 24);
  }
  return bytes;
}
