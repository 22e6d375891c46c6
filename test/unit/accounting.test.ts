import assert from "node:assert/strict";
import { test } from "node:test";
import { accountingLine } from "../accounting";

test("the closing hostile line keeps the figures that vary with timing apart, and says so", () => {
  const line = accountingLine([
    { generated: 2000, rows: 2500, quarantined: 1000, failedAndRetried: 40, lost: 0, duplicated: 0 },
    { generated: 100, rows: 200, failedAndRetried: 33 },
    { generated: 300, rows: 400, failedByTiming: 91 },
  ]);
  assert.equal(
    line,
    "hostile: 2400 generated events, 3100 rows, 1000 quarantined, 73 failed-and-retried, 0 lost, 0 duplicated (same on every run); 91 more failed-and-retried under injected faults and races (varies with timing)",
  );
});
