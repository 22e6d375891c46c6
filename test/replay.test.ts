import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import type { TableName } from "../src/catalog";
import { azuriteConnectionString, type LedgerSettings } from "../src/config";
import { ingestEvent, planEvent } from "../src/ingest";
import { createTableClient } from "../src/ledger/tables";
import type { PreparedAppend } from "../src/ledger/writer";
import { BatchWriter, Progress, readEvents, runReplay, Tally, type ReadItem, type ReplayIO, type ReplayOptions } from "../src/replay";
import { parseReplayArgs } from "../src/cli/replay";
import { parseTimestamp } from "../src/time";
import { FIXTURES, fixture, loadFixtures, PROJECT_ROOT, readLedger, readTable, runScript, testSettings, testWriter, type Row } from "./helpers";

/*
 * The replay: files (Event Grid arrays, CloudEvents batches, NDJSON, stdin), a dead-letter container
 * in Azurite's blob service, and the QuarantinedEvents table, through the functions' pipeline into
 * Azurite; transactions and their fallback; re-runs; dry runs; the command line; flat memory.
 */

const CLI = path.join(PROJECT_ROOT, "dist", "src", "cli", "replay.js");
const SMS_RECEIVED = "Microsoft.Communication.SMSReceived";
const USER_DISCONNECTED = "Microsoft.Communication.UserDisconnected";

interface Captured {
  readonly out: string[];
  readonly err: string[];
  readonly io: ReplayIO;
}

function capture(progress?: ReplayIO["progress"]): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l), ...(progress ? { progress } : {}) } };
}

async function replay(options: ReplayOptions) {
  const c = capture();
  const result = await runReplay({ quiet: true, ...options }, c.io);
  return { result, out: c.out, err: c.err };
}

const tmpDirs: string[] = [];
after(() => tmpDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-test-"));
  tmpDirs.push(dir);
  return dir;
}

/** Every valid doc sample, in the order a directory walk of the fixtures reads them. */
function fixtureEvents(): Record<string, unknown>[] {
  return loadFixtures().flatMap((f) => f.events);
}

/**
 * seed-003 gives 16 chat samples under the event ids of seed-002's samples of the same types, with
 * other content. The thread-level ones name other threads, so their rows have other keys and both
 * stay; these eight user-level ones share recipient, time and id with seed-002's, so their fact rows
 * meet seed-002's: identity conflicts, quarantined once seed-002's are stored.
 */
const CONFLICTING_TYPES = ["ChatMessageDeleted", "ChatMessageEdited", "ChatMessageReceived", "ChatParticipantAddedToThreadWithUser", "ChatParticipantRemovedFromThreadWithUser", "ChatThreadCreatedWithUser", "ChatThreadPropertiesUpdatedPerUser", "ChatThreadWithUserDeleted"];

function identityConflicts(): Map<string, number> {
  const seed002 = new Set(loadFixtures().filter((f) => f.seed === "seed-002").flatMap((f) => f.events.map((e) => `${f.type} ${String(e["id"])}`)));
  const byType = new Map<string, number>();
  for (const f of loadFixtures().filter((f) => f.seed === "seed-003" && CONFLICTING_TYPES.includes(f.type.replace("Microsoft.Communication.", "")))) {
    for (const e of f.events) if (seed002.has(`${f.type} ${String(e["id"])}`)) byType.set(f.type, (byType.get(f.type) ?? 0) + 1);
  }
  return byType;
}

function samplesOf(schema: "EventGrid" | "CloudEvents"): Record<string, unknown>[] {
  const dir = schema === "EventGrid" ? path.join(PROJECT_ROOT, "samples") : path.join(PROJECT_ROOT, "samples", "cloudevents");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Record<string, unknown>[]);
}

function withId(event: Record<string, unknown>, id: string): Record<string, unknown> {
  return { ...structuredClone(event), id };
}

const UNKNOWN_EVENT = {
  id: "0c9f4c9e-7d1b-4f5e-9a3b-5d0e2f6a8b71",
  topic: "/subscriptions/x/resourcegroups/y/providers/microsoft.communication/communicationservices/z",
  subject: "sender/DoNotReply@contoso.com/message/5b7f3e2a",
  eventType: "Microsoft.Communication.EmailDeliveryReportReceived",
  eventTime: "2025-07-08T22:00:05.1234567Z",
  dataVersion: "1.0",
  metadataVersion: "1",
  data: { status: "Delivered" },
};

function sumStored(ledger: Record<TableName, Row[]>): number {
  return Object.values(ledger).reduce((n, rows) => n + rows.length, 0);
}

