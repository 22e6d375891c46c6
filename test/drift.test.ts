import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Type } from "@sinclair/typebox";
import { specFor } from "../src/catalog";
import { MAX_UNNAMED_PER_EVENT, namedPathsOf, unnamedDataPaths, unnamedPaths } from "../src/catalog/namedPaths";
import { azuriteConnectionString, type LedgerSettings } from "../src/config";
import type { LoadedFunctionApp } from "../src/devhost/functionsHost";
import { formatDriftTable, readDrift } from "../src/cli/drift";
import { DRIFT_RETRY_MS, DRIFT_WRITE_INTERVAL_MS, DriftWatch, NEW_DRIFT_WARNING, type DriftRow } from "../src/ledger/drift";
import { LedgerTables } from "../src/ledger/tables";
import { startFaultyProxy, type FaultyProxy } from "./faults/proxy";
import { loadSamples } from "../src/cli/demo";
import { loadAppWithPrefix, prefixedSettings, PROJECT_ROOT, readTable, runScript, testSettings } from "./helpers";

/*
 * The drift watch: which data paths a schema names (derived from the schema, so it follows the
 * catalog), SchemaDrift rows in Azurite written once and then at most every few minutes (counted at a
 * proxy in front of Azurite), warnings with the type and path only, failures that never fail the
 * event, and `acs-ledger drift`.
 */

const CALL_STARTED = "Microsoft.Communication.CallStarted";
const CLI = path.join(PROJECT_ROOT, "dist", "src", "cli", "acs-ledger.js");
const PREFIX = `Drift${process.pid}`;
/** The project's Event Grid samples (the CloudEvents ones have the same data). */
const samples = () => loadSamples(PROJECT_ROOT).filter((s) => "eventType" in s.event).map((s) => s.event);

let host: LoadedFunctionApp;
before(() => {
  host = loadAppWithPrefix(PREFIX);
});

test("named paths come from the schema: properties, array elements as *, free maps and unknown values named whole, unions merged", () => {
  const schema = Type.Object({
    id: Type.String(),
    who: Type.Object({ rawId: Type.String(), kind: Type.Optional(Type.String()) }),
    participants: Type.Array(Type.Object({ displayName: Type.Optional(Type.String()) })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    anything: Type.Optional(Type.Unknown()),
    version: Type.Union([Type.Integer(), Type.String()]),
    reason: Type.Optional(Type.Union([Type.Object({ code: Type.Integer() }), Type.Object({ phrase: Type.String() }), Type.Null()])),
  });
  const tree = namedPathsOf(schema);
  const data = JSON.parse(
    JSON.stringify({
      id: "1",
      who: { rawId: "8:acs:1", kind: "communicationUser", cloud: "public" },
      participants: [{ displayName: "A", role: "x" }, { displayName: "B", role: "y", isAnonymous: true }],
      metadata: { "any key": { deep: [1] } },
      anything: { at: { all: true } },
      version: 3,
      reason: { code: 0, phrase: "ok", subCode: 1 },
      room: { id: "r" },
      "a/b~c": 1,
    }),
  );
  // Own keys named __proto__ (as JSON.parse makes them) are keys like any other.
  const poisoned = JSON.parse('{"id": "1", "__proto__": {"x": 1}, "who": {"rawId": "r", "constructor": {}}, "participants": [], "version": "1"}');
  assert.deepEqual(unnamedPaths(tree, data), ["/who/cloud", "/participants/*/role", "/participants/*/isAnonymous", "/reason/subCode", "/room", "/a~1b~0c"]);
  assert.deepEqual(unnamedPaths(tree, poisoned), ["/__proto__", "/who/constructor"]);
  // A very long key is shortened with a hash; a flood of keys is cut at the per-event cap.
  const long = "k".repeat(500);
  const [shortened] = unnamedPaths(tree, { [long]: 1 });
  assert.match(shortened ?? "", /^\/k{51}…[0-9a-f]{12}$/);
  assert.notEqual(unnamedPaths(tree, { [`${long}x`]: 1 })[0], shortened);
  const flood = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`extra${i}`, i]));
  assert.equal(unnamedPaths(tree, flood).length, MAX_UNNAMED_PER_EVENT);
  // Deep nesting under an unnamed key is not walked: the walk is as deep as the schema.
  let deep: unknown = "bottom";
  for (let i = 0; i < 100_000; i++) deep = { d: deep };
  assert.deepEqual(unnamedPaths(tree, { extension: deep }), ["/extension"]);
});

