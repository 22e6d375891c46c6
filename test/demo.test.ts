// `npm run demo` as a new user meets it: its own Azurite whatever the environment names, another
// account only with --storage (said first), LEDGER_TABLE_PREFIX honoured, and bad settings in one line.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import * as path from "node:path";
import { test } from "node:test";
import { settingsFromEnv } from "../src/config";
import { freePort } from "../src/devhost/azurite";
import { createTableClient } from "../src/ledger/tables";
import { statusOf } from "../src/ledger/storageErrors";
import { PROJECT_ROOT } from "./helpers";

const DEMO = path.join(PROJECT_ROOT, "dist", "src", "cli", "demo.js");
const STORAGE = process.env["LEDGER_STORAGE"] ?? "";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function demo(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DEMO, ...args], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function rowsIn(table: string): Promise<number | "no table"> {
  let n = 0;
  try {
    for await (const _ of createTableClient(settingsFromEnv({ LEDGER_STORAGE: STORAGE }), table).listEntities()) n++;
  } catch (error) {
    if (statusOf(error) === 404) return "no table";
    throw error;
  }
  return n;
}

test("with LEDGER_STORAGE set, the demo still writes only into its own Azurite, under LEDGER_TABLE_PREFIX", async () => {
  assert.ok(STORAGE, "run through dist/test/run-tests.js");
  const prefix = `DemoEnv${randomInt(1e9)}`;
  const run = await demo([], { LEDGER_STORAGE: STORAGE, AzureWebJobsStorage: STORAGE, LEDGER_TABLE_PREFIX: prefix });
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /^Storage: AzureWebJobsStorage, LEDGER_STORAGE are set; the demo ignores them and uses its own Azurite \(--storage writes elsewhere\)\.$/m);
  assert.match(run.stdout, /^Storage: started an embedded in-memory Azurite on 127\.0\.0\.1:\d+ /m);
  assert.match(run.stdout, new RegExp(`^Table prefix: ${prefix} \\(LEDGER_TABLE_PREFIX\\)$`, "m"));
  assert.match(run.stdout, new RegExp(`^  ${prefix}QuarantinedEvents — 2 rows$`, "m"));
  assert.equal(await rowsIn(`${prefix}SmsMessages`), "no table", "nothing was written to the account LEDGER_STORAGE names");
  assert.equal(await rowsIn(`${prefix}QuarantinedEvents`), "no table");
});

test("--storage writes to that account, and says what it will write where before the first write", async () => {
  const prefix = `DemoFlag${randomInt(1e9)}`;
  const run = await demo(["--storage", STORAGE], { LEDGER_STORAGE: undefined, LEDGER_TABLE_PREFIX: prefix });
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const lines = run.stdout.split("\n");
  const said = lines.findIndex((l) => /^Storage: --storage http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\. The demo will write 48 events there, and the rows stay:$/.test(l));
  assert.ok(said >= 0, run.stdout);
  assert.match(lines[said + 1] ?? "", new RegExp(`^  tables ${prefix}SmsMessages, .*, ${prefix}QuarantinedEvents, ${prefix}SchemaDrift \\(created if missing\\), including 2 rows in ${prefix}QuarantinedEvents\\.$`));
  assert.ok(said < lines.findIndex((l) => l.startsWith("Delivering ")), "said before delivering");
  assert.ok(!run.stdout.includes("AccountKey"), "the key is never printed");
  assert.equal(await rowsIn(`${prefix}QuarantinedEvents`), 2);
  assert.ok(Number(await rowsIn(`${prefix}SmsMessages`)) > 0);
});

/** A failure of the whole demo: one line on stderr, no stack, and no event delivered. */
function assertOneLine(run: Run, code: number, line: RegExp): void {
  assert.equal(run.code, code, run.stderr + run.stdout);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
  assert.match(run.stderr.split("\n")[0] ?? "", line);
  assert.ok(!run.stdout.includes("Delivering"), "no event was delivered");
}

test("bad settings fail at once, in one line, before any event is delivered", async () => {
  const closed = await freePort();
  const unreachable = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:${closed}/devstoreaccount1;`;
  const refused = await demo(["--storage", unreachable], {});
  assertOneLine(refused, 1, new RegExp(`^demo: --storage http://127\\.0\\.0\\.1:${closed}/devstoreaccount1 cannot be used: creating table SmsMessages failed \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${closed}\\)$`));
  assert.equal(refused.stderr.split("\n").filter(Boolean).length, 1);

  const garbage = await demo(["--storage", "not-a-connection-string"], {});
  assertOneLine(garbage, 1, /^demo: --storage is neither a table endpoint URL \(https:\/\/…\) nor a storage connection string \(…AccountName=…\)$/);
  assert.equal(garbage.stdout, "");

  for (const [name, value, message] of [
    ["LEDGER_REQUEST_TIMEOUT_MS", "soon", /^demo: LEDGER_REQUEST_TIMEOUT_MS must be a whole number of milliseconds from 100 to 60000: got "soon"$/],
    ["LEDGER_TABLE_PREFIX", "my-prefix", /^demo: LEDGER_TABLE_PREFIX must be letters and digits, starting with a letter \(at most 40\): got "my-prefix"$/],
  ] as const) {
    const run = await demo([], { [name]: value });
    assertOneLine(run, 1, message);
    assert.ok(!run.stdout.includes("started an embedded"), "fails before starting Azurite");
  }

  const usage = await demo(["--stroage", "x"], {});
  assert.equal(usage.code, 2);
  assert.equal(usage.stderr, "demo: Unknown option '--stroage'\nRun with --help for usage.\n");
});
