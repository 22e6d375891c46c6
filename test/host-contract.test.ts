import { test, before } from "node:test";
import assert from "node:assert/strict";
import { StorageError } from "../src/errors";
import type { LoadedFunctionApp } from "../src/devhost/functionsHost";
import { fixture, loadAppWithPrefix, prefixedSettings, PROJECT_ROOT, readLedger, type Row } from "./helpers";

/*
 * The app as the Functions host sees it: package.json `main` loaded with a stand-in for
 * `@azure/functions-core`, and invocations through @azure/functions' own invocation model with the
 * JSON input the host sends for an Event Grid trigger.
 */

const PREFIX = `Host${process.pid}`;
let host: LoadedFunctionApp;

before(() => {
  host = loadAppWithPrefix(PREFIX);
});

const settings = () => prefixedSettings(PREFIX);
const byEvent = (rows: Row[], id: string) => rows.filter((r) => r["eventId"] === id);

test("the compiled app registers exactly the four family functions, each with an Event Grid trigger", () => {
  const eventGrid = [...host.functions.values()].filter((fn) => Object.values(fn.bindings).some((b) => b.type === "eventGridTrigger"));
  assert.deepEqual(eventGrid.map((fn) => fn.name).sort(), ["callingEvents", "chatEvents", "presenceEvents", "smsEvents"]);
  // The rest are the read API's HTTP functions (test/read-api.test.ts).
  assert.ok([...host.functions.keys()].every((name) => eventGrid.some((fn) => fn.name === name) || name.startsWith("ledger")));
  for (const fn of eventGrid) {
    const bindings = Object.values(fn.bindings);
    assert.equal(bindings.length, 1, fn.name);
    assert.equal(bindings[0]?.type, "eventGridTrigger");
    assert.equal(bindings[0]?.direction, "in");
  }
});

test("each function stores its family's event, and logs ids and types but no body or phone number", async () => {
  const events: Array<[string, Record<string, unknown>]> = [
    ["smsEvents", fixture("seed-002", "Microsoft.Communication.SMSReceived")],
    ["chatEvents", fixture("seed-003", "Microsoft.Communication.ChatMessageReceivedInThread")],
    ["callingEvents", fixture("seed-001", "Microsoft.Communication.CallStarted")],
    ["presenceEvents", fixture("seed-000", "Microsoft.Communication.UserDisconnected")],
  ];
  for (const [fn, e] of events) {
    const outcome = await host.invoke(fn, e);
    assert.equal(outcome.status, "succeeded", `${fn}: ${String(outcome.error)}`);
    const userLogs = outcome.logs.filter((l) => l.category === "user");
    assert.equal(userLogs.length, 1);
    assert.match(userLogs[0]?.message ?? "", new RegExp(`^stored ${String(e["eventType"]).replace(/\./g, "\\.")} event ${e["id"]}: \\d+ rows \\(0 already up to date\\)$`));
  }
  const ledger = await readLedger(settings());
  assert.equal(byEvent(ledger.SmsMessages, "Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e").length, 2);
  assert.equal(byEvent(ledger.ChatThreadEvents, "4f614f97-c451-4b82-a8c9-1e30c3bfcda1").length, 1);
  assert.equal(byEvent(ledger.CallEvents, "a8bcd8a3-12d7-46ba-8cde-f6d0bda8feeb").length, 1);
  assert.equal(byEvent(ledger.UserDisconnects, "8f60490d-0719-4d9d-a1a6-835362fb752e").length, 1);
  const allLogs = host.logs.map((l) => l.message).join("\n");
  assert.doesNotMatch(allLogs, /Great to connect|Talk about new Thread Events|5555555555/);
});

test("a CloudEvent is stored through the host as well", async () => {
  const eg = fixture("seed-000", "Microsoft.Communication.UserDisconnected") as any;
  const ce = { specversion: "1.0", id: "ce-presence-1", source: eg.topic, type: eg.eventType, subject: eg.subject, time: "2021-08-10T20:30:00Z", data: eg.data };
  assert.equal((await host.invoke("presenceEvents", ce)).status, "succeeded");
  const [row] = byEvent((await readLedger(settings())).UserDisconnects, "ce-presence-1");
  assert.equal(row?.["deliverySchema"], "CloudEvents");
  assert.equal(row?.["disconnectedAt"], "2021-08-10T20:30:00.0000000Z");
});

test("bad input completes the invocation (Event Grid is done) with a quarantine row", async () => {
  const misrouted = fixture("seed-001", "Microsoft.Communication.CallEnded");
  const outcome = await host.invoke("chatEvents", misrouted);
  assert.equal(outcome.status, "succeeded");
  assert.equal(outcome.logs.find((l) => l.category === "user")?.message, "quarantined Microsoft.Communication.CallEnded event 530183db-987b-4a3a-b6c1-3391bab12864: WrongFunction");
  assert.equal((await host.invokeTypedData("smsEvents", { string: "<xml>not json</xml>" })).status, "succeeded");
  const quarantined = (await readLedger(settings())).QuarantinedEvents;
  assert.deepEqual(quarantined.map((r) => [r["reasonCode"], r["receivedBy"]]).sort(), [
    ["InvalidEnvelope", "smsEvents"],
    ["WrongFunction", "chatEvents"],
  ]);
  assert.equal(quarantined.find((r) => r["reasonCode"] === "InvalidEnvelope")?.["rawEvent"], '"<xml>not json</xml>"');
});

test("a storage failure fails the invocation, so that Event Grid retries", async () => {
  // The app reads its settings once per process, so the outage runs in a second app process whose
  // storage is a port nothing listens on.
  const { spawnSync } = await import("node:child_process");
  const script = `
    process.env.LEDGER_STORAGE = require("./dist/src/config").azuriteConnectionString("http://127.0.0.1:9/devstoreaccount1");
    process.env.LEDGER_TABLE_PREFIX = "";
    process.env.LEDGER_REQUEST_TIMEOUT_MS = "1000";
    const { loadFunctionApp } = require("./dist/src/devhost/functionsHost");
    const host = loadFunctionApp(process.cwd());
    host.invoke("smsEvents", ${JSON.stringify(fixture("seed-002", "Microsoft.Communication.SMSReceived"))}).then((o) => {
      console.log(JSON.stringify({ status: o.status, name: o.error && o.error.name, message: o.error && o.error.message }));
    });`;
  const child = spawnSync(process.execPath, ["-e", script], { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 30_000 });
  const result = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
  assert.equal(result.status, "failed");
  assert.equal(result.name, StorageError.name);
  assert.match(result.message, /^Microsoft\.Communication\.SMSReceived event Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e: creating the SmsMessages table failed \(.+\); the invocation fails so that Event Grid retries$/);
});
