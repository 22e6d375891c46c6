import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { functionNameOf, specFor, type TableName } from "../src/catalog";
import type { LoadedFunctionApp } from "../src/devhost/functionsHost";
import { normalizePhoneNumber, normalizeRawId } from "../src/identifiers";
import { planEvent } from "../src/ingest";
import { buildKey } from "../src/ledger/keys";
import { loadAppWithPrefix, prefixedSettings, PROJECT_ROOT, readLedger, type Row } from "./helpers";

/*
 * Every payload Microsoft publishes (test/corpus, see its README) delivered through the compiled app
 * as the Functions host delivers it, then field-level checks of the rows it produced. Each delivery
 * gets an id of its own (`<id>~<file>`): the sources reuse ids, and identity is (source, id). They also
 * reuse thread and call ids, so one current-state row combines many payloads; what each payload
 * contributes to its state rows is checked on the facets it plans (the same pure step the host runs).
 */

interface CorpusEntry {
  readonly name: string; // "<event type>/<file>"
  readonly provenance: { readonly repository: string; readonly path: string; readonly commit: string; readonly extraction: string };
  readonly event: Record<string, unknown>;
}

const CORPUS = path.join(PROJECT_ROOT, "test", "corpus");

function loadCorpus(): CorpusEntry[] {
  return fs
    .readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      fs
        .readdirSync(path.join(CORPUS, d.name))
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => ({ name: `${d.name}/${f}`, ...(JSON.parse(fs.readFileSync(path.join(CORPUS, d.name, f), "utf8")) as Omit<CorpusEntry, "name">) })),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The only payloads that may be quarantined, each with the reason it gets and why that is right.
 * Everything else in the corpus must be stored.
 */
const QUARANTINED: Record<string, { readonly code: string; readonly family: "chat" | "calling"; readonly why: string }> = {
  "Microsoft.Communication.ChatAzureBotCommand/spec-ce-chat_azure_bot_command.json": {
    code: "UnknownEventType",
    family: "chat",
    // The type appears in this one spec example only: the spec's own event list, the SDKs' system-event
    // maps and the docs name ChatAzureBotCommandReceivedInThread. Event Grid cannot deliver it (a
    // subscription filter naming it is rejected), so it stays out of the catalog.
    why: "not an Event Grid event type",
  },
  "Microsoft.Communication.RecordingFileStatusUpdated/go-test-recording_file_status_updated.json": {
    code: "InvalidEnvelope",
    family: "calling",
    // A hand-written SDK test event without `topic`: the source is half of an event's identity, and
    // Event Grid always sets it on delivery.
    why: "no topic",
  },
};

const CALLING = /^Microsoft\.Communication\.(Call|IncomingCall|Recording)/;
function functionFor(entry: CorpusEntry): string {
  const type = String(entry.event["eventType"] ?? entry.event["type"]);
  const spec = specFor(type);
  if (spec) return functionNameOf(spec.family);
  const listed = QUARANTINED[entry.name];
  return functionNameOf(listed?.family ?? (CALLING.test(type) ? "calling" : "chat"));
}

const deliveredId = (entry: CorpusEntry) => `${String(entry.event["id"])}~${path.basename(entry.name, ".json")}`;

// ---- the oracle: what a payload says, whichever way it spells it ----------------------------------

