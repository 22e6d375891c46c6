import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";
import type { LoadedFunctionApp } from "../src/devhost/functionsHost";
import { contentHash } from "../src/eventContent";
import { runReplay, type ReplayOptions } from "../src/replay/replay";
import { fixture, loadAppWithPrefix, prefixedSettings, readLedger, type Row } from "./helpers";

/*
 * Identity conflicts: a second event with the same (source, id, type) and other content is kept as an
 * IdentityConflict quarantine row and changes no other row; the same event again, even re-printed by
 * the Functions host (dates and decimals), is a redelivery: through the function and through replay.
 */

const PREFIX = `Ident${process.pid}`;
let host: LoadedFunctionApp;

before(() => {
  host = loadAppWithPrefix(PREFIX);
});

type Event = Record<string, any>;
const settings = () => prefixedSettings(PREFIX);
const of = (rows: Row[], thread: string) => rows.filter((r) => String(r["threadId"] ?? r.partitionKey).includes(thread));

async function replay(options: ReplayOptions) {
  const err: string[] = [];
  const result = await runReplay({ quiet: true, settings: settings(), ...options }, { out: () => undefined, err: (l) => err.push(l) });
  return { result, err };
}

function replayFile(events: unknown[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "identity-")), "events.json");
  fs.writeFileSync(file, JSON.stringify(events));
  return file;
}

/** A message of its own thread: the thread id names the test, so each test reads only its rows. */
function message(thread: string, id: string, body: string, composeTime = "2021-02-20T01:07:10.064Z"): Event {
  const e = fixture("seed-002", "Microsoft.Communication.ChatMessageReceivedInThread") as Event;
  e.id = id;
  e.data = { ...e.data, threadId: `19:${thread}@thread.v2`, messageId: `${id}-m`, messageBody: body, composeTime };
  return e;
}

/** Delivers through the chat function; its first log line (stored or quarantined; a drift warning may follow). */
async function invoke(e: Event): Promise<string> {
  const outcome = await host.invoke("chatEvents", e);
  assert.equal(outcome.status, "succeeded", String(outcome.error));
  return outcome.logs[0]?.message ?? "";
}

/**
 * What the Functions host does to an event's JSON (../shared/FACTS.md, Newtonsoft's re-print): a
 * date-time string loses its trailing fraction zeros and has its offset converted to the host's
 * (UTC) time; numbers are doubles.
 */
function reprintedByHost(value: unknown): unknown {
  if (typeof value === "string") {
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
    if (!m) return value;
    const [, local, fraction = "", zone] = m;
    const utc = zone === "Z" ? `${local}` : new Date(`${local}${zone}`).toISOString().slice(0, 19);
    const trimmed = fraction.replace(/0+$/, "");
    return `${utc}${trimmed ? `.${trimmed}` : ""}${zone === "Z" ? "Z" : "+00:00"}`;
  }
  if (Array.isArray(value)) return value.map(reprintedByHost);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reprintedByHost(v)]));
  return value;
}

/** Event Grid's own text of one event, as a dead-letter blob holds it: 7-digit fractions, an offset, decimals as sent. */
function eventGridText(thread: string, id: string): string {
  const e = message(thread, id, "as sent");
  e.eventTime = "2021-02-20T01:07:10.5704590Z";
  e.data.composeTime = "2021-02-20T03:07:10.0640000+02:00";
  e.data.score = "SCORE";
  const text = JSON.stringify({ ...e, deadLetterReason: "MaxDeliveryAttemptsExceeded", deliveryAttempts: 30, lastDeliveryOutcome: "Probation", publishTime: "2026-01-05T07:12:44.1234567Z" });
  return text.replace('"SCORE"', "{\"ratio\":1.50,\"count\":1e2}");
}

test("the same event re-printed by the host and as Event Grid's dead-letter text hashes equal; other content does not", () => {
  const text = eventGridText("hash", "hash-1");
  const deadLetter = JSON.parse(text) as Event;
  const { deadLetterReason: _r, deliveryAttempts: _a, lastDeliveryOutcome: _o, publishTime: _p, ...delivered } = deadLetter;
  const fromHost = reprintedByHost(delivered) as Event;
  assert.equal(fromHost.data.composeTime, "2021-02-20T01:07:10.064+00:00"); // the re-print really differs
  assert.equal(fromHost.eventTime, "2021-02-20T01:07:10.570459Z");
  assert.notEqual(JSON.stringify(fromHost), text);
  assert.equal(contentHash(fromHost), contentHash(deadLetter));
  assert.equal(contentHash({ ...fromHost, data: { ...fromHost.data, composeTime: "2021-02-20T01:07:10.065Z" } }) === contentHash(deadLetter), false);
  assert.equal(contentHash({ ...fromHost, data: { ...fromHost.data, score: { ratio: 1.51, count: 100 } } }) === contentHash(deadLetter), false);
  assert.equal(contentHash({ ...fromHost, data: { ...fromHost.data, composeTime: "2021-02-20T01:07:10.064" } }) === contentHash(deadLetter), false, "a time without a zone is another value");
});

