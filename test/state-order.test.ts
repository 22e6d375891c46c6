import { test, before } from "node:test";
import assert from "node:assert/strict";
import type { LoadedFunctionApp } from "../src/devhost/functionsHost";
import { fixture, inParallel, loadAppWithPrefix, prefixedSettings, readTable, type Row } from "./helpers";

/*
 * Current-state rows under tolerant schemas, through the chat function as the host invokes it, into
 * Azurite. Each case is two or three events, delivered in every order, and in every order followed by
 * a redelivery of each (in reverse); every run must end in the same whole state (every property of
 * every ChatMessages, ChatThreads and ChatParticipants row of its thread), and that state is checked.
 */

const PREFIX = `State${process.pid}`;
let host: LoadedFunctionApp;

before(() => {
  host = loadAppWithPrefix(PREFIX);
});

type Event = Record<string, any>;
const STATE_TABLES = ["ChatMessages", "ChatThreads", "ChatParticipants"] as const;
const settings = () => prefixedSettings(PREFIX);
let runs = 0;

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** One run: the events under a thread (and event ids) of the run's own, delivered in this order. */
async function deliver(order: readonly Event[]): Promise<Record<string, Row[]>> {
  const run = `run${runs++}x`;
  for (const e of order) {
    const copy = structuredClone(e);
    copy.id = `${String(e.id)}-${run}`;
    copy.data.threadId = `19:${run}@thread.v2`;
    const outcome = await host.invoke("chatEvents", copy);
    assert.equal(outcome.status, "succeeded", String(outcome.error));
    assert.match(outcome.logs.map((l) => l.message).join("\n"), /^stored /);
  }
  const state: Record<string, Row[]> = {};
  for (const table of STATE_TABLES) {
    const rows = (await readTable(settings(), table)).filter((r) => r.partitionKey === `19:${run}@thread.v2`);
    // The run's own thread and ids become one placeholder, so runs compare property by property.
    state[table] = JSON.parse(JSON.stringify(rows).replaceAll(run, "RUN")) as Row[];
    state[table].sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1));
  }
  return state;
}

/** Every order, and every order with each event delivered again; all must end in one state, returned. */
async function inEveryOrder(events: readonly Event[]): Promise<Record<string, Row[]>> {
  const orders = permutations(events).flatMap((order) => [order, [...order, ...[...order].reverse()]]);
  const states = await inParallel(orders, 4, (order) => deliver(order));
  const first = states[0] as Record<string, Row[]>;
  states.forEach((state, i) => {
    const order = (orders[i] as Event[]).map((e) => `${String(e.eventType).replace("Microsoft.Communication.", "")}/${String(e.data.version)}`).join(", ");
    assert.deepEqual(state, first, `delivered as ${order}`);
  });
  return first;
}

function only(state: Record<string, Row[]>, table: (typeof STATE_TABLES)[number]): Row {
  assert.equal(state[table]?.length, 1, `${table}: ${JSON.stringify(state[table])}`);
  return state[table]?.[0] as Row;
}

function message(type: "Received" | "Edited" | "Deleted", version: number | string, data: Record<string, unknown> = {}, level: "InThread" | "" = "InThread"): Event {
  const e = fixture("seed-003", `Microsoft.Communication.ChatMessage${type}${level}`) as Event;
  e.id = `msg-${type}-${level || "user"}`;
  const { metadata: _m, senderDisplayName: _s, ...rest } = e.data;
  e.data = { ...rest, messageId: "m-1", composeTime: "2021-02-20T00:58:00Z", version, ...data };
  return e;
}

function participant(type: "ChatThreadParticipantAdded" | "ChatThreadParticipantRemoved" | "ChatParticipantAddedToThreadWithUser", version: number, displayName: string | undefined): Event {
  const e = fixture("seed-002", `Microsoft.Communication.${type}`) as Event;
  e.id = `participant-${type}`;
  const who = type === "ChatThreadParticipantRemoved" ? "participantRemoved" : "participantAdded";
  const person = { participantCommunicationIdentifier: { rawId: "8:acs:bob", communicationUser: { id: "8:acs:bob" } }, ...(displayName === undefined ? {} : { displayName }) };
  const by = { rawId: "8:acs:alice", communicationUser: { id: "8:acs:alice" } };
  const byField = type === "ChatThreadParticipantRemoved" ? "removedByCommunicationIdentifier" : "addedByCommunicationIdentifier";
  const { [who]: _p, addedByCommunicationIdentifier: _a, removedByCommunicationIdentifier: _r, ...rest } = e.data;
  e.data = { ...rest, [who]: person, [byField]: by, version, time: "2021-02-20T00:54:42Z" };
  return e;
}

test("absent is not cleared: an edit without metadata or sender name keeps the message's", async () => {
  const received = message("Received", 100, { messageBody: "first", metadata: { tag: "a" }, senderDisplayName: "Bob" });
  const edited = message("Edited", 200, { messageBody: "second", editTime: "2021-02-20T01:00:00Z" });
  const row = only(await inEveryOrder([received, edited]), "ChatMessages");
  assert.equal(row["messageBody"], "second");
  assert.equal(row["metadata"], '{"tag":"a"}');
  assert.equal(row["senderDisplayName"], "Bob");
  assert.equal(row["editTime"], "2021-02-20T01:00:00.0000000Z");
  assert.equal(row["eventId"], "msg-Edited-InThread-RUN");
});

