import { Type, type TSchema } from "@sinclair/typebox";
import type { Envelope } from "../envelope";
import { normalizePhoneNumber } from "../identifiers";
import type { Instant } from "../time";
import { Maybe, NonEmptyString, Timestamp } from "./common";
import { present } from "./props";
import { append, eventRowKey, instant, json } from "./rows";
import { defineEvent, type LedgerWrite, type Properties, type Variant } from "./spec";

/*
 * SMS data arrives PascalCase in the older docs and spec examples, camelCase in the newest docs, the
 * spec's TypeSpec and the SDKs, and mixed in the current Learn page (`Tag` stays PascalCase). Each
 * field is accepted in both casings and normalized to the camelCase property.
 */

const upperFirst = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/** Both casings of each field, each optional (a casing check below requires the keys). */
function bothCasings<T extends Record<string, TSchema>>(fields: T) {
  return Object.fromEntries(Object.entries(fields).flatMap(([name, schema]) => [[name, Maybe(schema)], [upperFirst(name), Maybe(schema)]])) as Record<string, ReturnType<typeof Maybe<TSchema>>>;
}

/** JSON Schema for "the field is present in one casing or the other". */
function requiredInEitherCasing(...names: string[]) {
  // Each branch names its property again: AJV's strict mode wants `required` next to `properties`.
  const branch = (key: string) => ({ type: "object", properties: { [key]: true }, required: [key] });
  return { allOf: names.map((name) => ({ type: "object", anyOf: [branch(name), branch(upperFirst(name))] })) };
}

type SmsData = Readonly<Record<string, unknown>>;

/** A field in whichever casing it came; `null` counts as absent. */
function field(d: SmsData, name: string): unknown {
  return d[name] ?? d[upperFirst(name)] ?? undefined;
}
const text = (d: SmsData, name: string) => {
  const v = field(d, name);
  return typeof v === "string" ? v : undefined;
};
const count = (d: SmsData, name: string) => {
  const v = field(d, name);
  return typeof v === "number" ? v : undefined;
};
/** The keys' fields, which the schema requires in one casing or the other. */
function keyText(d: SmsData, name: string): string {
  const v = text(d, name);
  if (v === undefined) throw new TypeError(`SMS data without ${name}: the schema requires it`);
  return v;
}

const DeliveryAttempt = Type.Object(bothCasings({ timestamp: Timestamp, segmentsSucceeded: Type.Integer({ minimum: 0 }), segmentsFailed: Type.Integer({ minimum: 0 }) }));

const SmsReceivedData = Type.Object(
  bothCasings({ messageId: NonEmptyString, from: NonEmptyString, to: NonEmptyString, message: Type.String(), receivedTimestamp: Timestamp, segmentCount: Type.Integer({ minimum: 0 }) }),
  requiredInEitherCasing("from", "to"),
);

const SmsDeliveryReportData = Type.Object(
  {
    ...bothCasings({ messageId: NonEmptyString, from: NonEmptyString, to: NonEmptyString, deliveryStatus: Type.String(), deliveryStatusDetails: Type.String(), receivedTimestamp: Timestamp, tag: Type.String(), segmentCount: Type.Integer({ minimum: 0 }) }),
    deliveryAttempts: Maybe(Type.Array(DeliveryAttempt)),
    DeliveryAttempts: Maybe(Type.Array(DeliveryAttempt)),
  },
  requiredInEitherCasing("from", "to"),
);

const CASING_SEEN_IN = [
  "PascalCase: */spec-eg-sms_received.json, */spec-ce-*.json, */typespec-sms_delivery_report_received.json",
  "camelCase: */spec-eg-sms_delivery_report_received.json, */docs-*.json (with `Tag` PascalCase)",
];
const casingVariants = (...names: string[]): Variant[] =>
  names.map((name) => ({ path: `data.${upperFirst(name)}`, normalizedTo: name, seenIn: CASING_SEEN_IN }));

/** The preview docs name the number in the subject: `/phone_number/555-555-5555` or `phonenumber/…`. */
const PHONE_SUBJECT = /^\/?phone_?number\/(.+)$/i;
const PhoneSubject = Type.String({ pattern: "^/?[Pp][Hh][Oo][Nn][Ee]_?[Nn][Uu][Mm][Bb][Ee][Rr]/.+$" });

const PreviewSmsReceivedData = Type.Object({
  messageId: NonEmptyString,
  sender: NonEmptyString,
  recepient: NonEmptyString, // sic: the preview docs' spelling
  content: Type.String(),
  receivedTimeStamp: Timestamp,
});

/** The preview docs give no sample ("TODO"); these are the fields its SMSReceived sibling carries. */
const PreviewSmsDeliveryReportData = Type.Object({
  messageId: Type.Optional(NonEmptyString),
  sender: Type.Optional(Type.String()),
  recepient: Type.Optional(Type.String()),
});

interface SmsFacts {
  readonly messageId: string;
  readonly from: string;
  readonly to: string;
  readonly direction: "inbound" | "outbound";
  readonly at: Instant;
  readonly props: Properties;
}

