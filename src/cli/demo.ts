// `npm run demo`: delivers every sample event to the compiled app, exactly as the Functions host
// would, and prints what the ledger stored. It always uses an embedded in-memory Azurite, whatever
// the environment says, so that trying the quick start cannot write into a real ledger. Another
// account only with `--storage`, and then only after saying what will be written where.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { functionNameOf, specFor, TABLES, type TableName } from "../catalog";
import { parseStorage, settingsFromEnv, type LedgerSettings } from "../config";
import { findProjectRoot, startAzurite, type Azurite } from "../devhost/azurite";
import { loadFunctionApp, type LoadedFunctionApp } from "../devhost/functionsHost";
import { serveArgs, serveUntilStopped } from "../devhost/server";
import { decodeProperties } from "../ledger/entity";
import { createTableClient, LedgerTables } from "../ledger/tables";
import { describeStorageError, statusOf } from "../ledger/storageErrors";
import { ConfigurationError } from "../errors";
import { holdBuild } from "./buildLease";
import { oneLine, runCli, UsageError } from "./oneLine";

export interface SampleEvent {
  /** Path relative to the project root, e.g. `samples/cloudevents/….json`. */
  readonly file: string;
  readonly type: string;
  readonly event: Record<string, unknown>;
}

/** The type an event names, in either delivery schema. */
export function eventTypeOf(event: Record<string, unknown>): string | undefined {
  const type = event["eventType"] ?? event["type"];
  return typeof type === "string" ? type : undefined;
}

/** Every event of samples/*.json and samples/cloudevents/*.json (each file is a JSON array). */
export function loadSamples(root: string = findProjectRoot(__dirname)): SampleEvent[] {
  const out: SampleEvent[] = [];
  for (const dir of ["samples", path.join("samples", "cloudevents")]) {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    for (const name of fs.readdirSync(abs).filter((n) => n.endsWith(".json")).sort()) {
      const file = path.join(dir, name);
      const events = JSON.parse(fs.readFileSync(path.join(root, file), "utf8")) as unknown;
      if (!Array.isArray(events)) throw new Error(`${file}: expected a JSON array of events`);
      for (const event of events as Record<string, unknown>[]) {
        const type = eventTypeOf(event);
        if (type === undefined || !specFor(type)) throw new Error(`${file}: event type ${String(type)} is not in the catalog`);
        out.push({ file, type, event });
      }
    }
  }
  return out;
}

export interface DemoOptions {
  /** A storage connection string or table endpoint URL (`--storage`); default: an embedded Azurite. */
  readonly storage?: string;
  readonly out?: (line: string) => void;
  readonly root?: string;
  /** Runs once the tables are shown, before Azurite stops (`--serve`: the API, viewer and webhook). */
  readonly serve?: (app: LoadedFunctionApp, out: (line: string) => void) => Promise<void>;
}

export interface DemoResult {
  readonly succeeded: number;
  readonly failed: number;
  /** From the host logs: events stored / quarantined. */
  readonly stored: number;
  readonly quarantined: number;
  readonly rows: Readonly<Record<TableName, number>>;
}

/** What each table's example rows show (the first three present). */
const SHOW: Record<TableName, readonly string[]> = {
  SmsMessages: ["direction", "numberRole", "message", "deliveryStatus", "eventType"],
  SmsDeliveryReports: ["deliveryStatus", "to", "tag", "eventType"],
  ChatThreadEvents: ["eventType", "messageBody", "topic", "displayName"],
  ChatUserEvents: ["eventType", "messageBody", "topic", "displayName"],
  ChatMessages: ["senderDisplayName", "messageBody", "deleted", "editTime"],
  ChatThreads: ["topic", "deleted", "createTime"],
  ChatParticipants: ["displayName", "member", "addedAt", "removedAt"],
  CallEvents: ["eventType", "change", "displayName", "recordingDurationMs"],
  Calls: ["startedAt", "endedAt", "durationOfCall"],
  UserDisconnects: ["disconnectedAt", "eventType", "deliverySchema"],
  QuarantinedEvents: ["reasonCode", "reason"],
  SchemaDrift: ["eventType", "path", "count"],
};
const EXAMPLES = 3;

