import { test } from "node:test";
import assert from "node:assert/strict";
import { settingsFromEnv } from "../../src/config";

test("LEDGER_STORAGE takes a connection string or a table endpoint URL, and defaults to AzureWebJobsStorage", () => {
  assert.deepEqual(settingsFromEnv({ LEDGER_STORAGE: "https://acct.table.core.windows.net" }).storage, { kind: "endpoint", url: "https://acct.table.core.windows.net" });
  assert.deepEqual(settingsFromEnv({ AzureWebJobsStorage: "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;" }).storage, {
    kind: "connectionString",
    connectionString: "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;",
  });
  assert.deepEqual(settingsFromEnv({ AzureWebJobsStorage__accountName: "acct" }).storage, { kind: "endpoint", url: "https://acct.table.core.windows.net" });
  const dev = settingsFromEnv({ LEDGER_STORAGE: "UseDevelopmentStorage=true" }).storage;
  assert.ok(dev.kind === "connectionString" && dev.connectionString.includes("TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"));
});

test("settings errors say which setting and why", () => {
  assert.throws(() => settingsFromEnv({}), { name: "ConfigurationError", message: "LEDGER_STORAGE is not set (nor AzureWebJobsStorage): set it to a storage connection string or a table endpoint URL" });
  assert.throws(() => settingsFromEnv({ LEDGER_STORAGE: "my-account" }), /neither a table endpoint URL/);
  assert.throws(() => settingsFromEnv({ LEDGER_STORAGE: "https://a", LEDGER_TABLE_PREFIX: "bad-prefix" }), /LEDGER_TABLE_PREFIX must be letters and digits/);
  assert.throws(() => settingsFromEnv({ LEDGER_STORAGE: "https://a", LEDGER_REQUEST_TIMEOUT_MS: "forever" }), /LEDGER_REQUEST_TIMEOUT_MS must be a whole number/);
  assert.equal(settingsFromEnv({ LEDGER_STORAGE: "https://a" }).requestTimeoutMs, 10_000);
});
