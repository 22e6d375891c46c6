// `npm run bench`: every performance figure of the ledger, each measured side by side with its
// baseline in this one run, written to bench/results.json. About 1½ minutes on 2 cores (under 3 when busy).
//
//   requestsFloorRatio   storage requests / their floor, function path, the mix               target ≤ 1.1
//   bigThreadFloorRatio  the same for a 250-member thread's 20 messages, every copy, shuffled  target ≤ 1.1
//   bigThreadConcurrencyErrors  ConcurrencyErrors in that run                                  target = 0
//   processCpuRatio      process CPU through the handlers / bare upserts of the same rows      target ≤ 1.2
//     (with the invocation floors: a bare v4 handler writing the same rows, bench/floorApp.ts)
//   coldStartRatio       load app + first event / load @azure/functions + @azure/data-tables  target ≤ 1.2
//   functionRatio        events/s through the 4 handlers / bare upsertEntity, same rows, c=16 target ≥ 0.9
//   replayRatio          replay events/s / bare transactions of the same rows, same Azurite   target ≥ 0.9
//   peakRssMb            replay --dry-run over 200,000 events                                  target ≤ 250
//   cpuRatio             planEvent / JSON.parse, per event (a figure, not a target)
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findProjectRoot, startAzurite, type Azurite } from "../src/devhost/azurite";
import { measureColdStart } from "./coldstart";
import { measureCpu } from "./cpu";
import type { BigThreadResult } from "./bigThread";
import type { FunctionResult } from "./function";
import { measureDryRun, measureReplay } from "./replay";

const ROOT = findProjectRoot(__dirname);
const RESULTS = path.join(ROOT, "bench", "results.json");

const TARGETS = {
  requestsFloorRatio: "<= 1.1",
  bigThreadFloorRatio: "<= 1.1",
  bigThreadConcurrencyErrors: "== 0",
  processCpuRatio: "<= 1.2",
  coldStartRatio: "<= 1.2",
  functionRatio: ">= 0.9",
  replayRatio: ">= 0.9",
  peakRssMb: "<= 250",
} as const;