test("every doc sample: the two malformed ones are reported with file and position, the rest land exactly as the functions store them", async () => {
  const settings = testSettings();
  const { result, out, err } = await replay({ paths: [FIXTURES], settings });
  const invalid003 = path.join(FIXTURES, "seed-003", "invalid", "Microsoft.Communication.ChatAzureBotCommandReceivedInThread.json");
  const invalid004 = path.join(FIXTURES, "seed-004", "invalid", "Microsoft.CommunicationServices.ChatReceived.json");
  // Both are trailing commas: the `}` after them is where JSON.parse gives up.
  assert.ok(err.includes(`${invalid003}:10:1: invalid JSON: Expected double-quoted property name`), err.join("\n"));
  assert.ok(err.includes(`${invalid004}:17:3: invalid JSON: Expected double-quoted property name`), err.join("\n"));
  assert.equal(result.inputErrors, 2);
  const events = fixtureEvents();
  const conflicts = identityConflicts();
  assert.equal(conflicts.size, 8, JSON.stringify([...conflicts]));
  assert.equal(result.stored, events.length - 8);
  assert.equal(result.quarantined, 8, JSON.stringify(result.byReason));
  assert.deepEqual(result.byReason, { IdentityConflict: 8 });
  assert.equal(result.failed, 0);
  assert.equal(result.exitCode, 1, "an input that could not be read makes the run fail");

  // The same events through ingestEvent, one at a time, in the same order: the same tables.
  const reference = testSettings();
  const writer = testWriter(reference);
  for (const e of events) await ingestEvent(e, "any", writer);
  assert.deepEqual(await readLedger(settings), await readLedger(reference));

  // The summary names every type with its count.
  const perType = new Map<string, number>();
  for (const e of events) perType.set(String(e["eventType"]), (perType.get(String(e["eventType"])) ?? 0) + 1);
  for (const [type, count] of perType) {
    const conflicting = conflicts.get(type) ?? 0;
    assert.ok(out.some((l) => new RegExp(`^\\s+${type.replace(/\./g, "\\.")}\\s+${count - conflicting}\\s+${conflicting}\\s+0$`).test(l)), `summary line for ${type}:\n${out.join("\n")}`);
  }
  assert.ok(out.some((l) => /^\s+total\s+\d+\s+8\s+0$/.test(l)));
  assert.ok(out.some((l) => /events in \d+\.\d\d s \(/.test(l)));
  assert.ok(out.some((l) => l.includes("input errors: 2")));
});

test("Event Grid arrays, CloudEvents batches, NDJSON and stdin; malformed events are skipped with their positions", async () => {
  const dir = tmpDir();
  const eg = samplesOf("EventGrid");
  const ce = samplesOf("CloudEvents");
  assert.ok(eg.length > 10 && ce.length > 3);
  fs.writeFileSync(path.join(dir, "eventgrid.json"), JSON.stringify(eg, null, 2));
  fs.writeFileSync(path.join(dir, "cloudevents.json"), JSON.stringify(ce)); // one line, no newline: still an array
  // NDJSON with CRLF, a blank line, a line holding an array, and a broken line 3.
  const nd = eg.slice(0, 4).map((e) => withId(e, `nd-${String(e["id"])}`));
  const ndLines = [JSON.stringify(nd[0]), JSON.stringify([nd[1], nd[2]]), '{"id": "broken", "eventType": }', "", JSON.stringify(nd[3])];
  fs.writeFileSync(path.join(dir, "more.ndjson"), ndLines.join("\r\n") + "\r\n");
  // An array with a malformed element between two good ones.
  const good1 = withId(eg[0] as Record<string, unknown>, "mixed-1");
  const good2 = withId(eg[1] as Record<string, unknown>, "mixed-2");
  fs.writeFileSync(path.join(dir, "mixed.json"), `[\n${JSON.stringify(good1)},\n  {"id": "x", "data": {"a": [1, 2,]}},\n${JSON.stringify(good2)}\n]\n`);
  // A file cut off inside its second event.
  const good3 = withId(eg[2] as Record<string, unknown>, "cut-1");
  fs.writeFileSync(path.join(dir, "truncated.json"), `[${JSON.stringify(good3)},\n {"id": "cut-2", "data": {`);
  // Not an event file: not read by the directory walk.
  fs.writeFileSync(path.join(dir, "notes.txt"), "not events");

  const stdinEvents = ce.slice(0, 2).map((e) => withId(e, `stdin-${String(e["id"])}`));
  const stdinText = stdinEvents.map((e) => JSON.stringify(e)).join("\n");
  // Seven-byte chunks: lines and UTF-8 sequences split across chunks.
  const stdin = () => Readable.from(Array.from({ length: Math.ceil(stdinText.length / 7) }, (_, i) => Buffer.from(stdinText).subarray(i * 7, i * 7 + 7)));

  const settings = testSettings();
  const { result, err } = await replay({ paths: [dir, "-"], settings, stdin });
  const expected = eg.length + ce.length + 4 + 2 + 1 + stdinEvents.length;
  assert.equal(result.stored, expected, err.join("\n"));
  assert.equal(result.failed, 0);
  assert.equal(result.inputErrors, 3, err.join("\n"));
  assert.ok(err.includes(`${path.join(dir, "more.ndjson")}:3:31: invalid JSON: Unexpected token '}'`), err.join("\n"));
  // The bad element's own `]`, and no quoted content in the message.
  assert.ok(err.includes(`${path.join(dir, "mixed.json")}:3:35: invalid JSON: Unexpected token ']'`), err.join("\n"));
  assert.ok(err.some((l) => l.startsWith(`${path.join(dir, "truncated.json")}:2:2: invalid JSON: the input ends inside an object`)), err.join("\n"));

  const ledger = await readLedger(settings);
  const ids = new Set(Object.values(ledger).flat().map((r) => r["eventId"]));
  for (const e of [...nd, good1, good2, good3, ...stdinEvents]) assert.ok(ids.has(e["id"]), `event ${String(e["id"])} stored`);
  for (const e of ce) assert.ok(ids.has(e["id"]), `CloudEvent ${String(e["id"])} stored`);
  const deliverySchemas = new Set(Object.values(ledger).flat().map((r) => r["deliverySchema"]).filter(Boolean));
  assert.deepEqual([...deliverySchemas].sort(), ["CloudEvents", "EventGrid"]);
});

test("readEvents: the same events and positions whatever the chunking; strings, escapes, nesting, BOM, concatenated values", async () => {
  const tricky = { id: "t1", s: 'a]b}c"[{ \\ \u00e9 \ud83d\ude00', nested: [[1, { x: "]" }], []], eventType: "T" };
  const inputs: Record<string, string> = {
    array: `\ufeff[\n  ${JSON.stringify(tricky)} ,\n  {"id": "t2"}\n]`,
    pretty: JSON.stringify(tricky, null, 2) + "\n" + JSON.stringify({ id: "t2" }, null, 2),
    arrays: `[{"id": "t1"}]\n[{"id": "t2"}, {"id": "t3"}]`,
    ndjson: `${JSON.stringify(tricky)}\n[{"id":"t2"},{"id":"t3"}]\n\n{"id":"t4"}`,
    errors: `[\n {"id": 1},\n {"id": 2,,},\n 3 4,\n ,\n {"id": 5}\n]`,
    mismatch: `[\n {"id": 1},\n {"id": [2}\n]`,
  };
  const read = async (text: string, size: number) => {
    const bytes = Buffer.from(text, "utf8");
    const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, i * size + size));
    const items: ReadItem[] = [];
    for await (const item of readEvents(Readable.from(chunks), { source: "in" })) items.push(item);
    return items;
  };
  for (const [name, text] of Object.entries(inputs)) {
    const whole = await read(text, 1 << 20);
    for (const size of [1, 2, 3, 5, 64]) assert.deepEqual(await read(text, size), whole, `${name} in ${size}-byte chunks`);
  }
  const ids = async (name: string) => (await read(inputs[name] as string, 1 << 20)).map((i) => (i.kind === "event" ? (i.value as { id: unknown }).id : `error ${i.at.line}:${i.at.column}`));
  assert.deepEqual(await ids("array"), ["t1", "t2"]);
  assert.deepEqual((await read(inputs["array"] as string, 1 << 20))[0], { kind: "event", value: tricky, at: { source: "in", line: 2, column: 3 } });
  assert.deepEqual(await ids("pretty"), ["t1", "t2"]);
  assert.deepEqual(await ids("arrays"), ["t1", "t2", "t3"]);
  assert.deepEqual(await ids("ndjson"), ["t1", "t2", "t3", "t4"]);
  assert.deepEqual(await ids("errors"), [1, "error 3:11", "error 4:4", "error 5:2", 5]);
  assert.deepEqual(await ids("mismatch"), [1, "error 3:11"]);
});

