import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { functionNameOf, specFor } from "../src/catalog";
import { loadSamples } from "../src/cli/demo";
import { table } from "../src/cli/query";
import { loadAppWithPrefix, PROJECT_ROOT } from "./helpers";

/* `acs-ledger query` as a user runs it, over a ledger filled by delivering every sample through the app. */

const PREFIX = `Query${process.pid}`;
const BIN = path.join(PROJECT_ROOT, "dist", "src", "cli", "acs-ledger.js");

before(async () => {
  const host = loadAppWithPrefix(PREFIX);
  for (const s of loadSamples(PROJECT_ROOT)) assert.equal((await host.invoke(functionNameOf(specFor(s.type)!.family), s.event)).status, "succeeded");
});

function query(args: string[], env: NodeJS.ProcessEnv = { ...process.env, LEDGER_TABLE_PREFIX: PREFIX }) {
  const child = spawnSync(process.execPath, [BIN, "query", ...args], { env, encoding: "utf8", timeout: 30_000 });
  return { code: child.status, out: child.stdout, err: child.stderr };
}

test("with no storage configured it refuses in one line: an embedded Azurite would be empty", () => {
  const env = { PATH: process.env["PATH"] ?? "" };
  const r = query(["sms", "+14255550123"], env);
  assert.equal(r.code, 2);
  assert.equal(r.err, "acs-ledger query: no LEDGER_STORAGE or AzureWebJobsStorage is set, and an embedded Azurite would be empty: set LEDGER_STORAGE to the ledger's account (or give --account NAME)\n");
  assert.equal(r.out, "");
});

test("query sms: a table of the number's messages, newest first, and paging with --continuation-token", () => {
  const r = query(["sms", "14255550123"]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split("\n");
  assert.equal(lines[0], "SMS to and from +14255550123: 3 rows");
  assert.equal(lines[1], "  occurredAt                    direction  from          to            message                                deliveryStatus");
  assert.match(lines[3] ?? "", /^ {2}2025-07-08T16:47:05\.1180000Z {2}inbound {4}\+14255550123 {2}\+18005550199 {2}Great, thanks!/);
  assert.match(lines[4] ?? "", /outbound .* Delivered$/);
  assert.ok(!r.out.includes("More:"));

  const first = query(["sms", "+14255550123", "--limit", "2", "--json"]);
  const page1 = JSON.parse(first.out);
  assert.equal(page1.items.length, 2);
  const second = JSON.parse(query(["sms", "+14255550123", "--json", "--continuation-token", page1.continuationToken]).out);
  assert.deepEqual(second.items.map((i: any) => i.message), ["Hi, is my order #4471 shipping today?"]);
  assert.equal(second.continuationToken, undefined);
  assert.match(query(["sms", "+14255550123", "--limit", "1"]).out, /\nMore: add --continuation-token [A-Za-z0-9_-]+\n$/);
});

test("query thread, messages, call, user and quarantine answer from the same reads as the API", () => {
  const thread = query(["thread", "19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2"]);
  assert.equal(thread.code, 0, thread.err);
  assert.match(thread.out, /^Thread 19:e07c8ddc5bab4c059ea9f11d29b544b6@thread\.v2: 1 row\n/);
  assert.match(thread.out, /\nParticipants: 5 rows\n/);
  const events = query(["thread", "19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2", "--events", "--from", "2025-07-08T20:00:00Z", "--to", "2025-07-08T20:04:00Z"]);
  assert.match(events.out, /: 4 rows\n/);
  const messages = JSON.parse(query(["messages", "19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2", "--json"]).out);
  assert.deepEqual(messages.items.map((m: any) => m.deleted), [false, true, false]);
  const call = query(["call", "aHR0cHM6Ly9hcGFjLXByb2QtMDMuY29udi5za3lwZS5jb206NDQzL2NvbnYvM2FKS0x3RVZockR6dFc2Slkzay1waz9pPTEyJmU9NjM4ODc2MDE2MDI2OTA1ODU2"]);
  assert.match(call.out, /\nTimeline: 8 rows\n/);
  assert.match(call.out, /878\.924/);
  const disconnects = query(["user", "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-5cbb-38e6-07fd-084822002467", "--disconnects"]);
  assert.match(disconnects.out, /^Disconnects of 8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-5cbb-38e6-07fd-084822002467: 1 row\n/);
  assert.equal(query(["quarantine"]).out, "Quarantined events: 0 rows\n\n");
});

test("bad input exits 2 naming the flag; an unknown id exits 1", () => {
  for (const [args, line] of [
    [["sms", "+14255550123", "--limit", "0"], 'acs-ledger query: --limit must be a whole number from 1 to 1000: got "0"'],
    [["sms", "+14255550123", "--from", "2025-07-09", "--to", "2025-07-08"], "acs-ledger query: --from (2025-07-09T00:00:00.0000000Z) is after to (2025-07-08T00:00:00.0000000Z)"],
    [["sms", "call-me"], 'acs-ledger query: NUMBER must be a phone number such as +14255550123 (with or without +): got "call-me"'],
    [["thread"], "acs-ledger query: query thread needs an id: acs-ledger query thread THREADID"],
    [["calls", "x"], 'acs-ledger query: cannot query "calls": choose one of sms, thread, messages, call, user, quarantine'],
    [["call", "x", "--events"], "acs-ledger query: --events goes with query thread"],
  ] as const) {
    const r = query([...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.err, `${line}\nRun with --help for usage.\n`);
  }
  const unknown = query(["thread", "19:nothing@thread.v2"]);
  assert.deepEqual([unknown.code, unknown.err], [1, "acs-ledger query: thread 19:nothing@thread.v2: the ledger has nothing for it\n"]);
});

test("table cells are one line each: event text cannot break or forge rows", () => {
  const lines = table([{ a: "line one\nline two\r\u001b[31mred", b: 1 }], ["a", "b", "c"], 80);
  assert.deepEqual(lines, ["a                           b", "--------------------------  -", "line one line two  [31mred  1"]);
});
