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

/**
 * Chat versions are millisecond counters, sent as a number or a string of digits. Stamps compare as
 * text and exactly, whatever the size or spelling: leading zeros are dropped, a number is written with
 * all its digits (`String(1e21)` would be "1e+21"), up to 20 digits are zero-padded to 20, and longer
 * ones are `:` (above every digit), their length in 7 digits, then the digits. A number above 2^53
 * compares as the value the host's JSON parser handed over (digits past double precision are gone
 * before the handler runs); a producer that sends such versions as strings keeps every digit.
 */
export function chatVersion(version: ChatVersion): string {
  const digits = typeof version === "number" ? BigInt(version).toString() : version.replace(/^0+(?=\d)/, "");
  return digits.length <= 20 ? digits.padStart(20, "0") : `:${String(digits.length).padStart(7, "0")}${digits}`;
}

/** Maps and lists are kept whole, as JSON text (the ledger splits long text across properties). */
export function json(value: unknown): string | undefined {
  return value === undefined ? undefined : toJsonText(value);
}
