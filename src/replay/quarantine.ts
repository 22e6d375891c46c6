import { odata, type TableClient } from "@azure/data-tables";
import type { Quarantine } from "../ingest";
import { assertWithinLimits, decodeProperties, encodeProperties } from "../ledger/entity";
import { buildKey, KEY_SEPARATOR } from "../ledger/keys";
import { statusOf } from "../ledger/storageErrors";
import { ascendingTimeKey, NO_TIME_KEY, type Instant } from "../time";
import type { Properties } from "../catalog/spec";

/*
 * `--from-quarantine`: the rows of QuarantinedEvents, read back as events, and the annotations the
 * replay leaves on them. Rows are never deleted: a row whose event now passes is marked resolved, and
 * one that still fails gets its new reasons, so the audit trail stays.
 */

export interface QuarantineFilter {
  /** Event types (the table's partition keys); none = all. */
  readonly types?: readonly string[];
  /** Event time range [since, until), from the row key's time part; rows without a time are then left out. */
  readonly since?: Instant;
  readonly until?: Instant;
  /** Only the rows of events without a (valid) time, which no time range holds. */
  readonly withoutTime?: boolean;
  /** Also replay rows already marked resolved. */
  readonly includeResolved?: boolean;
}

export interface QuarantineRow {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly etag: string;
  /** Decoded properties (split strings joined), without keys and metadata. */
  readonly props: Record<string, unknown>;
}

const METADATA = new Set(["partitionKey", "rowKey", "etag", "timestamp", "odata.metadata", "odata.etag"]);

export function quarantineQuery(filter: QuarantineFilter): string | undefined {
  const clauses: string[] = [];
  if (filter.types && filter.types.length > 0) {
    clauses.push(`(${filter.types.map((t) => odata`PartitionKey eq ${buildKey([t])}`).join(" or ")})`);
  }
  // Row keys start with the event's time in a fixed-width form ("(no time)" sorts before any digit).
  if (filter.withoutTime) {
    const after = String.fromCharCode(KEY_SEPARATOR.charCodeAt(0) + 1);
    clauses.push(odata`RowKey ge ${`${NO_TIME_KEY}${KEY_SEPARATOR}`}`, odata`RowKey lt ${`${NO_TIME_KEY}${after}`}`);
  }
  if (filter.since || filter.until) clauses.push(odata`RowKey ge ${filter.since ? ascendingTimeKey(filter.since) : "0"}`);
  if (filter.until) clauses.push(odata`RowKey lt ${ascendingTimeKey(filter.until)}`);
  return clauses.length > 0 ? clauses.join(" and ") : undefined;
}

export function isResolved(row: QuarantineRow): boolean {
  return typeof row.props["resolvedAt"] === "string" && row.props["resolvedAt"] !== "";
}

/** The filtered rows, page by page (a page at a time in memory). */
export async function* quarantineRows(client: TableClient, filter: QuarantineFilter): AsyncGenerator<QuarantineRow> {
  const query = quarantineQuery(filter);
  const entities = client.listEntities<Record<string, unknown>>(query ? { queryOptions: { filter: query } } : {});
  try {
    for await (const entity of entities) {
      const props: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entity)) if (!METADATA.has(key)) props[key] = value;
      yield { partitionKey: entity.partitionKey as string, rowKey: entity.rowKey as string, etag: entity.etag, props: decodeProperties(props) };
    }
  } catch (error) {
    if (statusOf(error) === 404) return; // nothing was ever quarantined here
    throw error;
  }
}

export interface Resolution {
  readonly resolvedAt: string;
  readonly resolvedEventRows: number;
}

/** The row with the replay's annotation: resolved, or still failing with its new reasons. */
export function annotated(row: QuarantineRow, change: { resolved: Resolution } | { stillFailing: Quarantine; at: string }): Properties {
  const props = { ...(row.props as Properties) };
  if ("resolved" in change) {
    props["resolvedAt"] = change.resolved.resolvedAt;
    props["resolvedBy"] = "replay";
    props["resolvedEventRows"] = change.resolved.resolvedEventRows;
  } else {
    props["reasonCode"] = change.stillFailing.code;
    props["reason"] = change.stillFailing.message;
    props["errors"] = JSON.stringify(change.stillFailing.errors);
    props["lastReplayedAt"] = change.at;
  }
  return props;
}

const UPDATE_ATTEMPTS = 4;

/**
 * Replaces the row with its annotated form, guarded by its ETag (re-read on 412). Replace, not Merge:
 * a long reason that shrinks must not leave stale split parts behind.
 */
export async function updateQuarantineRow(
  client: TableClient,
  row: QuarantineRow,
  change: (current: QuarantineRow) => Properties,
  timeoutMs: number,
): Promise<void> {
  let current = row;
  for (let attempt = 0; ; attempt++) {
    const entity = encodeProperties(change(current));
    assertWithinLimits("QuarantinedEvents", current.partitionKey, current.rowKey, entity, `the quarantine row ${current.partitionKey}/${current.rowKey}`);
    try {
      await client.updateEntity({ partitionKey: current.partitionKey, rowKey: current.rowKey, ...entity }, "Replace", { etag: current.etag, abortSignal: AbortSignal.timeout(timeoutMs) });
      return;
    } catch (error) {
      if (statusOf(error) !== 412 || attempt + 1 >= UPDATE_ATTEMPTS) throw error;
      const fresh = await client.getEntity<Record<string, unknown>>(current.partitionKey, current.rowKey, { abortSignal: AbortSignal.timeout(timeoutMs) });
      const props: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(fresh)) if (!METADATA.has(key)) props[key] = value;
      current = { partitionKey: current.partitionKey, rowKey: current.rowKey, etag: fresh.etag, props: decodeProperties(props) };
    }
  }
}
