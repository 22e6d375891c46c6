// The validators the app runs are generated at build time (scripts/build-validators.ts). These tests
// hold them to the schemas: the generated code is what the current schemas give, it answers exactly
// as validators compiled from the schemas do (result and every error), and the app compiles nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { TSchema } from "@sinclair/typebox";
import { generateValidatorModules, validatedSchemas } from "../scripts/build-validators";
import { CATALOG, validatorFor } from "../src/catalog";
import { compileValidator, createAjv, GENERATED_INDEX, PASSES, type GeneratedIndex, type Pass, type ValidateFunction } from "../src/validation";
import { loadFixtures, PROJECT_ROOT } from "./helpers";

const DIST_SRC = path.resolve(__dirname, "..", "src");
const GENERATED_DIR = path.join(DIST_SRC, path.dirname(GENERATED_INDEX));

function generatedIndex(): GeneratedIndex {
  return (require(path.join(DIST_SRC, GENERATED_INDEX)) as { validators: GeneratedIndex }).validators;
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : [p];
  });
}

/** Every event of samples/ and of the shared doc fixtures. */
function allEvents(): Record<string, unknown>[] {
  const samples = ["samples", path.join("samples", "cloudevents")].flatMap((dir) =>
    fs
      .readdirSync(path.join(PROJECT_ROOT, dir))
      .filter((f) => f.endsWith(".json"))
      .flatMap((f) => JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, dir, f), "utf8")) as Record<string, unknown>[]),
  );
  return [...samples, ...loadFixtures().flatMap((f) => f.events)];
}

const WRONG: readonly unknown[] = [null, 42, -1, 1.5, "", "x", "2021-02-30T00:00:00Z", true, [], {}];

/** The value itself, and variants with each property (three levels deep) removed or replaced by a wrong value. */
function variants(value: unknown): unknown[] {
  const out: unknown[] = [value];
  const walk = (node: unknown, depth: number, edit: (f: (v: unknown) => unknown) => unknown) => {
    if (depth > 3 || node === null || typeof node !== "object") return;
    const keys = Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
    for (const key of keys) {
      const at = (f: (v: Record<string, unknown>) => void) =>
        edit((n) => {
          const copy = (Array.isArray(n) ? [...n] : { ...(n as object) }) as Record<string, unknown>;
          f(copy);
          return copy;
        });
      if (!Array.isArray(node)) out.push(at((c) => delete c[key]));
      for (const wrong of WRONG) out.push(at((c) => (c[key] = wrong)));
      const child = (node as Record<string, unknown>)[key];
      walk(child, depth + 1, (f) => at((c) => (c[key] = f(c[key]))));
    }
  };
  walk(value, 0, (f) => f(value));
  return out;
}

function compiledPasses(schema: TSchema): Record<Pass, ValidateFunction> {
  return { firstError: createAjv("firstError").compile(schema), allErrors: createAjv("allErrors").compile(schema) };
}

test("the build generated a validator module per schema and pass, from the current schemas", () => {
  const expected = generateValidatorModules();
  const onDisk = listFiles(GENERATED_DIR).map((f) => path.relative(DIST_SRC, f).split(path.sep).join("/"));
  assert.deepEqual(onDisk.sort(), [...expected.keys()].sort(), "the generated files are exactly those of the current schemas");
  for (const [file, text] of expected) assert.equal(fs.readFileSync(path.join(DIST_SRC, file), "utf8"), text, `${file} is stale: run npm run build`);
  assert.deepEqual(Object.keys(generatedIndex()).sort(), [...validatedSchemas().keys()].sort());
  assert.ok(validatedSchemas().has("envelope:EventGridEvent") && validatedSchemas().has("envelope:CloudEvent"));
  assert.equal(validatedSchemas().size, CATALOG.size + 2);
});