/**
 * Runs the demo once. `loadFunctionApp` can load the app only once per process, so this can too.
 * Sets `process.env.LEDGER_STORAGE` (the app reads its settings from the environment).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? ((line: string) => console.log(line));
  const root = options.root ?? findProjectRoot(__dirname);
  const samples = loadSamples(root);

  let azurite: Azurite | undefined;
  try {
    const ignored = Object.keys(process.env).filter((name) => STORAGE_SETTING.test(name) && nonEmpty(process.env[name]) !== undefined).sort();
    if (options.storage === undefined && ignored.length > 0) {
      out(`Storage: ${ignored.join(", ")} ${ignored.length === 1 ? "is" : "are"} set; the demo ignores ${ignored.length === 1 ? "it" : "them"} and uses its own Azurite (--storage writes elsewhere).`);
    }
    // The app reads its settings from the environment: only the demo's account may be there.
    for (const name of Object.keys(process.env)) if (STORAGE_SETTING.test(name)) delete process.env[name];
    settingsFromEnv({ ...process.env, LEDGER_STORAGE: "UseDevelopmentStorage=true" }); // a bad prefix or timeout fails now, before Azurite starts
    let settings: LedgerSettings;
    if (options.storage !== undefined) {
      settings = explicitSettings(options.storage);
      out(`Storage: --storage ${describeStorage(options.storage)}. The demo will write ${samples.length + 2} events there, and the rows stay:`);
      out(`  tables ${TABLES.map((t) => `${settings.tablePrefix}${t}`).join(", ")} (created if missing), including 2 rows in ${settings.tablePrefix}QuarantinedEvents.`);
      await checkReachable(settings, options.storage);
    } else {
      azurite = await startAzurite();
      process.env["LEDGER_STORAGE"] = azurite.connectionString;
      settings = settingsFromEnv();
      out(`Storage: started an embedded in-memory Azurite on 127.0.0.1:${azurite.tablePort} (${azurite.tableEndpoint}); it is gone when the demo ends.`);
    }
    const tables = new LedgerTables(settings);
    if (settings.tablePrefix) out(`Table prefix: ${settings.tablePrefix} (LEDGER_TABLE_PREFIX)`);

    // A serving demo runs for as long as its user likes: its host keeps the latest log lines only.
    const app = loadFunctionApp(root, options.serve ? { keepLogs: 10_000 } : {});
    out(`Loaded the function app: ${[...app.functions.keys()].join(", ")}`);

    const deliveries = samples.map((s) => ({ what: `${s.file} ${s.type}`, fn: functionNameOf(specFor(s.type)!.family), event: s.event as unknown }));
    const cloudEvents = samples.filter((s) => "specversion" in s.event).length;
    out(`Delivering ${samples.length} sample events (${samples.length - cloudEvents} Event Grid, ${cloudEvents} CloudEvents), one invocation each.`);
    const bad = badEvents(samples);
    out(`Then ${bad.length} bad ones to smsEvents: an event type not in the catalog, and a chat event.`);
    deliveries.push(...bad);

    let succeeded = 0, failed = 0, stored = 0, quarantined = 0;
    const perFunction = new Map<string, number>();
    for (const d of deliveries) {
      const outcome = await app.invoke(d.fn, d.event);
      perFunction.set(d.fn, (perFunction.get(d.fn) ?? 0) + 1);
      if (outcome.status === "succeeded") succeeded++;
      else {
        failed++;
        out(`  FAILED ${d.fn} ← ${d.what}: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`);
      }
      for (const log of outcome.logs) {
        if (log.message.startsWith("stored ")) stored++;
        else if (log.message.startsWith("quarantined ")) {
          quarantined++;
          out(`  host log (${log.level}): ${log.message}`);
        }
      }
    }
    out(`  per function: ${[...perFunction].map(([fn, n]) => `${fn} ${n}`).join(", ")}`);
    out("");
    out(`Invocations: ${succeeded} succeeded, ${failed} failed. Events: ${stored} stored, ${quarantined} quarantined.`);
    out("");

    const rows = {} as Record<TableName, number>;
    out("Tables:");
    for (const table of TABLES) {
      const name = tables.nameOf(table);
      const entities: Record<string, unknown>[] = [];
      try {
        for await (const e of createTableClient(settings, name).listEntities()) entities.push(decodeProperties(e));
      } catch (error) {
        if (statusOf(error) !== 404) throw error; // a table nothing was written to does not exist
      }
      rows[table] = entities.length;
      out(`  ${name} — ${entities.length} row${entities.length === 1 ? "" : "s"}`);
      for (const e of entities.slice(0, EXAMPLES)) out(`    ${exampleRow(table, e)}`);
      if (entities.length > EXAMPLES) out(`    … and ${entities.length - EXAMPLES} more`);
    }
    out("");
    out(failed === 0 ? "Done: every invocation succeeded." : `Done: ${failed} invocation(s) FAILED.`);
    if (options.serve) await options.serve(app, out);
    return { succeeded, failed, stored, quarantined, rows };
  } finally {
    if (azurite) {
      await azurite.stop();
      out("Azurite stopped.");
    }
  }
}

/** Two events the ledger must quarantine (and acknowledge), not store. */
function badEvents(samples: readonly SampleEvent[]): { what: string; fn: string; event: unknown }[] {
  const chat =
    samples.find((s) => s.type === "Microsoft.Communication.ChatMessageReceivedInThread" && "eventType" in s.event) ??
    samples.find((s) => specFor(s.type)?.family === "chat" && "eventType" in s.event);
  if (!chat) throw new Error("no chat sample to misdeliver");
  const topic = chat.event["topic"];
  const unknown = {
    id: "0c9f4c9e-7d1b-4f5e-9a3b-5d0e2f6a8b71",
    topic,
    subject: "sender/DoNotReply@contoso.com/message/5b7f3e2a-1c4d-4e8f-9a6b-2d3c4e5f6a7b",
    eventType: "Microsoft.Communication.EmailDeliveryReportReceived",
    eventTime: "2025-07-08T22:00:05.1234567Z",
    dataVersion: "1.0",
    metadataVersion: "1",
    data: {
      sender: "DoNotReply@contoso.com",
      recipient: "customer@example.com",
      messageId: "5b7f3e2a-1c4d-4e8f-9a6b-2d3c4e5f6a7b",
      status: "Delivered",
      deliveryStatusDetails: { statusMessage: "No error." },
      deliveryAttemptTimestamp: "2025-07-08T22:00:04.8841221Z",
    },
  };
  return [
    { what: "an email event (type not in the catalog)", fn: "smsEvents", event: unknown },
    { what: `${chat.file} ${chat.type} (a chat event)`, fn: "smsEvents", event: chat.event },
  ];
}

