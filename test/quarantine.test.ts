import { test } from "node:test";
import assert from "node:assert/strict";
import { ingestEvent, planEvent, type Receiver } from "../src/ingest";
import { fixture, readLedger, readTable, testSettings, testWriter } from "./helpers";

/** Plans the event and returns its quarantine (failing the test if it would be stored). */
function quarantineOf(event: unknown, receiver: Receiver) {
  const plan = planEvent(event, receiver);
  assert.equal(plan.outcome, "quarantined");
  return plan.quarantine;
}

const SMS_ID = "Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e";

test("sms: a missing field and a date that is not one are named with their paths", () => {
  const e = fixture("seed-002", "Microsoft.Communication.SMSReceived") as any;
  delete e.data.From;
  e.data.ReceivedTimestamp = "yesterday";
  assert.deepEqual(quarantineOf(e, "sms"), {
    code: "SchemaViolation",
    // SMS fields come PascalCase or camelCase: the number is missing in both spellings.
    message: `Microsoft.Communication.SMSReceived event ${SMS_ID}: does not match its schema: /data/from is required; /data/From is required; /data must match a schema in anyOf; /data/ReceivedTimestamp must match format "acs-timestamp"`,
    errors: [
      { instancePath: "/data/from", message: "is required" },
      { instancePath: "/data/From", message: "is required" },
      { instancePath: "/data", message: "must match a schema in anyOf" },
      { instancePath: "/data/ReceivedTimestamp", message: 'must match format "acs-timestamp"' },
    ],
  });
});

test("chat: a version that is neither a number nor digits, and an identifier without rawId", () => {
  const e = fixture("seed-003", "Microsoft.Communication.ChatMessageReceivedInThread") as any;
  e.data.version = "v2";
  delete e.data.senderCommunicationIdentifier.rawId;
  const q = quarantineOf(e, "chat");
  assert.equal(q.code, "SchemaViolation");
  assert.deepEqual(q.errors, [
    { instancePath: "/data/version", message: "must be integer" },
    { instancePath: "/data/version", message: 'must match pattern "^[0-9]+$"' },
    { instancePath: "/data/version", message: "must match a schema in anyOf" },
    { instancePath: "/data/senderCommunicationIdentifier/rawId", message: "is required" },
  ]);
});

test("calling: numbers must be numbers, and a recording needs its server call id in the subject", () => {
  const ended = fixture("seed-001", "Microsoft.Communication.CallEnded") as any;
  ended.data.durationOfCall = "49.7";
  assert.deepEqual(quarantineOf(ended, "calling").errors, [{ instancePath: "/data/durationOfCall", message: "must be number" }]);
  const recording = fixture("seed-001", "Microsoft.Communication.RecordingFileStatusUpdated") as any;
  recording.subject = "/calls/abc"; // neither subject form a recording comes with
  recording.data.recordingStorageInfo.recordingChunks[0].contentLocation = "not a url";
  assert.deepEqual(quarantineOf(recording, "calling").errors, [
    { instancePath: "/subject", message: 'must match pattern "/serverCallId/.|^/?recording/call/."' },
    { instancePath: "/data/recordingStorageInfo/recordingChunks/0/contentLocation", message: 'must match format "uri"' },
  ]);
});

test("presence: an identifier that is not an object", () => {
  const e = fixture("seed-000", "Microsoft.Communication.UserDisconnected") as any;
  e.data.userCommunicationIdentifier = "8:acs:someone";
  assert.deepEqual(quarantineOf(e, "presence"), {
    code: "SchemaViolation",
    message: "Microsoft.Communication.UserDisconnected event 8f60490d-0719-4d9d-a1a6-835362fb752e: does not match its schema: /data/userCommunicationIdentifier must be object",
    errors: [{ instancePath: "/data/userCommunicationIdentifier", message: "must be object" }],
  });
});

test("unknown event types, including ACS families not cataloged yet, are quarantined", () => {
  const e = fixture("seed-000", "Microsoft.Communication.UserDisconnected") as any;
  e.eventType = "Microsoft.Communication.Teleported";
  assert.deepEqual(quarantineOf(e, "presence"), {
    code: "UnknownEventType",
    message: 'Microsoft.Communication.Teleported event 8f60490d-0719-4d9d-a1a6-835362fb752e: event type "Microsoft.Communication.Teleported" is not in the catalog',
    errors: [],
  });
  e.eventType = "Microsoft.Communication.EmailDeliveryReportReceived";
  assert.match(quarantineOf(e, "presence").message, /is not in the catalog \(the ACS email family is not cataloged yet\)$/);
  e.eventType = "__proto__";
  assert.equal(quarantineOf(e, "presence").code, "UnknownEventType");
});

