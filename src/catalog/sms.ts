import { Type } from "@sinclair/typebox";
import type { Envelope } from "../envelope";
import { normalizePhoneNumber } from "../identifiers";
import type { Instant } from "../time";
import { NonEmptyString, Timestamp } from "./common";
import { append, eventRowKey, instant, json } from "./rows";
import { defineEvent, type LedgerWrite, type Properties } from "./spec";

/** SMS data arrives PascalCase (unlike every other family). */
const SmsReceivedData = Type.Object({
  MessageId: NonEmptyString,
  From: NonEmptyString,
  To: NonEmptyString,
  Message: Type.String(),
  ReceivedTimestamp: Timestamp,
});

const DeliveryAttempt = Type.Object({
  Timestamp: Timestamp,
  SegmentsSucceeded: Type.Integer({ minimum: 0 }),
  SegmentsFailed: Type.Integer({ minimum: 0 }),
});

const SmsDeliveryReportData = Type.Object({
  MessageId: NonEmptyString,
  From: NonEmptyString,
  To: NonEmptyString,
  DeliveryStatus: NonEmptyString,
  DeliveryStatusDetails: Type.Optional(Type.String()),
  ReceivedTimestamp: Timestamp,
  DeliveryAttempts: Type.Optional(Type.Array(DeliveryAttempt)),
  Tag: Type.Optional(Type.String()),
});

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

export const smsEvents = [
  defineEvent({
    type: "Microsoft.Communication.SMSReceived",
    family: "sms",
    data: SmsReceivedData,
    tables: ["SmsMessages"],
    normalize: (e) =>
      smsMessageRows(e, {
        messageId: e.data.MessageId,
        from: e.data.From,
        to: e.data.To,
        direction: "inbound",
        at: instant(e.data.ReceivedTimestamp),
        props: { message: e.data.Message },
      }),
  }),
  defineEvent({
    type: "Microsoft.Communication.SMSDeliveryReportReceived",
    family: "sms",
    data: SmsDeliveryReportData,
    tables: ["SmsMessages", "SmsDeliveryReports"],
    normalize: (e) => {
      const at = instant(e.data.ReceivedTimestamp);
      const report: Properties = {
        deliveryStatus: e.data.DeliveryStatus,
        deliveryStatusDetails: e.data.DeliveryStatusDetails,
        deliveryAttempts: json(e.data.DeliveryAttempts),
        tag: e.data.Tag,
      };
      return [
        ...smsMessageRows(e, { messageId: e.data.MessageId, from: e.data.From, to: e.data.To, direction: "outbound", at, props: report }),
        deliveryReportRow(e, e.data.MessageId, at, { from: normalizePhoneNumber(e.data.From), to: normalizePhoneNumber(e.data.To), ...report }),
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
