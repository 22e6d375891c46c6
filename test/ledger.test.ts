import { test } from "node:test";
import assert from "node:assert/strict";
import { specFor } from "../src/catalog";
import { TableLimitError, StorageError } from "../src/errors";
import { ingestEvent, planEvent } from "../src/ingest";
import { MAX_STRING_UNITS } from "../src/ledger/entity";
import { unescapeKeyPart } from "../src/ledger/keys";
import { azuriteConnectionString } from "../src/config";
import { fixture, loadFixtures, readLedger, readTable, testSettings, testWriter } from "./helpers";

const THREAD = "19:ordering-test@thread.v2";

function chatMessage(type: "Received" | "Edited" | "Deleted", version: number, extra: Record<string, unknown> = {}) {
  const e = fixture("seed-003", `Microsoft.Communication.ChatMessage${type}InThread`) as any;
  e.id = `order-${type}-${version}`;
  e.data = { ...e.data, threadId: THREAD, messageId: "m-1", composeTime: "2021-02-20T00:58:00Z", version: String(version), ...extra };
  return e;
}

test("a redelivered event creates no second row and changes no row", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const events = loadFixtures().flatMap((f) => f.events.map((e) => ({ e, family: specFor(f.type)?.family ?? "sms" })));
  for (const { e, family } of events) await ingestEvent(e, family, writer);
  const first = await readLedger(settings);
  const outcomes: string[] = [];
  for (const { e, family } of events) outcomes.push(...(await ingestEvent(e, family, writer)).outcomes);
  const second = await readLedger(settings);
  assert.deepEqual(second, first);
  assert.ok(outcomes.length > 0);
  assert.deepEqual([...new Set(outcomes)].sort(), ["existing", "unchanged"], "every write of the redelivery found its row already there");
});

test("the preview doc's two events that share one id are both stored", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const sms = fixture("seed-004", "Microsoft.CommunicationServices.SMSReceived");
  const chat = fixture("seed-004", "Microsoft.CommunicationServices.ChatReceived");
  assert.equal(sms["id"], chat["id"]);
  await ingestEvent(sms, "sms", writer);
  await ingestEvent(chat, "chat", writer);
  assert.equal((await readTable(settings, "SmsMessages")).length, 2);
  assert.equal((await readTable(settings, "ChatUserEvents")).length, 1);
});

test("an edit that arrives before its message, and a delete before both, leave the message right in every order", async () => {
  const received = chatMessage("Received", 100, { messageBody: "first" });
  const edited = chatMessage("Edited", 200, { messageBody: "second", editTime: "2021-02-20T01:00:00Z" });
  const deleted = chatMessage("Deleted", 300, { deleteTime: "2021-02-20T01:05:00Z" });
  const orders = [
    [received, edited, deleted],
    [edited, received, deleted],
    [deleted, edited, received],
    [edited, deleted, received],
  ];
  for (const order of orders) {
    const settings = testSettings();
    const writer = testWriter(settings);
    // After the first two, the edit must have won over the original whichever came first.
    for (const e of order.slice(0, 2)) await ingestEvent(e, "chat", writer);
    const afterTwo = (await readTable(settings, "ChatMessages"))[0];
    if (!order.slice(0, 2).includes(deleted)) assert.equal(afterTwo?.["messageBody"], "second", `after ${order.slice(0, 2).map((e) => e.id)}`);
    await ingestEvent(order[2], "chat", writer);
    const rows = await readTable(settings, "ChatMessages");
    assert.equal(rows.length, 1);
    const row: Record<string, unknown> = rows[0] ?? {};
    assert.equal(row["deleted"], true);
    assert.equal(row["messageBody"], undefined);
    assert.equal(row["deleteTime"], "2021-02-20T01:05:00.0000000Z");
    assert.match(String(row["v_message"]), /^00000000000000000300\|order-Deleted-300\|[0-9a-f]{10}$/);
    assert.equal(row["eventId"], "order-Deleted-300");
    // The timeline keeps all three, in time order, whatever the arrival order.
    const timeline = await readTable(settings, "ChatThreadEvents");
    assert.deepEqual(timeline.map((r) => r["change"]), ["received", "edited", "deleted"]);
  }
});

test("an older edit arriving after a newer one does not overwrite it", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  await ingestEvent(chatMessage("Edited", 300, { messageBody: "newest" }), "chat", writer);
  const { outcomes } = await ingestEvent(chatMessage("Edited", 200, { messageBody: "older" }), "chat", writer);
  assert.deepEqual(outcomes, ["written", "unchanged"]); // its timeline row is new; the state is not older
  assert.equal((await readTable(settings, "ChatMessages"))[0]?.["messageBody"], "newest");
});

