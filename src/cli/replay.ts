#!/usr/bin/env node
// `acs-ledger replay …` (also `npm run replay -- …`): pushes events through the ledger's pipeline
// after the fact, from files, stdin, a blob container (Event Grid's dead letters) or the ledger's own
// QuarantinedEvents table. The work is done by runReplay (src/replay); this is the command line.
import { parseArgs } from "node:util";
import { accountSettings, settingsFromEnv, storageConfigured, type LedgerSettings } from "../config";
import { startAzurite, type Azurite } from "../devhost/azurite";
import { runReplay, type ReplayOptions } from "../replay";
import type { BlobInputOptions } from "../replay/sources";
import type { QuarantineFilter } from "../replay/quarantine";
import { instantOf as parseInstant, type Instant } from "../time";
import { runCli, UsageError } from "./oneLine";

export const USAGE = `Usage: acs-ledger replay [options] [PATH ...]
       npm run replay -- [options] [PATH ...]

Pushes events through the ledger's pipeline (catalog, validation, normalization, quarantine,
idempotent writes) after the fact. Re-running the same input is safe: it yields the same tables.

Sources (files and blobs may be combined; the quarantine table is replayed on its own):
  PATH ...                       Files or directories (walked for *.json, *.ndjson, *.jsonl); - is stdin.
                                 A file holds a JSON array of events (Event Grid or CloudEvents),
                                 NDJSON (one event or array per line), or JSON values one after another.
  --blob-container NAME          Every *.json / *.ndjson / *.jsonl blob of a container, e.g. Event Grid's
                                 dead letters (eventgrid-deadletters)
    --blob-prefix PREFIX         Only blobs under this prefix, e.g. LEDGER-CHAT/2026/1/5/
    --blob-connection-string CS  The blob account's connection string, or
    --blob-account-url URL       its URL (https://ACCOUNT.blob.core.windows.net), signed in with
                                 DefaultAzureCredential. Default: the ledger's own account
                                 (--account, or LEDGER_STORAGE).
  --from-quarantine              The ledger's QuarantinedEvents rows. Events that now pass are stored
                                 and their rows marked resolved (never deleted); the others keep
                                 their rows, with the new reasons.
    --type TYPE                  Only this event type (repeatable)
    --since TIME, --until TIME   Only events whose time is in [since, until): any ISO 8601 time
                                 (any fraction digits, Z or an offset) or a date (its midnight UTC).
                                 Events without a time are in no range: see --without-time.
    --without-time               Only events that have no (valid) time
    --include-resolved           Also replay rows already marked resolved

Where the ledger is:
  LEDGER_STORAGE (else AzureWebJobsStorage): a connection string or a table endpoint URL.
  --account NAME                 The ledger's storage account, signed in with DefaultAzureCredential
                                 (https://NAME.table.core.windows.net); overrides LEDGER_STORAGE.
  With neither, an embedded in-memory Azurite is started, and what is written is gone at exit.

Options:
  --dry-run                      Validate and normalize only: report what would be stored and what
                                 would be quarantined, and write nothing.
  --concurrency N                Storage requests in flight (default 16).
  --quiet                        No progress and no notes; only problems and the summary.
  -h, --help                     This text.

Exit status: 0 when every event was stored or quarantined; 1 when an event could not be stored or
an input could not be read; 2 on a usage error; 130 when interrupted.
`;


interface Parsed {
  readonly options: ReplayOptions;
  /** The ledger account given with --account, if any. */
  readonly account: string | undefined;
  readonly help: boolean;
}

