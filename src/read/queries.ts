import { odata } from "@azure/data-tables";
import type { TableName } from "../catalog";
import { buildKey } from "../ledger/keys";
import { statusOf } from "../ledger/storageErrors";
import type { LedgerTables } from "../ledger/tables";
import { ascendingTimeKey, descendingTimeKey } from "../time";
import { NotFound } from "./errors";
import { toItem, type Item } from "./items";
import { queryPage, type Page } from "./paging";
import { idParam, listParams, phoneNumberParam, rawIdParam, type ListParams, type RawParams } from "./params";

/*
 * The questions the tables were designed for (README "Tables, keys and queries"), each answered with
 * point reads and single-partition range queries only. The one scan is the quarantine listing of all
 * types, a low-volume table. Every list is one page: `limit` rows and a continuation token.
 */

type Order = "oldestFirst" | "newestFirst";

/**
 * A RowKey range for [from, to) over keys that start with a time. Newest-first keys are nines'
 * complements, so the bounds swap; `~` sorts after the `|` that ends the time part.
 */
function timeClauses(order: Order, params: ListParams): string[] {
  const clauses: string[] = [];
  if (order === "oldestFirst") {
    if (params.from) clauses.push(odata`RowKey ge ${ascendingTimeKey(params.from)}`);
    if (params.to) clauses.push(odata`RowKey lt ${ascendingTimeKey(params.to)}`);
  } else {
    if (params.to) clauses.push(odata`RowKey ge ${`${descendingTimeKey(params.to)}~`}`);
    if (params.from) clauses.push(odata`RowKey lt ${`${descendingTimeKey(params.from)}~`}`);
  }
  return clauses;
}

/** One page of one partition (`partition` unescaped), in key order, optionally within a time range. */
async function partitionPage(tables: LedgerTables, table: TableName, partition: string, order: Order | undefined, params: ListParams): Promise<Page<Item>> {
  const partitionKey = buildKey([partition]);
  const filter = [odata`PartitionKey eq ${partitionKey}`, ...(order ? timeClauses(order, params) : [])].join(" and ");
  const page = await queryPage(await tables.client(table), { filter, scope: `${table}\n${filter}` }, params.limit, params.continuationToken, tables.settings.requestTimeoutMs);
  return { ...page, items: page.items.map((e) => toItem(e, params)) };
}