function meets(value: number, target: string): boolean {
  const [op, bound] = target.split(" ") as [string, string];
  const b = Number(bound);
  return op === "<=" ? value <= b : op === ">=" ? value >= b : value === b;
}

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
function inChild<T>(script: string, connectionString: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    // --expose-gc: bench/function.ts collects each round's input garbage before timing.
    const child = spawn(process.execPath, ["--expose-gc", path.join(__dirname, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, LEDGER_STORAGE: connectionString, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${script} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadAverage = os.loadavg();
  const cpu = await phase("cpu", () => measureCpu());
  const { fn, coldStart } = await withAzurite(async (azurite) => ({
    fn: await phase("function", () => inChild<FunctionResult>("function.js", azurite.connectionString)),
    coldStart: await phase("cold start", () => measureColdStart(azurite.connectionString)),
  }));
  // The big thread, fresh Azurite each: as deployed (thread-level events drive the state rows), as
  // by default (every copy merges into them), and with 50 members to show what grows with N.
  const bigThread = async (chatStateFrom: "thread" | "all", members: number) =>
    withAzurite((azurite) =>
      phase(`big thread (${members} members, ${chatStateFrom})`, () =>
        inChild<BigThreadResult>("bigThread.js", azurite.connectionString, { LEDGER_CHAT_STATE_FROM: chatStateFrom }, [String(members)]),
      ),
    );
  const bigThreads = [await bigThread("all", 250), await bigThread("thread", 250), await bigThread("all", 50), await bigThread("thread", 50)];
  const [big] = bigThreads as [BigThreadResult];
  // A fresh Azurite: large in-memory tables slow it down, and the replay writes the most rows.
  const replay = await withAzurite((azurite) => phase("replay", () => measureReplay(azurite.connectionString)));
  const dryRun = await phase("dry run", () => measureDryRun(200_000));

  const headline = {
    requestsFloorRatio: fn.requests.requestsFloorRatio,
    bigThreadFloorRatio: Math.max(...bigThreads.map((b) => b.floorRatio)),
    bigThreadConcurrencyErrors: bigThreads.reduce((n, b) => n + b.concurrencyErrors, 0),
    processCpuRatio: fn.processCpuRatio,
    coldStartRatio: coldStart.coldStartRatio,
    functionRatio: fn.functionRatio,
    replayRatio: replay.replayRatio,
    peakRssMb: dryRun.peakRssMb,
  };
  const results = {
    cpuRatio: cpu.cpuRatio,
    replayRatio: replay.replayRatio,
    functionRatio: fn.functionRatio,
    coldStartRatio: coldStart.coldStartRatio,
    peakRssMb: dryRun.peakRssMb,
    requestsPerEvent: fn.requests.requestsPerEvent,
    requestsFloorRatio: headline.requestsFloorRatio,
    // The default setting's 250-member run; the worst floor ratio of all four runs.
    bigThreadRequestsPerMessage: big.requestsPerMessage,
    bigThreadFloorRatio: headline.bigThreadFloorRatio,
    bigThreadConcurrencyErrors: headline.bigThreadConcurrencyErrors,
    processCpuRatio: fn.processCpuRatio,
    targets: TARGETS,
    met: Object.fromEntries(Object.entries(TARGETS).map(([name, target]) => [name, meets(headline[name as keyof typeof headline], target)])),
    nodeVersion: process.version,
    events: { cpu: cpu.events, function: fn.eventsPerRound * fn.rounds, coldStart: coldStart.runs, replay: replay.events, dryRun: dryRun.events },
    figures: { cpu, function: fn, coldStart, replay, dryRun, bigThreads },
    machine: { platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverageAtStart: loadAverage.map((l) => Math.round(l * 100) / 100) },
    measuredAt: new Date().toISOString(),
    durationSec: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${path.relative(process.cwd(), RESULTS)} in ${results.durationSec} s`);
  process.stdout.write(
    [
      `requestsFloorRatio  ${fn.requests.requestsFloorRatio}  (${fn.requests.requestsPerEvent} requests/event, floor ${fn.requests.floorPerEvent}; target ${TARGETS.requestsFloorRatio})`,
      ...bigThreads.map(
        (b) =>
          `big thread ${b.members}/${b.chatStateFrom}  ${b.floorRatio} of floor  (${b.requestsPerMessage} requests/message, ${b.stateRequestsPerMessage} on ChatMessages; ${b.etagConflicts} conflicts, ${b.retries} retries, ${b.concurrencyErrors} ConcurrencyErrors; ledger ${b.ledgerEqualsInOrder ? "=" : "≠"} in-order)`,
      ),
      `processCpuRatio  ${fn.processCpuRatio}  (${fn.handlerProcessCpuUsPerEvent} µs/event vs ${fn.baselineProcessCpuUsPerRow} µs/row × ${fn.rowsPerEvent}; target ${TARGETS.processCpuRatio})`,
      `  invocation floors: bare handler ${fn.invocationFloorRatio} (rows at once), ${fn.factsFirstFloorRatio} (facts first); ledger over the facts-first floor ${fn.processCpuOverFloorRatio}`,
      `cpuRatio       ${cpu.cpuRatio}  (plan ${cpu.planNs} ns / parse ${cpu.parseNs} ns per event; a figure)`,
      `functionRatio  ${fn.functionRatio}  (${fn.handlerEventsPerSec} vs ${fn.baselineEventsPerSec} events/s; ${fn.handlerRowsPerSec} vs ${fn.baselineUpsertsPerSec} rows/s; target ${TARGETS.functionRatio})`,
      `coldStartRatio ${coldStart.coldStartRatio}  (${coldStart.appMs} ms vs ${coldStart.baselineMs} ms; CPU ${coldStart.coldStartCpuRatio}; target ${TARGETS.coldStartRatio})`,
      `replayRatio    ${replay.replayRatio}  (${replay.replayEventsPerSec} vs ${replay.baselineEventsPerSec} events/s; target ${TARGETS.replayRatio})`,
      `peakRssMb      ${dryRun.peakRssMb}  (dry run of ${dryRun.events} events, ${dryRun.eventsPerSec} events/s; target ${TARGETS.peakRssMb})`,
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
