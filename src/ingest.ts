import { specFor, validatorFor, functionNameOf, UNCATALOGED_FAMILIES } from "./catalog";
import { unnamedDataPaths } from "./catalog/namedPaths";
import type { AnySpec, Family, LedgerWrite, Properties } from "./catalog/spec";
import type { LedgerSettings } from "./config";
import { readEnvelope, type Envelope } from "./envelope";
import { contentHash, DEAD_LETTER_FIELDS } from "./eventContent";
import { assertWithinLimits, encodeOwnedProperties, encodeProperties } from "./ledger/entity";
import { buildKey, sha256Hex } from "./ledger/keys";
import type { LedgerWriter, PreparedAppend, PreparedWrite, WriteOutcome } from "./ledger/writer";
import { toJsonText } from "./jsonText";
import { ascendingTimeKey, NO_TIME_KEY, parseTimestamp } from "./time";
import { describeErrors, type SchemaError } from "./validation";

/*
 * The pipeline every entry point shares (functions, demo, tests): envelope → catalog → validate →
 * normalize → prepared rows. `planEvent` is pure; `ingestEvent` adds the writes.
 */

export type QuarantineCode = "InvalidEnvelope" | "UnknownEventType" | "WrongFunction" | "SchemaViolation" | "IdentityConflict";

export interface Quarantine {
  readonly code: QuarantineCode;
  readonly message: string;
  readonly errors: readonly SchemaError[];
}

/** Who delivered the event: a family's function, or a tool that accepts every family. */
export type Receiver = Family | "any";

export type Plan =
  | {
      readonly outcome: "stored";
      readonly label: string;
      readonly eventId: string;
      readonly eventType: string;
      readonly writes: readonly PreparedWrite[];
      /** Data property paths the type's schema does not name (src/catalog/namedPaths.ts): the drift watch's input. */
      readonly unnamedPaths: readonly string[];
    }
  | {
      readonly outcome: "quarantined";
      readonly label: string;
      readonly eventId: string | undefined;
      readonly eventType: string | undefined;
      readonly quarantine: Quarantine;
      readonly writes: readonly PreparedWrite[];
    };

export type QuarantinedPlan = Extract<Plan, { readonly outcome: "quarantined" }>;

export interface IngestResult {
  readonly plan: Plan;
  readonly outcomes: readonly WriteOutcome[];
}

export function planEvent(event: unknown, receiver: Receiver): Plan {
  const envelope = readEnvelope(event);
  if (!envelope.ok) {
    const what = envelope.deliverySchema === "CloudEvents" ? "a valid CloudEvent" : envelope.deliverySchema === "EventGrid" ? "a valid Event Grid event" : "an event";
    const label = labelOf(textField(event, "eventType") ?? textField(event, "type"), textField(event, "id"));
    return quarantine(event, receiver, { code: "InvalidEnvelope", message: `${label}: not ${what}: ${describeErrors(envelope.errors)}`, errors: envelope.errors });
  }
  const e = envelope.envelope;
  const label = labelOf(e.type, e.id);
  const spec = specFor(e.type);
  if (!spec) {
    const known = UNCATALOGED_FAMILIES.find((f) => e.type.startsWith(f.typePrefix));
    const why = known ? ` (the ACS ${known.family} family is not cataloged yet)` : "";
    return quarantine(event, receiver, { code: "UnknownEventType", message: `${label}: event type "${e.type}" is not in the catalog${why}`, errors: [] });
  }
  if (receiver !== "any" && spec.family !== receiver) {
    const message = `${label}: ${spec.family} events belong to ${functionNameOf(spec.family)}, but this one was delivered to ${functionNameOf(receiver)}`;
    return quarantine(event, receiver, { code: "WrongFunction", message, errors: [] });
  }
  const errors = validatorFor(spec)({ subject: e.subject, data: e.data });
  if (errors) {
    return quarantine(event, receiver, { code: "SchemaViolation", message: `${label}: does not match its schema: ${describeErrors(errors)}`, errors });
  }
  return { outcome: "stored", label, eventId: e.id, eventType: e.type, writes: prepare(spec, e, event, label), unnamedPaths: unnamedDataPaths(spec, e.data) };
}

export async function ingestEvent(event: unknown, receiver: Receiver, writer: LedgerWriter): Promise<IngestResult> {
  const plan = planEvent(event, receiver);
  const writes = writesToApply(plan, writer.tables.settings);
  const outcomes = await writer.write(writes, plan.label);
  const conflicting = writes.find((w, i) => outcomes[i] === "conflict" && w.kind === "append");
  if (!conflicting) return { plan, outcomes };
  const conflict = identityConflict(event, receiver, plan.label, conflicting as PreparedAppend);
  return { plan: conflict, outcomes: await writer.write(conflict.writes, conflict.label) };
}

/**
 * The quarantine of an event whose fact row already holds another event with the same (source, id,
 * type) and other content: kept whole here, with the stored row's table and keys, so both raw events
 * are reachable. Keyed by the event's content hash too, so each distinct content gets its own row and
 * a redelivery of this one lands on it again.
 */
export function identityConflict(event: unknown, receiver: Receiver, label: string, stored: PreparedAppend): QuarantinedPlan {
  const hash = contentHash(event);
  const message = `${label}: another event with the same source, id and type is stored with other content (its ${stored.table} row); this one is kept here and changed no other row`;
  return quarantine(event, receiver, { code: "IdentityConflict", message, errors: [] }, {
    contentHash: hash,
    conflictTable: stored.table,
    conflictPartitionKey: stored.partitionKey,
    conflictRowKey: stored.rowKey,
  });
}

