import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadSamples } from "../../src/cli/demo";
import { planEvent } from "../../src/ingest";
import { JSON_PROPERTIES, toItem } from "../../src/read/items";
import { loadFixtures, PROJECT_ROOT } from "../helpers";

/** Text that users write, which may look like JSON (a bot command's body is JSON text). */
const TEXT_PROPERTIES = new Set(["messageBody", "message", "rawEvent", "topic", "displayName", "senderDisplayName", "reason"]);

function looksLikeJson(value: string): boolean {
  if (!/^[[{]/.test(value)) return false;
  try {
    return typeof JSON.parse(value) === "object";
  } catch {
    return false;
  }
}

test("every property a normalizer stores as JSON text is one the read API parses, and no other", () => {
  const events = [...loadSamples(PROJECT_ROOT).map((s) => s.event), ...loadFixtures().flatMap((f) => f.events)];
  const seen = new Set<string>();
  for (const event of events) {
    const plan = planEvent(structuredClone(event), "any");
    for (const write of plan.writes) {
      const props = write.kind === "append" ? write.entity : Object.assign({}, ...write.facets.map((f) => f.props));
      for (const [name, value] of Object.entries(props)) {
        if (typeof value !== "string" || TEXT_PROPERTIES.has(name) || !looksLikeJson(value)) continue;
        seen.add(name);
        assert.ok(JSON_PROPERTIES.has(name), `${write.table}.${name} holds JSON text that the read API would show as a string`);
      }
    }
  }
  assert.ok(seen.size >= 5, [...seen].join());
  // And the source agrees: every `name: json(` in the catalog is listed.
  const dir = path.join(PROJECT_ROOT, "src", "catalog");
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    for (const [, name] of fs.readFileSync(path.join(dir, file), "utf8").matchAll(/\b(\w+): json\(/g)) assert.ok(JSON_PROPERTIES.has(name as string), `${file}: ${name}`);
  }
});

test("an item: keys unescaped, split text joined, JSON parsed, versions and metadata out, the raw event on request", () => {
  const stored = {
    partitionKey: "19:a%2Fb@thread.v2",
    rowKey: "1752004770512",
    etag: 'W/"x"',
    timestamp: "2026-01-01T00:00:00Z",
    v_message: "00000000001752004770512|e1",
    messageBody: "a".repeat(3),
    messageBody__2: "b",
    messageBody__parts: 2,
    metadata: '{"k":"v"}',
    message: '{"looks":"like json"}',
    rawEvent: '{"id":"e1"}',
  };
  assert.deepEqual(toItem(stored, { raw: false }), { partitionKey: "19:a/b@thread.v2", rowKey: "1752004770512", messageBody: "aaab", metadata: { k: "v" }, message: '{"looks":"like json"}' });
  assert.deepEqual(toItem(stored, { raw: true })["rawEvent"], { id: "e1" });
});
