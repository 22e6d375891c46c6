import * as fs from "node:fs";

/**
 * The hostile and fault tests record what happened to every event they delivered; run-tests sums
 * the records into the run's closing `hostile: …` line.
 */
export const ACCOUNTING_ENV = "LEDGER_TEST_ACCOUNTING";
/**
 * `failedAndRetried` counts failures that the input decides (oversized events, an outage's window),
 * the same on every run; `failedByTiming` those that depend on which request meets an injected fault
 * or a concurrent write first, which vary from run to run.
 */
export type AccountingField = "generated" | "rows" | "quarantined" | "failedAndRetried" | "failedByTiming" | "lost" | "duplicated";

export function recordAccounting(entry: { readonly source: string } & Partial<Record<AccountingField, number>>): void {
  const file = process.env[ACCOUNTING_ENV];
  const line = JSON.stringify(entry);
  console.log(`accounting ${line}`);
  if (file) fs.appendFileSync(file, `${line}\n`);
}

/** The run's closing line from the recorded entries: which figures vary with timing is said in it. */
export function accountingLine(entries: ReadonlyArray<Partial<Record<AccountingField, number>>>): string {
  const sum: Record<AccountingField, number> = { generated: 0, rows: 0, quarantined: 0, failedAndRetried: 0, failedByTiming: 0, lost: 0, duplicated: 0 };
  for (const entry of entries) for (const key of Object.keys(sum) as AccountingField[]) sum[key] += entry[key] ?? 0;
  return (
    `hostile: ${sum.generated} generated events, ${sum.rows} rows, ${sum.quarantined} quarantined, ` +
    `${sum.failedAndRetried} failed-and-retried, ${sum.lost} lost, ${sum.duplicated} duplicated` +
    ` (same on every run); ${sum.failedByTiming} more failed-and-retried under injected faults and races (varies with timing)`
  );
}
