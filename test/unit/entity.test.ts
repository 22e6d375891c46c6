import { test } from "node:test";
import assert from "node:assert/strict";
import { TableLimitError } from "../../src/errors";
import { assertWithinLimits, decodeProperties, encodeProperties, entitySize, MAX_STRING_UNITS } from "../../src/ledger/entity";

test("long strings are split into 32 000-unit chunks, never between the halves of a surrogate pair, and joined back", () => {
  const text = "a" + "😀".repeat(50_000); // odd offset: every chunk boundary falls inside a pair
  const stored = encodeProperties({ body: text, other: 1 });
  assert.equal(stored["body__parts"], 4);
  for (const key of ["body", "body__2", "body__3", "body__4"]) {
    const chunk = String(stored[key]);
    assert.ok(chunk.length <= MAX_STRING_UNITS, key);
    assert.doesNotMatch(chunk, /^[\udc00-\udfff]|[\ud800-\udbff]$/, `${key} starts or ends inside a pair`);
  }
  assert.deepEqual(decodeProperties(stored), { body: text, other: 1 });
});

test("absent values are dropped; short strings, numbers and booleans are kept as they are", () => {
  assert.deepEqual(encodeProperties({ a: "x", b: undefined, c: null, d: 0, e: false }), { a: "x", d: 0, e: false });
});

test("the size formula is the service's: 4 + 2·len(keys) + Σ(8 + 2·len(name) + value)", () => {
  assert.equal(entitySize("pk", "rk", { s: "abc", n: 1, b: true }), 4 + 8 + (8 + 2 + 4 + 6) + (8 + 2 + 8) + (8 + 2 + 1));
});

test("more than 255 properties (with PartitionKey, RowKey and Timestamp) is refused with a clear message", () => {
  const props = Object.fromEntries(Array.from({ length: 253 }, (_, i) => [`p${i}`, i]));
  assert.throws(() => assertWithinLimits("CallEvents", "pk", "rk", props, "Microsoft.Communication.CallStarted event e1"), {
    name: "TableLimitError",
    message: "Microsoft.Communication.CallStarted event e1: the CallEvents row would have 256 properties; Table Storage allows 255",
  });
  assert.doesNotThrow(() => assertWithinLimits("CallEvents", "pk", "rk", Object.fromEntries(Object.entries(props).slice(1)), "e"));
});

test("an entity over 1 MiB is refused even though Azurite would accept it", () => {
  const props = encodeProperties({ body: "x".repeat(600_000) });
  assert.throws(() => assertWithinLimits("ChatMessages", "pk", "rk", props, "X event e2"), (e: unknown) => e instanceof TableLimitError && /would be 1200\d{3} bytes/.test(e.message));
});