/** One row under each party's number, so "every SMS to or from a number" is one partition. */
function smsMessageRows(event: Envelope, facts: SmsFacts): LedgerWrite[] {
  const from = normalizePhoneNumber(facts.from);
  const to = normalizePhoneNumber(facts.to);
  const props: Properties = { messageId: facts.messageId, direction: facts.direction, from, to, occurredAt: facts.at.iso, ...facts.props };
  return (["from", "to"] as const).map((role) =>
    append("SmsMessages", [role === "from" ? from : to], [...eventRowKey(event, facts.at, "newestFirst"), role], { ...props, numberRole: role }),
  );
}

function deliveryReportRow(event: Envelope, messageId: string, at: Instant, props: Properties): LedgerWrite {
  return append("SmsDeliveryReports", [messageId], eventRowKey(event, at, "newestFirst"), { messageId, occurredAt: at.iso, ...props });
}

function subjectNumber(subject: string): string {
  return PHONE_SUBJECT.exec(subject)?.[1] ?? subject;
}

/** An SMS event's message id is its event id in every sample; the data's own id wins when present. */
const messageIdOf = (e: Envelope<SmsData>) => text(e.data, "messageId") ?? e.id;
/** When the service received it; an event without the timestamp is filed at its event time. */
function receivedAt(e: Envelope<SmsData>): Instant {
  const t = text(e.data, "receivedTimestamp");
  return t === undefined ? e.time : instant(t);
}

/** Delivery attempts in one casing (camelCase), kept whole as JSON. */
function deliveryAttempts(d: SmsData): string | undefined {
  const attempts = field(d, "deliveryAttempts");
  if (!Array.isArray(attempts)) return undefined;
  return json(
    attempts.map((a: SmsData) => present({ timestamp: text(a, "timestamp"), segmentsSucceeded: count(a, "segmentsSucceeded"), segmentsFailed: count(a, "segmentsFailed") })),
  );
}

export const smsEvents = [
  defineEvent({
    type: "Microsoft.Communication.SMSReceived",
    family: "sms",
    data: SmsReceivedData,
    tables: ["SmsMessages"],
    variants: [
      ...casingVariants("messageId", "from", "to", "message", "receivedTimestamp", "segmentCount"),
      { path: "data.messageId (absent)", normalizedTo: "messageId: the event id", seenIn: ["none yet; every sample's id is its message id"] },
    ],
    normalize: (e) =>
      smsMessageRows(e, {
        messageId: messageIdOf(e),
        from: keyText(e.data, "from"),
        to: keyText(e.data, "to"),
        direction: "inbound",
        at: receivedAt(e),
        props: present({ message: text(e.data, "message"), segmentCount: count(e.data, "segmentCount") }),
      }),
  }),
  defineEvent({
    type: "Microsoft.Communication.SMSDeliveryReportReceived",
    family: "sms",
    data: SmsDeliveryReportData,
    tables: ["SmsMessages", "SmsDeliveryReports"],
    variants: casingVariants("messageId", "from", "to", "deliveryStatus", "deliveryStatusDetails", "receivedTimestamp", "deliveryAttempts", "tag"),
    normalize: (e) => {
      const at = receivedAt(e);
      const messageId = messageIdOf(e);
      const report = present({
        deliveryStatus: text(e.data, "deliveryStatus"),
        deliveryStatusDetails: text(e.data, "deliveryStatusDetails"),
        deliveryAttempts: deliveryAttempts(e.data),
        tag: text(e.data, "tag"),
        segmentCount: count(e.data, "segmentCount"),
      });
      const from = keyText(e.data, "from");
      const to = keyText(e.data, "to");
      return [
        ...smsMessageRows(e, { messageId, from, to, direction: "outbound", at, props: report }),
        deliveryReportRow(e, messageId, at, { from: normalizePhoneNumber(from), to: normalizePhoneNumber(to), ...report }),
      ];
    },
  }),
  defineEvent({
    type: "Microsoft.CommunicationServices.SMSReceived",
    family: "sms",
    preview: true,
    data: PreviewSmsReceivedData,
    tables: ["SmsMessages"],
    normalize: (e) =>
      smsMessageRows(e, {
        messageId: e.data.messageId,
        from: e.data.sender,
        to: e.data.recepient,
        direction: "inbound",
        at: instant(e.data.receivedTimeStamp),
        props: { message: e.data.content },
      }),
  }),
  defineEvent({
    type: "Microsoft.CommunicationServices.SMSDeliveryReport",
    family: "sms",
    preview: true,
    data: PreviewSmsDeliveryReportData,
    subject: PhoneSubject,
    tables: ["SmsMessages", "SmsDeliveryReports"],
    normalize: (e) => {
      // Without a documented payload, the subject's number is the one fact to file it under.
      const ours = subjectNumber(e.subject);
      const messageId = e.data.messageId ?? e.id;
      return [
        ...smsMessageRows(e, { messageId, from: ours, to: e.data.recepient ?? ours, direction: "outbound", at: e.time, props: {} }),
        deliveryReportRow(e, messageId, e.time, {}),
      ];
    },
  }),
];
