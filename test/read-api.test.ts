import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { azuriteConnectionString } from "../src/config";
import { functionNameOf, specFor } from "../src/catalog";
import { loadSamples } from "../src/cli/demo";
import { loadFunctionApp, type LoadedFunctionApp } from "../src/devhost/functionsHost";
import { matchRoute } from "../src/devhost/httpRoutes";
import { startFaultyProxy, type FaultyProxy } from "./faults/proxy";
import { PROJECT_ROOT } from "./helpers";

/*
 * The read API as the host runs it: the compiled app's HTTP functions, invoked through
 * @azure/functions' own invocation model, over a ledger filled by delivering every sample to the
 * Event Grid functions. Storage sits behind a loopback proxy that records each request, so the test
 * counts what every answer costs.
 */

let host: LoadedFunctionApp;
let proxy: FaultyProxy;

const NUMBER = "+14255550123";
const THREAD = "19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2";
const CALL = "aHR0cHM6Ly9hcGFjLXByb2QtMDMuY29udi5za3lwZS5jb206NDQzL2NvbnYvM2FKS0x3RVZockR6dFc2Slkzay1waz9pPTEyJmU9NjM4ODc2MDE2MDI2OTA1ODU2";
const USER = "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-5cbb-38e6-07fd-084822002467";

const MISROUTED_ID = "5ce6b2e5-8167-4039-93d5-e9d6c5d58b08"; // a chat sample delivered to smsEvents
const BROKEN_ID = "b0rken-sms-1";

before(async () => {
  proxy = await startFaultyProxy(Number(process.env["AZURITE_TABLE_PORT"]), { random: () => 1 });
  process.env["LEDGER_STORAGE"] = azuriteConnectionString(proxy.endpoint);
  process.env["LEDGER_TABLE_PREFIX"] = `Read${process.pid}`;
  host = loadFunctionApp(PROJECT_ROOT);
  const samples = loadSamples(PROJECT_ROOT);
  for (const s of samples) assert.equal((await host.invoke(functionNameOf(specFor(s.type)!.family), s.event)).status, "succeeded", s.file);
  const chat = samples.find((s) => s.event["id"] === MISROUTED_ID)!;
  assert.equal((await host.invoke("smsEvents", chat.event)).status, "succeeded");
  const sms = samples.find((s) => s.type === "Microsoft.Communication.SMSReceived")!;
  const broken = { ...structuredClone(sms.event), id: BROKEN_ID, data: { ...(sms.event["data"] as object), To: 42, Message: undefined } };
  assert.equal((await host.invoke("smsEvents", broken)).status, "succeeded");
  // A process's first read of a table also creates its table client (POST /Tables, 409 as it exists):
  // once per table per process. Do that here, so that each test counts what an answer costs.
  const warmUp = ["sms/15550000001/messages", "sms/messages/x/reports", "chat/threads/x", "chat/threads/x/messages", "chat/threads/x/events", "chat/users/x/events", "calls/x", "users/x/disconnects", "quarantine"];
  for (const path of warmUp) await api(`api/ledger/${path}`);
});

after(() => proxy?.close());

interface Answer {
  status: number;
  headers: Record<string, string>;
  json: any;
  /** The storage requests this one call caused. */
  requests: string[];
}

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<Answer> {
  const url = new URL(path, "http://127.0.0.1:7071/");
  const method = init.method ?? "GET";
  const match = matchRoute(host.functions.values(), method, url.pathname);
  if (!match) throw new Error(`no function for ${method} ${url.pathname}`);
  proxy.requests.length = 0;
  const body = init.body === undefined ? undefined : Buffer.from(typeof init.body === "string" ? init.body : JSON.stringify(init.body));
  const outcome = await host.invokeHttp(match.functionName, { method, url: url.href, headers: { "content-type": "application/json" }, params: match.params, ...(body ? { body } : {}) });
  assert.equal(outcome.status, "succeeded", String(outcome.error));
  const answer = outcome.answer!;
  return { status: answer.status, headers: answer.headers, json: JSON.parse(answer.body.toString("utf8")), requests: [...proxy.requests] };
}

