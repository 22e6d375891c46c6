import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { specFor } from "../src/catalog";
import { azuriteConnectionString, type LedgerSettings } from "../src/config";
import { startAzurite } from "../src/devhost/azurite";
import { StorageError } from "../src/errors";
import { ingestEvent } from "../src/ingest";
import { LedgerTables } from "../src/ledger/tables";
import { LedgerWriter } from "../src/ledger/writer";
import { duplicatedAndShuffled, relatedEvents } from "./faults/stream";
import { startFaultyProxy } from "./faults/proxy";
import { recordAccounting } from "./accounting";
import { inParallel, loadFixtures, readLedger, seededRandom, testSettings } from "./helpers";

/*
 * Faults: storage going away and coming back, throttling and 5xx, storage that never answers, and
 * duplicated, reordered, parallel delivery. Each ends with the ledger an undisturbed run produces.
 */

type Event = Record<string, any>;
const familyOf = (e: Event) => specFor(String(e["eventType"]))?.family ?? "sms";

/**
 * Every doc sample under a fresh id of its own: a realistic mix of every family. (Two docs give some
 * samples one id with other content; kept so, which of them wins would depend on arrival order.)
 */
function sampleStream(copies: number): Event[] {
  const base = loadFixtures().flatMap((f) => f.events);
  return Array.from({ length: copies }, (_, n) => base.map((e, i) => ({ ...structuredClone(e), id: `${String(e["id"])}-copy${n}-${i}` }))).flat();
}

function rowCount(ledger: Awaited<ReturnType<typeof readLedger>>): number {
  return Object.values(ledger).reduce((n, rows) => n + rows.length, 0);
}

/** Delivers like Event Grid: whatever failed is delivered again, until it succeeds (bounded). */
async function deliverUntilStored(events: readonly Event[], settings: LedgerSettings, concurrency: number) {
  const writer = new LedgerWriter(new LedgerTables(settings));
  let pending = [...events];
  let failures = 0;
  for (let round = 0; pending.length > 0; round++) {
    assert.ok(round < 20, `still failing after 20 rounds: ${pending.length} events`);
    const results = await inParallel(pending, concurrency, (e) => ingestEvent(e, familyOf(e), writer).then(() => undefined, (error: unknown) => error));
    const failed = results.flatMap((r, i) => (r === undefined ? [] : [{ error: r, event: pending[i] as Event }]));
    for (const f of failed) assert.ok(f.error instanceof StorageError || (f.error as Error).name === "ConcurrencyError", `unexpected ${String(f.error)}`);
    failures += failed.length;
    pending = failed.map((f) => f.event);
  }
  return { failures };
}

/** The ledger an undisturbed, in-order, one-at-a-time run produces. */
async function reference(events: readonly Event[]) {
  const settings = testSettings();
  await deliverUntilStored(events, settings, 1);
  return readLedger(settings);
}

test("storage unreachable mid-run: those invocations fail; redelivered after the restart, nothing is lost or doubled", async () => {
  const location = fs.mkdtempSync(path.join(os.tmpdir(), "ledger-outage-"));
  let azurite = await startAzurite({ location });
  const port = azurite.tablePort;
  try {
    const events = sampleStream(3);
    const settings: LedgerSettings = { storage: { kind: "connectionString", connectionString: azurite.connectionString }, tablePrefix: "Outage", requestTimeoutMs: 2000 };
    const writer = new LedgerWriter(new LedgerTables(settings));
    const third = Math.floor(events.length / 3);
    const deliver = (batch: Event[]) => inParallel(batch, 8, (e) => ingestEvent(e, familyOf(e), writer).then(() => undefined, (error: unknown) => ({ e, error })));
    const before = await deliver(events.slice(0, third));
    assert.ok(before.every((r) => r === undefined));
    await azurite.stop();
    const during = await deliver(events.slice(third, 2 * third));
    const failed = during.filter((r): r is { e: Event; error: unknown } => r !== undefined);
    assert.equal(failed.length, third, "every invocation during the outage fails");
    for (const f of failed) assert.ok(f.error instanceof StorageError, String(f.error));
    azurite = await startAzurite({ location, port });
    const after = await deliver([...events.slice(2 * third), ...failed.map((f) => f.e)]);
    assert.ok(after.every((r) => r === undefined));
    const ledger = await readLedger(settings);
    assert.deepEqual(ledger, await reference(events));
    recordAccounting({ source: "outage", generated: events.length, rows: rowCount(ledger), failedAndRetried: failed.length });
  } finally {
    await azurite.stop();
    fs.rmSync(location, { recursive: true, force: true });
  }
});

