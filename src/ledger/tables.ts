import { TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import { familyOfTable } from "../catalog";
import type { LedgerSettings, StorageTarget } from "../config";
import type { TableName } from "../catalog/spec";
import { isRestError } from "./storageErrors";

/**
 * One TableClient per table per process (they share the SDK's kept-alive connections), each table
 * created on first use. A failed creation is forgotten, so the next invocation tries again. A table
 * lives in its family's account when that family has one (`LEDGER_STORAGE_<FAMILY>`), else in
 * `LEDGER_STORAGE`; tables of no single family (QuarantinedEvents, …) always in `LEDGER_STORAGE`.
 * Everything that reaches a table through here (functions, replay, read side) follows the routing.
 */
export class LedgerTables {
  readonly #settings: LedgerSettings;
  readonly #ready = new Map<TableName, Promise<TableClient>>();

  constructor(settings: LedgerSettings) {
    this.#settings = settings;
  }

  get settings(): LedgerSettings {
    return this.#settings;
  }

  nameOf(table: TableName): string {
    return `${this.#settings.tablePrefix}${table}`;
  }

  /** The account a table lives in. */
  storageOf(table: TableName): StorageTarget {
    const family = familyOfTable(table);
    return (family && this.#settings.familyStorage?.[family]) || this.#settings.storage;
  }

  client(table: TableName): Promise<TableClient> {
    let ready = this.#ready.get(table);
    if (!ready) {
      ready = this.#create(table);
      this.#ready.set(table, ready);
      ready.catch(() => this.#ready.delete(table));
    }
    return ready;
  }

  async #create(table: TableName): Promise<TableClient> {
    const client = createTableClient({ ...this.#settings, storage: this.storageOf(table) }, this.nameOf(table));
    try {
      await client.createTable({ abortSignal: AbortSignal.timeout(this.#settings.requestTimeoutMs) });
    } catch (error) {
      if (!(isRestError(error) && error.statusCode === 409)) throw error;
    }
    return client;
  }
}

/** `extra`: client options on top of the ledger's (e.g. no retries for a quick reachability check). */
export function createTableClient(settings: LedgerSettings, tableName: string, extra: TableServiceClientOptions = {}): TableClient {
  const client = newTableClient(settings.storage, tableName, extra);
  // Table requests never carry form data; this policy's check of the FormData global makes Node load
  // its fetch implementation (about 20 ms) on the first request, so a cold start pays for nothing.
  client.pipeline.removePolicy({ name: "formDataPolicy" });
  return client;
}

function newTableClient(storage: StorageTarget, tableName: string, extra: TableServiceClientOptions): TableClient {
  if (storage.kind === "connectionString") {
    const options: TableServiceClientOptions = { ...extra, allowInsecureConnection: /(^|;)\s*(TableEndpoint=http:|DefaultEndpointsProtocol=http;)/i.test(storage.connectionString) };
    return TableClient.fromConnectionString(storage.connectionString, tableName, options);
  }
  // Loaded only here: identity costs start-up time that connection-string users should not pay.
  const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
  return new TableClient(storage.url, tableName, new DefaultAzureCredential(), { ...extra, allowInsecureConnection: storage.url.startsWith("http:") });
}
