// The dev host's options and its split invocation (a process loads one app: this file's own).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { findProjectRoot } from "../src/devhost/azurite";
import { loadFunctionApp } from "../src/devhost/functionsHost";

describe("functionsHost options", () => {
  const base = path.join(findProjectRoot(__dirname), "dist", "test-tmp");
  fs.mkdirSync(base, { recursive: true });
  const appDir = fs.mkdtempSync(path.join(base, "devhost-options-"));
  after(() => fs.rmSync(appDir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ name: "devhost-options-fixture", main: "main.js" }));
  const fn = (name: string) => `require('@azure/functions').app.eventGrid('${name}', { handler: (event, ctx) => { ctx.log('${name} got', event.id, ctx.triggerMetadata.data.size); } });\n`;
  fs.writeFileSync(path.join(appDir, "main.js"), fn("main"));
  const extra = path.join(appDir, "extra.js");
  fs.writeFileSync(extra, fn("extra"));

  const app = loadFunctionApp(appDir, { extraEntryFiles: [extra], keepLogs: 3 });

  test("extraEntryFiles load with the app's own entry files", () => {
    assert.deepEqual([...app.functions.keys()], ["main", "extra"]);
  });

  test("a prepared invocation runs as invoke runs it, with the trigger metadata made ahead", async () => {
    const prepared = app.prepare("extra", { id: "p1", data: { Size: 7 } });
    assert.equal(prepared.functionName, "extra");
    const out = await app.invokePrepared(prepared);
    assert.equal(out.status, "succeeded", String(out.error));
    assert.deepEqual(
      out.logs.map((l) => [l.invocationId, l.message]),
      [[prepared.invocationId, "extra got p1 7"]],
    );
  });

  test("prepare names an unknown function at once", () => {
    assert.throws(() => app.prepare("nope", { id: "x" }), { message: 'devhost: no function "nope" (have: main, extra)' });
  });

  test("logs keeps the latest keepLogs lines, at most twice that many", async () => {
    for (let i = 0; i < 10; i++) assert.equal((await app.invoke("main", { id: `k${i}`, data: { size: i } })).status, "succeeded");
    const messages = app.logs.map((l) => l.message);
    assert.ok(messages.length >= 3 && messages.length < 6, `kept ${messages.length} lines`);
    assert.deepEqual(messages.slice(-3), ["main got k7 7", "main got k8 8", "main got k9 9"]);
  });
});