test("throttling and 5xx: the SDK's retries and our failure path together lose nothing", async () => {
  const port = Number(process.env["AZURITE_TABLE_PORT"]);
  const proxy = await startFaultyProxy(port, { refuse: 0.15, loseAnswer: 0.1, random: seededRandom(7) });
  try {
    const events = sampleStream(2);
    const settings = testSettings({ storage: { kind: "connectionString", connectionString: azuriteConnectionString(proxy.endpoint) } });
    const { failures } = await deliverUntilStored(events, settings, 8);
    const direct = testSettings({ tablePrefix: settings.tablePrefix });
    const ledger = await readLedger(direct);
    assert.deepEqual(ledger, await reference(events));
    assert.ok(proxy.counts.refused > 0 && proxy.counts.lostAnswers > 0);
    console.log(`faults/5xx: ${proxy.counts.refused} requests refused with 503, ${proxy.counts.lostAnswers} answers lost after the write`);
    recordAccounting({ source: "5xx", generated: events.length, rows: rowCount(ledger), failedByTiming: failures });
  } finally {
    await proxy.close();
  }
});

test("storage that never answers fails the invocation after the request timeout, well under Event Grid's 30 s", async () => {
  const port = Number(process.env["AZURITE_TABLE_PORT"]);
  const proxy = await startFaultyProxy(port, { hang: 1, random: () => 0 });
  try {
    const settings = testSettings({ storage: { kind: "connectionString", connectionString: azuriteConnectionString(proxy.endpoint) }, requestTimeoutMs: 1000 });
    const e = loadFixtures()[0]?.events[0] as Event;
    const started = Date.now();
    await assert.rejects(ingestEvent(e, familyOf(e), new LedgerWriter(new LedgerTables(settings))), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /failed \(no answer within 1000 ms\); the invocation fails so that Event Grid retries$/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  } finally {
    await proxy.close();
  }
});

test("an event's requests share one time budget: a state write after a slow fact row gets what is left", async () => {
  const port = Number(process.env["AZURITE_TABLE_PORT"]);
  const proxy = await startFaultyProxy(port, { slowEntityMs: 700, random: () => 0.99 });
  try {
    const settings = testSettings({ storage: { kind: "connectionString", connectionString: azuriteConnectionString(proxy.endpoint) }, requestTimeoutMs: 1000 });
    const writer = new LedgerWriter(new LedgerTables(settings));
    for (const table of ["CallEvents", "Calls"] as const) await writer.tables.client(table); // created before the clock starts
    const e = loadFixtures().flatMap((f) => f.events).find((x) => x["eventType"] === "Microsoft.Communication.CallStarted") as Event;
    const started = Date.now();
    // Each request alone is answered within 1000 ms; the fact row's 700 ms leave the Calls row 300.
    await assert.rejects(ingestEvent(e, "calling", writer), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /: writing its Calls row failed \(no answer within 1000 ms\); the invocation fails so that Event Grid retries$/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 950 && elapsed < 1500, `took ${elapsed} ms`);
    assert.deepEqual(proxy.requests.filter((r) => !r.includes("/Tables")).map((r) => r.split(" ")[0]), ["POST", "POST"]);
  } finally {
    await proxy.close();
  }
});

test("each event delivered 1–3 times, shuffled, 16 at once: the same ledger as in-order delivery", async () => {
  const events = relatedEvents();
  const deliveries = duplicatedAndShuffled(events, 20261123);
  const settings = testSettings();
  const { failures } = await deliverUntilStored(deliveries, settings, 16);
  const ledger = await readLedger(settings);
  assert.deepEqual(ledger, await reference(events));
  assert.equal(ledger.ChatMessages.find((r) => r.rowKey === "0-0")?.["deleted"], true);
  assert.equal(ledger.ChatMessages.find((r) => r.rowKey === "0-2")?.["messageBody"], "edited 2");
  assert.equal(ledger.ChatThreads[0]?.["topic"], "topic-50");
  assert.deepEqual(
    ledger.ChatParticipants.filter((r) => r.partitionKey === "19:scale-0@thread.v2").map((r) => [r["displayName"], r["member"]]),
    [["P0", true], ["P1", true], ["P2", true], ["P3", true], ["P4", false]],
  );
  recordAccounting({ source: "reorder", generated: events.length, rows: rowCount(ledger), failedByTiming: failures });
});