async function pointRead(tables: LedgerTables, table: TableName, partition: string, row: string, params: ListParams): Promise<Item | null> {
  try {
    const client = await tables.client(table);
    const entity = await client.getEntity<Record<string, unknown>>(buildKey([partition]), buildKey([row]), { abortSignal: AbortSignal.timeout(tables.settings.requestTimeoutMs) });
    return toItem(entity, params);
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** A list of one entity's rows that is empty from its start, over all time, means there is no such entity. */
function isUnknown(params: ListParams, page: Page<unknown>): boolean {
  return params.continuationToken === undefined && !params.from && !params.to && page.items.length === 0 && page.continuationToken === undefined;
}

function found<T extends Page<unknown>>(params: ListParams, page: T, what: string): T {
  if (isUnknown(params, page)) throw new NotFound(`${what}: the ledger has nothing for it`);
  return page;
}

const timeOrdered = { timeOrdered: true };
const keyOrdered = { timeOrdered: false };

/** Delivery-status look-ups in flight for one page of SMS. */
const STATUS_LOOKUPS_IN_FLIGHT = 16;

/**
 * SMS to and from a number, newest first. An outgoing message is known to the ledger by its delivery
 * reports (ACS sends no event for a message being sent), each filed under both numbers; the message
 * is shown once, at its latest report, which carries its latest status. So each outgoing message in
 * the page costs one more request: the first (newest) row of its SmsDeliveryReports partition.
 */
export async function smsMessages(tables: LedgerTables, numberText: string, get: RawParams): Promise<Page<Item>> {
  const number = phoneNumberParam(numberText);
  const params = listParams(get, timeOrdered);
  const page = found(params, await partitionPage(tables, "SmsMessages", number, "newestFirst", params), `number ${number}`);
  const outgoing = [...new Set(page.items.filter((i) => i["direction"] === "outbound").map((i) => String(i["messageId"])))];
  const latest = new Map<string, Item | undefined>();
  await inFlight(outgoing, STATUS_LOOKUPS_IN_FLIGHT, async (messageId) => {
    const reports = await partitionPage(tables, "SmsDeliveryReports", messageId, undefined, { ...params, limit: 1, continuationToken: undefined });
    latest.set(messageId, reports.items[0]);
  });
  const items = page.items.filter((item) => {
    if (item["direction"] !== "outbound") return true;
    const report = latest.get(String(item["messageId"]));
    return report === undefined || report["eventId"] === item["eventId"];
  });
  return { ...page, items };
}

export async function deliveryReports(tables: LedgerTables, messageId: string, get: RawParams): Promise<Page<Item>> {
  const params = listParams(get, timeOrdered);
  return found(params, await partitionPage(tables, "SmsDeliveryReports", idParam("messageId", messageId), "newestFirst", params), `message ${messageId}`);
}

export interface ThreadAnswer {
  readonly thread: Item | null;
  /** A page of participants (`limit`), with the token for the next. */
  readonly participants: Item[];
  readonly continuationToken?: string;
}

/** The thread now and its participants: a point read and one partition, in parallel. */
export async function chatThread(tables: LedgerTables, threadId: string, get: RawParams): Promise<ThreadAnswer> {
  const id = idParam("threadId", threadId);
  const { state, page } = await stateAndPage(tables, { table: "ChatThreads", row: "thread" }, { table: "ChatParticipants", order: undefined }, id, listParams(get, keyOrdered), `thread ${id}`);
  return { thread: state, participants: page.items, ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) };
}

/**
 * An entity's current-state row (read on the first page only) beside a page of its partition in
 * another table, in parallel; unknown when both are empty.
 */
async function stateAndPage(
  tables: LedgerTables,
  stateRow: { readonly table: TableName; readonly row: string },
  list: { readonly table: TableName; readonly order: Order | undefined },
  id: string,
  params: ListParams,
  what: string,
): Promise<{ state: Item | null; page: Page<Item> }> {
  const [state, page] = await Promise.all([
    params.continuationToken === undefined ? pointRead(tables, stateRow.table, id, stateRow.row, params) : Promise.resolve(null),
    partitionPage(tables, list.table, id, list.order, params),
  ]);
  if (state === null && isUnknown(params, page)) throw new NotFound(`${what}: the ledger has nothing for it`);
  return { state, page };
}

/** Messages in their current state (edited, deleted), in message id order (ACS ids are creation times). */
export async function chatMessages(tables: LedgerTables, threadId: string, get: RawParams): Promise<Page<Item>> {
  const params = listParams(get, keyOrdered);
  return found(params, await partitionPage(tables, "ChatMessages", idParam("threadId", threadId), undefined, params), `thread ${threadId}`);
}

/** Thread-level events, oldest first (user-level copies are in each recipient's timeline). */
export async function chatThreadEvents(tables: LedgerTables, threadId: string, get: RawParams): Promise<Page<Item>> {
  const params = listParams(get, timeOrdered);
  return found(params, await partitionPage(tables, "ChatThreadEvents", idParam("threadId", threadId), "oldestFirst", params), `thread ${threadId}`);
}

/** What one user received, oldest first. */
export async function chatUserEvents(tables: LedgerTables, rawId: string, get: RawParams): Promise<Page<Item>> {
  const id = rawIdParam(rawId);
  const params = listParams(get, timeOrdered);
  return found(params, await partitionPage(tables, "ChatUserEvents", id, "oldestFirst", params), `user ${id}`);
}

export interface CallAnswer {
  /** Started, ended, duration, who started it (absent when neither start nor end was delivered). */
  readonly call: Item | null;
  /** A page of the call's events, oldest first: participants in and out, recordings, … */
  readonly timeline: Item[];
  readonly continuationToken?: string;
}

export async function call(tables: LedgerTables, serverCallId: string, get: RawParams): Promise<CallAnswer> {
  const id = idParam("serverCallId", serverCallId);
  const { state, page } = await stateAndPage(tables, { table: "Calls", row: "call" }, { table: "CallEvents", order: "oldestFirst" }, id, listParams(get, timeOrdered), `call ${id}`);
  return { call: state, timeline: page.items, ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) };
}

/** Disconnects, newest first: the first item is the last disconnect. */
export async function userDisconnects(tables: LedgerTables, rawId: string, get: RawParams): Promise<Page<Item>> {
  const id = rawIdParam(rawId);
  const params = listParams(get, timeOrdered);
  return found(params, await partitionPage(tables, "UserDisconnects", id, "newestFirst", params), `user ${id}`);
}

/**
 * Quarantined events, oldest first, with their reasons and every schema error, and `resolved` when a
 * replay has since stored them. With a `type`, one partition; without, the documented scan of the
 * (low-volume) table by RowKey time range.
 */
export async function quarantined(tables: LedgerTables, get: RawParams): Promise<Page<Item>> {
  const params = listParams(get, timeOrdered);
  const type = get("type");
  const clauses = [...(type ? [odata`PartitionKey eq ${buildKey([type])}`] : []), ...timeClauses("oldestFirst", params)];
  // Rows of events without a time have the key "(no time)…", before every digit: a time range leaves them out.
  if (params.to && !params.from) clauses.push(odata`RowKey ge ${"0"}`);
  const filter = clauses.length > 0 ? clauses.join(" and ") : undefined;
  const page = await queryPage(await tables.client("QuarantinedEvents"), { filter, scope: `QuarantinedEvents\n${filter ?? ""}` }, params.limit, params.continuationToken, tables.settings.requestTimeoutMs);
  return {
    ...page,
    items: page.items.map((e) => {
      const item = toItem(e, params);
      return { ...item, resolved: typeof item["resolvedAt"] === "string" && item["resolvedAt"] !== "" };
    }),
  };
}

async function inFlight<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
