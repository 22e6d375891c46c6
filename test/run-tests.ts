// Test entry point: one Azurite (table + blob, in memory) for the whole run, then Node's
// built-in runner over dist/test/**/*.test.js, one file at a time (the machine has 2 cores).
// Usage: node dist/test/run-tests.js [substring ...]  (only files whose path contains one)
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { holdBuild } from "../src/cli/buildLease";
import { findProjectRoot, startAzurite, type Azurite } from "../src/devhost/azurite";
import { ACCOUNTING_ENV, accountingLine, type AccountingField } from "./accounting";

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return e.isFile() && e.name.endsWith(".test.js") ? [p] : [];
  });
}

/** The ACS doc samples the tests read: ../shared/fixtures/events beside the project (see README). */
function missingFixtures(root: string): string | undefined {
  const fixtures = path.resolve(root, "..", "shared", "fixtures", "events");
  if (fs.existsSync(fixtures)) return undefined;
  return `run-tests: ${fixtures} is missing: the tests read the ACS documentation's sample events from ../shared/fixtures/events beside the project (README, "Quick start")`;
}

async function main(): Promise<number> {
  holdBuild(__dirname);
  const root = findProjectRoot(__dirname);
  const missing = missingFixtures(root);
  if (missing) {
    console.error(missing);
    return 1;
  }
  const filters = process.argv.slice(2);
  const files = findTests(path.join(root, "dist", "test"))
    .map((f) => path.relative(root, f))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort();
  if (files.length === 0) {
    console.error(`run-tests: no test files under dist/test${filters.length ? ` matching ${filters.join(", ")}` : ""}`);
    return 1;
  }

  let azurite: Azurite | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    signalled = sig; // the runner child gets the same signal from the terminal; we just clean up after it
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    azurite = await startAzurite({ blob: true });
    if (signalled) return 130;
    console.log(`run-tests: Azurite table port ${azurite.tablePort}, blob port ${azurite.blobPort} (in memory)`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LEDGER_STORAGE: azurite.connectionString,
      AZURITE_BLOB_CONNECTION_STRING: azurite.connectionString,
      AZURITE_TABLE_PORT: String(azurite.tablePort),
    };
    const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ledger-tests-")), "accounting.ndjson");
    env[ACCOUNTING_ENV] = summaryFile;
    const args = ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files];
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["inherit", "pipe", "inherit"] });
    // Forward the runner's output, and read its totals for a closing line of our own.
    const totals = { pass: 0, fail: 0 };
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk.toString("utf8")).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const m = /^ℹ (pass|fail) (\d+)$/.exec(line.trim());
        if (m) totals[m[1] as "pass" | "fail"] = Number(m[2]);
      }
    });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward).on("SIGTERM", forward);
    const code = await new Promise<number>((resolve) => {
      child.once("error", (e) => {
        console.error(`run-tests: could not start the test runner: ${e.message}`);
        resolve(1);
      });
      child.once("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
    process.off("SIGINT", forward).off("SIGTERM", forward);
    console.log(`run-tests: ${totals.pass} passed, ${totals.fail} failed`);
    const accounting = readAccounting(summaryFile);
    if (accounting) console.log(accounting);
    return signalled ? 130 : code;
  } finally {
    await azurite?.stop();
  }
}

/** Sums what the hostile and fault tests recorded (see test/accounting.ts) into one line. */
function readAccounting(file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const entries = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Partial<Record<AccountingField, number>>);
  return accountingLine(entries);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("run-tests:", err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
