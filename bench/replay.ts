// replayRatio: replay's events/s into Azurite over the events/s of a bare @azure/data-tables loop that
// writes the same entities, in transactions, to the same Azurite.
// - The replay: runReplay (the engine of `acs-ledger replay`), warm, in this process, over an NDJSON
//   file: reading, parsing, planning, batching and writing all count.
// - The loop: every row the replay writes (appends as they are; a current-state row as the replay first
//   creates it), grouped per table and partition in input order, at most 100 rows per transaction (a
//   partition's lone row by itself), 16 requests in flight, its rows ready before its clock starts.
//
// peakRssMb: the peak resident set of `acs-ledger replay --dry-run` over a 200,000-event NDJSON file.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TableClient, type TransactionAction } from "@azure/data-tables";
import { settingsFromEnv } from "../src/config";
import { planEvent } from "../src/ingest";
import { encodeProperties } from "../src/ledger/entity";
import { createTableClient } from "../src/ledger/tables";
import { mergeFacets } from "../src/ledger/writer";
import { findProjectRoot } from "../src/devhost/azurite";
import { estimateRequestBytes, runReplay } from "../src/replay";
import { countOf, startCounting, stopCounting, tallyJson, within } from "../src/devhost/storageRequests";
import { loadTemplates, writeNdjson, type Template } from "./events";

export interface ReplayBenchResult {
  readonly events: number;
  readonly rows: number;
  readonly rounds: number;
  readonly baselineTransactions: number;
  readonly baselineRowsPerTransaction: number;
  /** Medians over rounds. */
  readonly replayEventsPerSec: number;
  readonly baselineEventsPerSec: number;
  readonly baselineRowsPerSec: number;
  /** Median over rounds of replay/baseline, each round's two runs back to back. */
  readonly replayRatio: number;
  readonly roundRatios: readonly number[];
  /** The same over the whole run: baseline time over replay time for the same events. */
  readonly totalsRatio: number;
  /** The replay's own statistics (last round): transactions, single writes, state writes. */
  readonly replayStats: unknown;
  /** Storage requests of the timed replays (src/devhost/storageRequests.ts), per event and per table. */
  readonly requestsPerEvent: number;
  readonly requestsByTable: Record<string, Record<string, number>>;
  /**
   * Per event type, replayed alone (its own 100 events into fresh tables): the mix shares transactions
   * between types, so a type's own cost is measured apart.
   */
  readonly requestsPerEventByType: Record<string, { requestsPerEvent: number; byTable: Record<string, Record<string, number>> }>;
}

export interface DryRunResult {
  readonly events: number;
  readonly fileMb: number;
  readonly peakRssMb: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
}

const ROOT = findProjectRoot(__dirname);
const DIST = path.resolve(__dirname, "..");
export const TMP = path.join(ROOT, "bench", "tmp");
const CONCURRENCY = 16;
const MAX_ROWS = 100;
const MAX_BYTES = 3.75 * 1024 * 1024;

interface Row {
  readonly table: string;
  readonly action: TransactionAction;
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly bytes: number;
}

