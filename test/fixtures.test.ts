import { test } from "node:test";
import assert from "node:assert/strict";
import { specFor, type TableName } from "../src/catalog";
import { readEnvelope } from "../src/envelope";
import { ingestEvent, planEvent } from "../src/ingest";
import { loadFixtures, readLedger, testSettings, testWriter, type Row } from "./helpers";

/*
 * Every doc sample through the pipeline into Azurite, then field-level checks of the rows each event
 * type produced. Each sample gets tables of its own, so current-state rows show that event alone
 * (how events of one thread combine is tested in ledger.test.ts).
 */

type Rows = Array<Row & { table: TableName }>;

function only(rows: Rows, table: TableName): Row {
  const found = rows.filter((r) => r.table === table);
  assert.equal(found.length, 1, `exactly one ${table} row (got ${found.length})`);
  return found[0] as Row;
}

function all(rows: Rows, table: TableName): Row[] {
  return rows.filter((r) => r.table === table);
}

/** A state row's version stamp: the version, then the event's identity (id and identity tag). */
const stamp = (version: string, e: any) => {
  const read = readEnvelope(e);
  return `${version}|${e.id}|${read.ok ? read.envelope.identityTag : ""}`;
};

const ACS_USER = /^8:acs:[0-9a-f-]+_[0-9a-f-]+$/;

