import * as fs from "node:fs";

/**
 * The hostile and fault tests record what happened to every event they delivered; run-tests sums
 * the records into the run's closing `hostile: …` line.
 */
export const ACCOUNTING_ENV = "LEDGER_TEST_ACCOUNTING";
export type AccountingField = "generated" | "rows" | "quarantined" | "failedAndRetried" | "lost" | "duplicated";

export function recordAccounting(entry: { readonly source: string } & Partial<Record<AccountingField, number>>): void {
  const file = process.env[ACCOUNTING_ENV];
  const line = JSON.stringify(entry);
  console.log(`accounting ${line}`);
  if (file) fs.appendFileSync(file, `${line}\n`);
}
