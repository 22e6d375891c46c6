// Time ranges over time-first row keys: timeKey turns any ISO time into the key form, so the README's
// queries match exactly the rows they name; events without a time are in no range, and the replay
// says so and can select them. Also the replay's refusals that a new user meets first.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { odata } from "@azure/data-tables";
import { parseReplayArgs } from "../src/cli/replay";
import { ingestEvent } from "../src/ingest";
import { createTableClient } from "../src/ledger/tables";
import { runReplay } from "../src/replay";
import { descendingTimeKey, instantOf, NO_TIME_KEY, timeKey } from "../src/time";
import { fixture, PROJECT_ROOT, readTable, testSettings, testWriter } from "./helpers";

const CLI = path.join(PROJECT_ROOT, "dist", "src", "cli", "acs-ledger.js");

test("timeKey: any ISO time, or a date, in the 7-digit UTC key form; anything else is refused by name", () => {
  assert.equal(timeKey("2026-01-05T07:00:00Z"), "2026-01-05T07:00:00.0000000Z");
  assert.equal(timeKey("2026-01-05T08:00:00.5+01:00"), "2026-01-05T07:00:00.5000000Z");
  assert.equal(timeKey("2026-01-04T23:30:00.123456789-07:30"), "2026-01-05T07:00:00.1234567Z");
  assert.equal(timeKey("2026-01-05"), "2026-01-05T00:00:00.0000000Z");
  assert.throws(() => timeKey("yesterday"), /^RangeError: not an ISO 8601 time such as 2026-01-05T07:00:00Z or a date such as 2026-01-05: "yesterday"$/);
  assert.equal(descendingTimeKey(instantOf("2026-01-05T07:00:00Z")), "797398949299999999999");
});

/** Quarantines one unknown-type event per time (or without one), and returns their ids. */
async function quarantined(settings: ReturnType<typeof testSettings>, times: readonly (string | undefined)[]): Promise<string[]> {
  const writer = testWriter(settings);
  const ids: string[] = [];
  for (const [i, time] of times.entries()) {
    const id = `q-${i}`;
    const event: Record<string, unknown> = { id, topic: "/t", subject: "s", eventType: "Contoso.Unknown", dataVersion: "1.0", metadataVersion: "1", data: {} };
    if (time !== undefined) event["eventTime"] = time;
    assert.equal((await ingestEvent(event, "sms", writer)).plan.outcome, "quarantined");
    ids.push(id);
  }
  return ids;
}

test("the README's quarantine query with timeKey returns exactly the events in the range, whatever form their times arrived in", async () => {
  const settings = testSettings();
  await quarantined(settings, ["2026-01-05T06:59:59.9999999Z", "2026-01-05T07:00:00Z", "2026-01-05T08:30:00.25+01:00", "2026-01-05T07:59:59.99Z", "2026-01-05T08:00:00.0000000Z", undefined]);
  const client = createTableClient(settings, `${settings.tablePrefix}QuarantinedEvents`);
  const ids = async (filter: string) => {
    const out: string[] = [];
    for await (const e of client.listEntities<{ eventId: string }>({ queryOptions: { filter } })) out.push(e.eventId);
    return out.sort();
  };
  // The documented query: PartitionKey eq '<type>' and RowKey ge '<timeKey(from)>' and RowKey lt '<timeKey(to)>'.
  const from = "2026-01-05T08:00:00+01:00", to = "2026-01-05T08:00Z";
  assert.deepEqual(await ids(odata`PartitionKey eq ${"Contoso.Unknown"} and RowKey ge ${timeKey(from)} and RowKey lt ${timeKey(to)}`), ["q-1", "q-2", "q-3"]);
  // The same bounds as typed, not in key form, match other rows: why the helper exists.
  assert.notDeepEqual(await ids(odata`PartitionKey eq ${"Contoso.Unknown"} and RowKey ge ${from} and RowKey lt ${to}`), ["q-1", "q-2", "q-3"]);
  // Where the event without a time went: its row key starts with "(no time)|".
  const rows = await readTable(settings, "QuarantinedEvents");
  assert.deepEqual(rows.filter((r) => r.rowKey.startsWith(`${NO_TIME_KEY}|`)).map((r) => r["eventId"]), ["q-5"]);
});

test("--since leaves out events without a time and says so; --without-time replays only them", async () => {
  const settings = testSettings();
  await quarantined(settings, ["2026-01-05T07:00:00Z", undefined]);
  const run = async (fromQuarantine: Parameters<typeof runReplay>[0]["fromQuarantine"]) => {
    const out: string[] = [];
    const result = await runReplay({ fromQuarantine, settings, dryRun: true }, { out: (l) => out.push(l), err: () => undefined });
    return { result, out };
  };
  const since = await run({ since: instantOf("2026-01-01") });
  assert.equal(since.result.events, 1);
  assert.ok(since.out.includes("Events without a time are in no time range, so not replayed now (--without-time replays them)."), since.out.join("\n"));
  const without = await run(parseReplayArgs(["--from-quarantine", "--without-time"], { LEDGER_STORAGE: "UseDevelopmentStorage=true" }).options.fromQuarantine);
  assert.equal(without.result.events, 1);
  assert.deepEqual(without.result.byReason, { InvalidEnvelope: 1 });
  assert.throws(() => parseReplayArgs(["--from-quarantine", "--without-time", "--since", "2026-01-01"], { LEDGER_STORAGE: "x" }), /--without-time selects events that have no time: not with --since or --until/);
});

test("--from-quarantine with no storage configured refuses instead of replaying an empty embedded Azurite", () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(LEDGER_STORAGE|AzureWebJobsStorage)/i.test(k)) env[k] = v;
  const r = spawnSync(process.execPath, [CLI, "replay", "--from-quarantine"], { env, encoding: "utf8" });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stderr, "acs-ledger replay: --from-quarantine reads the ledger's QuarantinedEvents table: set LEDGER_STORAGE or pass --account NAME (an embedded Azurite has no quarantine to replay)\nRun with --help for usage.\n");
  assert.equal(r.stdout, "", "no Azurite was started");
});

test("--blob-container with a connection string that has no blob endpoint says how to give one", () => {
  const tableOnly = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";
  assert.throws(
    () => parseReplayArgs(["--blob-container", "eventgrid-deadletters"], { LEDGER_STORAGE: tableOnly }),
    { message: "--blob-container: the ledger's connection string (LEDGER_STORAGE) has a TableEndpoint but no BlobEndpoint; add BlobEndpoint=… to it, or pass --blob-connection-string" },
  );
  const withBlob = `${tableOnly}BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
  assert.deepEqual(parseReplayArgs(["--blob-container", "eventgrid-deadletters"], { LEDGER_STORAGE: withBlob }).options.blob, { container: "eventgrid-deadletters", connectionString: withBlob });
});
