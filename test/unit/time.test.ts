import { test } from "node:test";
import assert from "node:assert/strict";
import { ascendingTimeKey, descendingTimeKey, fromEpochSeconds, parseTimestamp } from "../../src/time";

test("timestamps of any precision and offset normalize to one fixed-width UTC form", () => {
  const cases: Array<[string, string]> = [
    ["2020-09-18T00:27:47Z", "2020-09-18T00:27:47.0000000Z"],
    ["2020-09-18T00:27:45.32Z", "2020-09-18T00:27:45.3200000Z"],
    ["2021-07-27T15:20:23.6089755Z", "2021-07-27T15:20:23.6089755Z"],
    ["2021-02-20T00:31:54.365+00:00", "2021-02-20T00:31:54.3650000Z"],
    ["2021-02-20T02:31:54.365+02:00", "2021-02-20T00:31:54.3650000Z"],
    ["2021-02-19T21:00:00.123456789-03:30", "2021-02-20T00:30:00.1234567Z"],
    ["2020-4-20T17:02:19.6069787Z", "2020-04-20T17:02:19.6069787Z"], // the preview doc's unpadded date
  ];
  for (const [input, iso] of cases) assert.equal(parseTimestamp(input)?.iso, iso, input);
});

test("what is not a timestamp does not parse", () => {
  for (const bad of ["", "yesterday", "2021-02-30T00:00:00Z", "2021-13-01T00:00:00Z", "2021-02-20T24:00:00Z", "2021-02-20T00:00:00", "2021-02-20", "2021-02-20T00:00:00+25:00"]) {
    assert.equal(parseTimestamp(bad), undefined, bad);
  }
});

test("time keys sort in time order whatever the input's precision and offset", () => {
  const inputs = ["2021-02-20T00:31:54.365+00:00", "2021-02-20T00:31:54.3651Z", "2021-02-20T02:31:54.36+02:00", "2021-02-20T00:31:55Z", "2020-4-20T17:02:19Z"];
  const instants = inputs.map((t) => parseTimestamp(t)!);
  const byTime = [...instants].sort((a, b) => a.iso.localeCompare(b.iso)).map((i) => i.iso);
  assert.deepEqual([...instants].map(ascendingTimeKey).sort(), byTime);
  assert.deepEqual(
    [...instants].sort((a, b) => descendingTimeKey(a).localeCompare(descendingTimeKey(b))).map((i) => i.iso),
    [...byTime].reverse(),
  );
  assert.equal(descendingTimeKey(parseTimestamp("2020-09-18T00:27:45.32Z")!), "797990819972546799999");
});

test("epoch seconds (the preview chat event's composedAt) convert exactly", () => {
  assert.equal(fromEpochSeconds(1588308562)?.iso, "2020-05-01T04:49:22.0000000Z");
  assert.equal(fromEpochSeconds(1588308562.25)?.iso, "2020-05-01T04:49:22.2500000Z");
});
