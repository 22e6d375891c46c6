// The replay when storage goes away: after a run of storage failures with nothing stored in between
// it stops, says why and where it got to, and exits 1; the input is untouched and a re-run stores the
// rest. A blip (a burst of failures that storage recovers from) does not stop it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { azuriteConnectionString, type LedgerSettings } from "../src/config";
import { freePort } from "../src/devhost/azurite";
import { runReplay, type ReplayOptions } from "../src/replay";
import { STOP_WHEN_STORAGE_IS_GONE } from "../src/replay/replay";
import { startFaultyProxy } from "./faults/proxy";
import { fixture, readTable, testSettings } from "./helpers";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-outage-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `count` distinct disconnect events (one row each, each in its own partition), as NDJSON. */
function inputFile(count: number): string {
  const base = fixture("seed-000", "Microsoft.Communication.UserDisconnected");
  const file = path.join(dir, `${randomUUID()}.ndjson`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const e = structuredClone(base);
    e["id"] = randomUUID();
    (e["data"] as { userCommunicationIdentifier: { rawId: string } }).userCommunicationIdentifier.rawId = `8:acs:outage-${i}`;
    lines.push(JSON.stringify(e));
  }
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function replay(options: ReplayOptions) {
  const err: string[] = [];
  const result = await runReplay({ quiet: true, ...options }, { out: () => undefined, err: (line) => err.push(line) });
  return { result, err };
}

function atStorage(settings: LedgerSettings, endpoint: string): LedgerSettings {
  return { ...settings, storage: { kind: "connectionString", connectionString: azuriteConnectionString(endpoint) } };
}

function assertStopped(run: Awaited<ReturnType<typeof replay>>, file: string, total: number, cause: RegExp): void {
  const { result, err } = run;
  assert.equal(result.exitCode, 1);
  assert.equal(result.stored, 0);
  assert.equal(result.failed + result.notAttempted, result.events, "each event read failed or was not attempted");
  assert.ok(result.failed < total / 4, `stopped early: ${result.failed} of ${total} events failed one by one`);
  assert.match(result.stoppedBecause ?? "", /^\d+ events in a row could not be stored over \d+\.\d s, none stored in between: storage looks unavailable \(the last: /);
  assert.match(result.stoppedBecause ?? "", cause);
  const tail = err.slice(-3);
  assert.equal(tail[0], `Stopped: ${result.stoppedBecause}.`);
  const notAttempted = result.notAttempted > 0 ? `; ${result.notAttempted.toLocaleString("en-US")} of the events read were not attempted` : "";
  assert.equal(tail[1], `Read up to ${file}:${result.events}:1 and no further${notAttempted}. The input is untouched: once storage answers, run the same command again.`);
  assert.equal(tail[2], "Re-running is safe: rows already written are recognised and left as they are.");
}

test("storage that answers every request with 503: the replay stops, says why and where, and a re-run stores everything", async () => {
  const settings = testSettings();
  const total = 2_000;
  const file = inputFile(total);
  const proxy = await startFaultyProxy(Number(process.env["AZURITE_TABLE_PORT"]), { refuse: 1, random: () => 0 });
  try {
    const stopped = await replay({ paths: [file], settings: atStorage(settings, proxy.endpoint), stopWhenStorageIsGone: { events: 40, ms: 200 } });
    assertStopped(stopped, file, total, /HTTP 503 ServerBusy: injected\)\)$/);
  } finally {
    await proxy.close();
  }
  assert.equal((await readTable(settings, "UserDisconnects")).length, 0);
  const again = await replay({ paths: [file], settings });
  assert.equal(again.result.exitCode, 0, again.err.join("\n"));
  assert.equal(again.result.stored, total);
  assert.equal((await readTable(settings, "UserDisconnects")).length, total);
});

test("a stopped storage account (nothing listening): the replay stops instead of failing the input event by event", async () => {
  const total = 500;
  const file = inputFile(total);
  const gone = atStorage(testSettings(), `http://127.0.0.1:${await freePort()}/devstoreaccount1`);
  const stopped = await replay({ paths: [file], settings: gone, concurrency: 16, stopWhenStorageIsGone: { events: 8, ms: 0 } });
  assertStopped(stopped, file, total, /ECONNREFUSED/);
});

test("a blip (the first requests refused, then storage answers) does not stop the run", async () => {
  const settings = testSettings();
  const total = 400;
  const file = inputFile(total);
  let requests = 0;
  const blip = 150;
  const proxy = await startFaultyProxy(Number(process.env["AZURITE_TABLE_PORT"]), { refuse: 1, random: () => (++requests <= blip ? 0 : 0.99) });
  try {
    const run = await replay({ paths: [file], settings: atStorage(settings, proxy.endpoint), concurrency: 16 });
    assert.ok(STOP_WHEN_STORAGE_IS_GONE.ms > 0, "a burst of failures alone does not count as storage gone");
    assert.equal(run.result.stoppedBecause, undefined);
    assert.equal(run.result.events, total, "the whole input was read");
    assert.ok(run.result.failed > 0, "the blip did fail events (else it tested nothing)");
    assert.equal(run.result.stored + run.result.failed, total);
    assert.equal(run.result.exitCode, 1);
    assert.ok(!run.err.some((l) => l.startsWith("Stopped:")));
  } finally {
    await proxy.close();
  }
  const again = await replay({ paths: [file], settings });
  assert.equal(again.result.exitCode, 0, again.err.join("\n"));
  assert.equal((await readTable(settings, "UserDisconnects")).length, total);
});