/**
 * The writes of a plan that the settings apply: with `chatStateFrom: "thread"`, a user-level chat
 * event writes its own row only, and its thread-level copy alone changes the current-state rows.
 */
export function writesToApply(plan: Plan, settings: Pick<LedgerSettings, "chatStateFrom">): readonly PreparedWrite[] {
  if (settings.chatStateFrom !== "thread" || plan.outcome !== "stored" || specFor(plan.eventType)?.level !== "user") return plan.writes;
  return plan.writes.filter((w) => w.kind === "append");
}

function prepare(spec: AnySpec, e: Envelope, raw: unknown, label: string): PreparedWrite[] {
  const common: Properties = {
    eventId: e.id,
    eventType: e.type,
    eventSource: e.source,
    eventTime: e.time.iso,
    subject: e.subject,
    deliverySchema: e.deliverySchema,
    ...(spec.preview === undefined ? {} : { preview: spec.preview }), // an absent value would only be dropped
    ...deadLetterFields(raw, e.deliverySchema),
  };
  let rawEvent: string | undefined; // serialized once per event, and only if a row keeps it
  return spec.normalize(e).map((w: LedgerWrite): PreparedWrite => {
    const partitionKey = buildKey(w.partitionKey);
    const rowKey = buildKey(w.rowKey);
    if (w.kind === "state") return { kind: "state", table: w.table, partitionKey, rowKey, facets: w.facets, identity: `${e.id}|${e.identityTag}`, common: { eventId: e.id, eventType: e.type, eventSource: e.source } };
    rawEvent ??= toJsonText(raw);
    const row: Properties = { ...w.props, ...common, rawEvent };
    const entity = encodeOwnedProperties(row); // the row is ours: encoded in place of a copy when nothing changes
    assertWithinLimits(w.table, partitionKey, rowKey, entity, label);
    return { kind: "append", table: w.table, partitionKey, rowKey, entity, fact: true };
  });
}

/**
 * A quarantine row, keyed by what the event says about itself (type, time, id), so a redelivery lands
 * on the same row. Events too broken to say anything are keyed by a hash of their JSON.
 */
function quarantine(event: unknown, receiver: Receiver, q: Quarantine, conflict?: Properties & { readonly contentHash: string }): QuarantinedPlan {
  const raw = toJsonText(event);
  const text = (name: string) => textField(event, name);
  const eventId = text("id");
  const eventType = text("eventType") ?? text("type");
  const source = text("topic") ?? text("source");
  const timeText = text("eventTime") ?? text("time");
  const time = timeText === undefined ? undefined : parseTimestamp(timeText);
  const label = labelOf(eventType, eventId);
  const partitionKey = buildKey([eventType ?? "(no type)"]);
  const rowKey = buildKey([
    time ? ascendingTimeKey(time) : NO_TIME_KEY,
    eventId ?? `(no id) sha256:${sha256Hex(raw).slice(0, 32)}`,
    sha256Hex(`${(source ?? "").toLowerCase()}\n${eventType ?? ""}`).slice(0, 10),
    receiver === "any" ? "replay" : functionNameOf(receiver),
    ...(conflict ? [conflict.contentHash.slice(0, 32)] : []),
  ]);
  const entity = encodeProperties({
    reasonCode: q.code,
    reason: q.message,
    errors: JSON.stringify(q.errors),
    receivedBy: receiver === "any" ? "replay" : functionNameOf(receiver),
    eventId,
    eventType,
    eventSource: source,
    eventTime: time?.iso ?? timeText,
    rawEvent: raw,
    ...conflict,
  });
  assertWithinLimits("QuarantinedEvents", partitionKey, rowKey, entity, label);
  return { outcome: "quarantined", label, eventId, eventType, quarantine: q, writes: [{ kind: "append", table: "QuarantinedEvents", partitionKey, rowKey, entity }] };
}

/**
 * What Event Grid adds to a dead-lettered event; kept on the rows when such an event is replayed.
 * CloudEvents dead letters carry them in lower case (CloudEvents attribute names are lower case);
 * the rows name them one way, whichever schema the event came in.
 */
const DEAD_LETTER_SPELLINGS: Readonly<Record<Envelope["deliverySchema"], readonly (readonly [string, string])[]>> = {
  EventGrid: DEAD_LETTER_FIELDS.map((name) => [name, name] as const),
  CloudEvents: DEAD_LETTER_FIELDS.map((name) => [name.toLowerCase(), name] as const),
};

function deadLetterFields(raw: unknown, deliverySchema: Envelope["deliverySchema"]): Properties {
  const out: Properties = {};
  const event = raw as Record<string, unknown>;
  for (const [delivered, name] of DEAD_LETTER_SPELLINGS[deliverySchema]) {
    const value = Object.hasOwn(event, delivered) ? event[delivered] : undefined;
    if (typeof value === "string" || typeof value === "number") out[name] = value;
  }
  return out;
}

/** A non-empty string field of an event that may be anything at all. */
function textField(event: unknown, name: string): string | undefined {
  if (typeof event !== "object" || event === null || Array.isArray(event) || !Object.hasOwn(event, name)) return undefined;
  const value = (event as Record<string, unknown>)[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** How errors and logs name an event: its type and id, never its content. */
function labelOf(type: string | undefined, id: string | undefined): string {
  const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}…` : s);
  return `${clip(type ?? "(no type)")} event ${clip(id ?? "(no id)")}`;
}