test("an event delivered to another family's function is quarantined, not stored", () => {
  const e = fixture("seed-003", "Microsoft.Communication.ChatMessageReceivedInThread");
  assert.deepEqual(quarantineOf(e, "sms"), {
    code: "WrongFunction",
    message: "Microsoft.Communication.ChatMessageReceivedInThread event 4f614f97-c451-4b82-a8c9-1e30c3bfcda1: chat events belong to chatEvents, but this one was delivered to smsEvents",
    errors: [],
  });
});

test("envelopes: neither schema, not an object, and a CloudEvent carrying Event Grid fields", () => {
  const e = fixture("seed-002", "Microsoft.Communication.SMSReceived") as any;
  delete e.eventTime;
  assert.deepEqual(quarantineOf(e, "sms"), {
    code: "InvalidEnvelope",
    message: `Microsoft.Communication.SMSReceived event ${SMS_ID}: not a valid Event Grid event: /eventTime is required`,
    errors: [{ instancePath: "/eventTime", message: "is required" }],
  });
  assert.equal(quarantineOf("not json at all", "sms").message, "(no type) event (no id): not an event: / must be an event object, got a string");
  assert.equal(quarantineOf([1, 2], "sms").message, "(no type) event (no id): not an event: / must be an event object, got an array");
  const mixed = { specversion: "1.0", id: "c1", source: "/acs", type: "Microsoft.Communication.SMSReceived", time: "2020-09-18T00:27:47Z", data: {}, eventType: "x" };
  assert.deepEqual(quarantineOf(mixed, "sms").errors, [{ instancePath: "/eventType", message: "is an Event Grid field on a CloudEvent" }]);
});

test("both delivery schemas are accepted: a CloudEvent lands on the same rows as its Event Grid twin", async () => {
  const eg = fixture("seed-002", "Microsoft.Communication.SMSReceived") as any;
  const ce = { specversion: "1.0", id: eg.id, source: eg.topic, type: eg.eventType, subject: eg.subject, time: eg.eventTime, data: eg.data };
  const settings = testSettings();
  await ingestEvent(ce, "sms", testWriter(settings));
  const rows = await readTable(settings, "SmsMessages");
  assert.equal(rows.length, 2);
  for (const r of rows) {
    assert.equal(r["deliverySchema"], "CloudEvents");
    assert.equal(r["eventSource"], eg.topic);
  }
  const egPlan = planEvent(eg, "sms");
  assert.deepEqual(
    rows.map((r) => r.rowKey).sort(),
    egPlan.writes.map((w) => w.rowKey).sort(),
  );
});

test("a quarantine row holds the reason, every error and the raw event; redelivery finds it already there", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const e = fixture("seed-002", "Microsoft.Communication.SMSReceived") as any;
  delete e.data.To;
  const first = await ingestEvent(e, "sms", writer);
  const again = await ingestEvent(e, "sms", writer);
  assert.deepEqual([first.outcomes, again.outcomes], [["written"], ["existing"]]);
  const ledger = await readLedger(settings);
  assert.equal(ledger.SmsMessages.length, 0);
  assert.equal(ledger.QuarantinedEvents.length, 1);
  const row = ledger.QuarantinedEvents[0] ?? assert.fail();
  assert.equal(row.partitionKey, "Microsoft.Communication.SMSReceived");
  assert.match(row.rowKey, new RegExp(`^2020-09-18T00:27:47\\.0000000Z\\|${SMS_ID}\\|[0-9a-f]{10}\\|smsEvents$`));
  assert.equal(row["reasonCode"], "SchemaViolation");
  assert.equal(row["reason"], `Microsoft.Communication.SMSReceived event ${SMS_ID}: does not match its schema: /data/to is required; /data/To is required; /data must match a schema in anyOf`);
  assert.deepEqual(JSON.parse(String(row["errors"])), [
    { instancePath: "/data/to", message: "is required" },
    { instancePath: "/data/To", message: "is required" },
    { instancePath: "/data", message: "must match a schema in anyOf" },
  ]);
  assert.deepEqual(JSON.parse(String(row["rawEvent"])), e);
  assert.equal(row["eventId"], SMS_ID);
  assert.equal(row["eventType"], "Microsoft.Communication.SMSReceived");
  assert.equal(row["receivedBy"], "smsEvents");
});
