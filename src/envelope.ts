import { Type } from "@sinclair/typebox";
import { NonEmptyString, Timestamp } from "./catalog/common";
import { sha256Hex } from "./ledger/keys";
import { parseTimestamp, type Instant } from "./time";
import { loadValidator, type SchemaError } from "./validation";

/** One event, whichever delivery schema it came in. */
export interface Envelope<D = unknown> {
  readonly id: string;
  /** The Event Grid `topic` or the CloudEvents `source`: the ACS resource. */
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: Instant;
  readonly data: D;
  readonly deliverySchema: "EventGrid" | "CloudEvents";
  /**
   * Event identity is (source, id), but the preview docs give two events of different types one id,
   * so keys use (id, this tag): a short hash of the lower-cased source and the type.
   */
  readonly identityTag: string;
}

export const EventGridEvent = Type.Object({
  id: NonEmptyString,
  topic: NonEmptyString,
  subject: Type.String(),
  eventType: NonEmptyString,
  eventTime: Timestamp,
  data: Type.Object({}),
  dataVersion: Type.Optional(Type.String()),
  metadataVersion: Type.Optional(Type.String()),
});

export const CloudEvent = Type.Object({
  specversion: Type.Literal("1.0"),
  id: NonEmptyString,
  source: NonEmptyString,
  type: NonEmptyString,
  subject: Type.Optional(Type.String()),
  time: Timestamp,
  data: Type.Object({}),
});

/** The envelope schemas, by the names their generated validators carry (scripts/build-validators.ts). */
export const ENVELOPE_SCHEMAS = { "envelope:EventGridEvent": EventGridEvent, "envelope:CloudEvent": CloudEvent } as const;
const validateEventGrid = loadValidator("envelope:EventGridEvent", () => EventGridEvent);
const validateCloudEvent = loadValidator("envelope:CloudEvent", () => CloudEvent);
/** Fields that only the Event Grid schema has: a CloudEvent carrying them is ambiguous. */
const EVENT_GRID_ONLY = ["eventType", "eventTime", "topic"] as const;

export type EnvelopeResult =
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly deliverySchema: Envelope["deliverySchema"] | undefined; readonly errors: readonly SchemaError[] };

export function readEnvelope(event: unknown): EnvelopeResult {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    const got = event === null ? "null" : Array.isArray(event) ? "an array" : `a ${typeof event}`;
    return { ok: false, deliverySchema: undefined, errors: [{ instancePath: "", message: `must be an event object, got ${got}` }] };
  }
  const fields = withSpecversion(event as Record<string, unknown>);
  if (Object.hasOwn(fields, "specversion")) {
    const mixed = EVENT_GRID_ONLY.filter((name) => Object.hasOwn(fields, name));
    const errors = validateCloudEvent(fields) ?? [];
    const all = [...mixed.map((name) => ({ instancePath: `/${name}`, message: "is an Event Grid field on a CloudEvent" })), ...errors];
    if (all.length > 0) return { ok: false, deliverySchema: "CloudEvents", errors: all };
    const e = fields as { id: string; source: string; type: string; subject?: string; time: string; data: unknown };
    return { ok: true, envelope: build(e.id, e.source, e.type, e.subject ?? "", e.time, e.data, "CloudEvents") };
  }
  const errors = validateEventGrid(event);
  if (errors) return { ok: false, deliverySchema: "EventGrid", errors };
  const e = event as { id: string; topic: string; eventType: string; subject: string; eventTime: string; data: unknown };
  return { ok: true, envelope: build(e.id, e.topic, e.eventType, e.subject, e.eventTime, e.data, "EventGrid") };
}

/**
 * Half of the spec's CloudEvents examples spell the attribute `specVersion` (CloudEvents attribute
 * names are lower case). Read as `specversion` when that is absent, so those events are not lost.
 */
function withSpecversion(fields: Record<string, unknown>): Record<string, unknown> {
  if (Object.hasOwn(fields, "specversion") || !Object.hasOwn(fields, "specVersion")) return fields;
  const { specVersion, ...rest } = fields;
  return { ...rest, specversion: specVersion };
}

function build(id: string, source: string, type: string, subject: string, time: string, data: unknown, deliverySchema: Envelope["deliverySchema"]): Envelope {
  return {
    id,
    source,
    type,
    subject,
    time: parseTimestamp(time) as Instant, // the schema's format already proved it parses
    data,
    deliverySchema,
    identityTag: identityTag(source, type),
  };
}

/** An ACS resource sends a handful of (source, type) pairs, so their tags are computed once each. */
const identityTags = new Map<string, Map<string, string>>();
let lastSource: { readonly source: string; readonly tags: Map<string, string> } | undefined; // most traffic has one source

function identityTag(source: string, type: string): string {
  if (source !== lastSource?.source) {
    let tags = identityTags.get(source);
    if (!tags) {
      if (identityTags.size >= 100) identityTags.clear();
      identityTags.set(source, (tags = new Map()));
    }
    lastSource = { source, tags };
  }
  const tags = lastSource.tags;
  let tag = tags.get(type);
  if (tag === undefined) {
    tag = sha256Hex(`${source.toLowerCase()}\n${type}`).slice(0, 10);
    if (tags.size >= 1_000) tags.clear();
    tags.set(type, tag);
  }
  return tag;
}