test("the derivation follows the catalog: a field a schema gains stops being drift", () => {
  const spec = specFor(CALL_STARTED);
  assert.ok(spec);
  const [sample] = samples().filter((e) => e["eventType"] === CALL_STARTED);
  const data = { ...(sample?.["data"] as Record<string, unknown>), mediaRegion: "westeurope" };
  assert.deepEqual(unnamedDataPaths(spec, data), ["/mediaRegion"]);
  const tolerant = { data: Type.Object({ ...(spec.data as unknown as { properties: Record<string, never> }).properties, mediaRegion: Type.Optional(Type.String()) }) };
  assert.deepEqual(unnamedDataPaths(tolerant, data), []);
  // Every sample the project ships uses only paths its schema names, except where noted in the catalog.
  for (const e of samples()) {
    const s = specFor(String(e["eventType"]));
    assert.ok(s);
    for (const p of unnamedDataPaths(s, e["data"])) assert.ok(s.preview || p.startsWith("/customContext/"), `${String(e["eventType"])} ${p}`);
  }
});

function callStarted(id: string, extra: Record<string, unknown>, startedBy: Record<string, unknown> = {}): Record<string, unknown> {
  const [sample] = samples().filter((e) => e["eventType"] === CALL_STARTED);
  const event = structuredClone(sample) as Record<string, unknown>;
  const data = event["data"] as Record<string, unknown>;
  return { ...event, id, data: { ...data, ...extra, startedBy: { ...(data["startedBy"] as object), ...startedBy } } };
}

test("through the host: a new path is recorded once, warned about with its type and path only, and the event is stored", async () => {
  const secret = "s3cr3t-value-4255550123";
  const hostileKey = "evil\n\u001b[31mred";
  const first = callStarted("drift-host-1", { mediaRegion: secret, [hostileKey]: secret }, { userAgent: secret });
  const second = callStarted("drift-host-2", { mediaRegion: `${secret}-2` }, { userAgent: `${secret}-2` });
  const before = Date.now();
  for (const e of [first, second]) {
    const outcome = await host.invoke("callingEvents", e);
    assert.equal(outcome.status, "succeeded", String(outcome.error));
  }
  const after = Date.now();
  const warnings = host.logs.filter((l) => l.level === "warning").map((l) => l.message);
  assert.deepEqual(warnings.sort(), [
    `schema drift: new data property path /evil\\u000a\\u001b[31mred in ${CALL_STARTED} events (recorded in SchemaDrift)`,
    `schema drift: new data property path /mediaRegion in ${CALL_STARTED} events (recorded in SchemaDrift)`,
    `schema drift: new data property path /startedBy/userAgent in ${CALL_STARTED} events (recorded in SchemaDrift)`,
  ]);
  const logText = host.logs.map((l) => l.message).join("\n");
  assert.ok(!logText.includes(secret), "no value in any log line");
  assert.ok(!logText.includes("\u001b"), "no raw control character in any log line");

  const settings = prefixedSettings(PREFIX);
  const calls = await readTable(settings, "CallEvents");
  assert.deepEqual(calls.map((r) => r["eventId"]).sort(), ["drift-host-1", "drift-host-2"]);
  const rows = (await readTable(settings, "SchemaDrift")).sort((a, b) => String(a["path"]).localeCompare(String(b["path"])));
  assert.deepEqual(
    rows.map((r) => [r.partitionKey, r.rowKey, r["eventType"], r["path"], r["count"], r["exampleEventId"]]),
    [
      [CALL_STARTED, "%2Fevil%0A%1B[31mred", CALL_STARTED, hostileKey.replace(/^/, "/"), 1, "drift-host-1"],
      [CALL_STARTED, "%2FmediaRegion", CALL_STARTED, "/mediaRegion", 1, "drift-host-1"],
      [CALL_STARTED, "%2FstartedBy%2FuserAgent", CALL_STARTED, "/startedBy/userAgent", 1, "drift-host-1"],
    ],
  );
  for (const r of rows) {
    // The second sighting is counted in memory, not written: the row is written again only when due.
    assert.equal(r["firstSeen"], r["lastSeen"]);
    const t = Date.parse(String(r["firstSeen"]));
    assert.ok(t >= before && t <= after, String(r["firstSeen"]));
    for (const v of Object.values(r)) assert.ok(!String(v).includes(secret), "no value on a drift row");
  }
});