export function parseReplayArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Parsed {
  const args = argv[0] === "replay" ? argv.slice(1) : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        "blob-container": { type: "string" },
        "blob-prefix": { type: "string" },
        "blob-connection-string": { type: "string" },
        "blob-account-url": { type: "string" },
        "from-quarantine": { type: "boolean" },
        type: { type: "string", multiple: true },
        since: { type: "string" },
        until: { type: "string" },
        "include-resolved": { type: "boolean" },
        "without-time": { type: "boolean" },
        account: { type: "string" },
        "dry-run": { type: "boolean" },
        concurrency: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return { options: {}, account: undefined, help: true };
  const paths = parsed.positionals;
  const account = v.account;
  if (account !== undefined && !/^[a-z0-9]{3,24}$/.test(account)) throw new UsageError(`--account must be a storage account name (3–24 lower-case letters and digits): got "${account}"`);

  let concurrency: number | undefined;
  if (v.concurrency !== undefined) {
    concurrency = Number(v.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError(`--concurrency must be a whole number from 1 to 256: got "${v.concurrency}"`);
  }

  const quarantineOnly = (["type", "since", "until", "include-resolved", "without-time"] as const).filter((k) => v[k] !== undefined);
  let fromQuarantine: QuarantineFilter | undefined;
  if (v["from-quarantine"]) {
    if (paths.length > 0 || v["blob-container"] !== undefined) throw new UsageError("--from-quarantine replays the quarantine table on its own: give no paths and no --blob-container with it");
    const since = v.since === undefined ? undefined : instantOf("--since", v.since);
    const until = v.until === undefined ? undefined : instantOf("--until", v.until);
    if (since && until && since.iso >= until.iso) throw new UsageError("--since must be before --until");
    if (v["without-time"] && (since || until)) throw new UsageError("--without-time selects events that have no time: not with --since or --until");
    if (account === undefined && !storageConfigured(env)) {
      throw new UsageError("--from-quarantine reads the ledger's QuarantinedEvents table: set LEDGER_STORAGE or pass --account NAME (an embedded Azurite has no quarantine to replay)");
    }
    fromQuarantine = { types: v.type, since, until, includeResolved: v["include-resolved"] ?? false, ...(v["without-time"] ? { withoutTime: true } : {}) };
  } else if (quarantineOnly.length > 0) {
    throw new UsageError(`${quarantineOnly.map((k) => `--${k}`).join(", ")} only go with --from-quarantine`);
  }

  let blob: BlobInputOptions | undefined;
  const blobOnly = (["blob-prefix", "blob-connection-string", "blob-account-url"] as const).filter((k) => v[k] !== undefined);
  if (v["blob-container"] !== undefined) {
    const container = v["blob-container"];
    if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) throw new UsageError(`--blob-container is not a valid container name: "${container}"`);
    if (v["blob-connection-string"] !== undefined && v["blob-account-url"] !== undefined) throw new UsageError("give --blob-connection-string or --blob-account-url, not both");
    const where = v["blob-connection-string"] !== undefined
      ? { connectionString: v["blob-connection-string"] }
      : v["blob-account-url"] !== undefined
        ? { accountUrl: accountUrlOf(v["blob-account-url"]) }
        : defaultBlobAccount(account, env);
    blob = { container, ...where, ...(v["blob-prefix"] !== undefined ? { prefix: v["blob-prefix"] } : {}) };
  } else if (blobOnly.length > 0) {
    throw new UsageError(`${blobOnly.map((k) => `--${k}`).join(", ")} only go with --blob-container`);
  }

  if (!fromQuarantine && paths.length === 0 && !blob) {
    throw new UsageError("nothing to replay: give files or directories (- for stdin), --blob-container NAME, or --from-quarantine");
  }
  const options: ReplayOptions = {
    paths,
    ...(blob ? { blob } : {}),
    ...(fromQuarantine ? { fromQuarantine } : {}),
    dryRun: v["dry-run"] ?? false,
    quiet: v.quiet ?? false,
    ...(concurrency !== undefined ? { concurrency } : {}),
  };
  return { options, account, help: false };
}

function instantOf(flag: string, text: string): Instant {
  try {
    return parseInstant(text);
  } catch {
    throw new UsageError(`${flag} must be an ISO 8601 time such as 2026-01-05T07:00:00Z or a date such as 2026-01-05: got "${text}"`);
  }
}