test("absent is not cleared: a properties update without a topic keeps the thread's topic", async () => {
  const created = fixture("seed-002", "Microsoft.Communication.ChatThreadCreated") as Event;
  created.data = { ...created.data, version: 100, properties: { topic: "Plans" }, participants: [] };
  const updated = fixture("seed-002", "Microsoft.Communication.ChatThreadPropertiesUpdated") as Event;
  updated.data = { ...updated.data, version: 200, properties: { colour: "blue" } };
  const row = only(await inEveryOrder([created, updated]), "ChatThreads");
  assert.equal(row["topic"], "Plans");
  assert.equal(row["properties"], '{"colour":"blue"}');
  assert.equal(row["editTime"], "2021-02-20T00:04:07.7152073Z");
  assert.equal(row["threadId"], "19:RUN@thread.v2");
});

test("null removes: after a delete, an older receive or edit arriving late revives neither body nor metadata", async () => {
  const received = message("Received", 100, { messageBody: "first", metadata: { tag: "a" } });
  const edited = message("Edited", 200, { messageBody: "second", editTime: "2021-02-20T01:00:00Z" });
  const deleted = message("Deleted", 300, { deleteTime: "2021-02-20T01:05:00Z" });
  const row = only(await inEveryOrder([received, edited, deleted]), "ChatMessages");
  assert.equal(row["deleted"], true);
  assert.equal(row["messageBody"], undefined);
  assert.equal(row["metadata"], undefined);
  assert.equal(row["editTime"], undefined);
  assert.equal(row["deleteTime"], "2021-02-20T01:05:00.0000000Z");
  assert.match(String(row["v_message"]), /^00000000000000000300\|msg-Deleted-InThread-RUN\|[0-9a-f]{10}$/);
});

test("copies of one change combine: a display name one copy carries survives the copies without it", async () => {
  const thread = participant("ChatThreadParticipantAdded", 500, "Bob");
  const copy = participant("ChatParticipantAddedToThreadWithUser", 500, undefined);
  const member = fixture("seed-002", "Microsoft.Communication.ChatMemberAddedToThreadWithUser") as Event;
  member.id = "participant-member";
  member.data = { ...member.data, version: 500, addedBy: "8:acs:alice", memberAdded: { memberId: "8:acs:bob" }, time: "2021-02-20T00:54:42Z" };
  const row = only(await inEveryOrder([thread, copy, member]), "ChatParticipants");
  assert.equal(row["displayName"], "Bob");
  assert.equal(row["member"], true);
  assert.equal(row["participantRawId"], "8:acs:bob");
});

test("copies of one change combine: the thread-level message and a recipient's copy keep what either carries", async () => {
  const inThread = message("Received", 100, { messageBody: "hi", senderDisplayName: "Bob" });
  const copy = message("Received", 100, { messageBody: "hi", metadata: { tag: "a" } }, "");
  const row = only(await inEveryOrder([inThread, copy]), "ChatMessages");
  assert.equal(row["senderDisplayName"], "Bob");
  assert.equal(row["metadata"], '{"tag":"a"}');
  assert.equal(row["messageBody"], "hi");
});

test("identity in the tie-break: an add and a remove sharing id and version end the same in every order", async () => {
  const added = participant("ChatThreadParticipantAdded", 700, "Bob");
  const removed = participant("ChatThreadParticipantRemoved", 700, "Bob");
  removed.id = added.id;
  const row = only(await inEveryOrder([added, removed]), "ChatParticipants");
  assert.equal(typeof row["member"], "boolean");
  assert.equal(row["displayName"], "Bob");
});

test("identity in the tie-break: an edit and a delete sharing id and version end the same in every order", async () => {
  const edited = message("Edited", 300, { messageBody: "second", editTime: "2021-02-20T01:00:00Z" });
  const deleted = message("Deleted", 300, { deleteTime: "2021-02-20T01:05:00Z" });
  deleted.id = edited.id;
  const row = only(await inEveryOrder([edited, deleted]), "ChatMessages");
  // One of the two wins every field both carry: never an edited body on a deleted message.
  assert.equal(row["deleted"] === true, row["messageBody"] === undefined);
});

test("versions compare exactly: 1e21 is above 9e20, leading zeros and spelling do not matter, nor 23 digits", async () => {
  const big = message("Edited", 1e21, { messageBody: "1e21", editTime: "2021-02-20T01:00:00Z" });
  const below = message("Edited", "900000000000000000000", { messageBody: "9e20", editTime: "2021-02-20T01:00:00Z" }, "");
  const padded = message("Received", "000000000000000000000000000000007", { messageBody: "7" });
  const state = await inEveryOrder([big, below, padded]);
  assert.equal(only(state, "ChatMessages")["messageBody"], "1e21");
  assert.match(String(only(state, "ChatMessages")["v_message"]), new RegExp(`^:0000022${"1".padEnd(22, "0")}\\|msg-Edited-InThread-RUN\\|[0-9a-f]{10}$`));
  const longer = message("Edited", "90071992547409930000001", { messageBody: "newer", editTime: "2021-02-20T01:00:00Z" });
  const shorter = message("Edited", "90071992547409930000000", { messageBody: "older", editTime: "2021-02-20T01:00:00Z" }, "");
  assert.equal(only(await inEveryOrder([longer, shorter]), "ChatMessages")["messageBody"], "newer");
  const asNumber = message("Edited", 100, { messageBody: "number", editTime: "2021-02-20T01:00:00Z" });
  const asText = message("Edited", "000100", { messageBody: "text", editTime: "2021-02-20T01:00:00Z" }, "");
  const tie = only(await inEveryOrder([asNumber, asText]), "ChatMessages");
  assert.match(String(tie["v_message"]), /^00000000000000000100\|/);
});
