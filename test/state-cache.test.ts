import { test } from "node:test";
import assert from "node:assert/strict";
import { ingestEvent } from "../src/ingest";
import { startCounting, stopCounting, tallyJson, within } from "../src/devhost/storageRequests";
import { StateCache } from "../src/ledger/stateCache";
import { fixture, readLedger, readTable, testSettings, testWriter } from "./helpers";

/*
 * The state-row cache (src/ledger/stateCache.ts), against Azurite with every storage request counted:
 * a row this process knows costs one conditional write, a patch it knows to be covered costs nothing,
 * and a stale entry (another instance changed the row) costs one refused write more, never a wrong row.
 */

const THREAD = "19:state-cache@thread.v2";

function message(type: "Received" | "Edited" | "Deleted", version: number, extra: Record<string, unknown> = {}) {
  const e = fixture("seed-003", `Microsoft.Communication.ChatMessage${type}InThread`) as any;
  e.id = `cache-${type}-${version}`;
  e.data = { ...e.data, threadId: THREAD, messageId: "m-cache", composeTime: "2021-02-20T00:58:00Z", version: String(version), ...extra };
  return e;
}
const received = message("Received", 100, { messageBody: "first" });
const edited = message("Edited", 200, { messageBody: "second", editTime: "2021-02-20T01:00:00Z" });
const deleted = message("Deleted", 300, { deleteTime: "2021-02-20T01:05:00Z" });

/** The ChatMessages requests one event's delivery makes, as `METHOD status` in order of answer. */
async function stateRequests(event: unknown, writer: ReturnType<typeof testWriter>): Promise<Record<string, number>> {
  startCounting();
  try {
    await within("event", () => ingestEvent(event, "chat", writer));
  } finally {
    const tally = stopCounting();
    assert.ok(tally);
    return tallyJson(tally)["event"]?.["ChatMessages"] ?? {};
  }
}

async function messageRow(settings: ReturnType<typeof testSettings>) {
  const rows = await readTable(settings, "ChatMessages");
  assert.equal(rows.length, 1);
  const { messageBody, deleted, editTime, eventId } = rows[0] as Record<string, unknown>;
  return { messageBody, deleted, editTime, eventId };
}

test("a row this process knows costs one conditional write, and a patch it knows to be covered costs none", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  assert.deepEqual(await stateRequests(received, writer), { "POST 204": 1 }, "a new row: one create");
  assert.deepEqual(await stateRequests(edited, writer), { "PUT 204": 1 }, "a known row: one If-Match replace, no create attempt, no read");
  assert.deepEqual(await stateRequests(received, writer), {}, "a redelivery of an older change: no state request at all");
  assert.deepEqual(await messageRow(settings), { messageBody: "second", deleted: false, editTime: "2021-02-20T01:00:00.0000000Z", eventId: "cache-Edited-200" });
});

test("a stale cache entry costs one refused write more than a read-first writer, and the row ends as in-order delivery leaves it", async () => {
  const settings = testSettings();
  const instanceA = testWriter(settings);
  const instanceB = testWriter(settings);
  await ingestEvent(received, "chat", instanceA); // A now knows the row
  // B has never seen the row: it finds it there (create refused), reads it and replaces it.
  assert.deepEqual(await stateRequests(edited, instanceB), { "POST 409": 1, "GET 200": 1, "PUT 204": 1 });
  // A's entry is stale now: its conditional write is refused, then it reads and writes like B did.
  assert.deepEqual(await stateRequests(deleted, instanceA), { "PUT 412": 1, "GET 200": 1, "PUT 204": 1 });
  // And a change older than the stored row, on a stale entry: refused, read, nothing to write.
  const staleC = testWriter(settings);
  await ingestEvent(received, "chat", staleC); // a redelivery: C learns the row as it is now (deleted)
  await ingestEvent(message("Edited", 400, { messageBody: "later", editTime: "2021-02-20T01:10:00Z" }), "chat", instanceB);
  assert.deepEqual(await stateRequests(message("Edited", 350, { messageBody: "older", editTime: "2021-02-20T01:07:00Z" }), staleC), { "PUT 412": 1, "GET 200": 1 });

  // The same events in order, through one writer, into tables of their own: the same ledger.
  const reference = testSettings();
  const inOrder = testWriter(reference);
  for (const e of [received, edited, deleted, message("Edited", 350, { messageBody: "older", editTime: "2021-02-20T01:07:00Z" }), message("Edited", 400, { messageBody: "later", editTime: "2021-02-20T01:10:00Z" })]) {
    await ingestEvent(e, "chat", inOrder);
  }
  const [a, b] = [await readLedger(settings), await readLedger(reference)];
  assert.deepEqual(a.ChatMessages, b.ChatMessages);
  assert.deepEqual(a.ChatThreadEvents, b.ChatThreadEvents);
});

test("a row missing from the cache is read first once most misses of its kind find the row there", async () => {
  const settings = testSettings();
  const seeded = testWriter(settings);
  const versions = Array.from({ length: 40 }, (_, i) => i);
  const msg = (i: number, version: number) => {
    const e = message("Edited", version, { messageBody: `v${version}`, editTime: "2021-02-20T01:00:00Z", messageId: `m-${i}` });
    e.id = `miss-${i}-${version}`;
    return e;
  };
  for (const i of versions) await ingestEvent(msg(i, 100), "chat", seeded);
  // A fresh instance edits rows that all exist: at first it tries to create (409, read, replace), then
  // it learns that edits of this kind find their row, and reads first (read, replace).
  const fresh = testWriter(settings);
  const costs: string[] = [];
  for (const i of versions) costs.push(Object.keys(await stateRequests(msg(i, 200), fresh)).sort().join(","));
  assert.equal(costs[0], "GET 200,POST 409,PUT 204");
  assert.equal(costs.at(-1), "GET 200,PUT 204");
  const firstReadFirst = costs.indexOf("GET 200,PUT 204");
  assert.ok(firstReadFirst > 0 && costs.slice(firstReadFirst).every((c) => c === "GET 200,PUT 204"), costs.join(" "));
});

test("the cache stays within its bounds, and evicts the least recently used row first", () => {
  const cache = new StateCache({ maxRows: 3, maxChars: 1_000 });
  for (const k of ["a", "b", "c"]) cache.set(k, { etag: k, props: { body: "x" } });
  cache.get("a"); // a is now the most recently used
  cache.set("d", { etag: "d", props: { body: "x" } });
  assert.equal(cache.size, 3);
  assert.equal(cache.get("b"), undefined, "b was the least recently used");
  assert.ok(cache.get("a") && cache.get("c") && cache.get("d"));
  cache.set("big", { etag: "big", props: { body: "y".repeat(996) } });
  assert.ok(cache.get("big"));
  assert.equal(cache.size, 1, "one large row pushes out the others to stay under maxChars");
  cache.set("huge", { etag: "huge", props: { body: "z".repeat(2_000) } });
  assert.equal(cache.get("huge"), undefined, "a row larger than the whole budget is not kept");
});