type Data = Record<string, any>;
/** The first of `names` that `d` carries (not undefined, not null). */
function pick(d: Data | undefined, ...names: string[]): any {
  for (const n of names) if (d?.[n] !== undefined && d[n] !== null) return d[n];
  return undefined;
}
/** A raw id from a flat identifier, or one wrapped in `communicationIdentifier` (any casing). */
function rawIdOf(x: Data | undefined): string | undefined {
  const raw = x?.["rawId"] ?? pick(x, "communicationIdentifier", "communicationidentifier")?.rawId;
  return raw === undefined ? undefined : normalizeRawId(raw).rawId;
}
const json = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));
/** Only the defined entries: a payload that lacks a field expects the row to lack it too. */
function defined(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

interface Expected {
  readonly table: TableName;
  /** Fact rows are found by the delivered event id; state rows by their keys. */
  readonly partitionKey?: string;
  readonly rowKey?: string;
  readonly props: Record<string, unknown>;
  readonly absent?: readonly string[];
}

const userLevel = (d: Data) => d["recipientCommunicationIdentifier"] !== undefined || d["recipientId"] !== undefined;
const chatTimeline = (d: Data): TableName => (userLevel(d) ? "ChatUserEvents" : "ChatThreadEvents");

function chatMessage(d: Data, change: string | undefined): Expected[] {
  const props = defined({
    threadId: d["threadId"],
    messageId: d["messageId"],
    change,
    messageType: d["type"],
    messageBody: d["messageBody"],
    senderRawId: rawIdOf(d["senderCommunicationIdentifier"]),
    senderDisplayName: d["senderDisplayName"],
    sequenceId: d["sequenceId"],
    metadata: json(d["metadata"]),
  });
  const state: Expected[] =
    change === undefined || d["messageId"] === undefined
      ? []
      : [{ table: "ChatMessages", partitionKey: d["threadId"], rowKey: d["messageId"], props: { threadId: d["threadId"], messageId: d["messageId"] } }];
  return [{ table: chatTimeline(d), props }, ...state];
}

function chatThread(d: Data, by: string, extra: Record<string, unknown>, state: Record<string, unknown>): Expected[] {
  const byRawId = rawIdOf(d[`${by}CommunicationIdentifier`]) ?? (d[by] === undefined ? undefined : normalizeRawId(d[by]).rawId);
  return [
    { table: chatTimeline(d), props: defined({ threadId: d["threadId"], [`${by}RawId`]: byRawId, ...extra }) },
    { table: "ChatThreads", partitionKey: d["threadId"], rowKey: "thread", props: defined({ threadId: d["threadId"], ...state }) },
  ];
}

function chatParticipant(d: Data, who: string, by: string, member: boolean): Expected[] {
  const p = d[who] ?? {};
  const rawId = rawIdOf(p["participantCommunicationIdentifier"]);
  return [
    { table: chatTimeline(d), props: defined({ threadId: d["threadId"], participantRawId: rawId, displayName: p["displayName"], [`${by}RawId`]: rawIdOf(d[`${by}CommunicationIdentifier`]), participantMetadata: json(p["metadata"]) }) },
    { table: "ChatParticipants", partitionKey: d["threadId"], rowKey: rawId, props: defined({ participantRawId: rawId }) },
  ];
}

/** The deprecated member events: plain raw-id strings. */
function chatMember(d: Data, who: string, by: string): Expected[] {
  const rawId = normalizeRawId(d[who]?.memberId).rawId;
  return [
    { table: "ChatUserEvents", props: defined({ threadId: d["threadId"], participantRawId: rawId, displayName: d[who]?.displayName, [`${by}RawId`]: d[by] === undefined ? undefined : normalizeRawId(d[by]).rawId }) },
    { table: "ChatParticipants", partitionKey: d["threadId"], rowKey: rawId, props: { participantRawId: rawId, threadId: d["threadId"] } },
  ];
}

function callFacts(d: Data): Record<string, unknown> {
  const startedBy = d["startedBy"];
  return defined({
    serverCallId: d["serverCallId"],
    startedByRawId: rawIdOf(startedBy),
    startedByRole: startedBy?.["role"],
    groupId: d["group"]?.id,
    roomId: d["room"]?.id,
    correlationId: d["correlationId"],
    isTwoParty: d["isTwoParty"] ?? undefined,
    isRoomsCall: d["isRoomsCall"] ?? undefined,
  });
}

function callState(d: Data, props: Record<string, unknown>): Expected {
  const facts = callFacts(d);
  return { table: "Calls", partitionKey: d["serverCallId"], rowKey: "call", props: defined({ ...facts, ...props }) };
}

function callParticipant(d: Data, change: string): Expected[] {
  const user = d["user"];
  return [
    {
      table: "CallEvents",
      props: defined({
        ...callFacts(d),
        change,
        participantRawId: rawIdOf(user),
        participantRole: user?.["role"],
        displayName: d["displayName"],
        participantId: d["participantId"],
        userAgent: pick(d, "userAgent", "endpointType"),
        removedReasonCode: d["reason"]?.code,
      }),
    },
  ];
}

const smsFrom = (d: Data) => normalizePhoneNumber(pick(d, "from", "From"));
const smsTo = (d: Data) => normalizePhoneNumber(pick(d, "to", "To"));

const EXPECTED: Record<string, (d: Data, e: Record<string, any>) => Expected[]> = {
  "Microsoft.Communication.SMSReceived": (d) => {
    const props = defined({ messageId: pick(d, "messageId", "MessageId"), from: smsFrom(d), to: smsTo(d), direction: "inbound", message: pick(d, "message", "Message"), segmentCount: pick(d, "segmentCount", "SegmentCount") });
    return [
      { table: "SmsMessages", partitionKey: smsFrom(d), props: { ...props, numberRole: "from" } },
      { table: "SmsMessages", partitionKey: smsTo(d), props: { ...props, numberRole: "to" } },
    ];
  },
  "Microsoft.Communication.SMSDeliveryReportReceived": (d) => {
    const attempts = pick(d, "deliveryAttempts", "DeliveryAttempts") as Data[] | undefined;
    const props = defined({
      messageId: pick(d, "messageId", "MessageId"),
      from: smsFrom(d),
      to: smsTo(d),
      deliveryStatus: pick(d, "deliveryStatus", "DeliveryStatus"),
      deliveryStatusDetails: pick(d, "deliveryStatusDetails", "DeliveryStatusDetails"),
      tag: pick(d, "tag", "Tag"),
      deliveryAttempts: json(attempts?.map((a) => defined({ timestamp: pick(a, "timestamp", "Timestamp"), segmentsSucceeded: pick(a, "segmentsSucceeded", "SegmentsSucceeded"), segmentsFailed: pick(a, "segmentsFailed", "SegmentsFailed") }))),
    });
    return [
      { table: "SmsDeliveryReports", partitionKey: props["messageId"] as string, props },
      { table: "SmsMessages", partitionKey: smsFrom(d), props: { ...props, direction: "outbound", numberRole: "from" } },
    ];
  },
  "Microsoft.Communication.ChatMessageReceived": (d) => chatMessage(d, "received"),
  "Microsoft.Communication.ChatMessageReceivedInThread": (d) => chatMessage(d, "received"),
  "Microsoft.Communication.ChatMessageEdited": (d) => chatMessage(d, "edited"),
  "Microsoft.Communication.ChatMessageEditedInThread": (d) => chatMessage(d, "edited"),
  "Microsoft.Communication.ChatMessageDeleted": (d) => chatMessage(d, "deleted"),
  "Microsoft.Communication.ChatMessageDeletedInThread": (d) => chatMessage(d, "deleted"),
  "Microsoft.Communication.ChatTypingIndicatorReceivedInThread": (d) => chatMessage(d, undefined),
  "Microsoft.Communication.ChatAzureBotCommandReceivedInThread": (d) => chatMessage(d, undefined),
  "Microsoft.Communication.ChatThreadCreated": (d) => chatThread(d, "createdBy", { topic: d["properties"]?.topic, retentionPolicy: json(d["retentionPolicy"]), threadMetadata: json(d["metadata"]) }, { topic: d["properties"]?.topic, retentionPolicy: json(d["retentionPolicy"]), threadMetadata: json(d["metadata"]) }),
  "Microsoft.Communication.ChatThreadCreatedWithUser": (d) => chatThread(d, "createdBy", { topic: d["properties"]?.topic, threadMetadata: json(d["metadata"]) }, { topic: d["properties"]?.topic, threadMetadata: json(d["metadata"]) }),
  "Microsoft.Communication.ChatThreadPropertiesUpdated": (d) => chatThread(d, "editedBy", { topic: d["properties"]?.topic, threadMetadata: json(d["metadata"]) }, { topic: d["properties"]?.topic, threadMetadata: json(d["metadata"]) }),
  "Microsoft.Communication.ChatThreadPropertiesUpdatedPerUser": (d) => chatThread(d, "editedBy", { topic: d["properties"]?.topic, threadMetadata: json(d["metadata"]) }, { topic: d["properties"]?.topic, threadMetadata: json(d["metadata"]) }),
  "Microsoft.Communication.ChatThreadDeleted": (d) => chatThread(d, "deletedBy", { deleteReason: d["reason"] }, { deleted: true, deleteReason: d["reason"] }),
  "Microsoft.Communication.ChatThreadWithUserDeleted": (d) => chatThread(d, "deletedBy", { deleteReason: d["reason"] }, { deleted: true }),
  "Microsoft.Communication.ChatThreadParticipantAdded": (d) => chatParticipant(d, "participantAdded", "addedBy", true),
  "Microsoft.Communication.ChatThreadParticipantRemoved": (d) => chatParticipant(d, "participantRemoved", "removedBy", false),
  "Microsoft.Communication.ChatParticipantAddedToThreadWithUser": (d) => chatParticipant(d, "participantAdded", "addedBy", true),
  "Microsoft.Communication.ChatParticipantRemovedFromThreadWithUser": (d) => chatParticipant(d, "participantRemoved", "removedBy", false),
  "Microsoft.Communication.ChatMemberAddedToThreadWithUser": (d) => chatMember(d, "memberAdded", "addedBy"),
  "Microsoft.Communication.ChatMemberRemovedFromThreadWithUser": (d) => chatMember(d, "memberRemoved", "removedBy"),
  "Microsoft.Communication.CallStarted": (d) => [{ table: "CallEvents", props: callFacts(d) }, callState(d, {})],
  "Microsoft.Communication.CallEnded": (d) => {
    const ended = defined({
      durationOfCall: pick(d, "callDurationInSeconds", "durationOfCall"),
      endedByRawId: rawIdOf(d["endedBy"]),
      endedByType: d["endedBy"]?.type,
      endedByName: d["endedBy"]?.name,
      endReasonCode: d["reason"]?.code,
      endReasonSubCode: d["reason"]?.subCode,
      endReasonPhrase: d["reason"]?.phrase,
    });
    return [{ table: "CallEvents", props: { ...callFacts(d), ...ended } }, callState(d, ended)];
  },
  "Microsoft.Communication.CallParticipantAdded": (d) => callParticipant(d, "added"),
  "Microsoft.Communication.CallParticipantRemoved": (d) => callParticipant(d, "removed"),
  "Microsoft.Communication.IncomingCall": (d) => [
    {
      table: "CallEvents",
      props: defined({
        serverCallId: d["serverCallId"],
        fromRawId: rawIdOf(d["from"]),
        toRawId: rawIdOf(d["to"]),
        callerDisplayName: d["callerDisplayName"],
        correlationId: d["correlationId"],
        onBehalfOf: d["onBehalfOf"],
        onBehalfOfCalleeRawId: rawIdOf(d["onBehalfOfCallee"] ?? d["customContext"]?.onBehalfOfCallee),
        sipHeaders: json(d["customContext"]?.sipHeaders),
        voipHeaders: json(d["customContext"]?.voipHeaders),
        incomingCallContext: d["incomingCallContext"],
      }),
    },
  ],
  "Microsoft.Communication.RecordingFileStatusUpdated": (d, e) => {
    // The corpus has the old subject form only: /recording/call/{serverCallId}/recordingId/{recordingId}.
    const [, serverCallId, recordingId] = /^\/recording\/call\/(.+)\/recordingId\/(.+)$/.exec(String(e["subject"])) ?? [];
    const chunks = d["recordingStorageInfo"]?.recordingChunks as Data[] | undefined;
    return [
      {
        table: "CallEvents",
        partitionKey: serverCallId,
        props: defined({
          serverCallId,
          recordingId,
          sessionEndReason: d["sessionEndReason"],
          recordingDurationMs: d["recordingDurationMs"],
          recordingContentType: d["recordingContentType"],
          recordingChannelType: d["recordingChannelType"],
          recordingFormatType: d["recordingFormatType"],
          recordingChunks: json(chunks),
          chunkCount: chunks?.length,
          chunk0ContentLocation: chunks?.[0]?.["contentLocation"],
          chunk0MetadataLocation: chunks?.[0]?.["metadataLocation"],
          chunk0DeleteLocation: chunks?.[0]?.["deleteLocation"],
        }),
      },
    ];
  },
  "Microsoft.Communication.UserDisconnected": (d) => {
    const rawId = rawIdOf(d["userCommunicationIdentifier"]);
    return [{ table: "UserDisconnects", partitionKey: rawId, props: defined({ userRawId: rawId }) }];
  },
};

function factRows(rows: Row[], eventId: string, partitionKey: string | undefined): Row[] {
  return rows.filter((r) => r["eventId"] === eventId && (partitionKey === undefined || r.partitionKey === partitionKey));
}

/** The properties the payload's facets set on one state row, all facets together. */
function plannedState(entry: CorpusEntry, want: Expected): Array<Record<string, unknown>> {
  const plan = planEvent({ ...entry.event, id: deliveredId(entry) }, specFor(String(entry.event["eventType"] ?? entry.event["type"]))?.family ?? "any");
  const pk = buildKey([want.partitionKey ?? ""]);
  const rk = buildKey([want.rowKey ?? ""]);
  return plan.writes.flatMap((w) => (w.kind === "state" && w.table === want.table && w.partitionKey === pk && w.rowKey === rk ? [Object.assign({}, ...w.facets.map((f) => f.props)) as Record<string, unknown>] : []));
}

// ---- the test -------------------------------------------------------------------------------------

const PREFIX = `Corpus${process.pid}`;
let host: LoadedFunctionApp;
const corpus = loadCorpus();

before(() => {
  host = loadAppWithPrefix(PREFIX);
});

test("the corpus holds payloads of every family, each with its provenance", () => {
  assert.ok(corpus.length >= 120, `${corpus.length} payloads`);
  for (const entry of corpus) {
    assert.match(entry.provenance.repository, /^(Azure|MicrosoftDocs)\/[\w.-]+$/, entry.name);
    assert.match(entry.provenance.commit, /^[0-9a-f]{40}$/, entry.name);
    assert.ok(entry.provenance.path.length > 0 && entry.provenance.extraction.length > 0, entry.name);
    assert.equal(entry.name.split("/")[0], entry.event["eventType"] ?? entry.event["type"], `${entry.name} sits under its event type`);
  }
  const families = new Set(corpus.map((e) => specFor(String(e.event["eventType"] ?? e.event["type"]))?.family).filter(Boolean));
  assert.deepEqual([...families].sort(), ["calling", "chat", "presence", "sms"]);
  for (const name of Object.keys(QUARANTINED)) assert.ok(corpus.some((e) => e.name === name), `quarantine list entry ${name} is in the corpus`);
});

test("every corpus payload delivered through its function is stored with its fields, or quarantined only as listed", async () => {
  const outcomes = new Map<string, string>();
  for (const entry of corpus) {
    const event = { ...entry.event, id: deliveredId(entry) };
    const outcome = await host.invoke(functionFor(entry), event);
    assert.equal(outcome.status, "succeeded", `${entry.name}: ${String(outcome.error)}`);
    outcomes.set(entry.name, outcome.logs.find((l) => l.category === "user")?.message ?? "");
  }
  const ledger = await readLedger(prefixedSettings(PREFIX));
  const failures: string[] = [];
  for (const entry of corpus) {
    const id = deliveredId(entry);
    const log = outcomes.get(entry.name) ?? "";
    const listed = QUARANTINED[entry.name];
    if (listed) {
      const row = ledger.QuarantinedEvents.find((r) => r["eventId"] === id || String(r["rawEvent"]).includes(id));
      if (row?.["reasonCode"] !== listed.code) failures.push(`${entry.name}: expected quarantine ${listed.code}, got ${String(row?.["reasonCode"])} (${log})`);
      continue;
    }
    if (!log.startsWith("stored ")) {
      const row = ledger.QuarantinedEvents.find((r) => r["eventId"] === id);
      failures.push(`${entry.name}: ${String(row?.["reason"] ?? log)}`);
      continue;
    }
    const type = String(entry.event["eventType"] ?? entry.event["type"]);
    const expectations = EXPECTED[type];
    if (!expectations) {
      failures.push(`${entry.name}: no expectations for ${type}`);
      continue;
    }
    for (const want of expectations((entry.event["data"] ?? {}) as Data, entry.event)) {
      const found = want.rowKey === undefined ? factRows(ledger[want.table], id, want.partitionKey) : plannedState(entry, want);
      if (found.length === 0) {
        failures.push(`${entry.name}: no ${want.table} row${want.rowKey === undefined ? "" : ` ${want.partitionKey}/${want.rowKey}`}`);
        continue;
      }
      for (const [k, v] of Object.entries(want.props)) {
        if (!found.some((r) => r[k] === v)) failures.push(`${entry.name}: ${want.table}.${k} is ${JSON.stringify(found[0]?.[k])}, expected ${JSON.stringify(v)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});
