// What a refused request says: the service's error code and message, not the first line of its body.
// A loopback server answers every request as the Table and Blob services answer a caller without the
// right role (403, XML or JSON body, with or without x-ms-error-code), in front of the real SDK clients.
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { azuriteConnectionString } from "../src/config";
import { StorageError } from "../src/errors";
import { ingestEvent } from "../src/ingest";
import { runReplay } from "../src/replay";
import { fixture, testSettings, testWriter } from "./helpers";

const AZURE_MESSAGE = "This request is not authorized to perform this operation using this permission.";
const XML = `<?xml version="1.0" encoding="utf-8"?>\n<Error><Code>AuthorizationPermissionMismatch</Code><Message>${AZURE_MESSAGE}\nRequestId:2a0e7c3e-0002-0051-5b6a-1e0f4d000000\nTime:2026-12-01T21:00:00.0000000Z</Message></Error>`;
const JSON_BODY = JSON.stringify({ "odata.error": { code: "AuthorizationFailure", message: { lang: "en-US", value: `This request is not authorized to perform this operation.\nRequestId:1\nTime:2` } } });

let mode: "xml+header" | "xml" | "json" = "xml+header";
let server: http.Server;
let endpoint = "";

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    if (mode === "json") {
      res.writeHead(403, { "Content-Type": "application/json;odata=minimalmetadata" });
      res.end(JSON_BODY);
      return;
    }
    res.writeHead(403, { "Content-Type": "application/xml", ...(mode === "xml+header" ? { "x-ms-error-code": "AuthorizationPermissionMismatch" } : {}) });
    res.end(XML);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devstoreaccount1`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function tableFailure(): Promise<string> {
  const settings = testSettings({ storage: { kind: "connectionString", connectionString: azuriteConnectionString(endpoint) }, requestTimeoutMs: 5000 });
  const event = fixture("seed-002", "Microsoft.Communication.SMSReceived");
  try {
    await ingestEvent(event, "sms", testWriter(settings));
  } catch (error) {
    assert.ok(error instanceof StorageError, String(error));
    return error.message;
  }
  assert.fail("the write did not fail");
}

test("a 403 from the Table service names its error code and message", async () => {
  for (const [m, expected] of [
    ["xml+header", `HTTP 403 AuthorizationPermissionMismatch: ${AZURE_MESSAGE}`],
    ["xml", `HTTP 403 AuthorizationPermissionMismatch: ${AZURE_MESSAGE}`],
    ["json", "HTTP 403 AuthorizationFailure: This request is not authorized to perform this operation."],
  ] as const) {
    mode = m;
    const message = await tableFailure();
    assert.match(message, /: creating the T\d+SmsMessages table failed \(/);
    assert.ok(message.includes(`failed (${expected}); the invocation fails so that Event Grid retries`), `${m}: ${message}`);
    assert.ok(!message.includes("<?xml"), message);
  }
});

test("a 403 listing a dead-letter container names its error code and message", async () => {
  mode = "xml+header";
  const problems: string[] = [];
  const result = await runReplay(
    { blob: { container: "eventgrid-deadletters", connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=${endpoint};` }, dryRun: true, quiet: true },
    { out: () => undefined, err: (line) => problems.push(line) },
  );
  assert.equal(result.exitCode, 1);
  assert.deepEqual(problems, [`container eventgrid-deadletters: listing failed: HTTP 403 AuthorizationPermissionMismatch: ${AZURE_MESSAGE}`]);
});
