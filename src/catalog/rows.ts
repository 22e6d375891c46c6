import type { Envelope } from "../envelope";
import { ascendingTimeKey, descendingTimeKey, fromEpochSeconds, parseTimestamp, type Instant } from "../time";
import type { AppendRow, Facet, Properties, StatePatch, TableName } from "./spec";
import type { ChatVersion } from "./common";
import { toJsonText } from "../jsonText";

/** Builders the normalizers share, so every table's keys follow one rule. */

export function append(table: TableName, partitionKey: readonly string[], rowKey: readonly string[], props: Properties): AppendRow {
  return { kind: "append", table, partitionKey, rowKey, props };
}

export function state(table: TableName, partitionKey: readonly string[], rowKey: readonly string[], ...facets: Facet[]): StatePatch {
  return { kind: "state", table, partitionKey, rowKey, facets };
}

/** Row key parts of an event's entry in a time-ordered table: time, then the event's identity. */
export function eventRowKey(event: Envelope, at: Instant, order: "oldestFirst" | "newestFirst"): string[] {
  const time = order === "oldestFirst" ? ascendingTimeKey(at) : descendingTimeKey(at);
  return [time, event.id, event.identityTag];
}

/** For values the schema has already checked with the `acs-timestamp` format. */
export function instant(text: string): Instant {
  return parseTimestamp(text) as Instant;
}

export function instantFromEpochSeconds(seconds: number, fallback: Instant): Instant {
  return fromEpochSeconds(seconds) ?? fallback;
}

/** Chat versions are millisecond counters; fixed width makes them compare as text. */
export function chatVersion(version: ChatVersion): string {
  return String(version).padStart(20, "0");
}

/** Maps and lists are kept whole, as JSON text (the ledger splits long text across properties). */
export function json(value: unknown): string | undefined {
  return value === undefined ? undefined : toJsonText(value);
}
