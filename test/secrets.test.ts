import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AZURITE_KEY } from "../src/config";
import { PROJECT_ROOT } from "./helpers";

const tracked = () => execFileSync("git", ["ls-files", "-z"], { cwd: PROJECT_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);

test("no key, SAS or connection string is in the repository, except the public Azurite development key", () => {
  const files = tracked();
  assert.ok(files.length > 20, "git lists the project's files");
  const findings: string[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
    for (const m of text.matchAll(/AccountKey=([A-Za-z0-9+/=]{20,})/g)) if (m[1] !== AZURITE_KEY) findings.push(`${file}: an account key`);
    for (const [name, re] of [
      ["a SAS signature", /[?&;]sig=[A-Za-z0-9%+/=]{20,}/],
      ["a SharedAccessSignature", /SharedAccessSignature=sv=\d{4}-\d{2}-\d{2}&/],
      ["an instrumentation key", /InstrumentationKey=[0-9a-f-]{36}/i],
      ["a base64 storage key", /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/],
    ] as const) {
      // The lockfile's integrity hashes are base64 of the same length as a key.
      if (name === "a base64 storage key" && file === "package-lock.json") continue;
      for (const m of text.matchAll(new RegExp(re, "g"))) if (!m[0].includes(AZURITE_KEY)) findings.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(findings, []);
});

test("local.settings.json is git-ignored, and the sample holds only local development values", () => {
  assert.ok(!tracked().includes("local.settings.json"));
  const ignored = execFileSync("git", ["check-ignore", "local.settings.json"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
  assert.equal(ignored, "local.settings.json");
  const sample = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "local.settings.sample.json"), "utf8")) as { Values: Record<string, string> };
  for (const [name, value] of Object.entries(sample.Values)) {
    assert.ok(!/AccountKey=|SharedAccessSignature|sig=|https:\/\//i.test(value) || value.includes(AZURITE_KEY), `${name} holds only local values`);
  }
  assert.equal(sample.Values["LEDGER_STORAGE"], "UseDevelopmentStorage=true");
});
