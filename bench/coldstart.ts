// coldStartRatio: in a fresh process, the time to load the compiled app (as the host loads it) and
// ingest its first event into Azurite, over the time to load @azure/functions + @azure/data-tables
// alone. Both are timed inside their process from the first line of the script, so Node's own start
// (the same for both) is left out; the whole process's wall time is reported beside it.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { findProjectRoot } from "../src/devhost/azurite";
import { EventStream, loadTemplates } from "./events";

export interface ColdStartResult {
  readonly runs: number;
  /** Medians, ms: timed inside the process. */
  readonly baselineMs: number;
  readonly appMs: number;
  readonly coldStartRatio: number;
  /** Of appMs: loading the app (registration), and the first invocation (tables, rows). */
  readonly appLoadMs: number;
  readonly firstEventMs: number;
  /** The same spans' CPU time (medians, ms) and their ratio: less disturbed by a busy machine than wall time. */
  readonly baselineCpuMs: number;
  readonly appCpuMs: number;
  readonly coldStartCpuRatio: number;
  /** Medians, ms: spawn to exit, Node's start included. */
  readonly baselineProcessMs: number;
  readonly appProcessMs: number;
}

const ROOT = findProjectRoot(__dirname);
const DIST = path.resolve(__dirname, "..");

/** Loads the two SDKs an Event Grid function writing to Table Storage needs, and nothing else. */
const BASELINE = `
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  require("@azure/functions");
  require("@azure/data-tables");
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1e3 }));
`;

/**
 * The dev host stands in for the Functions worker, which is running before the app loads; so it is
 * required before the clock starts. Then the app is loaded from package.json "main" and one event is
 * delivered through @azure/functions' invocation model: envelope, validation, rows, tables, writes.
 */
const APP = `
  const { loadFunctionApp } = require(${JSON.stringify(path.join(DIST, "src", "devhost", "functionsHost.js"))});
  const [fn, event] = JSON.parse(process.argv[1]);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const app = loadFunctionApp(${JSON.stringify(ROOT)});
  const t1 = process.hrtime.bigint();
  app.invoke(fn, event).then((outcome) => {
    if (outcome.status !== "succeeded") throw outcome.error;
    const t2 = process.hrtime.bigint();
    const c = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify({ ms: Number(t2 - t0) / 1e6, loadMs: Number(t1 - t0) / 1e6, firstMs: Number(t2 - t1) / 1e6, cpuMs: (c.user + c.system) / 1e3 }));
    process.exit(0);
  }, (error) => { console.error(error); process.exit(1); });
`;

interface Sample {
  ms: number;
  /** CPU of the same span (user + system). */
  cpuMs: number;
  loadMs?: number;
  firstMs?: number;
  processMs: number;
}

function runNode(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ["-e", script, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const processMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`cold start child failed (${code}): ${err.slice(-2000)}`));
      resolve({ ...(JSON.parse(out) as Omit<Sample, "processMs">), processMs });
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** `connectionString`: the Azurite the app writes to; the app's tables get a prefix of their own. */
export async function measureColdStart(connectionString: string, runs = 7): Promise<ColdStartResult> {
  const env = { ...process.env, LEDGER_STORAGE: connectionString, LEDGER_TABLE_PREFIX: `Bc${Date.now().toString(36)}` };
  // A first event, of the most common kind; a new one for each run (a redelivery would take another path).
  const smsTemplates = loadTemplates().filter((t) => t.type === "Microsoft.Communication.SMSReceived");
  const events = new EventStream(smsTemplates, 5).take(runs + 1).map((e) => JSON.stringify(["smsEvents", JSON.parse(e.text)]));
  // One run first, untimed: it creates the tables, as the first deployment would; later cold starts find them.
  await runNode(APP, [events[runs] as string], env);
  const baseline: Sample[] = [];
  const app: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    baseline.push(await runNode(BASELINE, [], env));
    app.push(await runNode(APP, [events[i] as string], env));
  }
  const baselineMs = median(baseline.map((s) => s.ms));
  const appMs = median(app.map((s) => s.ms));
  return {
    runs,
    baselineMs: round(baselineMs),
    appMs: round(appMs),
    coldStartRatio: Math.round((appMs / baselineMs) * 1000) / 1000,
    baselineCpuMs: round(median(baseline.map((s) => s.cpuMs))),
    appCpuMs: round(median(app.map((s) => s.cpuMs))),
    coldStartCpuRatio: Math.round((median(app.map((s) => s.cpuMs)) / median(baseline.map((s) => s.cpuMs))) * 1000) / 1000,
    appLoadMs: round(median(app.map((s) => s.loadMs ?? 0))),
    firstEventMs: round(median(app.map((s) => s.firstMs ?? 0))),
    baselineProcessMs: round(median(baseline.map((s) => s.processMs))),
    appProcessMs: round(median(app.map((s) => s.processMs))),
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
