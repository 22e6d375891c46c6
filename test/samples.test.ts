// The shipped samples (samples/**) and the demo that delivers them (src/cli/demo.ts).
// Needs LEDGER_STORAGE (run-tests starts an Azurite and sets it). The demo loads the function app,
// which can happen once per process: node --test runs each test file in its own process.
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { describe, test } from "node:test";
import { CATALOG, specFor, TABLES } from "../src/catalog";
import { loadSamples, runDemo, type DemoResult } from "../src/cli/demo";
import { settingsFromEnv } from "../src/config";
import { findProjectRoot } from "../src/devhost/azurite";
import { planEvent } from "../src/ingest";
import { createTableClient } from "../src/ledger/tables";

const root = findProjectRoot(__dirname);
const samples = loadSamples(root);

describe("samples", () => {
  test("every catalog type has at least one sample, in samples/<eventType>.json", () => {
    const byFile = new Set(samples.filter((s) => !s.file.includes("cloudevents")).map((s) => s.type));
    const missing = [...CATALOG.keys()].filter((type) => !byFile.has(type));
    assert.deepEqual(missing, []);
    for (const s of samples) assert.ok(s.file.endsWith(`${s.type}.json`), `${s.file} holds a ${s.type} event`);
  });

  test("the CloudEvents samples cover every family", () => {
    const cloud = samples.filter((s) => s.file.includes("cloudevents"));
    for (const s of cloud) {
      for (const field of ["specversion", "id", "source", "type", "subject", "time", "data"]) assert.ok(field in s.event, `${s.file} has ${field}`);
      assert.equal(s.event["specversion"], "1.0");
    }
    const families = new Set(cloud.map((s) => specFor(s.type)?.family));
    assert.deepEqual([...families].sort(), ["calling", "chat", "presence", "sms"]);
  });

  test("event ids are unique", () => {
    const ids = samples.map((s) => String(s.event["id"]));
    assert.equal(new Set(ids).size, ids.length);
  });

  test("every sample is stored by its family's function", () => {
    for (const s of samples) {
      const spec = specFor(s.type);
      assert.ok(spec, s.type);
      const plan = planEvent(s.event, spec.family);
      assert.equal(plan.outcome, "stored", `${s.file} ${String(s.event["id"])}: ${plan.outcome === "quarantined" ? plan.quarantine.message : ""}`);
      assert.ok(plan.writes.length > 0);
    }
  });
});

describe("demo", () => {
  test("delivers every sample and the two bad events; every table gets rows", async () => {
    const storage = process.env["LEDGER_STORAGE"];
    assert.ok(storage, "LEDGER_STORAGE must be set (run through dist/test/run-tests.js)");
    const prefix = `Demo${randomInt(1e9)}`;
    process.env["LEDGER_TABLE_PREFIX"] = prefix;
    const lines: string[] = [];
    const result: DemoResult = await runDemo({ storage, out: (line) => lines.push(line) });

    assert.equal(result.failed, 0, lines.join("\n"));
    assert.equal(result.succeeded, samples.length + 2);
    assert.equal(result.stored, samples.length);
    assert.equal(result.quarantined, 2);
    for (const table of TABLES) assert.ok(result.rows[table] > 0, `${table} has rows`);
    assert.equal(result.rows.QuarantinedEvents, 2);
    assert.ok(lines.some((l) => l.startsWith("Storage: --storage ")), "the demo says where it writes");
    assert.ok(!lines.join("\n").includes("AccountKey"), "the demo never prints the account key");

    // Read the quarantine back independently of the demo's own summary.
    const client = createTableClient(settingsFromEnv(), `${prefix}QuarantinedEvents`);
    const codes: string[] = [];
    for await (const e of client.listEntities<{ reasonCode: string; receivedBy: string }>()) {
      codes.push(e.reasonCode);
      assert.equal(e.receivedBy, "smsEvents");
    }
    assert.deepEqual(codes.sort(), ["UnknownEventType", "WrongFunction"]);
  });
});