/** A ledger whose requests go through a counting (and, on demand, refusing) proxy in front of Azurite. */
async function proxiedLedger(): Promise<{ settings: LedgerSettings; direct: LedgerSettings; mode: { refuse: boolean }; requests: () => number }> {
  const mode = { refuse: false };
  const proxy = await startFaultyProxy(Number(process.env["AZURITE_TABLE_PORT"]), { refuse: 0.5, random: () => (mode.refuse ? 0 : 0.99) });
  proxies.push(proxy);
  const direct = testSettings();
  const settings = { ...direct, storage: { kind: "connectionString" as const, connectionString: azuriteConnectionString(proxy.endpoint) } };
  // The tests read the rows with `direct`, so that only the watch's requests are counted.
  return { settings, direct, mode, requests: () => proxy.counts.forwarded + proxy.counts.refused };
}
const proxies: FaultyProxy[] = [];
after(() => Promise.all(proxies.map((p) => p.close())));

function logger() {
  const lines: string[] = [];
  return { lines, log: { warn: (m: string) => void lines.push(m) } };
}

test("steady state costs no request: a known path is written again only after the interval, with the count of every sighting", async () => {
  const { settings, direct, requests } = await proxiedLedger();
  let now = Date.parse("2026-01-05T07:00:00Z");
  const watch = new DriftWatch(new LedgerTables(settings), { now: () => now });
  const { lines, log } = logger();

  await watch.observe(CALL_STARTED, "e-1", ["/mediaRegion"], log);
  const afterFirst = requests();
  assert.equal(afterFirst, 2, "the table's creation and one create");
  assert.deepEqual(lines, [`schema drift: new data property path /mediaRegion in ${CALL_STARTED} events (recorded in SchemaDrift)`]);

  // 1,000 events within the interval, some with no drift at all: not one request.
  for (let i = 0; i < 1000; i++) {
    now += 250;
    await watch.observe(CALL_STARTED, `e-${i + 2}`, i % 2 === 0 ? ["/mediaRegion"] : [], log);
  }
  assert.ok(now - Date.parse("2026-01-05T07:00:00Z") < DRIFT_WRITE_INTERVAL_MS);
  assert.equal(requests(), afterFirst, "no request within the interval");
  const [row] = await readTable(direct, "SchemaDrift");
  assert.equal(row?.["count"], 1);

  // Once due, one read and one write add the 500 sightings held in memory.
  now = Date.parse("2026-01-05T07:00:00Z") + DRIFT_WRITE_INTERVAL_MS;
  await watch.observe(CALL_STARTED, "e-late", ["/mediaRegion"], log);
  assert.equal(requests(), afterFirst + 2);
  const rows = await readTable(direct, "SchemaDrift");
  assert.deepEqual(
    rows.map((r) => [r["path"], r["count"], r["firstSeen"], r["lastSeen"], r["exampleEventId"]]),
    [["/mediaRegion", 502, "2026-01-05T07:00:00.000Z", "2026-01-05T07:05:00.000Z", "e-1"]],
  );
  assert.equal(lines.length, 1, "a known path is not warned about again");

  // Another instance (or this one after a restart) finds the row there: it adds its count, and does not warn.
  const other = new DriftWatch(new LedgerTables(settings), { now: () => now + 1000 });
  const second = logger();
  await other.observe(CALL_STARTED, "e-other", ["/mediaRegion"], second.log);
  assert.deepEqual(second.lines, []);
  const [merged] = await readTable(direct, "SchemaDrift");
  assert.deepEqual([merged?.["count"], merged?.["lastSeen"], merged?.["exampleEventId"]], [503, "2026-01-05T07:05:01.000Z", "e-1"]);

  // A count still in memory is written by flush (the end of a replay).
  await other.observe(CALL_STARTED, "e-other-2", ["/mediaRegion"], second.log);
  await other.flush(second.log);
  assert.equal((await readTable(direct, "SchemaDrift"))[0]?.["count"], 504);
});

