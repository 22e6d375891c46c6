// What a new user meets before anything else: the test command without ../shared, and the runtime
// that is deployed, declared and tested.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { PROJECT_ROOT } from "./helpers";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "newcomer-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test("the tests without ../shared beside the project: one line that says what is missing and where it comes from", () => {
  // A copy of the project's build and package.json, somewhere with no shared/ beside it.
  const project = path.join(scratch, "project");
  fs.mkdirSync(project);
  fs.copyFileSync(path.join(PROJECT_ROOT, "package.json"), path.join(project, "package.json"));
  fs.cpSync(fs.realpathSync(path.join(PROJECT_ROOT, "dist")), path.join(project, "dist"), { recursive: true, filter: (f) => !f.endsWith(".map") });
  fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(project, "node_modules"));
  const run = spawnSync(process.execPath, [path.join(project, "dist", "test", "run-tests.js")], { cwd: project, encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 1);
  assert.equal(
    run.stderr,
    `run-tests: ${path.join(scratch, "shared", "fixtures", "events")} is missing: the tests read the ACS documentation's sample events from ../shared/fixtures/events beside the project (README, "Quick start")\n`,
  );
  assert.equal(run.stdout, "", "no Azurite was started, no test ran");
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
  const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 1));
  assert.match(quickStart, /\.\.\/shared\/fixtures\/events/, "the Quick start says where the fixtures come from");
});

test("the runtime: deployed on Node 22, declared in engines, and the README and CI say what is tested where", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { engines: { node: string } };
  assert.equal(pkg.engines.node, ">=22");
  const bicep = fs.readFileSync(path.join(PROJECT_ROOT, "infra", "main.bicep"), "utf8");
  assert.match(bicep, /param nodeVersion string = '22'\n/);
  assert.doesNotMatch(bicep, /'20'/, "Node 20 is past its end of life: not offered");
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
  assert.match(readme, /\| Flex Consumption plan and function app \| `<prefix>-plan-<hash>`, `<prefix>-func-<hash>` \| Linux, Node 22,/);
  assert.match(readme, /\*\*Node\.js 22\*\* and npm/);
  assert.doesNotMatch(readme, /Node\.js 20 or later/);
  assert.match(readme, /### Runtime/);
  const ci = fs.readFileSync(path.join(PROJECT_ROOT, ".ci", "run"), "utf8");
  assert.match(ci, /engines/, ".ci/run says which Node it tests on against what is declared");
  // What the code may use: Node 20's API and ES2022 (the machines here test on 20).
  const tsconfig = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "tsconfig.json"), "utf8")) as { compilerOptions: { lib: string[]; target: string } };
  assert.deepEqual([tsconfig.compilerOptions.target, tsconfig.compilerOptions.lib], ["ES2022", ["ES2022"]]);
  const types = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "node_modules", "@types", "node", "package.json"), "utf8")) as { version: string };
  assert.equal(types.version.split(".")[0], "20", "typed against Node 20's API, so nothing 22-only compiles");
});
