// `acs-ledger drift`: lists the SchemaDrift table, the data property paths that stored events carried
// and their schemas did not name (src/ledger/drift.ts). Same settings as `acs-ledger replay`. Run
// through the acs-ledger bin (src/cli/acs-ledger.ts), which loads it on demand.
import { odata } from "@azure/data-tables";
import { parseArgs } from "node:util";
import { accountSettings, settingsFromEnv, storageConfigured, type LedgerSettings } from "../config";
import { ConfigurationError } from "../errors";
import { logSafe, type DriftRow } from "../ledger/drift";
import { buildKey } from "../ledger/keys";
import { LedgerTables } from "../ledger/tables";

export const USAGE = `Usage: acs-ledger drift [options]

Lists the data property paths that stored events carried and their event type's schema does not name
(the SchemaDrift table): per type and path, how often it was seen, when first and last, and an example
event id (find the event's rows by its eventId, its raw event in their rawEvent).

Options:
  --type TYPE       Only this event type (repeatable)
  --json            A JSON array of rows instead of a table
  --account NAME    The ledger's storage account, signed in with DefaultAzureCredential
                    (https://NAME.table.core.windows.net); overrides LEDGER_STORAGE.
  -h, --help        This text.

Where the ledger is: LEDGER_STORAGE (else AzureWebJobsStorage), a connection string or a table
endpoint URL, and LEDGER_TABLE_PREFIX, as for the functions and acs-ledger replay.
Exit status: 0 when the table was read (drift or none); 1 when it could not be read; 2 on a usage error.
`;

class UsageError extends Error {}

interface Parsed {
  readonly help: boolean;
  readonly json: boolean;
  readonly types: readonly string[];
  readonly account: string | undefined;
}

export function parseDriftArgs(argv: readonly string[]): Parsed {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { type: { type: "string", multiple: true }, json: { type: "boolean" }, account: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    return { help: values.help ?? false, json: values.json ?? false, types: values.type ?? [], account: values.account };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Every SchemaDrift row (of the given types), by type and path. */
export async function readDrift(settings: LedgerSettings, types: readonly string[] = []): Promise<DriftRow[]> {
  const client = await new LedgerTables(settings).client("SchemaDrift");
  const filter = types.length === 0 ? undefined : types.map((t) => odata`PartitionKey eq ${buildKey([t])}`).join(" or ");
  const rows: DriftRow[] = [];
  for await (const e of client.listEntities<Record<string, unknown>>({ queryOptions: filter === undefined ? {} : { filter } })) {
    const text = (name: string) => (typeof e[name] === "string" ? (e[name] as string) : "");
    rows.push({
      eventType: text("eventType"),
      path: text("path"),
      firstSeen: text("firstSeen"),
      lastSeen: text("lastSeen"),
      count: typeof e["count"] === "number" ? e["count"] : 0,
      exampleEventId: text("exampleEventId"),
    });
  }
  return rows.sort((a, b) => (a.eventType === b.eventType ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.eventType < b.eventType ? -1 : 1));
}

const HEADERS = ["EVENT TYPE", "PATH", "COUNT", "FIRST SEEN", "LAST SEEN", "EXAMPLE EVENT"] as const;
/** Columns that give way, in this order, when a terminal is too narrow: example id, then path. */
const SHRINKABLE = [5, 1] as const;
const MIN_SHRUNK = 12;

/**
 * The rows as an aligned table. Types, paths and ids come from events: anything but printable ASCII
 * is shown escaped, so no row can move the cursor or recolor a terminal. With `columns` (a terminal's
 * width), long example ids and paths are clipped to fit.
 */
export function formatDriftTable(rows: readonly DriftRow[], columns?: number): string[] {
  if (rows.length === 0) return ["No schema drift recorded: every stored event's data used only paths its schema names."];
  const cells = rows.map((r) => [logSafe(r.eventType, Infinity), logSafe(r.path, Infinity), String(r.count), r.firstSeen, r.lastSeen, logSafe(r.exampleEventId, Infinity)]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  if (columns !== undefined) {
    for (const i of SHRINKABLE) {
      const over = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - columns;
      if (over > 0) widths[i] = Math.max(MIN_SHRUNK, HEADERS[i].length, (widths[i] as number) - over);
    }
  }
  const fit = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);
  const line = (c: readonly string[]) =>
    c
      .map((text, i) => (i === 2 ? fit(text, widths[i] as number).padStart(widths[i] as number) : fit(text, widths[i] as number).padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  const types = new Set(rows.map((r) => r.eventType)).size;
  return [line(HEADERS), ...cells.map(line), `${rows.length} ${rows.length === 1 ? "path" : "paths"} in ${types} event ${types === 1 ? "type" : "types"}`];
}

export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed: Parsed;
  let settings: LedgerSettings;
  try {
    parsed = parseDriftArgs(argv[0] === "drift" ? argv.slice(1) : argv);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (parsed.account === undefined && !storageConfigured(env)) throw new UsageError("no ledger to read: set LEDGER_STORAGE (or AzureWebJobsStorage), or give --account NAME");
    settings = parsed.account !== undefined ? accountSettings(parsed.account, env) : settingsFromEnv(env);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof ConfigurationError)) throw error;
    process.stderr.write(`acs-ledger drift: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  try {
    const rows = await readDrift(settings, parsed.types);
    if (parsed.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else process.stdout.write(`${formatDriftTable(rows, process.stdout.isTTY ? process.stdout.columns : undefined).join("\n")}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`acs-ledger drift: reading ${settings.tablePrefix}SchemaDrift failed: ${error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error)}\n`);
    return 1;
  }
}