test("a drift write that fails is logged and retried later; it never throws into the event's invocation", async () => {
  const { settings, direct, mode } = await proxiedLedger();
  let now = Date.parse("2026-01-05T08:00:00Z");
  const watch = new DriftWatch(new LedgerTables(settings), { now: () => now });
  const { lines, log } = logger();
  mode.refuse = true;
  await watch.observe(CALL_STARTED, "f-1", ["/mediaRegion"], log); // resolves: does not reject
  assert.deepEqual(lines, [`schema drift: recording /mediaRegion in ${CALL_STARTED} events failed (HTTP 503); the event is stored, and the drift row is retried later`]);
  mode.refuse = false;
  now += 1000;
  await watch.observe(CALL_STARTED, "f-2", ["/mediaRegion"], log);
  assert.equal(lines.length, 1, "not retried before DRIFT_RETRY_MS");
  now += DRIFT_RETRY_MS;
  await watch.observe(CALL_STARTED, "f-3", ["/mediaRegion"], log);
  assert.equal(lines[1], `schema drift: new data property path /mediaRegion in ${CALL_STARTED} events (recorded in SchemaDrift)`);
  const rows = await readTable(direct, "SchemaDrift");
  assert.deepEqual(
    rows.map((r) => [r["count"], r["firstSeen"], r["lastSeen"], r["exampleEventId"]]),
    [[3, "2026-01-05T08:00:00.000Z", "2026-01-05T08:00:31.000Z", "f-1"]],
  );
});

const runCli = (args: string[], env: NodeJS.ProcessEnv) => runScript(CLI, args, env);

test("acs-ledger drift: the table as text and as JSON, a type filter, usage errors", async () => {
  const settings = testSettings();
  const t0 = Date.parse("2026-01-05T07:00:00Z");
  let now = t0;
  const watch = new DriftWatch(new LedgerTables(settings), { now: () => now });
  const { log } = logger();
  await watch.observe(CALL_STARTED, "c-1", ["/mediaRegion", "/startedBy/userAgent"], log);
  now += 60_000;
  await watch.observe("Microsoft.Communication.SMSReceived", "s-1", ["/segmentCount"], log);
  now += 60_000;
  await watch.observe(CALL_STARTED, "c-2", ["/mediaRegion"], log);
  await watch.flush(log);
  const env = { ...process.env, LEDGER_TABLE_PREFIX: settings.tablePrefix };

  const table = await runCli(["drift"], env);
  assert.equal(table.stderr, "");
  assert.equal(table.status, 0);
  assert.equal(
    table.stdout,
    [
      "EVENT TYPE                           PATH                  COUNT  FIRST SEEN                LAST SEEN                 EXAMPLE EVENT",
      "Microsoft.Communication.CallStarted  /mediaRegion              2  2026-01-05T07:00:00.000Z  2026-01-05T07:02:00.000Z  c-1",
      "Microsoft.Communication.CallStarted  /startedBy/userAgent      1  2026-01-05T07:00:00.000Z  2026-01-05T07:00:00.000Z  c-1",
      "Microsoft.Communication.SMSReceived  /segmentCount             1  2026-01-05T07:01:00.000Z  2026-01-05T07:01:00.000Z  s-1",
      "3 paths in 2 event types",
      "",
    ].join("\n"),
  );

  const json = await runCli(["drift", "--json", "--type", "Microsoft.Communication.SMSReceived"], env);
  assert.equal(json.status, 0, json.stderr);
  const expected: DriftRow[] = [{ eventType: "Microsoft.Communication.SMSReceived", path: "/segmentCount", firstSeen: "2026-01-05T07:01:00.000Z", lastSeen: "2026-01-05T07:01:00.000Z", count: 1, exampleEventId: "s-1" }];
  assert.equal(json.stdout, `${JSON.stringify(expected, null, 2)}\n`);
  assert.deepEqual(await readDrift(settings, ["Microsoft.Communication.SMSReceived"]), expected);

  const empty = await runCli(["drift"], { ...env, LEDGER_TABLE_PREFIX: `${settings.tablePrefix}Empty` });
  assert.equal(empty.stdout, "No schema drift recorded: every stored event's data used only paths its schema names.\n");

  const bare: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["LEDGER_STORAGE", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__tableServiceUri"]) delete bare[k];
  const unconfigured = await runCli(["drift"], bare);
  assert.equal(unconfigured.status, 2);
  assert.equal(unconfigured.stderr, "acs-ledger drift: no ledger to read: set LEDGER_STORAGE (or AzureWebJobsStorage), or give --account NAME\nRun with --help for usage.\n");
  const bogus = await runCli(["drift", "--bogus"], env);
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr, /^acs-ledger drift: Unknown option '--bogus'/);
  const help = await runCli(["--help"], env);
  assert.match(help.stdout, /\n {2}drift {5}List the data property paths/);
});