const enc = encodeURIComponent;
/** Every request a read makes is a point read or a query on one partition. */
function assertPartitionReads(requests: readonly string[]): void {
  for (const r of requests) assert.match(r, /^GET \/devstoreaccount1\/Read\d+\w+(\(PartitionKey='[^']+',RowKey='[^']+'\)|\(\)\?.*\$filter=PartitionKey eq '[^']+')/, r);
}

test("the app registers one HTTP function per read route, each behind a function key", () => {
  const http = [...host.functions.values()].filter((f) => Object.values(f.bindings).some((b) => b.type === "httpTrigger"));
  assert.deepEqual(
    http.map((f) => { const t = Object.values(f.bindings).find((b) => b.type === "httpTrigger")!; return `${(t["methods"] as string[]).join()} ${t["route"]} ${t["authLevel"]}`; }).sort(),
    [
      "GET ledger/calls/{serverCallId} function",
      "GET ledger/chat/threads/{threadId} function",
      "GET ledger/chat/threads/{threadId}/events function",
      "GET ledger/chat/threads/{threadId}/messages function",
      "GET ledger/chat/users/{rawId}/events function",
      "GET ledger/quarantine function",
      "GET ledger/sms/messages/{messageId}/reports function",
      "GET ledger/sms/{number}/messages function",
      "GET ledger/users/{rawId}/disconnects function",
      "GET ledger/viewer function",
      "POST ledger/quarantine/replay function",
    ],
  );
});

test("SMS by number: newest first, with or without +, outgoing messages with their delivery status", async () => {
  const withPlus = await api(`api/ledger/sms/${enc(NUMBER)}/messages`);
  const without = await api(`api/ledger/sms/14255550123/messages`);
  assert.equal(withPlus.status, 200);
  assert.deepEqual(without.json, withPlus.json);
  assert.equal(withPlus.headers["content-type"], "application/json; charset=utf-8");
  const items = withPlus.json.items as any[];
  assert.deepEqual(items.map((i) => [i.occurredAt, i.direction, i.from, i.to, i.message ?? i.deliveryStatus]), [
    ["2025-07-08T16:47:05.1180000Z", "inbound", NUMBER, "+18005550199", "Great, thanks!"],
    ["2025-07-08T16:46:36.2855749Z", "outbound", "+18005550199", NUMBER, "Delivered"],
    ["2025-07-08T16:45:12.3200000Z", "inbound", NUMBER, "+18005550199", "Hi, is my order #4471 shipping today?"],
  ]);
  assert.equal(withPlus.json.continuationToken, undefined);
  assert.equal(items[0].partitionKey, NUMBER);
  assert.equal(items[0].rawEvent, undefined, "no raw event unless asked for");
  assert.equal(items[0].etag, undefined);
  // Delivery attempts are stored camelCase, whichever casing the report came in.
  assert.deepEqual(items[1].deliveryAttempts, [{ timestamp: "2025-07-08T16:46:31.9315918Z", segmentsSucceeded: 1, segmentsFailed: 0 }]);
  // One query for the page and one for the outgoing message's latest report.
  assert.equal(withPlus.requests.length, 2, withPlus.requests.join("\n"));
  assertPartitionReads(withPlus.requests);
  const raw = await api(`api/ledger/sms/${enc(NUMBER)}/messages?raw=true&limit=1`);
  assert.equal(raw.json.items[0].rawEvent.id, "Incoming_2025070816470512122580-d9f1-4e83-ae45-2d0086ec3bfb");
});

test("paging: limit and an opaque continuation token walk the same items; from/to cut by time", async () => {
  const all = (await api(`api/ledger/sms/${enc(NUMBER)}/messages`)).json.items;
  const seen: any[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await api(`api/ledger/sms/${enc(NUMBER)}/messages?limit=1${token ? `&continuationToken=${enc(token)}` : ""}`);
    assert.equal(page.status, 200);
    seen.push(...page.json.items);
    token = page.json.continuationToken;
    pages++;
  } while (token);
  assert.deepEqual(seen, all);
  assert.equal(pages, 3);
  const window = await api(`api/ledger/sms/${enc(NUMBER)}/messages?from=2025-07-08T16:45:12.33Z&to=2025-07-08T16:47:05.118Z`); // [from, to)
  assert.deepEqual(window.json.items.map((i: any) => i.direction), ["outbound"]);
  const events = await api(`api/ledger/chat/threads/${enc(THREAD)}/events?from=2025-07-08T20:00:00Z&to=2025-07-08T20:04:00Z`);
  assert.deepEqual(events.json.items.map((i: any) => i.eventType.split(".").pop()), ["ChatMessageReceivedInThread", "ChatMessageEditedInThread", "ChatThreadParticipantAdded", "ChatThreadPropertiesUpdated"]);
  assert.equal(events.requests.length, 1);
  assertPartitionReads(events.requests);
});

test("bad input gets a 400 naming the parameter", async () => {
  const cases: Array<[string, string, string]> = [
    ["api/ledger/sms/12ab!/messages", "number", 'number must be a phone number such as +14255550123 (with or without +): got "12ab!"'],
    [`api/ledger/sms/${enc(NUMBER)}/messages?limit=0`, "limit", 'limit must be a whole number from 1 to 1000: got "0"'],
    [`api/ledger/sms/${enc(NUMBER)}/messages?limit=1001`, "limit", 'limit must be a whole number from 1 to 1000: got "1001"'],
    [`api/ledger/sms/${enc(NUMBER)}/messages?limit=ten`, "limit", 'limit must be a whole number from 1 to 1000: got "ten"'],
    [`api/ledger/sms/${enc(NUMBER)}/messages?from=2025-07-09&to=2025-07-08`, "from", "from (2025-07-09T00:00:00.0000000Z) is after to (2025-07-08T00:00:00.0000000Z)"],
    [`api/ledger/sms/${enc(NUMBER)}/messages?to=yesterday`, "to", 'to must be an ISO 8601 time such as 2025-07-08T16:00:00Z, or a date such as 2025-07-08: got "yesterday"'],
    [`api/ledger/sms/${enc(NUMBER)}/messages?continuationToken=bm90IGEgdG9rZW4`, "continuationToken", "continuationToken is not one this API gave out: pass back the continuationToken of the previous answer unchanged"],
    [`api/ledger/chat/threads/${enc(THREAD)}/messages?from=2025-07-08`, "from", "from does not apply here: these rows are not ordered by time"],
    [`api/ledger/quarantine?raw=yes`, "raw", 'raw must be true or false: got "yes"'],
  ];
  for (const [path, parameter, error] of cases) {
    const answer = await api(path);
    assert.equal(answer.status, 400, path);
    assert.deepEqual(answer.json, { error, parameter }, path);
    assert.equal(answer.requests.length, 0, `${path}: no storage request for bad input`);
  }
  // A token is tied to its query: one from another number's listing is refused.
  const other = await api(`api/ledger/sms/18005550199/messages?limit=1`);
  const misused = await api(`api/ledger/sms/${enc(NUMBER)}/messages?continuationToken=${enc(other.json.continuationToken)}`);
  assert.deepEqual(misused.json, { error: "continuationToken belongs to another query: use it with the same route and parameters as the answer that gave it", parameter: "continuationToken" });
  const body = await api("api/ledger/quarantine/replay", { method: "POST", body: { types: ["x"] } });
  assert.deepEqual([body.status, body.json], [400, { error: '"types" is not a replay option: give type, from and to (each optional)', parameter: "types" }]);
});

test("an unknown number, thread, call or user gets a 404", async () => {
  for (const [path, error] of [
    ["api/ledger/sms/15550000000/messages", "number +15550000000: the ledger has nothing for it"],
    ["api/ledger/sms/messages/nope/reports", "message nope: the ledger has nothing for it"],
    ["api/ledger/chat/threads/19:nothing@thread.v2", "thread 19:nothing@thread.v2: the ledger has nothing for it"],
    ["api/ledger/chat/threads/19:nothing@thread.v2/messages", "thread 19:nothing@thread.v2: the ledger has nothing for it"],
    ["api/ledger/calls/bm8tc3VjaC1jYWxs", "call bm8tc3VjaC1jYWxs: the ledger has nothing for it"],
    ["api/ledger/users/8:acs:nobody/disconnects", "user 8:acs:nobody: the ledger has nothing for it"],
  ]) {
    const answer = await api(path as string);
    assert.deepEqual([answer.status, answer.json], [404, { error }], path);
  }
});

test("a chat thread now, its messages in their current state, and its timeline", async () => {
  const thread = await api(`api/ledger/chat/threads/${enc(THREAD)}`);
  assert.equal(thread.status, 200);
  assert.equal(thread.json.thread.topic, "Q3 launch planning (review on Thursday)");
  assert.equal(thread.json.thread.deleted, true);
  assert.deepEqual(thread.json.thread.properties, { topic: "Q3 launch planning (review on Thursday)" });
  assert.equal(thread.json.thread.v_properties, undefined, "merge bookkeeping stays out");
  assert.deepEqual(thread.json.participants.map((p: any) => [p.displayName, p.member]).sort(), [["Anthony", true], ["Bob", true], ["John Smith", true], ["Scott", true], ["Shawn", false]]);
  assert.equal(thread.requests.length, 2); // the thread row (point read) and its participants (one partition)
  assertPartitionReads(thread.requests);

  const messages = await api(`api/ledger/chat/threads/${enc(THREAD)}/messages`);
  assert.deepEqual(messages.json.items.map((m: any) => [m.messageId, m.senderDisplayName, m.messageBody ?? null, m.deleted, m.editTime ?? null]), [
    ["1752004770512", "Scott", "Morning all, the final agenda is in the channel.", false, "2025-07-08T20:01:10.4640000Z"],
    ["1752004805207", "Bob", null, true, null],
    ["1752005160840", "Anthony", "Thursday works for me.", false, null],
  ]);
  const events = await api(`api/ledger/chat/threads/${enc(THREAD)}/events`);
  assert.equal(events.json.items.length, 12);
  const times = events.json.items.map((e: any) => e.occurredAt);
  assert.deepEqual(times, [...times].sort());
  assert.equal(events.json.items[0].eventType, "Microsoft.Communication.ChatThreadCreated");
  assert.equal(events.json.items[0].participants.length, 4);
  assert.equal(events.requests.length, 1);
});

test("what one user received, and their disconnects newest first", async () => {
  const received = await api(`api/ledger/chat/users/${enc(USER)}/events`);
  assert.equal(received.status, 200);
  assert.ok(received.json.items.length > 0);
  assert.ok(received.json.items.every((e: any) => e.recipientRawId === USER));
  assert.deepEqual(received.json.items.map((e: any) => e.eventType.split(".").pop()).slice(0, 2), ["ChatThreadCreatedWithUser", "ChatMessageReceived"]);
  const disconnects = await api(`api/ledger/users/${enc(USER)}/disconnects`);
  assert.deepEqual(disconnects.json.items.map((d: any) => [d.disconnectedAt, d.deliverySchema]), [["2025-07-08T21:15:02.0000000Z", "EventGrid"]]);
  assert.equal(disconnects.requests.length, 1);
  assertPartitionReads([...received.requests, ...disconnects.requests]);
});

test("a call now and its timeline: participants in and out, the recording", async () => {
  const answer = await api(`api/ledger/calls/${enc(CALL)}`);
  assert.equal(answer.status, 200);
  assert.equal(answer.json.call.startedAt, "2025-07-08T21:00:02.6905856Z");
  assert.equal(answer.json.call.endedAt, "2025-07-08T21:14:41.6143005Z");
  assert.equal(answer.json.call.durationOfCall, 878.924);
  assert.deepEqual(answer.json.timeline.map((e: any) => [e.eventType.split(".").pop(), e.change ?? null]), [
    ["CallStarted", null],
    ["CallParticipantAdded", "added"],
    ["IncomingCall", null],
    ["CallParticipantAdded", "added"],
    ["CallParticipantRemoved", "removed"],
    ["CallParticipantRemoved", "removed"],
    ["CallEnded", null],
    ["RecordingFileStatusUpdated", null],
  ]);
  assert.ok(Array.isArray(answer.json.timeline[7].recordingChunks), "JSON-valued properties are parsed");
  assert.equal(answer.requests.length, 2);
  assertPartitionReads(answer.requests);
  // Server call ids are base64 and may hold "/": an encoded slash stays %2F in the route value.
  const slashed = await api(`api/ledger/calls/${enc("a/b+c=")}`);
  assert.deepEqual(slashed.json, { error: "call a/b+c=: the ledger has nothing for it" });
});

test("the quarantine lists reasons and every error; a replay resolves what now passes", async () => {
  const listed = await api("api/ledger/quarantine?raw=true");
  const byId = new Map<string, any>(listed.json.items.map((q: any) => [q.eventId, q]));
  assert.deepEqual([...byId.keys()].sort(), [BROKEN_ID, MISROUTED_ID].sort());
  const broken = byId.get(BROKEN_ID);
  assert.equal(broken.reasonCode, "SchemaViolation");
  // A missing Message no longer quarantines an SMS (tolerant schemas); a To that is not a string does.
  assert.deepEqual(broken.errors.map((e: any) => e.instancePath).sort(), ["/data/To"]);
  assert.equal(broken.resolved, false);
  assert.equal(broken.rawEvent.id, BROKEN_ID);
  assert.equal(byId.get(MISROUTED_ID).reasonCode, "WrongFunction");
  // The listing of all types is the one scan (documented); by type it is one partition.
  assert.equal(listed.requests.length, 1);
  const oneType = await api(`api/ledger/quarantine?type=${enc("Microsoft.Communication.SMSReceived")}`);
  assert.deepEqual(oneType.json.items.map((q: any) => q.eventId), [BROKEN_ID]);
  assertPartitionReads(oneType.requests);

  const replay = await api("api/ledger/quarantine/replay", { method: "POST", body: {} });
  assert.equal(replay.status, 200);
  assert.deepEqual(
    { ok: replay.json.ok, events: replay.json.events, resolved: replay.json.resolved, stillFailing: replay.json.stillFailing, failed: replay.json.failed, byReason: replay.json.byReason },
    { ok: true, events: 2, resolved: 1, stillFailing: 1, failed: 0, byReason: { SchemaViolation: 1 } },
  );
  assert.ok(replay.json.summary.includes("Replay summary"));
  const after = new Map<string, any>((await api("api/ledger/quarantine")).json.items.map((q: any) => [q.eventId, q]));
  assert.equal(after.get(MISROUTED_ID).resolved, true);
  assert.equal(after.get(BROKEN_ID).resolved, false);
  assert.equal(after.get(MISROUTED_ID).rawEvent, undefined);
});

test("when storage fails, the answer is a bare 503: no stack, no storage detail", async () => {
  await proxy.close();
  const answer = await api(`api/ledger/sms/${enc(NUMBER)}/messages`);
  assert.equal(answer.status, 503);
  assert.deepEqual(answer.json, { error: "the ledger's storage did not answer; try again shortly" });
  const logs = host.logs.filter((l) => l.functionName === "ledgerSmsMessages" && l.level === "error").map((l) => l.message);
  assert.equal(logs.at(-1), "ledgerSmsMessages failed: RestError");
});
