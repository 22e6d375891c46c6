import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TableClient } from "@azure/data-tables";
import { TABLES, type TableName } from "../src/catalog";
import { settingsFromEnv, type LedgerSettings } from "../src/config";
import { findProjectRoot } from "../src/devhost/azurite";
import { loadFunctionApp, type LoadedFunctionApp } from "../src/devhost/functionsHost";
export { seededRandom } from "../src/devhost/seededRandom";
import { createTableClient, LedgerTables } from "../src/ledger/tables";
import { LedgerWriter } from "../src/ledger/writer";

export const PROJECT_ROOT = findProjectRoot(__dirname);
export const SHARED = path.resolve(PROJECT_ROOT, "..", "shared");
export const FIXTURES = path.join(SHARED, "fixtures", "events");

export interface Fixture {
  readonly seed: string;
  readonly type: string;
  readonly file: string;
  readonly events: Record<string, unknown>[];
}

/** Every valid doc sample in ../shared/fixtures/events/seed-NNN (not `invalid`). */
export function loadFixtures(): Fixture[] {
  return fs
    .readdirSync(FIXTURES)
    .filter((d) => d.startsWith("seed-"))
    .sort()
    .flatMap((seed) =>
      fs
        .readdirSync(path.join(FIXTURES, seed))
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => {
          const file = path.join(FIXTURES, seed, f);
          return { seed, type: f.slice(0, -".json".length), file, events: JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>[] };
        }),
    );
}

export function fixture(seed: string, type: string): Record<string, unknown> {
  const found = loadFixtures().find((f) => f.seed === seed && f.type === type);
  if (!found || !found.events[0]) throw new Error(`no fixture ${seed}/${type}`);
  return structuredClone(found.events[0]);
}

/** Settings for a test: the run's Azurite, with tables of its own (a unique prefix). */
export function testSettings(overrides: Partial<LedgerSettings> = {}): LedgerSettings {
  const prefix = `T${process.pid}${Math.floor(Math.random() * 1e6)}`;
  return { ...settingsFromEnv({ ...process.env, LEDGER_TABLE_PREFIX: prefix }), ...overrides };
}

/**
 * The compiled app, loaded as the host loads it, writing to tables with `prefix` (the app reads
 * LEDGER_TABLE_PREFIX on its first invocation). One per test process: call it in `before`.
 */
export function loadAppWithPrefix(prefix: string): LoadedFunctionApp {
  process.env["LEDGER_TABLE_PREFIX"] = prefix;
  return loadFunctionApp(PROJECT_ROOT);
}

/** The settings such an app writes with. */
export function prefixedSettings(prefix: string): LedgerSettings {
  return settingsFromEnv({ ...process.env, LEDGER_TABLE_PREFIX: prefix });
}

export function testWriter(settings: LedgerSettings = testSettings()): LedgerWriter {
  return new LedgerWriter(new LedgerTables(settings));
}

export type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** All rows of one ledger table (empty if the table was never created). */
export async function readTable(settings: LedgerSettings, table: TableName): Promise<Row[]> {
  const client: TableClient = createTableClient(settings, `${settings.tablePrefix}${table}`);
  const rows: Row[] = [];
  try {
    for await (const e of client.listEntities<Record<string, unknown>>()) {
      const { etag: _etag, timestamp: _ts, ...rest } = e as Record<string, unknown>;
      rows.push(rest as Row);
    }
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return [];
    throw error;
  }
  return rows;
}

/** Every row of every ledger table, by table. */
export async function readLedger(settings: LedgerSettings): Promise<Record<TableName, Row[]>> {
  const out = {} as Record<TableName, Row[]>;
  for (const t of TABLES) out[t] = await readTable(settings, t);
  return out;
}

export function rowsOf(ledger: Record<TableName, Row[]>, eventId: string): Array<Row & { table: TableName }> {
  return TABLES.flatMap((t) => ledger[t].filter((r) => r["eventId"] === eventId).map((r) => ({ ...r, table: t })));
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight; results in input order. */
export async function inParallel<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Runs a Node script (a compiled CLI) to its exit, with `input` on its stdin. */
export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv, input = ""): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("exit", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}