/** The transactions a bare loop would send for the rows of `texts`: per (table, partition), in input order. */
function transactions(texts: readonly string[]): { batches: { table: string; actions: TransactionAction[] }[]; rows: number } {
  const groups = new Map<string, { table: string; rows: Map<string, Row> }>();
  for (const text of texts) {
    for (const w of planEvent(JSON.parse(text), "any").writes) {
      const entity = w.kind === "append" ? w.entity : encodeProperties(mergeFacets({}, w) ?? {});
      const row: Row = {
        table: w.table,
        action: [w.kind === "append" ? "create" : "upsert", { partitionKey: w.partitionKey, rowKey: w.rowKey, ...entity }],
        partitionKey: w.partitionKey,
        rowKey: w.rowKey,
        bytes: estimateRequestBytes(w.partitionKey, w.rowKey, entity),
      };
      const key = `${w.table}\n${w.partitionKey}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { table: w.table, rows: new Map() }));
      group.rows.set(w.rowKey, row); // one row once per transaction: a state row changed twice is written as last changed
    }
  }
  const batches: { table: string; actions: TransactionAction[] }[] = [];
  let rows = 0;
  for (const { table, rows: byKey } of groups.values()) {
    let actions: TransactionAction[] = [];
    let bytes = 0;
    for (const row of byKey.values()) {
      if (actions.length === MAX_ROWS || (actions.length > 0 && bytes + row.bytes > MAX_BYTES)) {
        batches.push({ table, actions });
        actions = [];
        bytes = 0;
      }
      actions.push(row.action);
      bytes += row.bytes;
      rows++;
    }
    if (actions.length > 0) batches.push({ table, actions });
  }
  return { batches, rows };
}

async function bareLoop(batches: readonly { table: string; actions: TransactionAction[] }[], prefix: string): Promise<number> {
  const settings = settingsFromEnv();
  const clients = new Map<string, TableClient>();
  for (const table of new Set(batches.map((b) => b.table))) {
    const client = createTableClient(settings, `${prefix}${table}`);
    await client.createTable();
    clients.set(table, client);
  }
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < batches.length; i = next++) {
        const b = batches[i]!;
        const client = clients.get(b.table)!;
        const [action, entity] = b.actions[0]!;
        // A partition's lone row goes by itself: a one-row transaction is the slower way to write it.
        if (b.actions.length > 1) await client.submitTransaction(b.actions);
        else if (action === "create") await client.createEntity(entity);
        else await client.upsertEntity(entity);
      }
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Runs `script` in a fresh node process with fd 3 open; resolves with stdout and what fd 3 received. */
function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; fd3: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let fd3 = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (b: Buffer) => (fd3 += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve({ stdout, fd3 }) : reject(new Error(`${args.slice(-3).join(" ")} exited with ${code}: ${stderr}`))));
  });
}

/** The replay engine (runReplay, what `acs-ledger replay FILE` runs), warm, into tables with `prefix`. */
async function replayInProcess(file: string, prefix: string): Promise<{ seconds: number; events: number; stored: number; rows: unknown }> {
  const settings = { ...settingsFromEnv(), tablePrefix: prefix };
  const t0 = process.hrtime.bigint();
  const result = await runReplay(
    { paths: [file], settings, quiet: true, concurrency: CONCURRENCY },
    { out: () => {}, err: (line) => process.stderr.write(`${line}\n`), progress: { isTTY: false, columns: 80, write: () => {} } },
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, events: result.events, stored: result.stored, rows: result.rows };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export async function measureReplay(connectionString: string, options: { events?: number; rounds?: number } = {}): Promise<ReplayBenchResult> {
  const n = options.events ?? 4_000;
  const rounds = options.rounds ?? 3;
  fs.mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, `replay-${n}.ndjson`);
  const templates = loadTemplates();
  await writeNdjson(file, n, 21, templates);
  const texts = fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  const { batches, rows } = transactions(texts);
  process.env["LEDGER_STORAGE"] = connectionString;

  // Warm-up, untimed: a fresh Azurite runs its first requests of each kind cold.
  const warmFile = path.join(TMP, "replay-warm.ndjson");
  await writeNdjson(warmFile, 300, 22, templates);
  await bareLoop(transactions(fs.readFileSync(warmFile, "utf8").split("\n").filter((l) => l !== "")).batches, `Brw${Date.now().toString(36)}`);
  await replayInProcess(warmFile, `Brv${Date.now().toString(36)}`);

  const replay: number[] = [];
  const baseline: number[] = [];
  let stats: unknown;
  const tally = startCounting();
  let replaySeconds = 0;
  let baselineSeconds = 0;
  for (let r = 0; r < rounds; r++) {
    const run = `${Date.now().toString(36)}${r}`;
    const replayOnce = async () => {
      const result = await within("replay", () => replayInProcess(file, `Brr${run}`));
      if (result.events !== n || result.stored !== n) throw new Error(`bench: replay stored ${result.stored} of ${n} events`);
      stats = result.rows;
      replaySeconds += result.seconds;
      replay.push(n / result.seconds);
    };
    const baselineOnce = async () => {
      const seconds = await bareLoop(batches, `Brb${run}`);
      baselineSeconds += seconds;
      baseline.push(n / seconds);
    };
    if (r % 2 === 0) {
      await baselineOnce();
      await replayOnce();
    } else {
      await replayOnce();
      await baselineOnce();
    }
  }
  stopCounting();
  const byType = await requestsPerType(templates);
  const replayEventsPerSec = median(replay);
  const baselineEventsPerSec = median(baseline);
  // Each round's two runs are back to back: the median of their ratios is the least disturbed.
  const ratios = replay.map((r, i) => r / baseline[i]!);
  return {
    events: n,
    rows,
    rounds,
    baselineTransactions: batches.length,
    baselineRowsPerTransaction: Math.round((rows / batches.length) * 100) / 100,
    replayEventsPerSec: Math.round(replayEventsPerSec),
    baselineEventsPerSec: Math.round(baselineEventsPerSec),
    baselineRowsPerSec: Math.round((baselineEventsPerSec * rows) / n),
    replayRatio: Math.round(median(ratios) * 1000) / 1000,
    roundRatios: ratios.map((r) => Math.round(r * 1000) / 1000),
    totalsRatio: Math.round((baselineSeconds / replaySeconds) * 1000) / 1000,
    replayStats: stats,
    requestsPerEvent: Math.round((countOf(tally) / (n * rounds)) * 1000) / 1000,
    requestsByTable: tallyJson(tally)["replay"] ?? {},
    requestsPerEventByType: byType,
  };
}

async function requestsPerType(templates: readonly Template[], events = 100): Promise<ReplayBenchResult["requestsPerEventByType"]> {
  const out: ReplayBenchResult["requestsPerEventByType"] = {};
  const run = Date.now().toString(36);
  for (const [i, type] of [...new Set(templates.map((t) => t.type))].sort().entries()) {
    const file = path.join(TMP, "replay-type.ndjson");
    await writeNdjson(file, events, 23, templates.filter((t) => t.type === type));
    const tally = startCounting();
    await within(type, () => replayInProcess(file, `Brt${run}x${i}`));
    stopCounting();
    out[type] = { requestsPerEvent: Math.round((countOf(tally, (_l, table) => table !== "Tables") / events) * 1000) / 1000, byTable: tallyJson(tally)[type] ?? {} };
  }
  return out;
}

/** `acs-ledger replay --dry-run --quiet FILE` over `events` generated events; peak RSS from the child itself. */
export async function measureDryRun(events = 200_000): Promise<DryRunResult> {
  fs.mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, `dry-run-${events}.ndjson`);
  await writeNdjson(file, events, 31);
  const t0 = process.hrtime.bigint();
  const { stdout, fd3 } = await runChild(["-r", path.join(__dirname, "rss-probe.js"), path.join(DIST, "src", "cli", "replay.js"), "--dry-run", "--quiet", file], process.env);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const usage = JSON.parse(fd3) as { maxRSS: number };
  const summary = stdout.replace(/\s+/g, " ");
  if (!summary.includes(String(events).replace(/\B(?=(\d{3})+(?!\d))/g, ",")) && !summary.includes(String(events))) {
    throw new Error(`bench: the dry run's summary does not mention ${events} events: ${summary.slice(0, 500)}`);
  }
  const fileMb = fs.statSync(file).size / 1024 / 1024;
  fs.rmSync(file, { force: true });
  return { events, fileMb: Math.round(fileMb), peakRssMb: Math.round(usage.maxRSS / 1024), seconds: Math.round(seconds * 10) / 10, eventsPerSec: Math.round(events / seconds) };
}