function exampleRow(table: TableName, e: Record<string, unknown>): string {
  const keys = `${clip(String(e["partitionKey"]), 32)}  ${clip(String(e["rowKey"]), 28)}`;
  const props = SHOW[table]
    .filter((p) => e[p] !== undefined)
    .slice(0, 3)
    .map((p) => `${p}=${formatValue(p, e[p], e["preview"] === true)}`);
  return `${keys}  ${props.join("  ")}`;
}

function formatValue(name: string, value: unknown, preview: boolean): string {
  if (name === "eventType" && typeof value === "string") {
    return value.replace(/^Microsoft\.Communication(Services)?\./, "") + (preview ? " (preview)" : "");
  }
  // A quarantine reason starts with the event's label (type and id), which the keys already show.
  if (name === "reason" && typeof value === "string") return JSON.stringify(clip(value.slice(value.indexOf(": ") + 2), 96));
  return typeof value === "string" ? JSON.stringify(clip(value, 48)) : String(value);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** The settings the app finds its storage by: LEDGER_STORAGE, its per-family forms, AzureWebJobsStorage*. */
const STORAGE_SETTING = /^(LEDGER_STORAGE|AzureWebJobsStorage)/i;

/** `--storage`, checked as the app will read it, into the environment the app reads. */
function explicitSettings(storage: string): LedgerSettings {
  parseStorage(storage, "--storage");
  process.env["LEDGER_STORAGE"] = storage;
  return settingsFromEnv();
}

/**
 * One request, without the SDK's retries, before any event is delivered: a wrong or unreachable
 * account then fails once, in a line, instead of once per event after several seconds each.
 */
async function checkReachable(settings: LedgerSettings, storage: string): Promise<void> {
  const name = `${settings.tablePrefix}${TABLES[0]}`;
  try {
    const client = createTableClient(settings, name, { retryOptions: { maxRetries: 0 } });
    await client.createTable({ abortSignal: AbortSignal.timeout(settings.requestTimeoutMs) });
  } catch (error) {
    if (statusOf(error) === 409) return; // the table exists
    const errorName = (error as { name?: unknown } | null)?.name;
    const why = errorName === "AbortError" || errorName === "TimeoutError" ? `no answer within ${settings.requestTimeoutMs} ms` : describeStorageError(error);
    throw new ConfigurationError(`--storage ${describeStorage(storage)} cannot be used: creating table ${name} failed (${why})`);
  }
}

/** Names the account without printing a key or SAS token. */
function describeStorage(value: string): string {
  if (/^https?:\/\//i.test(value)) return value.split("?")[0] ?? value;
  if (/^UseDevelopmentStorage=true;?$/i.test(value)) return "UseDevelopmentStorage=true (Azurite on 127.0.0.1:10002)";
  const field = (name: string) => new RegExp(`(?:^|;)\\s*${name}=([^;]*)`, "i").exec(value)?.[1];
  return field("TableEndpoint") ?? (field("AccountName") ? `account ${field("AccountName")}` : "connection string");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

export const USAGE = `Usage: npm run demo -- [options]

Delivers every sample event (samples/) and two bad ones to the compiled app, one invocation each, as
the Functions host does, and prints what landed in which table. It starts its own in-memory Azurite
and ignores LEDGER_STORAGE and AzureWebJobsStorage, so it never writes into a ledger by accident.
LEDGER_TABLE_PREFIX and LEDGER_REQUEST_TIMEOUT_MS apply.

Options:
  --storage VALUE   Write to this account instead: a connection string or a table endpoint URL
                    (https://ACCOUNT.table.core.windows.net, signed in with DefaultAzureCredential).
                    The demo says what it will write where before it writes, and the rows stay.
  --serve           Then keep serving on 127.0.0.1 until Ctrl-C: the read API and the viewer
                    (/api/ledger/viewer) and the Event Grid webhook (/runtime/webhooks/eventgrid)
  --port N          The port to serve on (default 7071)
  -h, --help        This text.

Exit status: 0 when every invocation succeeded; 1 when one failed, or storage or a setting is wrong;
2 on a usage error.
`;

export interface DemoArgs {
  readonly help: boolean;
  readonly storage: string | undefined;
}

export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        storage: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError(oneLine(error));
  }
  if (values.storage !== undefined && values.storage.trim() === "") throw new UsageError("--storage needs a connection string or a table endpoint URL");
  return { help: values.help ?? false, storage: values.storage };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const { serve, rest } = serveArgs(argv);
  const args = parseDemoArgs(rest);
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const result = await runDemo({ ...(args.storage !== undefined ? { storage: args.storage } : {}), ...(serve ? { serve: (app, out) => serveUntilStopped(app, serve.port, out) } : {}) });
  return result.failed === 0 ? 0 : 1;
}

if (require.main === module) {
  holdBuild(__dirname);
  runCli("demo", () => main());
}