/** A fresh blob container in the run's Azurite, as Event Grid's dead-letter container. */
async function deadLetterContainer() {
  const connectionString = process.env["AZURITE_BLOB_CONNECTION_STRING"];
  assert.ok(connectionString, "run-tests sets AZURITE_BLOB_CONNECTION_STRING");
  const containerName = `deadletters${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(containerName);
  await container.create();
  return { connectionString, containerName, container };
}

/** An event as Event Grid dead-letters it in the Event Grid schema. */
function eventGridDeadLetter(e: Record<string, unknown>, id: string): Record<string, unknown> {
  return {
    ...withId(e, id),
    deadLetterReason: "MaxDeliveryAttemptsExceeded",
    deliveryAttempts: 30,
    lastDeliveryOutcome: "Probation",
    publishTime: "2026-01-05T07:12:44.1234567Z",
    lastDeliveryAttemptTime: "2026-01-06T07:10:01.7654321Z",
    lastHttpStatusCode: 500,
  };
}

test("a dead-letter container in Azurite's blob service: blobs read, dead-letter fields kept on the rows", async () => {
  const { connectionString, containerName, container } = await deadLetterContainer();
  const deadLetter = (e: Record<string, unknown>, i: number) => eventGridDeadLetter(e, `dl-${i}-${String(e["id"])}`);
  const chat = [fixture("seed-002", "Microsoft.Communication.ChatMessageReceivedInThread"), fixture("seed-002", "Microsoft.Communication.ChatThreadCreated")].map(deadLetter);
  const sms = [deadLetter(fixture("seed-002", SMS_RECEIVED), 9)];
  const put = (name: string, body: string) => container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
  await put(`LEDGER-CHAT/2026/1/5/7/${randomUUID()}.json`, JSON.stringify([chat[0]]));
  await put(`LEDGER-CHAT/2026/1/5/7/${randomUUID()}.json`, JSON.stringify([chat[1]]));
  await put(`LEDGER-SMS/2026/1/5/8/${randomUUID()}.json`, JSON.stringify(sms));
  await put("LEDGER-SMS/README.txt", "not a dead letter");
  await put(`LEDGER-SMS/2026/1/5/9/${randomUUID()}.json`, '[{"id": "broken",]');

  const settings = testSettings();
  const onlyChat = await replay({ blob: { container: containerName, connectionString, prefix: "LEDGER-CHAT/" }, settings });
  assert.equal(onlyChat.result.stored, 2);
  assert.equal(onlyChat.result.exitCode, 0);

  const all = await replay({ blob: { container: containerName, connectionString }, settings });
  assert.equal(all.result.stored, 3);
  assert.equal(all.result.inputErrors, 1);
  assert.ok(all.err.some((l) => new RegExp(`^${containerName}/LEDGER-SMS/2026/1/5/9/[0-9a-f-]+\\.json:1:18: invalid JSON: unexpected ']'; stopped reading this input$`).test(l)), all.err.join("\n"));

  const timeline = await readTable(settings, "ChatThreadEvents");
  const smsRows = await readTable(settings, "SmsMessages");
  for (const row of [...timeline, ...smsRows]) {
    assert.equal(row["deadLetterReason"], "MaxDeliveryAttemptsExceeded");
    assert.equal(row["deliveryAttempts"], 30);
    assert.equal(row["lastDeliveryOutcome"], "Probation");
    assert.equal(row["publishTime"], "2026-01-05T07:12:44.1234567Z");
    assert.equal(row["lastDeliveryAttemptTime"], "2026-01-06T07:10:01.7654321Z");
    assert.equal(row["lastHttpStatusCode"], 500);
  }
  assert.equal(timeline.length, 2);
  assert.equal(smsRows.length, 2); // from and to

  const missing = await replay({ blob: { container: `${containerName}x`, connectionString }, settings });
  assert.equal(missing.result.exitCode, 1);
  assert.ok(missing.err.some((l) => l.includes("listing failed")), missing.err.join("\n"));
});

test("dead letters in both delivery schemas: CloudEvents' lower-case dead-letter fields land on the rows under the Event Grid names", async () => {
  const { connectionString, containerName, container } = await deadLetterContainer();
  const eventGrid = eventGridDeadLetter(fixture("seed-002", SMS_RECEIVED), "dl-eg-sms");
  const [cloudSample] = samplesOf("CloudEvents").filter((e) => e["type"] === SMS_RECEIVED);
  assert.ok(cloudSample);
  const cloudEvent = {
    ...withId(cloudSample, "dl-ce-sms"),
    deadletterreason: "TimeToLiveExceeded",
    deliveryattempts: 7,
    lastdeliveryoutcome: "TimedOut",
    publishtime: "2026-01-05T08:00:00.5Z",
    lastdeliveryattempttime: "2026-01-06T07:59:58.25Z",
    lasthttpstatuscode: 503,
  };
  const put = (name: string, body: string) => container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
  await put(`LEDGER-SMS/2026/1/5/7/${randomUUID()}.json`, JSON.stringify([eventGrid]));
  await put(`LEDGER-SMS-CE/2026/1/5/8/${randomUUID()}.json`, JSON.stringify([cloudEvent]));

  const settings = testSettings();
  const { result, err } = await replay({ blob: { container: containerName, connectionString }, settings });
  assert.equal(result.stored, 2, err.join("\n"));
  assert.equal(result.exitCode, 0);
  const fields = ["deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "publishTime", "lastDeliveryAttemptTime", "lastHttpStatusCode"];
  const deadLetterOf = (row: Row) => Object.fromEntries(fields.map((f) => [f, row[f]]));
  const rows = await readTable(settings, "SmsMessages");
  assert.equal(rows.length, 4); // from and to of each
  for (const row of rows) {
    const expected =
      row["eventId"] === "dl-eg-sms"
        ? { deliverySchema: "EventGrid", deadLetterReason: "MaxDeliveryAttemptsExceeded", deliveryAttempts: 30, lastDeliveryOutcome: "Probation", publishTime: "2026-01-05T07:12:44.1234567Z", lastDeliveryAttemptTime: "2026-01-06T07:10:01.7654321Z", lastHttpStatusCode: 500 }
        : { deliverySchema: "CloudEvents", deadLetterReason: "TimeToLiveExceeded", deliveryAttempts: 7, lastDeliveryOutcome: "TimedOut", publishTime: "2026-01-05T08:00:00.5Z", lastDeliveryAttemptTime: "2026-01-06T07:59:58.25Z", lastHttpStatusCode: 503 };
    assert.deepEqual({ deliverySchema: row["deliverySchema"], ...deadLetterOf(row) }, expected, `row of ${String(row["eventId"])}`);
    // The lower-case spellings are not kept as well: one name per fact.
    for (const f of fields) assert.equal(row[f.toLowerCase()], undefined);
  }
  assert.deepEqual(new Set(rows.map((r) => r["eventId"])), new Set(["dl-eg-sms", "dl-ce-sms"]));
});

test("re-running the same input yields identical tables", async () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "a.json"), JSON.stringify([...fixtureEvents(), UNKNOWN_EVENT]));
  fs.writeFileSync(path.join(dir, "b.ndjson"), samplesOf("CloudEvents").map((e) => JSON.stringify(e)).join("\n"));
  const settings = testSettings();
  const first = await replay({ paths: [dir], settings });
  assert.equal(first.result.exitCode, 0, first.err.join("\n"));
  assert.equal(first.result.quarantined, 1 + 8); // the unknown type, and the doc samples' identity conflicts
  const before = await readLedger(settings);
  assert.equal(before.QuarantinedEvents.length, 1 + 8);
  assert.deepEqual([...new Set(before.QuarantinedEvents.map((r) => r["receivedBy"]))], ["replay"]);

  const second = await replay({ paths: [dir], settings });
  assert.equal(second.result.exitCode, 0, second.err.join("\n"));
  assert.equal(second.result.stored, first.result.stored);
  assert.equal(second.result.quarantined, 1 + 8);
  assert.equal(second.result.rows?.written, 0, "nothing new the second time");
  assert.equal(second.result.rows?.failed, 0);
  assert.deepEqual(await readLedger(settings), before);
});

/** `count` UserDisconnected events of one user: one partition, so one transaction of up to 100 rows. */
function disconnects(count: number, tag: string): Record<string, unknown>[] {
  const base = fixture("seed-000", USER_DISCONNECTED);
  return Array.from({ length: count }, (_, i) => ({ ...withId(base, `${tag}-${i}`), eventTime: `2021-08-10T20:25:${String(i % 60).padStart(2, "0")}.${String(i).padStart(7, "0")}Z` }));
}

test("a transaction with a row already there: the rows already there are found, all the others still land", async () => {
  const settings = testSettings();
  const events = disconnects(100, "pre");
  // Row 50 is there before the replay (as after an earlier, interrupted run).
  const pre = planEvent(events[50], "any");
  await testWriter(settings).write(pre.writes, pre.label);
  const dir = tmpDir();
  // Event 7 twice in one input: its row is sent once and both count as stored.
  fs.writeFileSync(path.join(dir, "d.json"), JSON.stringify([events[7], ...events]));
  const { result, err } = await replay({ paths: [dir], settings });
  assert.equal(result.exitCode, 0, err.join("\n"));
  assert.equal(result.stored, 101);
  assert.equal(result.rows?.existing, 1);
  assert.equal(result.rows?.written, 99);
  assert.equal(result.rows?.presenceChecks, 1);
  assert.equal((await readTable(settings, "UserDisconnects")).length, 100);
});

test("a transaction the service refuses falls back to single writes: one bad row never sinks the others", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const batch = new BatchWriter(writer, { concurrency: 4 });
  const appends = disconnects(100, "bad").map((e) => planEvent(e, "any").writes[0] as PreparedAppend);
  // Azurite refuses strings over 32,768 characters (the ledger itself never writes one: it splits them).
  const bad: PreparedAppend = { ...appends[42]!, entity: { ...appends[42]!.entity, tooLong: "x".repeat(40_000) } };
  appends[42] = bad;
  const settled: { label: string; ok: boolean; error?: unknown }[] = [];
  for (const [i, w] of appends.entries()) {
    await batch.add([w], `event ${i}`, (r) => settled.push({ label: `event ${i}`, ok: r.ok, ...(r.ok ? {} : { error: r.error }) }));
  }
  await batch.flush();
  assert.equal(settled.length, 100);
  assert.deepEqual(settled.filter((s) => !s.ok).map((s) => s.label), ["event 42"]);
  assert.match(String((settled.find((s) => !s.ok)?.error as Error).message), /^event 42: writing its UserDisconnects row failed \(HTTP 400/);
  assert.equal(batch.stats.fallbacks, 1);
  assert.equal(batch.stats.singleAppends, 100);
  assert.equal(batch.stats.written, 99);
  assert.equal(batch.stats.failed, 1);
  assert.equal((await readTable(settings, "UserDisconnects")).length, 99);
});

test("patches of one busy state row are merged into one write, with the same result as one write per event", async () => {
  const base = fixture("seed-002", "Microsoft.Communication.ChatThreadPropertiesUpdated") as { data: Record<string, unknown> } & Record<string, unknown>;
  // 40 property updates of one thread, arriving out of version order.
  const versions = Array.from({ length: 40 }, (_, i) => (i * 17) % 40);
  const events = versions.map((v, i) => ({ ...withId(base, `props-${i}`), data: { ...structuredClone(base.data), version: 1613779447695 + v, properties: { topic: `topic ${v}` } } }));
  const settings = testSettings();
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "p.json"), JSON.stringify(events));
  const { result } = await replay({ paths: [dir], settings });
  assert.equal(result.stored, 40);
  assert.ok((result.rows?.stateWrites ?? 0) < 40, `patches merged (${result.rows?.stateWrites} writes)`);
  const reference = testSettings();
  const writer = testWriter(reference);
  for (const e of events) await ingestEvent(e, "any", writer);
  const threads = await readTable(settings, "ChatThreads");
  assert.deepEqual(threads, await readTable(reference, "ChatThreads"));
  assert.equal(threads[0]?.["topic"], "topic 39");
  assert.equal(threads[0]?.["eventId"], `props-${versions.indexOf(39)}`);
});

test("--from-quarantine: events that now pass are stored and their rows marked resolved; the others keep their rows with new reasons", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const chat = fixture("seed-002", "Microsoft.Communication.ChatMessageReceivedInThread"); // 2021
  const call = fixture("seed-001", "Microsoft.Communication.CallStarted");
  const invalidSms = fixture("seed-002", SMS_RECEIVED); // 2020
  delete (invalidSms["data"] as Record<string, unknown>)["From"];
  // Delivered to the wrong function (the catalog's view at the time): quarantined.
  for (const e of [chat, call, invalidSms, UNKNOWN_EVENT]) assert.equal((await ingestEvent(e, "sms", writer)).plan.outcome, "quarantined");
  const quarantine = createTableClient(settings, `${settings.tablePrefix}QuarantinedEvents`);
  const rows = await readTable(settings, "QuarantinedEvents");
  assert.equal(rows.length, 4);
  // The SMS row's reason is from an older catalog: the replay must replace it.
  const smsRow = rows.find((r) => r["eventType"] === SMS_RECEIVED) as Row;
  await quarantine.updateEntity({ partitionKey: smsRow.partitionKey, rowKey: smsRow.rowKey, reason: "stale reason" }, "Merge");

  // A dry run changes nothing.
  const dry = await replay({ fromQuarantine: {}, settings, dryRun: true });
  assert.deepEqual([dry.result.stored, dry.result.quarantined, dry.result.exitCode], [2, 2, 0]);
  assert.ok(dry.out.some((l) => /would resolve\s+still failing/.test(l)), dry.out.join("\n"));
  assert.equal((await readTable(settings, "ChatThreadEvents")).length, 0);

  // Only the chat type.
  const at = new Date("2026-01-05T07:00:00.000Z");
  const first = await replay({ fromQuarantine: { types: [String(chat["eventType"])] }, settings, now: () => at });
  assert.deepEqual([first.result.stored, first.result.quarantined, first.result.exitCode], [1, 0, 0]);
  // Events of the first half of 2021 only: the chat event (February), already resolved, is skipped;
  // the call (September), the SMS (2020) and the email event (2025) are outside.
  const window = await replay({ fromQuarantine: { since: parseTimestamp("2021-01-01T00:00:00Z")!, until: parseTimestamp("2021-06-01T00:00:00Z")! }, settings });
  assert.deepEqual([window.result.events, window.result.skippedResolved], [0, 1]);
  const second = await replay({ fromQuarantine: {}, settings, now: () => at });
  assert.deepEqual([second.result.stored, second.result.quarantined, second.result.skippedResolved, second.result.exitCode], [1, 2, 1, 0]);
  assert.deepEqual(second.result.byReason, { SchemaViolation: 1, UnknownEventType: 1 });

  const after = await readTable(settings, "QuarantinedEvents");
  assert.equal(after.length, 4, "no quarantine row is deleted, and no new one is written");
  const byType = (type: unknown) => after.find((r) => r["eventType"] === type) as Row;
  for (const e of [chat, call]) {
    const row = byType(e["eventType"]);
    assert.equal(row["resolvedAt"], at.toISOString());
    assert.equal(row["resolvedBy"], "replay");
    assert.equal(row["resolvedEventRows"], planEvent(e, "any").writes.length);
    assert.equal(row["reasonCode"], "WrongFunction", "the original reason stays for the audit trail");
    assert.equal(row["rawEvent"], JSON.stringify(e));
  }
  const sms = byType(SMS_RECEIVED);
  assert.equal(sms["reasonCode"], "SchemaViolation");
  assert.match(String(sms["reason"]), /From/);
  assert.equal(sms["lastReplayedAt"], at.toISOString());
  assert.equal(sms["resolvedAt"], undefined);
  assert.equal(byType(UNKNOWN_EVENT.eventType)["reasonCode"], "UnknownEventType");

  const ledger = await readLedger(settings);
  assert.ok(ledger.ChatThreadEvents.some((r) => r["eventId"] === chat["id"]));
  assert.ok(ledger.CallEvents.some((r) => r["eventId"] === call["id"]));

  // With --include-resolved the resolved rows go again (their rows are already there).
  const again = await replay({ fromQuarantine: { includeResolved: true }, settings, now: () => at });
  assert.deepEqual([again.result.stored, again.result.quarantined, again.result.skippedResolved], [2, 2, 0]);
  assert.equal(again.result.rows?.written, 0);
});

test("--dry-run validates and normalizes, writes nothing, and says what would be stored and quarantined", async () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "x.json"), JSON.stringify([UNKNOWN_EVENT, ...samplesOf("EventGrid")]));
  const settings = testSettings();
  const c = capture();
  const result = await runReplay({ paths: [dir], dryRun: true, settings }, c.io);
  assert.equal(result.exitCode, 0);
  assert.equal(result.stored, samplesOf("EventGrid").length);
  assert.equal(result.quarantined, 1);
  assert.equal(result.rows, undefined);
  assert.equal(sumStored(await readLedger(settings)), 0);
  assert.ok(c.out.some((l) => l.includes("dry run: nothing was written")));
  assert.ok(c.out.some((l) => /would store\s+would quarantine\s+would fail/.test(l)));
  assert.ok(c.err.some((l) => l.startsWith("would quarantine: Microsoft.Communication.EmailDeliveryReportReceived event")), c.err.join("\n"));
  // Without any storage at all.
  const bare = await replay({ paths: [dir], dryRun: true });
  assert.equal(bare.result.stored, result.stored);
});

test("exit codes: an event over a Table limit or an unreachable account fails the run; quarantine does not", async () => {
  const dir = tmpDir();
  const huge = fixture("seed-002", SMS_RECEIVED);
  (huge["data"] as Record<string, unknown>)["Message"] = "x".repeat(600_000);
  fs.writeFileSync(path.join(dir, "huge.json"), JSON.stringify([huge, fixture("seed-002", "Microsoft.Communication.SMSDeliveryReportReceived")]));
  const settings = testSettings();
  const limit = await replay({ paths: [dir], settings });
  assert.equal(limit.result.exitCode, 1);
  assert.deepEqual([limit.result.stored, limit.result.failed], [1, 1]);
  assert.ok(limit.err.some((l) => /^could not store Microsoft\.Communication\.SMSReceived event .*1 MiB/.test(l)), limit.err.join("\n"));
  assert.equal(limit.result.byType[SMS_RECEIVED]?.failed, 1);

  const quarantinedOnly = await replay({ paths: [writeJson([UNKNOWN_EVENT])], settings });
  assert.equal(quarantinedOnly.result.exitCode, 0);

  const missing = await replay({ paths: [path.join(dir, "nope.json")], settings });
  assert.equal(missing.result.exitCode, 1);
  assert.ok(missing.err.some((l) => l.includes("nope.json: cannot read this path")));

  const unreachable: LedgerSettings = { storage: { kind: "connectionString", connectionString: azuriteConnectionString("http://127.0.0.1:1/devstoreaccount1") }, tablePrefix: "Down", requestTimeoutMs: 1000 };
  const down = await replay({ paths: [writeJson([fixture("seed-000", USER_DISCONNECTED)])], settings: unreachable });
  assert.equal(down.result.exitCode, 1);
  assert.equal(down.result.failed, 1);
  assert.ok(down.err.some((l) => l.startsWith(`could not store ${USER_DISCONNECTED} event`)), down.err.join("\n"));
});

function writeJson(value: unknown): string {
  const file = path.join(tmpDir(), "events.json");
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

test("progress: a redrawn bar on a TTY, plain lines otherwise", async () => {
  for (const isTTY of [true, false]) {
    const written: string[] = [];
    const tally = new Tally();
    tally.totalBytes = 1000;
    tally.bytesRead = 500;
    tally.events = 40;
    tally.stored = 30;
    tally.quarantined = 5;
    const progress = new Progress({ out: () => undefined, err: () => undefined, progress: { isTTY, columns: 120, write: (t) => written.push(t) } }, tally, "replay", true, 20);
    await new Promise((r) => setTimeout(r, 70));
    progress.stop();
    const text = written.join("");
    assert.match(text, /35\/≈80 events {2}[\d,]+ ev\/s {2}quarantined 5 {2}failed 0/);
    if (isTTY) {
      assert.match(text, /^\rreplay \[█+░+\] {2}50%/);
      assert.ok(text.endsWith("\r\x1b[K"), "the bar is cleared at the end");
    } else {
      assert.ok(!text.includes("\r"));
      assert.match(text, /^replay: .*, 50% of the input read\n/);
    }
  }
});

test("the command line's options: blob account defaults to the ledger's, quarantine filters, --account", () => {
  const azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:2/devstoreaccount1;";
  const blob = parseReplayArgs(["replay", "--blob-container", "eventgrid-deadletters", "--blob-prefix", "LEDGER-CHAT/2026/1/5/", "--dry-run"], { LEDGER_STORAGE: azurite });
  assert.deepEqual(blob.options.blob, { container: "eventgrid-deadletters", connectionString: azurite, prefix: "LEDGER-CHAT/2026/1/5/" });
  assert.equal(blob.options.dryRun, true);
  const url = parseReplayArgs(["--blob-container", "eventgrid-deadletters"], { LEDGER_STORAGE: "https://acsledgerled1a2b.table.core.windows.net" });
  assert.deepEqual(url.options.blob, { container: "eventgrid-deadletters", accountUrl: "https://acsledgerled1a2b.blob.core.windows.net" });
  const account = parseReplayArgs(["--account", "acsledgerled1a2b", "--blob-container", "eventgrid-deadletters"], {});
  assert.equal(account.account, "acsledgerled1a2b");
  assert.deepEqual(account.options.blob, { container: "eventgrid-deadletters", accountUrl: "https://acsledgerled1a2b.blob.core.windows.net" });
  const q = parseReplayArgs(["--from-quarantine", "--type", "A", "--type", "B", "--since", "2026-01-05", "--until", "2026-01-06T12:00:00+01:00", "--include-resolved", "--concurrency", "8"], { LEDGER_STORAGE: azurite });
  assert.deepEqual(q.options.fromQuarantine, {
    types: ["A", "B"],
    since: parseTimestamp("2026-01-05T00:00:00Z"),
    until: parseTimestamp("2026-01-06T11:00:00Z"),
    includeResolved: true,
  });
  assert.equal(q.options.concurrency, 8);
  assert.throws(() => parseReplayArgs(["--blob-container", "deadletters", "a.json"], {}), /needs --blob-connection-string or --blob-account-url/);
  assert.throws(() => parseReplayArgs(["--from-quarantine", "--since", "2026-01-06", "--until", "2026-01-05"], { LEDGER_STORAGE: azurite }), /--since must be before --until/);
});

const runCli = (args: string[], env: NodeJS.ProcessEnv, input?: string) => runScript(CLI, args, env, input);

test("the command line: usage errors exit 2; files and stdin into the configured account; an embedded Azurite without one", async () => {
  const env = { ...process.env };
  for (const args of [["--bogus"], [], ["replay"], ["--type", "X", "a.json"], ["--concurrency", "0", "a.json"], ["--from-quarantine", "a.json"], ["--since", "yesterday", "--from-quarantine"], ["--blob-prefix", "x/", "a.json"]]) {
    const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8" });
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^acs-ledger replay: .+\nRun with --help for usage\.\n$/);
  }
  const help = spawnSync(process.execPath, [CLI, "replay", "--help"], { env, encoding: "utf8" });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: acs-ledger replay/);

  const settings = testSettings();
  const configured = { ...env, LEDGER_TABLE_PREFIX: settings.tablePrefix };
  const input = samplesOf("EventGrid").map((e) => JSON.stringify(e)).join("\n");
  const piped = await runCli(["replay", path.join(FIXTURES, "seed-000"), "-"], configured, input);
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /^Ledger: http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1, table prefix /);
  assert.match(piped.stdout, /\n {2}total +\d+ +0 +0\n/);
  assert.equal((await readTable(settings, "UserDisconnects")).length, samplesOf("EventGrid").filter((e) => e["eventType"] === USER_DISCONNECTED).length + 1);

  const bare: NodeJS.ProcessEnv = { ...env };
  for (const k of ["LEDGER_STORAGE", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__tableServiceUri"]) delete bare[k];
  const embedded = await runCli([path.join(FIXTURES, "seed-000")], bare);
  assert.equal(embedded.status, 0, embedded.stderr);
  assert.match(embedded.stdout, /started an embedded in-memory Azurite/);
  assert.match(embedded.stdout, /gone when this command ends/);
  assert.match(embedded.stdout, /Embedded Azurite stopped/);

  const dry = await runCli(["--dry-run", "--quiet", path.join(FIXTURES, "seed-004")], bare);
  assert.equal(dry.status, 1, "seed-004 holds a malformed sample");
  assert.doesNotMatch(dry.stdout, /Azurite/, "a dry run of files needs no storage");
  assert.match(dry.stdout, /dry run: nothing was written/);
});

test("memory stays flat: 200,000 NDJSON events in a dry run keep peak RSS under 250 MB", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "big.ndjson");
  const bases = [
    fixture("seed-002", SMS_RECEIVED),
    fixture("seed-002", "Microsoft.Communication.ChatMessageReceivedInThread"),
    fixture("seed-001", "Microsoft.Communication.CallStarted"),
    fixture("seed-000", USER_DISCONNECTED),
    UNKNOWN_EVENT,
  ].map((e) => JSON.stringify(e));
  const fd = fs.openSync(file, "w");
  const EVENTS = 200_000;
  let lines: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const base = bases[i % bases.length] as string;
    lines.push(base.replace(/"id":"([^"]*)"/, `"id":"$1-${i}"`));
    if (lines.length === 10_000) {
      fs.writeSync(fd, lines.join("\n") + "\n");
      lines = [];
    }
  }
  fs.closeSync(fd);
  const script = `
    const { runReplay } = require(${JSON.stringify(path.join(PROJECT_ROOT, "dist", "src", "replay"))});
    runReplay({ paths: [${JSON.stringify(file)}], dryRun: true, quiet: true }, { out: () => {}, err: (l) => console.error(l) })
      .then((r) => console.log(JSON.stringify({ stored: r.stored, quarantined: r.quarantined, inputErrors: r.inputErrors, ms: r.durationMs, maxRssKb: process.resourceUsage().maxRSS })));
  `;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout.trim()) as { stored: number; quarantined: number; inputErrors: number; ms: number; maxRssKb: number };
  assert.deepEqual([m.stored, m.quarantined, m.inputErrors], [EVENTS * 0.8, EVENTS * 0.2, 0]);
  const peakMb = m.maxRssKb / 1024;
  console.log(`200,000 events (${(fs.statSync(file).size / 1e6).toFixed(0)} MB) in a dry run: ${Math.round(EVENTS / (m.ms / 1000))} events/s, peak RSS ${peakMb.toFixed(0)} MB`);
  assert.ok(peakMb < 250, `peak RSS ${peakMb.toFixed(0)} MB`);
});