test("ids and keys full of / \\ # ? and control characters are stored under valid, reversible keys", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const hostile = "a/b\\c#d?e\u0001f\u007fg\u0085h|i%j~k";
  const e = chatMessage("Received", 1, { threadId: `thread/${hostile}`, messageId: `msg#${hostile}` });
  e.id = `id?${hostile}`;
  await ingestEvent(e, "chat", writer);
  const [timeline] = await readTable(settings, "ChatThreadEvents");
  const [message] = await readTable(settings, "ChatMessages");
  assert.ok(timeline && message);
  for (const key of [timeline.partitionKey, timeline.rowKey, message.partitionKey, message.rowKey]) {
    assert.doesNotMatch(key, /[/\\#?\u0000-\u001f\u007f-\u009f]/);
  }
  assert.equal(unescapeKeyPart(message.partitionKey), `thread/${hostile}`);
  assert.equal(unescapeKeyPart(message.rowKey), `msg#${hostile}`);
  assert.equal(unescapeKeyPart(timeline.rowKey.split("|")[1] ?? ""), `id?${hostile}`);
  assert.equal(timeline["eventId"], `id?${hostile}`);
});

test("over-long key values keep a readable prefix and a hash, and stay distinct", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const long = "t".repeat(2000);
  await ingestEvent(chatMessage("Received", 1, { threadId: `${long}A` }), "chat", writer);
  await ingestEvent(chatMessage("Received", 1, { threadId: `${long}B` }), "chat", writer);
  const rows = await readTable(settings, "ChatMessages");
  assert.equal(rows.length, 2);
  for (const r of rows) {
    assert.ok(r.partitionKey.length <= 160, `${r.partitionKey.length} chars`);
    assert.match(r.partitionKey, /^t+~[0-9a-f]{40}$/);
    // The key keeps a prefix and a hash; the property keeps the whole id, so the row stands alone.
    assert.match(String(r["threadId"]), new RegExp(`^${long}[AB]$`));
  }
  assert.notEqual(rows[0]?.partitionKey, rows[1]?.partitionKey);
});

test("a 28 K-character chat body is stored whole; a longer one is split across properties and joined back", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const body28k = "é".repeat(28 * 1024);
  // ASCII: Azurite 3.37 itself corrupts multi-byte characters in request bodies this large (they
  // straddle its read chunks). Splitting that never cuts a surrogate pair is unit-tested in entity.test.ts.
  const body100k = "0123456789".repeat(10_000);
  await ingestEvent(chatMessage("Received", 1, { messageId: "m-28k", messageBody: body28k }), "chat", writer);
  await ingestEvent({ ...chatMessage("Received", 1, { messageId: "m-100k", messageBody: body100k }), id: "order-Received-100k" }, "chat", writer);
  const rows = await readTable(settings, "ChatMessages");
  const small = rows.find((r) => r.rowKey === "m-28k");
  const big = rows.find((r) => r.rowKey === "m-100k");
  assert.equal(small?.["messageBody"], body28k);
  assert.equal(big?.["messageBody__parts"], 4);
  for (const name of ["messageBody", "messageBody__2", "messageBody__3", "messageBody__4"]) {
    const length = String(big?.[name]).length;
    assert.ok(length > 0 && length <= MAX_STRING_UNITS, `${name}: ${length}`);
  }
  const joined = ["messageBody", "messageBody__2", "messageBody__3", "messageBody__4"].map((n) => String(big?.[n])).join("");
  assert.equal(joined, body100k);
});

test("an event too large for one Table entity fails with a clear error and writes nothing", async () => {
  const settings = testSettings();
  const writer = testWriter(settings);
  const e = chatMessage("Received", 1, { messageBody: "x".repeat(600_000) });
  e.id = "too-big";
  // Body (1.2 MB as UTF-16) plus the raw event (as large again) exceed 1 MiB: rejected before any write.
  await assert.rejects(
    ingestEvent(e, "chat", writer),
    (error: unknown) => {
      assert.ok(error instanceof TableLimitError);
      assert.match(error.message, /^Microsoft\.Communication\.ChatMessageReceivedInThread event too-big: the ChatThreadEvents row would be \d+ bytes; Table Storage allows 1048576 \(1 MiB\)$/);
      return true;
    },
  );
  assert.equal((await readTable(settings, "ChatThreadEvents")).length, 0);
  assert.equal((await readTable(settings, "ChatMessages")).length, 0);
});

test("when storage is unreachable the event fails with a StorageError (so Event Grid retries), and succeeds on redelivery", async () => {
  const down = testSettings({
    storage: { kind: "connectionString", connectionString: azuriteConnectionString("http://127.0.0.1:9/devstoreaccount1") },
    requestTimeoutMs: 1500,
  });
  const e = fixture("seed-002", "Microsoft.Communication.SMSReceived");
  await assert.rejects(ingestEvent(e, "sms", testWriter(down)), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.match(error.message, /^Microsoft\.Communication\.SMSReceived event Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e: creating the T\d+SmsMessages table failed \((no answer within 1500 ms|.*ECONNREFUSED.*)\); the invocation fails so that Event Grid retries$/);
    return true;
  });
  const up = testSettings();
  const { outcomes } = await ingestEvent(e, "sms", testWriter(up));
  assert.deepEqual(outcomes, ["written", "written"]);
});

test("planning is pure: the same event always plans the same keys", () => {
  for (const f of loadFixtures()) {
    for (const e of f.events) {
      const family = specFor(f.type)?.family ?? "sms";
      assert.deepEqual(planEvent(structuredClone(e), family), planEvent(structuredClone(e), family));
    }
  }
});
