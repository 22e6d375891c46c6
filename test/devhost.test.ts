import { TableClient } from "@azure/data-tables";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { findProjectRoot, startAzurite } from "../src/devhost/azurite";
import { loadFunctionApp } from "../src/devhost/functionsHost";

const root = findProjectRoot(__dirname);

function tableClient(connectionString: string, table: string): TableClient {
  return TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true });
}

describe("azurite", () => {
  test("starts, serves tables, stops", async () => {
    const az = await startAzurite();
    try {
      assert.match(az.connectionString, new RegExp(`TableEndpoint=http://127\\.0\\.0\\.1:${az.tablePort}/devstoreaccount1;`));
      assert.equal(az.blobEndpoint, undefined);
      const t = tableClient(az.connectionString, "probe");
      await t.createTable();
      await t.createEntity({ partitionKey: "p", rowKey: "r", n: 1 });
      assert.equal((await t.getEntity<{ n: number }>("p", "r")).n, 1);
    } finally {
      await az.stop();
    }
  });

  test("restarts on the same port with on-disk data intact", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "azurite-devhost-"));
    try {
      const first = await startAzurite({ location: dir });
      const port = first.tablePort;
      try {
        const t = tableClient(first.connectionString, "survivor");
        await t.createTable();
        await t.createEntity({ partitionKey: "p", rowKey: "r", v: "kept" });
      } finally {
        await first.stop();
      }
      const second = await startAzurite({ location: dir, port });
      try {
        assert.equal(second.tablePort, port);
        assert.equal(second.connectionString, first.connectionString);
        const e = await tableClient(second.connectionString, "survivor").getEntity<{ v: string }>("p", "r");
        assert.equal(e.v, "kept");
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("functionsHost", () => {
  // Inside the project so the fixture's require('@azure/functions') finds our node_modules.
  const base = path.join(root, "dist", "test-tmp");
  fs.mkdirSync(base, { recursive: true });
  const appDir = fs.mkdtempSync(path.join(base, "devhost-"));
  fs.mkdirSync(path.join(appDir, "fn"));
  fs.writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ name: "devhost-fixture", main: "fn/*.js" }));
  fs.writeFileSync(
    path.join(appDir, "fn", "probe.js"),
    `require('@azure/functions').app.eventGrid('probe', { handler: (event, ctx) => {
      ctx.log('got', event.id);
      if (event.fail) throw new Error('boom');
    } });\n`,
  );
  fs.writeFileSync(path.join(appDir, "fn", "notes.txt"), "not matched by fn/*.js");
  after(() => fs.rmSync(appDir, { recursive: true, force: true }));

  const app = loadFunctionApp(appDir);

  test("registers the Event Grid function", () => {
    assert.deepEqual([...app.functions.keys()], ["probe"]);
    const bindings = Object.values(app.functions.get("probe")?.bindings ?? {});
    assert.equal(bindings.length, 1);
    assert.equal(bindings[0]?.type, "eventGridTrigger");
    assert.equal(bindings[0]?.direction, "in");
  });

  test("a successful invocation captures the user log", async () => {
    const out = await app.invoke("probe", { id: "e1" });
    assert.equal(out.status, "succeeded", String(out.error));
    const line = out.logs.find((l) => l.category === "user");
    assert.deepEqual(
      { level: line?.level, message: line?.message, functionName: line?.functionName },
      { level: "information", message: "got e1", functionName: "probe" },
    );
    assert.ok(app.logs.includes(line!));
  });

  test("a throwing handler is a failed invocation", async () => {
    const out = await app.invoke("probe", { id: "e2", fail: true });
    assert.equal(out.status, "failed");
    assert.ok(out.error instanceof Error);
    assert.equal(out.error.message, "boom");
    assert.ok(out.logs.some((l) => l.message === "got e2"));
  });

  test("raw typed data goes through the library's converters", async () => {
    // { string } that is not JSON reaches the handler as the string itself.
    const asString = await app.invokeTypedData("probe", { string: "not json" });
    assert.equal(asString.status, "succeeded");
    assert.ok(asString.logs.some((l) => l.message === "got undefined"));
    // { json } that is not JSON fails before the handler runs.
    const badJson = await app.invokeTypedData("probe", { json: "not json" });
    assert.equal(badJson.status, "failed");
    assert.ok(badJson.error instanceof SyntaxError);
    assert.equal(badJson.logs.length, 0);
  });
});