function accountUrlOf(text: string): string {
  if (!/^https?:\/\/[^/\s]+/i.test(text)) throw new UsageError(`--blob-account-url must be a URL such as https://ACCOUNT.blob.core.windows.net: got "${text}"`);
  return text;
}

/** Dead letters live in the ledger's own account: derive its blob endpoint from the ledger's settings. */
function defaultBlobAccount(account: string | undefined, env: Readonly<Record<string, string | undefined>>): { connectionString: string } | { accountUrl: string } {
  if (account !== undefined) return { accountUrl: `https://${account}.blob.core.windows.net` };
  const ledger = (env["LEDGER_STORAGE"] || env["AzureWebJobsStorage"] || "").trim();
  const table = /^https:\/\/([a-z0-9]+)\.table\.core\.windows\.net\/?$/i.exec(ledger);
  if (table) return { accountUrl: `https://${table[1]}.blob.core.windows.net` };
  if (/BlobEndpoint=|UseDevelopmentStorage=true/i.test(ledger)) return { connectionString: ledger };
  // A connection string with a table endpoint but none for blobs (Azurite's, a table SAS) cannot reach the container.
  if (/TableEndpoint=/i.test(ledger)) {
    throw new UsageError("--blob-container: the ledger's connection string (LEDGER_STORAGE) has a TableEndpoint but no BlobEndpoint; add BlobEndpoint=… to it, or pass --blob-connection-string");
  }
  if (/AccountKey=/i.test(ledger)) return { connectionString: ledger };
  const accountName = env["AzureWebJobsStorage__accountName"];
  if (accountName) return { accountUrl: `https://${accountName}.blob.core.windows.net` };
  throw new UsageError("--blob-container needs --blob-connection-string or --blob-account-url (the ledger's settings name no blob account)");
}

/** Describes the target without printing a key or a SAS token. */
function describeStorage(settings: LedgerSettings): string {
  const s = settings.storage;
  if (s.kind === "endpoint") return s.url;
  const field = (name: string) => new RegExp(`(?:^|;)\\s*${name}=([^;]*)`, "i").exec(s.connectionString)?.[1];
  return field("TableEndpoint") ?? (field("AccountName") ? `account ${field("AccountName")}` : "the configured account");
}

export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseReplayArgs(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`acs-ledger replay: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { options, account } = parsed;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const needsStorage = !options.dryRun || options.fromQuarantine !== undefined;

  let azurite: Azurite | undefined;
  let settings: LedgerSettings | undefined;
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    err("\nInterrupted: finishing the writes under way (Ctrl-C again to stop at once).");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  try {
    if (needsStorage) {
      if (account !== undefined) {
        settings = accountSettings(account, env);
        if (!options.quiet) out(`Ledger: account ${account} (${describeStorage(settings)}), signed in with DefaultAzureCredential.`);
      } else if (storageConfigured(env)) {
        settings = settingsFromEnv(env);
        if (!options.quiet) out(`Ledger: ${describeStorage(settings)}${settings.tablePrefix ? `, table prefix ${settings.tablePrefix}` : ""}.`);
      } else {
        azurite = await startAzurite();
        settings = { ...settingsFromEnv({ ...env, LEDGER_STORAGE: azurite.connectionString }) };
        out(`No LEDGER_STORAGE or AzureWebJobsStorage: started an embedded in-memory Azurite (${azurite.tableEndpoint}).`);
        out("Its tables are gone when this command ends; set LEDGER_STORAGE to write to a real account.");
      }
    }
    const result = await runReplay(
      {
        ...options,
        ...(settings ? { settings } : {}),
        signal: controller.signal,
      },
      {
        out,
        err,
        progress: { isTTY: process.stderr.isTTY === true, columns: process.stderr.columns, write: (text) => process.stderr.write(text) },
      },
    );
    return result.exitCode;
  } catch (error) {
    err(`acs-ledger replay: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    if (azurite) {
      await azurite.stop();
      out("Embedded Azurite stopped; what it held is gone.");
    }
  }
}

if (require.main === module) runCli("acs-ledger replay", () => main());
