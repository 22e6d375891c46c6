// Counts the storage requests this process makes, for the benchmark and the tests: every HTTP request
// Node sends (seen through node:http's diagnostics channels, so the bundled app's own copy of the SDK
// is counted too, without touching its pipeline), attributed to whatever `within()` scope was active
// when the request started (async context follows the SDK's promises, timers and retries).
import { AsyncLocalStorage } from "node:async_hooks";
import * as diagnostics from "node:diagnostics_channel";
import type { ClientRequest, IncomingMessage } from "node:http";
import { TABLES } from "../catalog/spec";

/** What one request did: `POST 201`, `GET 404`, `PUT 412`, `POST $batch 202`, … */
export type RequestKind = string;

export interface RequestTally {
  /** Requests per scope label (e.g. an event type), per table, per kind. */
  readonly byLabel: Map<string, Map<string, Map<RequestKind, number>>>;
}

const scope = new AsyncLocalStorage<string>();
const pending = new WeakMap<ClientRequest, { label: string; table: string; method: string }>();
let current: RequestTally | undefined;
let subscribed = false;

/** Starts a fresh tally (the previous one is returned by {@link stopCounting}). */
export function startCounting(): RequestTally {
  if (!subscribed) {
    diagnostics.subscribe("http.client.request.start", onStart);
    diagnostics.subscribe("http.client.response.finish", onFinish);
    subscribed = true;
  }
  current = { byLabel: new Map() };
  return current;
}

export function stopCounting(): RequestTally | undefined {
  const tally = current;
  current = undefined;
  return tally;
}

/** Runs `fn` with its storage requests counted under `label`; requests outside any scope are not counted. */
export function within<T>(label: string, fn: () => T): T {
  return scope.run(label, fn);
}

function onStart(message: unknown): void {
  const label = scope.getStore();
  if (!current || label === undefined) return;
  const { request } = message as { request: ClientRequest };
  pending.set(request, { label, table: tableOf(request.path), method: request.method });
}

function onFinish(message: unknown): void {
  const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
  const seen = pending.get(request);
  if (!current || !seen) return;
  pending.delete(request);
  const kind = `${seen.method}${seen.table === "$batch" ? " $batch" : ""} ${response.statusCode ?? "?"}`;
  const byTable = getOrSet(current.byLabel, seen.label, () => new Map<string, Map<RequestKind, number>>());
  const kinds = getOrSet(byTable, seen.table, () => new Map<RequestKind, number>());
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
}

/**
 * The ledger table a request path names (`/devstoreaccount1/BfxChatMessages(PartitionKey=…)` →
 * `ChatMessages`, whatever the prefix), `Tables` for table creation, `$batch` for a transaction.
 */
export function tableOf(requestPath: string): string {
  const segment = decodeURIComponent(requestPath.split("?")[0] ?? "").split("/").pop() ?? "";
  const name = segment.split("(")[0] ?? "";
  if (name === "$batch" || name === "Tables") return name;
  return (TABLES as readonly string[]).find((t) => name.endsWith(t)) ?? name;
}

/** Requests of a tally, summed over the labels and kinds that `keep` accepts. */
export function countOf(tally: RequestTally, keep: (label: string, table: string, kind: RequestKind) => boolean = () => true): number {
  let n = 0;
  for (const [label, byTable] of tally.byLabel) for (const [table, kinds] of byTable) for (const [kind, c] of kinds) if (keep(label, table, kind)) n += c;
  return n;
}

/** A tally as plain JSON: `{ label: { table: { kind: count } } }`. */
export function tallyJson(tally: RequestTally): Record<string, Record<string, Record<RequestKind, number>>> {
  const out: Record<string, Record<string, Record<RequestKind, number>>> = {};
  for (const [label, byTable] of [...tally.byLabel].sort(([a], [b]) => a.localeCompare(b))) {
    const tables: Record<string, Record<RequestKind, number>> = {};
    for (const [table, kinds] of [...byTable].sort(([a], [b]) => a.localeCompare(b))) tables[table] = Object.fromEntries([...kinds].sort(([a], [b]) => a.localeCompare(b)));
    out[label] = tables;
  }
  return out;
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