test("a function-stored event replayed from a dead-letter blob, and the other way round, is a redelivery, not a conflict", async () => {
  const connectionString = process.env["AZURITE_BLOB_CONNECTION_STRING"];
  assert.ok(connectionString, "run-tests sets AZURITE_BLOB_CONNECTION_STRING");
  const containerName = `identity${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(containerName);
  await container.create();
  const put = (name: string, body: string) => container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));

  // Function first, then the blob.
  const first = eventGridText("reprint", "reprint-1");
  const hostEvent = reprintedByHost(JSON.parse(first)) as Event;
  for (const field of ["deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "publishTime"]) delete hostEvent[field];
  assert.match(await invoke(hostEvent), /^stored .* event reprint-1: 2 rows \(0 already up to date\)$/);
  await put(`LEDGER-CHAT/2026/1/5/7/${randomUUID()}.json`, `[${first}]`);
  const fromBlob = await replay({ blob: { container: containerName, connectionString, prefix: "LEDGER-CHAT/" } });
  assert.deepEqual([fromBlob.result.stored, fromBlob.result.quarantined, fromBlob.result.failed], [1, 0, 0], fromBlob.err.join("\n"));

  // The blob first, then the function.
  const second = eventGridText("reprint", "reprint-2");
  await put(`LEDGER-CHAT2/2026/1/5/7/${randomUUID()}.json`, `[${second}]`);
  const early = await replay({ blob: { container: containerName, connectionString, prefix: "LEDGER-CHAT2/" } });
  assert.deepEqual([early.result.stored, early.result.quarantined], [1, 0]);
  const late = reprintedByHost(JSON.parse(second)) as Event;
  assert.match(await invoke(late), /^stored .* event reprint-2: 2 rows \(2 already up to date\)$/);

  const ledger = await readLedger(settings());
  assert.equal(ledger.QuarantinedEvents.filter((r) => String(r["eventId"]).startsWith("reprint-")).length, 0);
  const timeline = of(ledger.ChatThreadEvents, "reprint");
  assert.deepEqual(timeline.map((r) => r["eventId"]).sort(), ["reprint-1", "reprint-2"]);
  // rawEvent is the event as it was first handed over: the host's re-print, or the blob's text.
  const byId = (id: string) => JSON.parse(String(timeline.find((r) => r["eventId"] === id)?.["rawEvent"])) as Event;
  assert.equal(byId("reprint-1").data.composeTime, "2021-02-20T01:07:10.064+00:00");
  assert.equal(byId("reprint-2").data.composeTime, "2021-02-20T03:07:10.0640000+02:00");
});

test("a second event with the same source, id and type but other content: an IdentityConflict quarantine row, no other row changes", async () => {
  const original = message("conflict", "conflict-1", "the original");
  const forged = message("conflict", "conflict-1", "a different body");
  forged.data.metadata = { tag: "x" };
  assert.match(await invoke(original), /^stored /);
  const before = await readLedger(settings());

  const logs = await invoke(forged);
  assert.equal(logs, "quarantined Microsoft.Communication.ChatMessageReceivedInThread event conflict-1: IdentityConflict");
  const after = await readLedger(settings());
  assert.deepEqual(of(after.ChatMessages, "conflict"), of(before.ChatMessages, "conflict"), "the message's state is the original's");
  assert.deepEqual(of(after.ChatThreadEvents, "conflict"), of(before.ChatThreadEvents, "conflict"));
  const [row, ...more] = after.QuarantinedEvents.filter((r) => r["eventId"] === "conflict-1");
  assert.equal(more.length, 0);
  assert.equal(row?.["reasonCode"], "IdentityConflict");
  assert.equal(row?.["reason"], "Microsoft.Communication.ChatMessageReceivedInThread event conflict-1: another event with the same source, id and type is stored with other content (its ChatThreadEvents row); this one is kept here and changed no other row");
  assert.equal(row?.["receivedBy"], "chatEvents");
  assert.equal(row?.["contentHash"], contentHash(forged));
  // Both raw events are reachable: the new one here, the stored one under the keys it names.
  assert.equal(JSON.parse(String(row?.["rawEvent"])).data.messageBody, "a different body");
  const stored = after.ChatThreadEvents.find((r) => r.partitionKey === row?.["conflictPartitionKey"] && r.rowKey === row?.["conflictRowKey"]);
  assert.equal(row?.["conflictTable"], "ChatThreadEvents");
  assert.equal(JSON.parse(String(stored?.["rawEvent"])).data.messageBody, "the original");

  // Redeliveries of either change nothing.
  assert.equal(await invoke(forged), "quarantined Microsoft.Communication.ChatMessageReceivedInThread event conflict-1: IdentityConflict (already quarantined)");
  assert.match(await invoke(original), /^stored .* event conflict-1: 2 rows \(2 already up to date\)$/);
  assert.deepEqual(await readLedger(settings()), after);
  assert.doesNotMatch(host.logs.map((l) => l.message).join("\n"), /original|different body/);
});

test("the same id and type at another time files under other keys: both fact rows stay", async () => {
  const first = message("times", "times-1", "first", "2021-02-20T01:07:10Z");
  const second = message("times", "times-1", "second", "2021-02-20T01:08:10Z");
  second.data.messageId = first.data.messageId;
  await invoke(first);
  assert.match(await invoke(second), /^stored /);
  const ledger = await readLedger(settings());
  assert.deepEqual(of(ledger.ChatThreadEvents, "times").map((r) => r["messageBody"]).sort(), ["first", "second"]);
  assert.equal(ledger.QuarantinedEvents.filter((r) => r["eventId"] === "times-1").length, 0);
});

test("replay: a conflicting event meets the stored row in a transaction and within one input; only the first is stored", async () => {
  const stored = message("replayconflict", "rc-1", "stored by the function");
  await invoke(stored);
  const against = message("replayconflict", "rc-1", "replayed, other content");
  const neighbour = message("replayconflict", "rc-2", "a new event in the same partition");
  const a = message("replayconflict", "rc-3", "first in the input");
  const b = message("replayconflict", "rc-3", "second in the input, same identity");
  const { result, err } = await replay({ paths: [replayFile([against, neighbour, a, b, stored])] });
  assert.equal(result.failed, 0, err.join("\n"));
  assert.deepEqual([result.stored, result.quarantined, result.byReason["IdentityConflict"]], [3, 2, 2]);
  assert.equal(result.rows?.conflict, 2);
  assert.ok((result.rows?.presenceChecks ?? 0) >= 1, "the stored row was found by the transaction's presence check");
  const ledger = await readLedger(settings());
  const quarantined = ledger.QuarantinedEvents.filter((r) => String(r["eventId"]).startsWith("rc-"));
  assert.deepEqual(quarantined.map((r) => [r["eventId"], r["reasonCode"], r["receivedBy"]]).sort(), [
    ["rc-1", "IdentityConflict", "replay"],
    ["rc-3", "IdentityConflict", "replay"],
  ]);
  // Of the two new events that share an identity, the first in the input is stored.
  const bodies = of(ledger.ChatMessages, "replayconflict").map((r) => r["messageBody"]);
  assert.deepEqual(bodies.sort(), ["a new event in the same partition", "first in the input", "stored by the function"]);
  // Each stored message's state row is its own fact row's event, never the conflicting one's.
  for (const r of of(ledger.ChatMessages, "replayconflict")) {
    const fact = of(ledger.ChatThreadEvents, "replayconflict").find((t) => t["eventId"] === r["eventId"]);
    assert.equal(fact?.["messageBody"], r["messageBody"]);
  }
  // A re-run changes nothing.
  const again = await replay({ paths: [replayFile([against, neighbour, a, b, stored])] });
  assert.deepEqual([again.result.stored, again.result.quarantined], [3, 2]);
  assert.deepEqual(await readLedger(settings()), ledger);
});

test("replayed from the quarantine, an identity conflict still conflicts: its row stays, unresolved, and no other row changes", async () => {
  const original = message("requarantine", "rq-1", "the original");
  const forged = message("requarantine", "rq-1", "forged");
  await invoke(original);
  assert.match(await invoke(forged), /IdentityConflict$/);
  const before = await readLedger(settings());
  const { result, err } = await replay({ fromQuarantine: { types: ["Microsoft.Communication.ChatMessageReceivedInThread"] }, now: () => new Date("2026-12-01T12:00:00Z") });
  assert.equal(result.failed, 0, err.join("\n"));
  assert.equal(result.stored, 0);
  assert.equal(result.byReason["IdentityConflict"], result.quarantined);
  const after = await readLedger(settings());
  const row = after.QuarantinedEvents.find((r) => r["eventId"] === "rq-1");
  assert.equal(row?.["reasonCode"], "IdentityConflict");
  assert.equal(row?.["resolvedAt"], undefined);
  assert.equal(row?.["lastReplayedAt"], "2026-12-01T12:00:00.000Z");
  assert.deepEqual(of(after.ChatMessages, "requarantine"), of(before.ChatMessages, "requarantine"));
  assert.deepEqual(of(after.ChatThreadEvents, "requarantine"), of(before.ChatThreadEvents, "requarantine"));
});
