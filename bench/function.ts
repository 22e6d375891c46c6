// functionRatio: events/s through the four Event Grid handlers, invoked as the host invokes them (the
// compiled app loaded by the dev host, one event per invocation through @azure/functions' invocation
// model, 16 invocations in flight), over a bare @azure/data-tables loop that upserts exactly the rows
// those handlers write for the same events: one upsertEntity call per row, 16 calls in flight.
// Both sides get their input made before timing: the baseline its rows, the handlers the invocation
// requests the host would send (the host parses and re-serializes each event in its own process).
//
// Run in a fresh process (the library keeps one programming model per process):
//   LEDGER_STORAGE=<connection string> node --expose-gc dist/bench/function.js [events per round]
import { TableClient } from "@azure/data-tables";
import { createDefaultHttpClient } from "@azure/core-rest-pipeline";
import { CATALOG, functionNameOf } from "../src/catalog";
import { settingsFromEnv } from "../src/config";
import { findProjectRoot } from "../src/devhost/azurite";
import { loadFunctionApp, type PreparedInvocation } from "../src/devhost/functionsHost";
import { planEvent } from "../src/ingest";
import { encodeProperties } from "../src/ledger/entity";
import { createTableClient } from "../src/ledger/tables";
import { mergeFacets } from "../src/ledger/writer";
import { countOf, startCounting, stopCounting, tallyJson, within, type RequestTally } from "../src/devhost/storageRequests";
import { EventStream, loadTemplates, type BenchEvent } from "./events";
import { inFlight, printAndExit } from "./child";
import { FloorModel } from "./floor";

export interface FunctionResult {
  readonly eventsPerRound: number;
  readonly rounds: number;
  readonly concurrency: number;
  readonly rowsPerEvent: number;
  /** Handlers: events/s and the rows they planned per second (median of rounds). */
  readonly handlerEventsPerSec: number;
  readonly handlerRowsPerSec: number;
  /** Baseline: upsertEntity calls per second, and the events whose rows they wrote per second. */
  readonly baselineUpsertsPerSec: number;
  readonly baselineEventsPerSec: number;
  /**
   * Handler events/s over baseline events/s, median over rounds of the two back-to-back runs: the same
   * rows, so the per-event and the per-row view give one ratio.
   */
  readonly functionRatio: number;
  readonly roundRatios: readonly number[];
  /** The same over the whole run: all events / all handler time, over all baseline rows' events / all baseline time. */
  readonly totalsRatio: number;
  /** handlerEventsPerSec / baselineUpsertsPerSec: as if every event were one row. */
  readonly eventsPerUpsertRatio: number;
  readonly failedInvocations: number;
  /** CPU of this process (not Azurite's): per handled event, and per baseline upsert. */
  readonly handlerProcessCpuUsPerEvent: number;
  readonly baselineProcessCpuUsPerRow: number;
  /**
   * Whole-process CPU of the handlers over the baseline's for the same rows: median over rounds (each
   * round's two runs write the same rows); the whole-run ratio is processCpuTotalsRatio.
   */
  readonly processCpuRatio: number;
  readonly processCpuRoundRatios: readonly number[];
  readonly processCpuTotalsRatio: number;
  /**
   * The invocation floor (bench/floorApp.ts): a handler that does nothing but write the same rows
   * with the bare SDK, all of an event's rows at once, run through the same invocation model. Its CPU
   * per event, and over the baseline's for the same rows (median over rounds).
   */
  readonly bareHandlerProcessCpuUsPerEvent: number;
  readonly invocationFloorRatio: number;
  /**
   * The same with fact rows first and state rows once those are answered, as the ledger writes them
   * (an identity conflict must change no other row): the floor the ledger's handlers stand on.
   */
  readonly factsFirstHandlerProcessCpuUsPerEvent: number;
  readonly factsFirstFloorRatio: number;
  /** The handlers' CPU over the facts-first floor's (median over rounds): what the ledger's own work adds. */
  readonly processCpuOverFloorRatio: number;
  /**
   * The dev host's stand-in for the Functions host (its parse of the event and the invocation request,
   * `prepare`), per event: work of the host's process in production, so outside the figures above.
   */
  readonly hostStandInCpuUsPerEvent: number;
  /** processCpuRatio as if the host's work ran in this process too (it is counted with the handlers). */
  readonly processCpuRatioWithHostStandIn: number;
  readonly requests: RequestFigures;
}

