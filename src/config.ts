import type { Family } from "./catalog/spec";
import { ConfigurationError } from "./errors";

/** The well-known Azurite development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export function azuriteConnectionString(tableEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};TableEndpoint=${tableEndpoint};`;
}

export type StorageTarget =
  | { readonly kind: "connectionString"; readonly connectionString: string }
  /** A table endpoint URL, used with DefaultAzureCredential (managed identity in Azure). */
  | { readonly kind: "endpoint"; readonly url: string };

export interface LedgerSettings {
  readonly storage: StorageTarget;
  /** Prepended to every table name, e.g. to keep two ledgers in one account. */
  readonly tablePrefix: string;
  /** Per storage request; well under Event Grid's 30 s delivery timeout. */
  readonly requestTimeoutMs: number;
  /** A family's own account (`LEDGER_STORAGE_<FAMILY>`); a family not named here (or none) uses `storage`. */
  readonly familyStorage?: Partial<Record<Family, StorageTarget>>;
  /**
   * Which chat events update the current-state rows: `all` (default), or `thread` when the thread-level
   * events are subscribed too, so that a message's N per-recipient copies write only their own rows.
   * Absent means `all`.
   */
  readonly chatStateFrom?: "all" | "thread";
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the app settings:
 * - `LEDGER_STORAGE`: a connection string or a table endpoint URL; defaults to `AzureWebJobsStorage`
 *   (or its identity-based form `AzureWebJobsStorage__accountName` / `__tableServiceUri`);
 * - `LEDGER_STORAGE_SMS`, `_CHAT`, `_CALLING`, `_PRESENCE`: that family's tables in an account of their
 *   own (same forms; default `LEDGER_STORAGE`);
 * - `LEDGER_TABLE_PREFIX` (default none), `LEDGER_REQUEST_TIMEOUT_MS` (default 10000) and
 *   `LEDGER_CHAT_STATE_FROM` (`all`, the default, or `thread`).
 */
export function settingsFromEnv(env: Env = process.env): LedgerSettings {
  return {
    storage: storageTarget(env),
    tablePrefix: tablePrefix(env),
    requestTimeoutMs: requestTimeout(env),
    familyStorage: familyStorage(env),
    chatStateFrom: chatStateFrom(env),
  };
}

const FAMILY_SETTINGS: Record<Family, string> = {
  sms: "LEDGER_STORAGE_SMS",
  chat: "LEDGER_STORAGE_CHAT",
  calling: "LEDGER_STORAGE_CALLING",
  presence: "LEDGER_STORAGE_PRESENCE",
};

function familyStorage(env: Env): Partial<Record<Family, StorageTarget>> {
  const out: Partial<Record<Family, StorageTarget>> = {};
  for (const [family, name] of Object.entries(FAMILY_SETTINGS) as [Family, string][]) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) out[family] = parseStorage(value, name);
  }
  return out;
}

function chatStateFrom(env: Env): "all" | "thread" {
  const value = nonEmpty(env["LEDGER_CHAT_STATE_FROM"]) ?? "all";
  if (value !== "all" && value !== "thread") throw new ConfigurationError(`LEDGER_CHAT_STATE_FROM must be "all" or "thread": got "${value}"`);
  return value;
}

/** Whether any of the settings {@link settingsFromEnv} reads storage from is set. */
export function storageConfigured(env: Env): boolean {
  return ["LEDGER_STORAGE", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__tableServiceUri"].some((k) => (env[k] ?? "").trim() !== "");
}

/** The settings of `--account NAME`: that account's table endpoint, signed in with DefaultAzureCredential. */
export function accountSettings(account: string, env: Env): LedgerSettings {
  if (!/^[a-z0-9]{3,24}$/.test(account)) throw new ConfigurationError(`--account must be a storage account name (3–24 lower-case letters and digits): got "${account}"`);
  return settingsFromEnv({ ...env, LEDGER_STORAGE: `https://${account}.table.core.windows.net` });
}

function storageTarget(env: Env): StorageTarget {
  const value = nonEmpty(env["LEDGER_STORAGE"]) ?? nonEmpty(env["AzureWebJobsStorage"]);
  if (value !== undefined) return parseStorage(value);
  const uri = nonEmpty(env["AzureWebJobsStorage__tableServiceUri"]);
  if (uri !== undefined) return { kind: "endpoint", url: uri };
  const account = nonEmpty(env["AzureWebJobsStorage__accountName"]);
  if (account !== undefined) return { kind: "endpoint", url: `https://${account}.table.core.windows.net` };
  throw new ConfigurationError("LEDGER_STORAGE is not set (nor AzureWebJobsStorage): set it to a storage connection string or a table endpoint URL");
}

export function parseStorage(value: string, setting = "LEDGER_STORAGE"): StorageTarget {
  if (/^https?:\/\//i.test(value)) return { kind: "endpoint", url: value };
  if (/^UseDevelopmentStorage=true;?$/i.test(value)) {
    return { kind: "connectionString", connectionString: azuriteConnectionString(`http://127.0.0.1:10002/${AZURITE_ACCOUNT}`) };
  }
  if (!/AccountName=|TableEndpoint=|SharedAccessSignature=/i.test(value)) {
    throw new ConfigurationError(`${setting} is neither a table endpoint URL (https://…) nor a storage connection string (…AccountName=…)`);
  }
  return { kind: "connectionString", connectionString: value };
}

function tablePrefix(env: Env): string {
  const prefix = env["LEDGER_TABLE_PREFIX"] ?? "";
  if (prefix !== "" && !/^[A-Za-z][A-Za-z0-9]{0,39}$/.test(prefix)) {
    throw new ConfigurationError(`LEDGER_TABLE_PREFIX must be letters and digits, starting with a letter (at most 40): got "${prefix}"`);
  }
  return prefix;
}

function requestTimeout(env: Env): number {
  const text = env["LEDGER_REQUEST_TIMEOUT_MS"];
  if (text === undefined || text === "") return 10_000;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 100 || value > 60_000) {
    throw new ConfigurationError(`LEDGER_REQUEST_TIMEOUT_MS must be a whole number of milliseconds from 100 to 60000: got "${text}"`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
