import { test, before } from "node:test";
import assert from "node:assert/strict";
import { TableServiceClient } from "@azure/data-tables";
import { TABLES, type Family } from "../src/catalog";
import type { InvocationOutcome, LoadedFunctionApp } from "../src/devhost/functionsHost";
import { planEvent } from "../src/ingest";
import { generateCases, type HostileCase } from "./hostile/generate";
import { recordAccounting } from "./accounting";
import { inParallel, loadAppWithPrefix, prefixedSettings, readLedger, type Row } from "./helpers";

/*
 * Property-based: seeded generated deliveries (valid events with hostile ids and keys, and every
 * kind of broken one) through the four functions as the host calls them, then an account of every
 * event: stored where expected, or quarantined saying which rule failed, or failed because no Table
 * entity can hold it, and never lost, doubled or leaked. HOSTILE_SEED / HOSTILE_COUNT reproduce a run.
 */

const SEED = Number(process.env["HOSTILE_SEED"] ?? 20261123);
const COUNT = Number(process.env["HOSTILE_COUNT"] ?? 2000);
const CONCURRENCY = 8;
const PREFIX = `Hostile${process.pid}`;
const FAMILY_OF_FUNCTION: Record<string, Family> = { smsEvents: "sms", chatEvents: "chat", callingEvents: "calling", presenceEvents: "presence" };

let host: LoadedFunctionApp;
before(() => {
  host = loadAppWithPrefix(PREFIX);
});

function deliverAll(cases: readonly HostileCase[]): Promise<InvocationOutcome[]> {
  return inParallel(cases, CONCURRENCY, (c) => host.invokeTypedData(c.functionName, c.body));
}

test(`generated hostile deliveries are each stored, quarantined or failed — never lost, doubled or leaked (seed ${SEED})`, async () => {
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  const cases = generateCases(COUNT, SEED);
  const first = await deliverAll(cases);
  // Event Grid redelivers what failed; the same answer must come back, and write nothing.
  const failedIndexes = first.flatMap((o, i) => (o.status === "failed" ? [i] : []));
  const retried = await deliverAll(failedIndexes.map((i) => cases[i] as HostileCase));

  const ledger = await readLedger(prefixedSettings(PREFIX));
  const byEventId = new Map<string, Array<Row & { table: string }>>();
  const quarantineByRaw = new Map<string, Row[]>();
  let totalRows = 0;
  for (const table of TABLES) {
    for (const row of ledger[table]) {
      totalRows++;
      const id = row["eventId"];
      if (typeof id === "string") byEventId.set(id, [...(byEventId.get(id) ?? []), { ...row, table }]);
      if (table === "QuarantinedEvents" && id === undefined) quarantineByRaw.set(String(row["rawEvent"]), [...(quarantineByRaw.get(String(row["rawEvent"])) ?? []), row]);
    }
  }

  let stored = 0, quarantined = 0, lost = 0, duplicated = 0;
  const problems: string[] = [];
  cases.forEach((c, i) => {
    const outcome = first[i] as InvocationOutcome;
    const what = `case ${c.n} (${c.mutation} → ${c.functionName})`;
    const rows = c.eventId !== undefined ? byEventId.get(c.eventId) ?? [] : [];
    switch (c.expected.kind) {
      case "stored": {
        if (outcome.status !== "succeeded") return void problems.push(`${what}: invocation failed: ${String(outcome.error)}`);
        const body = "json" in c.body ? JSON.parse(c.body.json) : undefined;
        const plan = planEvent(body, FAMILY_OF_FUNCTION[c.functionName] as Family);
        if (plan.outcome !== "stored") return void problems.push(`${what}: expected to be stored, planned ${plan.outcome}`);
        const expectedKeys = plan.writes.map((w) => `${w.table}/${w.partitionKey}/${w.rowKey}`).sort();
        const actualKeys = rows.map((r) => `${r.table}/${r.partitionKey}/${r.rowKey}`).sort();
        if (actualKeys.length === 0) lost++;
        else if (actualKeys.length > new Set(expectedKeys).size) duplicated++;
        else stored++;
        if (JSON.stringify(actualKeys) !== JSON.stringify([...new Set(expectedKeys)])) problems.push(`${what}: rows ${actualKeys.join(", ")} ≠ planned ${expectedKeys.join(", ")}`);
        return;
      }
      case "quarantined": {
        if (outcome.status !== "succeeded") return void problems.push(`${what}: invocation failed: ${String(outcome.error)}`);
        const found = c.eventId !== undefined ? rows.filter((r) => r.table === "QuarantinedEvents") : quarantineByRaw.get("json" in c.body ? c.body.json : JSON.stringify(c.body.string)) ?? [];
        if (found.length === 0) return void lost++;
        if (found.length > 1 || rows.some((r) => r.table !== "QuarantinedEvents")) duplicated++;
        else quarantined++;
        const row = found[0] as Row;
        if (row["reasonCode"] !== c.expected.code) problems.push(`${what}: reason ${String(row["reasonCode"])}, expected ${c.expected.code}`);
        const path = c.expected.path;
        const errors = JSON.parse(String(row["errors"])) as Array<{ instancePath: string }>;
        if (path !== undefined && !errors.some((e) => e.instancePath === path)) problems.push(`${what}: errors ${row["errors"]} do not name ${path}`);
        return;
      }
      case "tooLarge": {
        const retriedOutcome = retried[failedIndexes.indexOf(i)];
        for (const o of [outcome, retriedOutcome]) {
          if (o?.status !== "failed" || (o.error as Error).name !== "TableLimitError" || !/Table Storage allows 1048576 \(1 MiB\)$/.test((o.error as Error).message)) {
            problems.push(`${what}: expected a TableLimitError, got ${o?.status} ${String(o?.error)}`);
          }
        }
        if (rows.length > 0) problems.push(`${what}: a too-large event wrote ${rows.length} rows`);
        return;
      }
    }
  });

  recordAccounting({ source: `generated (seed ${SEED})`, generated: COUNT, rows: totalRows, quarantined, failedAndRetried: failedIndexes.length, lost, duplicated });
  assert.deepEqual(problems.slice(0, 10), []);
  assert.equal(lost, 0);
  assert.equal(duplicated, 0);
  assert.equal(stored + quarantined + failedIndexes.length, COUNT);

  // Logs name events by type and id only: no message body, phone number or storage secret.
  const logText = host.logs.map((l) => l.message).join("\n");
  assert.ok(logText.length > 0);
  const leaked = cases.flatMap((c) => c.secrets).filter((secret) => logText.includes(secret));
  assert.deepEqual([...new Set(leaked)].slice(0, 5), []);
  assert.doesNotMatch(logText, /AccountKey|SharedAccessSignature|Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/);

  // Nothing escapes: no prototype pollution, and no table but the ledger's own.
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  const service = TableServiceClient.fromConnectionString(String(process.env["LEDGER_STORAGE"]), { allowInsecureConnection: true });
  for await (const t of service.listTables()) {
    assert.ok(TABLES.some((name) => t.name?.endsWith(name)), `unexpected table ${t.name}`);
  }
});