/** Storage requests of the measured rounds, counted in this process (src/devhost/storageRequests.ts). */
export interface RequestFigures {
  readonly requestsPerEvent: number;
  /** One request per fact row, plus one per state row an event changes (bench/floor.ts). */
  readonly floorPerEvent: number;
  readonly requestsFloorRatio: number;
  /** The baseline's requests per row (1: one upsert each). */
  readonly baselineRequestsPerRow: number;
  readonly perType: Record<string, { events: number; requestsPerEvent: number; floorPerEvent: number; byTable: Record<string, Record<string, number>> }>;
  /** Every request of the handlers, per table and kind (method and status). */
  readonly byTable: Record<string, Record<string, number>>;
}

const CONCURRENCY = 16;
const minorGc = (globalThis as { gc?: (options: { type: "minor" }) => void }).gc;
/** Rounds after the timed ones whose storage requests are counted. */
const COUNTED_ROUNDS = 3;

interface Invocation {
  readonly e: BenchEvent;
  readonly request: PreparedInvocation;
}

interface Row {
  readonly table: string;
  readonly entity: { partitionKey: string; rowKey: string } & Record<string, unknown>;
  readonly state: boolean;
}

/** Per event, the rows the handlers write for it, as they write them (a new state row: its facets merged over nothing). */
function rowsByEvent(events: readonly BenchEvent[]): Row[][] {
  return events.map((e) =>
    planEvent(JSON.parse(e.text), e.family).writes.map((w) => {
      const props = w.kind === "append" ? w.entity : encodeProperties(mergeFacets({}, w) ?? {});
      return { table: w.table, entity: { partitionKey: w.partitionKey, rowKey: w.rowKey, ...props }, state: w.kind === "state" };
    }),
  );
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export async function measureFunction(options: { events?: number; rounds?: number } = {}): Promise<FunctionResult> {
  const n = options.events ?? 300;
  const rounds = options.rounds ?? 20;
  const stream = new EventStream(loadTemplates(), 11);
  const run = Date.now().toString(36);

  // The app, as the host loads it; its tables get a prefix of their own.
  process.env["LEDGER_TABLE_PREFIX"] = `Bf${run}`;
  // With it, the invocation floors (bench/floorApp.ts): bare handlers that write the same rows.
  const app = loadFunctionApp(findProjectRoot(__dirname), { extraEntryFiles: [require.resolve("./floorApp")], keepLogs: 1_000 });
  // Only now: the dev host has loaded it (importing it first would register outside a host).
  const { FLOOR_FUNCTIONS, floorRows } = require("./floorApp") as typeof import("./floorApp");
  let failed = 0;
  // Counting attributes requests through async context (AsyncLocalStorage), which costs every promise
  // some CPU once it is in use: the timed rounds run without it, and counted rounds follow them.
  // What the host does before the worker sees an event (its parse, the invocation request) happens in
  // the host's process in production, so it is done before timing, as the baseline's rows are.
  const prepareAll = (events: readonly BenchEvent[]) => events.map((e) => ({ e, request: app.prepare(functionNameOf(e.family), JSON.parse(e.text)) }));
  const invokeAll = (invocations: readonly Invocation[], counted = false) =>
    inFlight(invocations, CONCURRENCY, async ({ e, request }) => {
      const invoke = () => app.invokePrepared(request);
      const outcome = await (counted ? within(e.type, invoke) : invoke());
      if (outcome.status !== "succeeded") {
        failed++;
        if (failed <= 3) console.error(`bench: ${e.type} invocation failed: ${String(outcome.error)}`);
      }
    });

  // The baseline: the same SDK, the same rows, in tables of its own.
  const settings = settingsFromEnv();
  const clients = new Map<string, TableClient>();
  for (const table of new Set([...CATALOG.values()].flatMap((s) => s.tables))) {
    const client = createTableClient(settings, `Bb${run}${table}`);
    await client.createTable();
    clients.set(table, client);
  }
  // The floor's clients get an HTTP client (and so a connection pool) of their own, as the handlers'
  // and the baseline's have: clients share the SDK's default one, and pools interfere.
  const bareHttp = createDefaultHttpClient();
  const bareClients = new Map<string, TableClient>();
  for (const table of clients.keys()) {
    const client = createTableClient(settings, `Bi${run}${table}`, { httpClient: bareHttp });
    await client.createTable();
    bareClients.set(table, client);
  }
  /** The floors' invocations of a round, each event's rows (`rows[i]` for `events[i]`) set aside by its id. */
  const prepareBare = (events: readonly BenchEvent[], rows: readonly (readonly Row[])[]) => {
    floorRows.clear();
    const atOnce: Invocation[] = [];
    const factsFirst: Invocation[] = [];
    for (const [i, e] of events.entries()) {
      const event = JSON.parse(e.text) as { id: string };
      floorRows.set(event.id, rows[i]!.map((r) => ({ client: bareClients.get(r.table)!, entity: r.entity, state: r.state })));
      atOnce.push({ e, request: app.prepare(FLOOR_FUNCTIONS.atOnce, event) });
      factsFirst.push({ e, request: app.prepare(FLOOR_FUNCTIONS.factsFirst, event) });
    }
    return { atOnce, factsFirst };
  };
  const upsertAll = (rows: readonly Row[], counted = false) =>
    inFlight(rows, CONCURRENCY, async (r) => {
      const upsert = () => clients.get(r.table)!.upsertEntity(r.entity);
      await (counted ? within(BASELINE, upsert) : upsert());
    });

  // The floor follows every event in delivery order (warm-up included: the rows it leaves are there).
  const floor = new FloorModel(settings);
  const floorByType = new Map<string, { events: number; requests: number }>();
  const addFloor = (events: readonly BenchEvent[], count: boolean) => {
    for (const e of events) {
      const c = floor.cost(e);
      if (!count) continue;
      const t = floorByType.get(e.type) ?? { events: 0, requests: 0 };
      t.events++;
      t.requests += c.facts + c.states;
      floorByType.set(e.type, t);
    }
  };

  // Warm-up: tables created, connections open, code compiled (the handlers' CPU per event settles
  // after about 1,000 events: every type's validator loaded, optimized code, the state cache in use).
  const warm = stream.take(1_500);
  addFloor(warm, false);
  await invokeAll(prepareAll(warm));
  const warmRows = rowsByEvent(warm);
  const warmBare = prepareBare(warm, warmRows);
  await invokeAll(warmBare.atOnce);
  await invokeAll(warmBare.factsFirst);
  await upsertAll(warmRows.flat());

  const handler: number[] = [];
  const baseline: number[] = [];
  const handlerCpuMs: number[] = [];
  const baselineCpuMs: number[] = [];
  const prepareCpuMs: number[] = [];
  const bareCpuMs: number[] = [];
  const factsFirstCpuMs: number[] = [];
  let rowCount = 0;
  let handlerSeconds = 0;
  let baselineSeconds = 0;
  for (let r = 0; r < rounds; r++) {
    const events = stream.take(n);
    addFloor(events, false);
    const eventRows = rowsByEvent(events);
    const rows = eventRows.flat();
    const bareInvocations = prepareBare(events, eventRows);
    const p0 = process.cpuUsage();
    const invocations = prepareAll(events);
    const p = process.cpuUsage(p0);
    prepareCpuMs.push((p.user + p.system) / 1e3);
    rowCount += rows.length;
    const timeIt = async (fn: () => Promise<void>, cpu: number[]) => {
      // The garbage of making the round's input is collected before, not charged to whichever run
      // comes first (run.ts starts this process with --expose-gc; old-space work is still counted).
      minorGc?.({ type: "minor" });
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await fn();
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e3);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const baselineRun = async () => {
      const seconds = await timeIt(() => upsertAll(rows), baselineCpuMs);
      baselineSeconds += seconds;
      baseline.push(rows.length / seconds);
    };
    const handlerRun = async () => {
      const seconds = await timeIt(() => invokeAll(invocations), handlerCpuMs);
      handlerSeconds += seconds;
      handler.push(n / seconds);
    };
    // Alternate which goes first, so that neither always meets a fuller Azurite; the floors run
    // between them, and their figures are CPU only.
    const floorRuns = async () => {
      await timeIt(() => invokeAll(bareInvocations.atOnce), bareCpuMs);
      await timeIt(() => invokeAll(bareInvocations.factsFirst), factsFirstCpuMs);
    };
    if (r % 2 === 0) {
      await baselineRun();
      await floorRuns();
      await handlerRun();
    } else {
      await handlerRun();
      await floorRuns();
      await baselineRun();
    }
  }
  // The counted rounds: every storage request of the handlers and of the baseline, and the floor.
  const tally = startCounting();
  let countedRows = 0;
  for (let r = 0; r < COUNTED_ROUNDS; r++) {
    const events = stream.take(n);
    addFloor(events, true);
    const rows = rowsByEvent(events).flat();
    countedRows += rows.length;
    await invokeAll(prepareAll(events), true);
    await upsertAll(rows, true);
  }
  stopCounting();
  const rowsPerEvent = rowCount / (n * rounds);
  const handlerCpuUsPerEvent = (handlerCpuMs.reduce((a, b) => a + b, 0) * 1e3) / (n * rounds);
  const baselineCpuUsPerRow = (baselineCpuMs.reduce((a, b) => a + b, 0) * 1e3) / rowCount;
  const hostCpuUsPerEvent = (prepareCpuMs.reduce((a, b) => a + b, 0) * 1e3) / (n * rounds);
  const handlerEventsPerSec = median(handler);
  const baselineUpsertsPerSec = median(baseline);
  const baselineEventsPerSec = baselineUpsertsPerSec / rowsPerEvent;
  // Each round's two runs are back to back; the median of their ratios is the least disturbed by
  // whatever else the machine does meanwhile.
  const ratios = handler.map((h, i) => h / (baseline[i]! / rowsPerEvent));
  return {
    eventsPerRound: n,
    rounds,
    concurrency: CONCURRENCY,
    rowsPerEvent: round(rowsPerEvent, 3),
    handlerEventsPerSec: Math.round(handlerEventsPerSec),
    handlerRowsPerSec: Math.round(handlerEventsPerSec * rowsPerEvent),
    baselineUpsertsPerSec: Math.round(baselineUpsertsPerSec),
    baselineEventsPerSec: Math.round(baselineEventsPerSec),
    functionRatio: round(median(ratios), 3),
    roundRatios: ratios.map((r) => round(r, 3)),
    totalsRatio: round(baselineSeconds / handlerSeconds, 3), // the same events both ways: events/s ratio = time ratio inverted
    eventsPerUpsertRatio: round(handlerEventsPerSec / baselineUpsertsPerSec, 3),
    failedInvocations: failed,
    handlerProcessCpuUsPerEvent: Math.round(handlerCpuUsPerEvent),
    baselineProcessCpuUsPerRow: Math.round(baselineCpuUsPerRow),
    processCpuRatio: round(median(handlerCpuMs.map((h, i) => h / baselineCpuMs[i]!)), 3),
    processCpuRoundRatios: handlerCpuMs.map((h, i) => round(h / baselineCpuMs[i]!, 3)),
    processCpuTotalsRatio: round(handlerCpuUsPerEvent / (baselineCpuUsPerRow * rowsPerEvent), 3),
    bareHandlerProcessCpuUsPerEvent: Math.round((bareCpuMs.reduce((a, b) => a + b, 0) * 1e3) / (n * rounds)),
    invocationFloorRatio: round(median(bareCpuMs.map((f, i) => f / baselineCpuMs[i]!)), 3),
    factsFirstHandlerProcessCpuUsPerEvent: Math.round((factsFirstCpuMs.reduce((a, b) => a + b, 0) * 1e3) / (n * rounds)),
    factsFirstFloorRatio: round(median(factsFirstCpuMs.map((f, i) => f / baselineCpuMs[i]!)), 3),
    processCpuOverFloorRatio: round(median(handlerCpuMs.map((h, i) => h / factsFirstCpuMs[i]!)), 3),
    hostStandInCpuUsPerEvent: Math.round(hostCpuUsPerEvent),
    processCpuRatioWithHostStandIn: round(median(handlerCpuMs.map((h, i) => (h + prepareCpuMs[i]!) / baselineCpuMs[i]!)), 3),
    requests: requestFigures(tally, floorByType, countedRows),
  };
}

const BASELINE = "(baseline)";

function requestFigures(tally: RequestTally, floorByType: ReadonlyMap<string, { events: number; requests: number }>, baselineRows: number): RequestFigures {
  const perTable = tallyJson(tally);
  const perType: Record<string, RequestFigures["perType"][string]> = {};
  let events = 0;
  let floorRequests = 0;
  for (const [type, f] of [...floorByType].sort(([a], [b]) => a.localeCompare(b))) {
    events += f.events;
    floorRequests += f.requests;
    const requests = countOf(tally, (label) => label === type);
    perType[type] = { events: f.events, requestsPerEvent: round(requests / f.events, 3), floorPerEvent: round(f.requests / f.events, 3), byTable: perTable[type] ?? {} };
  }
  const byTable: Record<string, Record<string, number>> = {};
  for (const [label, tables] of Object.entries(perTable)) {
    if (label === BASELINE) continue;
    for (const [table, kinds] of Object.entries(tables)) {
      const into = (byTable[table] ??= {});
      for (const [kind, c] of Object.entries(kinds)) into[kind] = (into[kind] ?? 0) + c;
    }
  }
  const requests = countOf(tally, (label) => label !== BASELINE);
  return {
    requestsPerEvent: round(requests / events, 3),
    floorPerEvent: round(floorRequests / events, 3),
    requestsFloorRatio: round(requests / floorRequests, 3),
    baselineRequestsPerRow: round(countOf(tally, (label) => label === BASELINE) / baselineRows, 3),
    perType,
    byTable,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (require.main === module) {
  const events = process.argv[2] ? Number(process.argv[2]) : undefined;
  printAndExit(measureFunction(events ? { events } : {}));
}
