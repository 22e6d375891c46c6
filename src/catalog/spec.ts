import type { Static, TSchema } from "@sinclair/typebox";
import type { Envelope } from "../envelope";

export const FAMILIES = ["sms", "chat", "calling", "presence"] as const;
export type Family = (typeof FAMILIES)[number];

/** Every table the ledger writes. Nothing in a payload can name another. */
export const TABLES = [
  "SmsMessages",
  "SmsDeliveryReports",
  "ChatThreadEvents",
  "ChatUserEvents",
  "ChatMessages",
  "ChatThreads",
  "ChatParticipants",
  "CallEvents",
  "Calls",
  "UserDisconnects",
  "QuarantinedEvents",
  /** Data property paths that events carry and their schemas do not name (src/ledger/drift.ts). */
  "SchemaDrift",
] as const;
export type TableName = (typeof TABLES)[number];

export type PropertyValue = string | number | boolean | null | undefined;
export type Properties = Record<string, PropertyValue>;

/** An immutable fact: written once, and a redelivery finds it already there. */
export interface AppendRow {
  readonly kind: "append";
  readonly table: TableName;
  /** Unescaped key parts; the ledger escapes and joins them. */
  readonly partitionKey: readonly string[];
  readonly rowKey: readonly string[];
  readonly props: Properties;
}

/**
 * A change to a current-state row. Each facet (a group of properties that change together) carries
 * its own version. In its props, `undefined` (or a missing key) leaves the stored value unchanged and
 * `null` removes it; each field takes the value of the newest event (version, then identity) that
 * carried it, so arrival order does not matter (src/ledger/merge.ts).
 */
export interface StatePatch {
  readonly kind: "state";
  readonly table: TableName;
  readonly partitionKey: readonly string[];
  readonly rowKey: readonly string[];
  readonly facets: readonly Facet[];
}

export interface Facet {
  readonly name: string;
  /** Compared as text: fixed-width digits or fixed-width timestamps. */
  readonly version: string;
  readonly props: Properties;
}

export type LedgerWrite = AppendRow | StatePatch;

/**
 * A second spelling of one fact that a schema accepts and its normalizer folds into one property,
 * with where it was seen (corpus files under test/corpus, or documents).
 */
export interface Variant {
  /** Where the variant sits: `data.<path>` or `subject`. */
  readonly path: string;
  /** The one spelling or property it is normalized to. */
  readonly normalizedTo: string;
  readonly seenIn: readonly string[];
}

export interface EventSpec<S extends TSchema = TSchema> {
  readonly type: string;
  readonly family: Family;
  /** Chat only: user-level events come once per recipient; thread-level once per thread. */
  readonly level?: "thread" | "user";
  /** The early `Microsoft.CommunicationServices.*` names. */
  readonly preview?: true;
  readonly data: S;
  /** Constraints on `subject`, for events that carry a key only there. */
  readonly subject?: TSchema;
  readonly tables: readonly TableName[];
  /** Spellings of one fact that producers use, accepted and normalized to one property. */
  readonly variants?: readonly Variant[];
  /**
   * Per facet of the state rows this event writes: the properties an event may leave out. An absent
   * one leaves the stored value unchanged (the normalizer omits it); only an explicit removal clears it.
   */
  readonly absentMeansUnchanged?: Readonly<Record<string, readonly string[]>>;
  readonly normalize: (event: Envelope<Static<S>>) => LedgerWrite[];
}

/** A spec whose data type has been erased, so that specs of all types share one map. */
export type AnySpec = EventSpec<TSchema>;

export function defineEvent<S extends TSchema>(spec: EventSpec<S>): AnySpec {
  return spec as unknown as AnySpec;
}
