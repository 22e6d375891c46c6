// `npm run bench`: every performance figure of the ledger, each measured side by side with its
// baseline in this one run, written to bench/results.json. About 1½ minutes on 2 cores (under 3 when busy).
//
//   cpuRatio        planEvent (all the handler does before storage) / JSON.parse, per event   target ≤ 1.5
//   functionRatio   events/s through the 4 handlers / bare upsertEntity of the same rows, c=16  target ≥ 0.8
//   coldStartRatio  load app + first event / load @azure/functions + @azure/data-tables       target ≤ 1.5
//   replayRatio     replay events/s / bare transactions of the same rows, same Azurite        target ≥ 0.8
//   peakRssMb       replay --dry-run over 200,000 events
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findProjectRoot, startAzurite, type Azurite } from "../src/devhost/azurite";
import { measureColdStart } from "./coldstart";
import { measureCpu } from "./cpu";
import type { FunctionResult } from "./function";
import { measureDryRun, measureReplay } from "./replay";

const ROOT = findProjectRoot(__dirname);
const RESULTS = path.join(ROOT, "bench", "results.json");

const TARGETS = { cpuRatio: "<= 1.5", functionRatio: ">= 0.8", coldStartRatio: "<= 1.5", replayRatio: ">= 0.8" } as const;

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function phase<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  log(`${name}…`);
  const result = await fn();
  log(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s ${JSON.stringify(result)}`);
  return result;
}

async function withAzurite<T>(fn: (azurite: Azurite) => Promise<T>): Promise<T> {
  const azurite = await startAzurite();
  try {
    return await fn(azurite);
  } finally {
    await azurite.stop();
  }
}

/** The handlers run in a fresh process: @azure/functions keeps one programming model per process. */
function measureFunctionInChild(connectionString: string): Promise<FunctionResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "function.js")], {
      cwd: ROOT,
      env: { ...process.env, LEDGER_STORAGE: connectionString },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(JSON.parse(out) as FunctionResult) : reject(new Error(`function bench exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadAverage = os.loadavg();
  const cpu = await phase("cpu", () => measureCpu());
  const { fn, coldStart } = await withAzurite(async (azurite) => ({
    fn: await phase("function", () => measureFunctionInChild(azurite.connectionString)),
    coldStart: await phase("cold start", () => measureColdStart(azurite.connectionString)),
  }));
  // A fresh Azurite: large in-memory tables slow it down, and the replay writes the most rows.
  const replay = await withAzurite((azurite) => phase("replay", () => measureReplay(azurite.connectionString)));
  const dryRun = await phase("dry run", () => measureDryRun(200_000));

  const results = {
    cpuRatio: cpu.cpuRatio,
    replayRatio: replay.replayRatio,
    functionRatio: fn.functionRatio,
    coldStartRatio: coldStart.coldStartRatio,
    peakRssMb: dryRun.peakRssMb,
    targets: TARGETS,
    met: {
      cpuRatio: cpu.cpuRatio <= 1.5,
      replayRatio: replay.replayRatio >= 0.8,
      functionRatio: fn.functionRatio >= 0.8,
      coldStartRatio: coldStart.coldStartRatio <= 1.5,
    },
    nodeVersion: process.version,
    events: { cpu: cpu.events, function: fn.eventsPerRound * fn.rounds, coldStart: coldStart.runs, replay: replay.events, dryRun: dryRun.events },
    figures: { cpu, function: fn, coldStart, replay, dryRun },
    machine: { platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverageAtStart: loadAverage.map((l) => Math.round(l * 100) / 100) },
    measuredAt: new Date().toISOString(),
    durationSec: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${path.relative(process.cwd(), RESULTS)} in ${results.durationSec} s`);
  process.stdout.write(
    [
      `cpuRatio       ${cpu.cpuRatio}  (plan ${cpu.planNs} ns / parse ${cpu.parseNs} ns per event; target ${TARGETS.cpuRatio})`,
      `functionRatio  ${fn.functionRatio}  (${fn.handlerEventsPerSec} vs ${fn.baselineEventsPerSec} events/s; ${fn.handlerRowsPerSec} vs ${fn.baselineUpsertsPerSec} rows/s; target ${TARGETS.functionRatio})`,
      `coldStartRatio ${coldStart.coldStartRatio}  (${coldStart.appMs} ms vs ${coldStart.baselineMs} ms; target ${TARGETS.coldStartRatio})`,
      `replayRatio    ${replay.replayRatio}  (${replay.replayEventsPerSec} vs ${replay.baselineEventsPerSec} events/s; target ${TARGETS.replayRatio})`,
      `peakRssMb      ${dryRun.peakRssMb}  (dry run of ${dryRun.events} events, ${dryRun.eventsPerSec} events/s)`,
      "",
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("bench failed:", error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
