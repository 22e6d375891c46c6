import { test } from "node:test";
import assert from "node:assert/strict";
import { chatVersion } from "../../src/catalog/rows";
import { seededRandom } from "../../src/devhost/seededRandom";
import { FIELD_VERSIONS, mergeAll, mergeFacets } from "../../src/ledger/merge";
import type { PreparedState } from "../../src/ledger/writer";

type Props = PreparedState["facets"][number]["props"];

function patch(id: string, version: number, props: Props, facet = "f"): PreparedState {
  return {
    kind: "state",
    table: "ChatMessages",
    partitionKey: "t",
    rowKey: "m",
    facets: [{ name: facet, version: chatVersion(version), props }],
    identity: `${id}|tag`,
    common: { eventId: id, eventType: "T", eventSource: "s" },
  };
}

test("the merge is commutative, associative and idempotent: 300 random histories, every one in 8 random orders with redeliveries", () => {
  const random = seededRandom(20261201);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  for (let history = 0; history < 300; history++) {
    const patches = Array.from({ length: 2 + Math.floor(random() * 4) }, (_, i) => {
      const props: Props = {};
      for (const field of ["a", "b", "c"]) {
        const roll = random();
        if (roll < 0.3) continue; // absent: unchanged
        props[field] = roll < 0.45 ? null : pick(["x", "y", 1, 2, true, false]);
      }
      // Few versions and ids, so that ties (same version, same stamp) are common.
      return patch(pick(["e1", "e2"]), pick([1, 2]), props, pick(["f", "g"]));
    }).map((p, i) => (i % 3 === 2 ? { ...p, identity: `e${i}|tag`, common: { ...p.common, eventId: `e${i}` } } : p));
    const rows = Array.from({ length: 8 }, () => {
      const order = [...patches, ...patches.filter(() => random() < 0.5)].sort(() => random() - 0.5);
      return mergeAll({}, order) ?? {};
    });
    for (const row of rows) assert.deepEqual(row, rows[0], `history ${history}`);
  }
});

test("a redelivery changes nothing; an older event fills only what no newer one carried", () => {
  const newer = patch("new", 200, { body: "second", metadata: undefined, editTime: "t2" });
  const older = patch("old", 100, { body: "first", metadata: "m", editTime: null });
  const row = mergeAll({}, [newer, older]) ?? {};
  assert.deepEqual({ body: row["body"], metadata: row["metadata"], editTime: row["editTime"], eventId: row["eventId"] }, { body: "second", metadata: "m", editTime: "t2", eventId: "new" });
  assert.equal(row[FIELD_VERSIONS], JSON.stringify({ "00000000000000000100|old|tag": ["metadata"], "00000000000000000200|new|tag": ["body", "editTime"] }));
  assert.equal(mergeFacets(row, newer), undefined);
  assert.equal(mergeFacets(row, older), undefined);
});

test("a row stored before field stamps: its values count as new as its newest facet", () => {
  const legacy = { body: "newest", v_f: "00000000000000000300|x", eventId: "x" };
  assert.equal(mergeFacets(legacy, patch("old", 200, { body: "older" })), undefined);
  const merged = mergeFacets(legacy, patch("new", 400, { body: "newer", extra: 1 }));
  assert.equal(merged?.["body"], "newer");
  assert.equal(merged?.["extra"], 1);
});

test("chat versions as stamps: exact at any size and spelling, and in order as text", () => {
  assert.equal(chatVersion(1613783230064), "00000001613783230064");
  assert.equal(chatVersion("0001613783230064"), "00000001613783230064");
  assert.equal(chatVersion(0), "00000000000000000000");
  assert.equal(chatVersion("000"), "00000000000000000000");
  assert.equal(chatVersion(1e21), ":00000221000000000000000000000");
  const ordered = [5, "99999999999999999999", 9e20, 1e21, "1000000000000000000001", "123456789012345678901234567890"].map((v) => chatVersion(v));
  assert.deepEqual([...ordered].sort(), ordered);
});
