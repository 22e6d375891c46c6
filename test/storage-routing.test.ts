import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { settingsFromEnv, type LedgerSettings } from "../src/config";
import { startAzurite, type Azurite } from "../src/devhost/azurite";
import { ingestEvent } from "../src/ingest";
import { LedgerTables } from "../src/ledger/tables";
import { LedgerWriter } from "../src/ledger/writer";
import { runReplay } from "../src/replay";
import { fixture, readTable, testSettings } from "./helpers";

/*
 * LEDGER_STORAGE_<FAMILY>: a family's tables in an account of their own (here a second Azurite), the
 * quarantine and every other family in LEDGER_STORAGE; the functions' writer and the replay alike.
 */

let chatAccount: Azurite;
before(async () => {
  chatAccount = await startAzurite();
});
after(async () => {
  await chatAccount.stop();
});

test("LEDGER_STORAGE_<FAMILY> defaults to LEDGER_STORAGE, and a bad value names its setting", () => {
  const base = { LEDGER_STORAGE: "UseDevelopmentStorage=true" };
  const plain = settingsFromEnv(base);
  assert.deepEqual(plain.familyStorage, {});
  assert.equal(plain.chatStateFrom, "all");
  const tables = new LedgerTables(plain);
  assert.equal(tables.storageOf("ChatMessages"), plain.storage);

  const split = settingsFromEnv({ ...base, LEDGER_STORAGE_CHAT: "https://chatledger.table.core.windows.net", LEDGER_STORAGE_SMS: " " });
  assert.deepEqual(split.familyStorage, { chat: { kind: "endpoint", url: "https://chatledger.table.core.windows.net" } });
  const routed = new LedgerTables(split);
  for (const t of ["ChatThreadEvents", "ChatUserEvents", "ChatMessages", "ChatThreads", "ChatParticipants"] as const) assert.equal(routed.storageOf(t), split.familyStorage?.chat, t);
  for (const t of ["SmsMessages", "CallEvents", "UserDisconnects", "QuarantinedEvents"] as const) assert.equal(routed.storageOf(t), split.storage, t);

  assert.throws(() => settingsFromEnv({ ...base, LEDGER_STORAGE_CALLING: "calls" }), {
    message: "LEDGER_STORAGE_CALLING is neither a table endpoint URL (https://…) nor a storage connection string (…AccountName=…)",
  });
  assert.throws(() => settingsFromEnv({ ...base, LEDGER_CHAT_STATE_FROM: "user" }), { message: 'LEDGER_CHAT_STATE_FROM must be "all" or "thread": got "user"' });
});

test("a family's rows go to its own account, through the functions' writer and the replay; the quarantine stays in LEDGER_STORAGE", async () => {
  const main = testSettings();
  const settings: LedgerSettings = { ...main, familyStorage: { chat: { kind: "connectionString", connectionString: chatAccount.connectionString } } };
  const inChatAccount: LedgerSettings = { ...main, storage: { kind: "connectionString", connectionString: chatAccount.connectionString } };
  const writer = new LedgerWriter(new LedgerTables(settings));

  const message = fixture("seed-003", "Microsoft.Communication.ChatMessageReceivedInThread");
  const sms = fixture("seed-002", "Microsoft.Communication.SMSReceived");
  await ingestEvent(message, "chat", writer);
  await ingestEvent(sms, "sms", writer);
  await ingestEvent({ ...message, id: "misrouted" }, "sms", writer); // quarantined: a chat event at the SMS function

  assert.equal((await readTable(inChatAccount, "ChatThreadEvents")).length, 1);
  assert.equal((await readTable(inChatAccount, "ChatMessages")).length, 1);
  assert.equal((await readTable(main, "ChatThreadEvents")).length, 0, "no chat table in LEDGER_STORAGE");
  assert.ok((await readTable(main, "SmsMessages")).length > 0);
  assert.equal((await readTable(inChatAccount, "SmsMessages")).length, 0);
  assert.equal((await readTable(main, "QuarantinedEvents")).length, 1);
  assert.equal((await readTable(inChatAccount, "QuarantinedEvents")).length, 0);

  // The replay takes the same settings and lands in the same accounts.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "routing-"));
  const edited = fixture("seed-003", "Microsoft.Communication.ChatMessageEditedInThread");
  fs.writeFileSync(path.join(dir, "events.json"), JSON.stringify([edited, { ...sms, id: "replayed-sms" }]));
  const result = await runReplay({ paths: [dir], settings, quiet: true }, { out: () => {}, err: () => {} });
  assert.equal(result.exitCode, 0);
  assert.equal(result.stored, 2);
  assert.equal((await readTable(inChatAccount, "ChatThreadEvents")).length, 2);
  assert.equal((await readTable(main, "ChatThreadEvents")).length, 0);
  assert.ok((await readTable(main, "SmsMessages")).some((r) => r["eventId"] === "replayed-sms"));
});