test("on a terminal, long paths and ids are clipped to its width, and event-made text is escaped", () => {
  const row = (pathText: string, id: string): DriftRow => ({ eventType: CALL_STARTED, path: pathText, firstSeen: "2026-01-05T07:00:00.000Z", lastSeen: "2026-01-05T07:00:00.000Z", count: 12345, exampleEventId: id });
  const lines = formatDriftTable([row(`/${"p".repeat(100)}`, "i".repeat(80)), row("/x\u001b[2J\u202e", "id\r\n")], 130);
  const at = "2026-01-05T07:00:00.000Z";
  assert.deepEqual(lines, [
    `EVENT TYPE${" ".repeat(27)}PATH${" ".repeat(17)}COUNT  FIRST SEEN${" ".repeat(16)}LAST SEEN${" ".repeat(17)}EXAMPLE EVENT`,
    `${CALL_STARTED}  /${"p".repeat(17)}…  12345  ${at}  ${at}  ${"i".repeat(12)}…`,
    `${CALL_STARTED}  /x\\u001b[2J\\u202e    12345  ${at}  ${at}  id\\u000d\\u00…`,
    "2 paths in 1 event type",
  ]);
  for (const l of lines) assert.ok(l.length <= 130, `${l.length}: ${l}`);
});

test("the optional alert rule in infra/main.bicep is off by default and queries the lines the function logs", async () => {
  const bicep = fs.readFileSync(path.join(PROJECT_ROOT, "infra", "main.bicep"), "utf8");
  assert.match(bicep, /\nparam enableDriftAlert bool = false\n/);
  assert.match(bicep, /\nresource driftAlert 'Microsoft\.Insights\/scheduledQueryRules@[0-9-]+' = if \(enableDriftAlert\) \{\n/);
  assert.ok(bicep.includes(`message startswith "${NEW_DRIFT_WARNING}"`), "the query finds new drift");
  assert.ok(bicep.includes('traces | where message startswith "quarantined "'), "the query counts quarantines");
  // The lines it looks for are the ones the function writes.
  const unknown = { ...callStarted("drift-alert-q", {}), eventType: "Microsoft.Communication.EmailDeliveryReportReceived" };
  const outcome = await host.invoke("callingEvents", unknown);
  assert.equal(outcome.status, "succeeded");
  assert.deepEqual(outcome.logs.filter((l) => l.category === "user").map((l) => l.message), ["quarantined Microsoft.Communication.EmailDeliveryReportReceived event drift-alert-q: UnknownEventType"]);
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
  assert.ok(readme.includes(`message startswith "${NEW_DRIFT_WARNING}"`), "the README's query finds new drift");
});
