// Test entry point: one Azurite (table + blob, in memory) for the whole run, then Node's
// built-in runner over dist/test/**/*.test.js, one file at a time (the machine has 2 cores).
// Usage: node dist/test/run-tests.js [substring ...]  (only files whose path contains one)
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { findProjectRoot, startAzurite, type Azurite } from "../src/devhost/azurite";

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return e.isFile() && e.name.endsWith(".test.js") ? [p] : [];
  });
}

async function main(): Promise<number> {
  const root = findProjectRoot(__dirname);
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
    const env = {
      ...process.env,
      LEDGER_STORAGE: azurite.connectionString,
      AZURITE_BLOB_CONNECTION_STRING: azurite.connectionString,
      AZURITE_TABLE_PORT: String(azurite.tablePort),
    };
    const args = ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files];
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
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
    return signalled ? 130 : code;
  } finally {
    await azurite?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("run-tests:", err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