test("generated validators answer exactly as compiled ones: result and every error, on every sample and broken variants", () => {
  const events = allEvents();
  assert.ok(events.length > 50);
  const index = generatedIndex();
  let compared = 0;
  let invalid = 0;
  for (const [name, schema] of validatedSchemas()) {
    const compiled = compiledPasses(schema);
    const generated = { firstError: index[name]!.firstError(), allErrors: index[name]!.allErrors() };
    const isEnvelope = name.startsWith("envelope:");
    const own = events.filter((e) => (e["eventType"] ?? e["type"]) === name);
    // Each schema sees every event (events of other types are mostly invalid for it), and broken variants of its own.
    const inputs = isEnvelope
      ? [...events.slice(0, 20).flatMap(variants), ...events]
      : [...own.flatMap((e) => variants({ subject: e["subject"] ?? "", data: e["data"] })), ...events.map((e) => ({ subject: e["subject"] ?? "", data: e["data"] }))];
    for (const input of inputs) {
      for (const pass of PASSES) {
        const want = compiled[pass](input);
        const got = generated[pass](input);
        assert.equal(got, want, `${name} (${pass}) on ${JSON.stringify(input).slice(0, 200)}`);
        assert.deepEqual(generated[pass].errors ?? null, compiled[pass].errors ?? null, `${name} (${pass}) errors`);
        if (!want && pass === "firstError") invalid++;
        compared++;
      }
    }
  }
  assert.ok(invalid > 1_000, `enough invalid inputs (${invalid})`);
  assert.ok(compared > 10_000, `enough comparisons (${compared})`);
});

test("the app's validators (validatorFor) report what compiled schemas report", () => {
  const schemas = validatedSchemas();
  const compiled = new Map([...CATALOG.keys()].map((type) => [type, compileValidator(schemas.get(type)!)]));
  let failures = 0;
  for (const event of allEvents()) {
    const spec = CATALOG.get(String(event["eventType"] ?? event["type"]))!;
    for (const value of variants({ subject: event["subject"] ?? "", data: event["data"] })) {
      const errors = validatorFor(spec)(value);
      assert.deepEqual(errors, compiled.get(spec.type)!(value));
      if (errors) failures++;
    }
  }
  assert.ok(failures > 1_000);
});

test("nothing compiles a schema when the app starts or validates: AJV's compiler is never loaded", () => {
  const events = allEvents();
  const broken = { ...events[0], data: { unexpected: [] }, eventTime: "not a time" };
  const script = `
    const path = require("node:path");
    const { loadFunctionApp } = require(${JSON.stringify(path.join(DIST_SRC, "devhost", "functionsHost.js"))});
    const app = loadFunctionApp(${JSON.stringify(PROJECT_ROOT)});
    const { planEvent } = require(${JSON.stringify(path.join(DIST_SRC, "ingest.js"))});
    const outcomes = JSON.parse(process.argv[1]).map((e) => planEvent(e, "any").outcome);
    const loaded = Object.keys(require.cache).map((f) => path.relative(${JSON.stringify(PROJECT_ROOT)}, f).split(path.sep).join("/"));
    process.stdout.write(JSON.stringify({ functions: [...app.functions.keys()], outcomes, loaded }));
  `;
  const child = spawnSync(process.execPath, ["-e", script, JSON.stringify([...events, broken])], { encoding: "utf8", env: { ...process.env, LEDGER_STORAGE: "UseDevelopmentStorage=true" } });
  assert.equal(child.status, 0, child.stderr);
  const { functions, outcomes, loaded } = JSON.parse(child.stdout) as { functions: string[]; outcomes: string[]; loaded: string[] };
  assert.equal(functions.filter((name) => !name.startsWith("ledger")).length, 4, "the four Event Grid functions (the rest is the read API)");
  assert.equal(outcomes.filter((o) => o === "quarantined").length, 1, "every sample is stored; the broken event is quarantined");
  const ajv = loaded.filter((f) => f.startsWith("node_modules/ajv/"));
  assert.deepEqual(
    ajv.filter((f) => !f.startsWith("node_modules/ajv/dist/runtime/")),
    [],
    "only AJV's run-time helpers are loaded, never its compiler (ajv/dist/compile, core, standalone)",
  );
  assert.ok(loaded.some((f) => f.includes("/generated/first-error/")), "the generated validators ran");
  assert.ok(loaded.some((f) => f.includes("/generated/all-errors/")), "the broken event got every error, from generated code too");
});