/** What each event type must produce. `e` is the event as delivered. */
const EXPECTATIONS: Record<string, (rows: Rows, e: any) => void> = {
  "Microsoft.Communication.SMSReceived": (rows, e) => {
    const sms = all(rows, "SmsMessages");
    assert.deepEqual(sms.map((r) => [r.partitionKey, r["numberRole"]]).sort(), [["+15555555555", "from"], ["+15555555555", "to"]]);
    for (const r of sms) {
      assert.equal(r["message"], "Great to connect with ACS events ");
      assert.equal(r["direction"], "inbound");
      assert.equal(r["messageId"], e.data.MessageId);
      assert.equal(r["occurredAt"], "2020-09-18T00:27:45.3200000Z");
      assert.match(r.rowKey, /^\d{21}\|Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e\|[0-9a-f]{10}\|(from|to)$/);
    }
  },
  "Microsoft.Communication.SMSDeliveryReportReceived": (rows, e) => {
    const report = only(rows, "SmsDeliveryReports");
    assert.equal(report.partitionKey, e.data.MessageId);
    assert.equal(report["deliveryStatus"], "Delivered");
    assert.equal(report["deliveryStatusDetails"], "No error.");
    // PascalCase attempts are stored in the one (camelCase) spelling every producer's newer payloads use.
    assert.deepEqual(
      JSON.parse(String(report["deliveryAttempts"])),
      e.data.DeliveryAttempts.map((a: any) => ({ timestamp: a.Timestamp, segmentsSucceeded: a.SegmentsSucceeded, segmentsFailed: a.SegmentsFailed })),
    );
    assert.equal(report["from"], "+15555555555"); // arrived as 15555555555
    assert.equal(report["to"], "+15555555555");
    assert.deepEqual(all(rows, "SmsMessages").map((r) => [r.partitionKey, r["direction"], r["deliveryStatus"]]), [
      ["+15555555555", "outbound", "Delivered"],
      ["+15555555555", "outbound", "Delivered"],
    ]);
  },
  "Microsoft.Communication.ChatMessageReceivedInThread": (rows, e) => {
    const timeline = only(rows, "ChatThreadEvents");
    assert.equal(timeline.partitionKey, e.data.threadId);
    assert.equal(timeline["messageBody"], e.data.messageBody);
    assert.equal(timeline["change"], "received");
    assert.equal(timeline["senderRawId"], e.data.senderCommunicationIdentifier.rawId);
    assert.equal(timeline["senderKind"], "communicationUser");
    assert.equal(timeline.rowKey.split("|")[0], "2021-02-20T01:07:10.0640000Z"); // composeTime, +00:00 normalized
    const message = only(rows, "ChatMessages");
    assert.equal(message.partitionKey, e.data.threadId);
    assert.equal(message.rowKey, e.data.messageId);
    assert.equal(message["messageBody"], e.data.messageBody);
    assert.equal(message["deleted"], false);
    assert.equal(message["v_message"], stamp("00000001613783230064", e)); // version arrived as a string
  },
  "Microsoft.Communication.ChatMessageEditedInThread": (rows, e) => {
    assert.equal(only(rows, "ChatThreadEvents")["change"], "edited");
    const message = only(rows, "ChatMessages");
    assert.equal(message["messageBody"], e.data.messageBody);
    assert.equal(message["editTime"], "2021-02-20T00:59:10.4640000Z");
    assert.equal(message["v_message"], stamp("00000001613782750464", e));
  },
  "Microsoft.Communication.ChatMessageDeletedInThread": (rows, e) => {
    assert.equal(only(rows, "ChatThreadEvents")["change"], "deleted");
    const message = only(rows, "ChatMessages");
    assert.equal(message.rowKey, e.data.messageId);
    assert.equal(message["deleted"], true);
    assert.equal(message["messageBody"], undefined);
    assert.equal(message["deleteTime"], "2021-02-20T00:59:10.4640000Z");
  },
  "Microsoft.Communication.ChatMessageReceived": (rows, e) => {
    const received = only(rows, "ChatUserEvents");
    assert.equal(received.partitionKey, e.data.recipientCommunicationIdentifier.rawId);
    assert.equal(received["threadId"], e.data.threadId);
    assert.equal(received["messageBody"], "Welcome to Azure Communication Services");
    assert.equal(all(rows, "ChatThreadEvents").length, 0, "user-level events stay out of the thread timeline");
    assert.equal(only(rows, "ChatMessages")["messageBody"], "Welcome to Azure Communication Services");
    assert.equal(only(rows, "ChatMessages")["v_message"], stamp("00000001613694358927", e)); // version arrived as a number
  },
  "Microsoft.Communication.ChatMessageEdited": (rows, e) => {
    assert.equal(only(rows, "ChatUserEvents")["change"], "edited");
    assert.equal(only(rows, "ChatMessages")["messageBody"], e.data.messageBody);
  },
  "Microsoft.Communication.ChatMessageDeleted": (rows) => {
    assert.equal(only(rows, "ChatUserEvents")["change"], "deleted");
    assert.equal(only(rows, "ChatMessages")["deleted"], true);
  },
  "Microsoft.Communication.ChatThreadCreated": (rows, e) => {
    assert.equal(only(rows, "ChatThreadEvents")["topic"], e.data.properties.topic);
    const thread = only(rows, "ChatThreads");
    assert.equal(thread.partitionKey, e.data.threadId);
    assert.equal(thread["createTime"], "2021-02-20T00:31:54.3650000Z");
    assert.equal(thread["createdByRawId"], e.data.createdByCommunicationIdentifier.rawId);
    assert.equal(thread["topic"], e.data.properties.topic);
    const participants = all(rows, "ChatParticipants");
    assert.deepEqual(
      participants.map((p) => [p.rowKey.slice(-4), p["displayName"], p["member"]]).sort(),
      [["2337", "Shawn", true], ["2453", "Bob", true], ["2467", "Scott", true], ["2c35", "Anthony", true]],
    );
  },
  "Microsoft.Communication.ChatThreadCreatedWithUser": (rows, e) => {
    assert.equal(only(rows, "ChatUserEvents").partitionKey, e.data.recipientCommunicationIdentifier.rawId);
    assert.equal(only(rows, "ChatThreads")["topic"], e.data.properties.topic);
    assert.deepEqual(all(rows, "ChatParticipants").map((p) => p["displayName"]).sort(), ["Bob", "John"]);
  },
  "Microsoft.Communication.ChatThreadPropertiesUpdated": (rows, e) => {
    assert.equal(only(rows, "ChatThreadEvents")["editTime"], "2021-02-20T00:04:07.7152073Z");
    assert.equal(only(rows, "ChatThreads")["topic"], e.data.properties.topic);
  },
  "Microsoft.Communication.ChatThreadPropertiesUpdatedPerUser": (rows) => {
    assert.equal(only(rows, "ChatUserEvents")["topic"], "Communication in Azure");
    assert.equal(only(rows, "ChatThreads")["topic"], "Communication in Azure");
  },
  "Microsoft.Communication.ChatThreadDeleted": (rows, e) => {
    assert.equal(only(rows, "ChatThreadEvents")["deletedByRawId"], e.data.deletedByCommunicationIdentifier.rawId);
    assert.equal(only(rows, "ChatThreads")["deleted"], true);
    assert.equal(only(rows, "ChatThreads")["deleteTime"], "2021-02-20T00:00:42.1098020Z");
  },
  "Microsoft.Communication.ChatThreadWithUserDeleted": (rows) => {
    assert.equal(only(rows, "ChatThreads")["deleted"], true);
    assert.equal(only(rows, "ChatUserEvents")["deleteTime"], "2021-02-18T23:57:51.5987591Z");
  },
  "Microsoft.Communication.ChatThreadParticipantAdded": (rows, e) => {
    assert.equal(only(rows, "ChatThreadEvents")["displayName"], "Bob");
    const p = only(rows, "ChatParticipants");
    assert.equal(p.rowKey, e.data.participantAdded.participantCommunicationIdentifier.rawId);
    assert.equal(p["member"], true);
    assert.equal(p["changedByRawId"], e.data.addedByCommunicationIdentifier.rawId);
  },
  "Microsoft.Communication.ChatThreadParticipantRemoved": (rows) => {
    const p = only(rows, "ChatParticipants");
    assert.equal(p["member"], false);
    assert.equal(p["displayName"], "Shawn");
    assert.equal(p["changedAt"], "2021-02-20T00:56:18.1118825Z");
  },
  "Microsoft.Communication.ChatParticipantAddedToThreadWithUser": (rows, e) => {
    assert.equal(only(rows, "ChatUserEvents")["displayName"], "John Smith");
    assert.equal(only(rows, "ChatParticipants")["member"], true);
    assert.equal(only(rows, "ChatParticipants")["v_membership"], stamp("00000001614235049907", e));
  },
  "Microsoft.Communication.ChatParticipantRemovedFromThreadWithUser": (rows) => {
    assert.equal(only(rows, "ChatParticipants")["member"], false);
  },
  "Microsoft.Communication.ChatMemberAddedToThreadWithUser": (rows, e) => {
    const timeline = only(rows, "ChatUserEvents");
    assert.equal(timeline.partitionKey, e.data.recipientId);
    assert.equal(timeline["participantRawId"], e.data.memberAdded.memberId);
    assert.equal(timeline["addedByRawId"], e.data.addedBy);
    assert.equal(only(rows, "ChatParticipants")["member"], true);
  },
  "Microsoft.Communication.ChatMemberRemovedFromThreadWithUser": (rows) => {
    assert.equal(only(rows, "ChatParticipants")["member"], false);
    assert.equal(only(rows, "ChatParticipants")["displayName"], "John");
  },
  "Microsoft.Communication.ChatTypingIndicatorReceivedInThread": (rows) => {
    const timeline = only(rows, "ChatThreadEvents");
    assert.equal(timeline["messageType"], "Control/Typing");
    assert.equal(timeline.partitionKey, "{thread-id}");
    assert.equal(all(rows, "ChatMessages").length, 0, "typing indicators are not messages");
  },
  "Microsoft.Communication.ChatAzureBotCommandReceivedInThread": (rows) => {
    const timeline = only(rows, "ChatThreadEvents");
    assert.equal(timeline["messageType"], "Control/Command");
    assert.deepEqual(JSON.parse(String(timeline["metadata"])), { "microsoft.azure.communication.chat.bot.contenttype": "azurebotservice.command" });
  },
  "Microsoft.Communication.CallStarted": (rows) => {
    assert.equal(only(rows, "CallEvents").partitionKey, "{serverCallId}");
    const call = only(rows, "Calls");
    assert.equal(call["startedAt"], "2021-09-22T17:02:38.6905856Z");
    assert.equal(call["isRoomsCall"], true);
    assert.equal(call["roomId"], "{roomId}");
    assert.match(String(call["startedByRawId"]), ACS_USER);
  },
  "Microsoft.Communication.CallEnded": (rows) => {
    assert.equal(only(rows, "CallEvents")["durationOfCall"], 49.728617199999995);
    assert.equal(only(rows, "Calls")["endedAt"], "2021-09-22T17:03:12.6143005Z");
  },
  "Microsoft.Communication.CallParticipantAdded": (rows) => {
    const r = only(rows, "CallEvents");
    assert.equal(r["change"], "added");
    assert.equal(r["displayName"], "Sharif Edge");
    assert.equal(r["participantId"], "041e3b8a-1cce-4ebf-b587-131312c39410");
  },
  "Microsoft.Communication.CallParticipantRemoved": (rows, e) => {
    const r = only(rows, "CallEvents");
    assert.equal(r.partitionKey, e.data.serverCallId);
    assert.equal(r["change"], "removed");
    assert.equal(r["participantRawId"], e.data.user.communicationIdentifier.rawId);
  },
  "Microsoft.Communication.IncomingCall": (rows, e) => {
    const r = only(rows, "CallEvents");
    assert.equal(r.partitionKey, e.data.serverCallId);
    assert.equal(r["fromRawId"], e.data.from.rawId);
    assert.equal(r["toKind"], "communicationUser");
    assert.equal(r["callerDisplayName"], "John Doe");
  },
  "Microsoft.Communication.RecordingFileStatusUpdated": (rows, e) => {
    const r = only(rows, "CallEvents");
    assert.equal(r.partitionKey, "{server-call-id}"); // from the subject
    assert.equal(r["recordingId"], "{recording-id}");
    assert.equal(r["recordingDurationMs"], 6620);
    assert.deepEqual(JSON.parse(String(r["recordingChunks"])), e.data.recordingStorageInfo.recordingChunks);
  },
  "Microsoft.Communication.UserDisconnected": (rows, e) => {
    const r = only(rows, "UserDisconnects");
    assert.equal(r.partitionKey, e.data.userCommunicationIdentifier.rawId);
    assert.equal(r["disconnectedAt"], "2021-08-10T20:25:38.0000000Z");
    assert.equal(r.rowKey.split("|")[0], "797891897974619999999");
  },
  "Microsoft.CommunicationServices.SMSReceived": (rows) => {
    const sms = all(rows, "SmsMessages");
    assert.deepEqual(sms.map((r) => r.partitionKey).sort(), ["+5555551234", "+5555555555"]);
    for (const r of sms) {
      assert.equal(r["preview"], true);
      assert.equal(r["message"], "This is a message");
      assert.equal(r["occurredAt"], "2020-04-20T17:02:19.6069787Z"); // arrived as 2020-4-20T…
    }
  },
  "Microsoft.CommunicationServices.ChatReceived": (rows) => {
    const r = only(rows, "ChatUserEvents");
    assert.equal(r.partitionKey, "621e5550-001e-001b-66af-eeb76e000000");
    assert.equal(r["preview"], true);
    assert.equal(r["messageBody"], "This is a message.");
    assert.equal(r["occurredAt"], "2020-05-01T04:49:22.0000000Z"); // composedAt, epoch seconds
  },
};

test("every doc sample lands in its tables with the expected fields, and every row carries eventId, eventType and the raw event", async () => {
  const fixtures = loadFixtures();
  const covered = new Set<string>();
  for (const f of fixtures) {
    for (const e of f.events) {
      const family = specFor(f.type)?.family ?? "sms";
      const settings = testSettings();
      await ingestEvent(e, family, testWriter(settings));
      const ledger = await readLedger(settings);
      assert.equal(ledger.QuarantinedEvents.length, 0, `${f.seed}/${f.type}: nothing quarantined`);
      const plan = planEvent(e, family);
      assert.equal(plan.outcome, "stored");
      const rows: Rows = plan.writes.map((w) => {
        const row = ledger[w.table].find((r) => r.partitionKey === w.partitionKey && r.rowKey === w.rowKey);
        assert.ok(row, `${f.seed}/${f.type}: its ${w.table} row ${w.partitionKey}/${w.rowKey} exists`);
        assert.equal(row["eventId"], e["id"]);
        assert.equal(row["eventType"], f.type);
        if (w.kind === "append") assert.deepEqual(JSON.parse(String(row["rawEvent"])), e);
        return { ...row, table: w.table };
      });
      const stored = Object.values(ledger).reduce((n, t) => n + t.length, 0);
      assert.equal(stored, new Set(rows.map((r) => `${r.table}/${r.partitionKey}/${r.rowKey}`)).size, `${f.seed}/${f.type}: no other rows`);
      const expect = EXPECTATIONS[f.type];
      assert.ok(expect, `expectations for ${f.type}`);
      try {
        expect(rows, e);
      } catch (error) {
        (error as Error).message = `${f.seed}/${f.type}: ${(error as Error).message}`;
        throw error;
      }
      covered.add(f.type);
    }
  }
  // All 31 types the docs give samples for: 29 current ones and 2 preview ones.
  assert.equal(covered.size, 31);
});
