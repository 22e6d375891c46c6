/**
 * The build (scripts/build.js): it runs only when the sources changed, builds into a folder of its
 * own, and switches `dist` to it so that a process already running keeps every file it may still load.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { PROJECT_ROOT } from "./helpers";

interface BuildScript {
  sourceDigest(root?: string): string;
  currentBuild(root?: string): { digest: string; dir: string } | undefined;
  swapIn(root: string, buildDir: string): void;
  prune(root: string, keep?: number): string[];
  readonly LINK: string;
  readonly BUILDS: string;
  readonly KEEP: number;
}
const BUILD_JS = path.join(PROJECT_ROOT, "scripts", "build.js");
const build = require(BUILD_JS) as BuildScript;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "build-test-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test("no npm script deletes the build; each that runs compiled code builds first, through scripts/build.js", () => {
  const scripts = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  for (const [name, line] of Object.entries(scripts)) {
    if (name === "clean") continue;
    assert.doesNotMatch(line, /rm -rf|rimraf/, `npm run ${name} deletes files: ${line}`);
    if (line.includes("node dist/")) assert.match(line, /^node scripts\/build\.js( --[a-z-]+)* && node dist\//, `npm run ${name} runs dist/ without building first: ${line}`);
  }
  assert.equal(scripts["prepare"], "node scripts/build.js", "npm install / npm ci builds once");
});

test("with nothing changed, the build does nothing and dist keeps pointing at the same build", () => {
  const before = fs.realpathSync(path.join(PROJECT_ROOT, "dist"));
  const recorded = build.currentBuild(PROJECT_ROOT);
  assert.ok(recorded, "the test run itself was built by scripts/build.js");
  assert.equal(recorded.digest, build.sourceDigest(PROJECT_ROOT), "the sources are those of the current build");
  const run = spawnSync(process.execPath, [BUILD_JS], { cwd: PROJECT_ROOT, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^build: up to date \(dist → \.dist\/[^ ]+, \d+ ms\)\n$/);
  assert.equal(fs.realpathSync(path.join(PROJECT_ROOT, "dist")), before);
});

test("the source digest follows content: a changed file changes it, a touched one does not", () => {
  const root = path.join(scratch, "digest");
  fs.mkdirSync(path.join(root, "src"), { recursive: true });
  fs.writeFileSync(path.join(root, "package.json"), "{}");
  fs.writeFileSync(path.join(root, "src", "a.ts"), "export const a = 1;\n");
  const first = build.sourceDigest(root);
  fs.utimesSync(path.join(root, "src", "a.ts"), new Date(0), new Date(0));
  assert.equal(build.sourceDigest(root), first);
  fs.writeFileSync(path.join(root, "src", "a.ts"), "export const a = 2;\n");
  assert.notEqual(build.sourceDigest(root), first);
});

/** A stand-in project whose build `name` has one lazily loaded module saying `text`. */
function fakeBuild(root: string, name: string, text: string): string {
  const dir = path.join(root, build.BUILDS, name);
  fs.mkdirSync(path.join(dir, "lazy"), { recursive: true });
  fs.writeFileSync(path.join(dir, "lazy", "late.js"), `module.exports = ${JSON.stringify(text)};\n`);
  // Waits for a line on stdin, then loads its module, as the app loads a validator on first use.
  fs.writeFileSync(path.join(dir, "main.js"), "process.stdin.once('data', () => { console.log(require('./lazy/late.js')); process.exit(0); });\nconsole.log('ready');\n");
  return dir;
}

test("a rebuild under a running process: it still loads its lazy modules from the build it started from", async () => {
  const root = path.join(scratch, "swap");
  fs.mkdirSync(root, { recursive: true });
  // A dist folder from before builds were kept apart is moved aside, not deleted under its users.
  fs.mkdirSync(path.join(root, "dist"));
  fs.writeFileSync(path.join(root, "dist", "old.txt"), "old");
  build.swapIn(root, fakeBuild(root, "a", "from build a"));
  assert.ok(fs.lstatSync(path.join(root, "dist")).isSymbolicLink());
  const movedAside = fs.readdirSync(path.join(root, build.BUILDS)).filter((n) => n.startsWith("old-"));
  assert.equal(movedAside.length, 1);
  assert.equal(fs.readFileSync(path.join(root, build.BUILDS, movedAside[0] as string, "old.txt"), "utf8"), "old");

  const child = spawn(process.execPath, [path.join(root, "dist", "main.js")], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  const ready = new Promise<void>((resolve) => child.stdout.on("data", (b: Buffer) => ((output += b.toString()), output.includes("ready") && resolve())));
  await ready;
  build.swapIn(root, fakeBuild(root, "b", "from build b"));
  assert.equal(fs.realpathSync(path.join(root, "dist")), path.join(root, build.BUILDS, "b"));
  child.stdin.write("go\n");
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0);
  assert.equal(output, "ready\nfrom build a\n");
});

test("old builds are pruned to the newest few, never the current one nor one a live process uses", () => {
  const root = path.join(scratch, "prune");
  const names = ["b1", "b2", "b3", "b4", "b5", "b6"];
  const stamps = names.map((name) => {
    const stamp = path.join(fakeBuild(root, name, name), ".build.json");
    fs.writeFileSync(stamp, "{}");
    return stamp;
  });
  stamps.forEach((stamp, i) => fs.utimesSync(stamp, new Date(1_000_000 * (i + 1)), new Date(1_000_000 * (i + 1))));
  build.swapIn(root, path.join(root, build.BUILDS, "b1")); // the oldest is current
  // b3 is in use by a live process (this one), b2 was by one that has exited.
  const holder = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(PROJECT_ROOT, "dist", "src", "cli", "buildLease.js"))}).holdBuild(${JSON.stringify(path.join(root, build.BUILDS, "b3", "lazy"))}); console.log(require("fs").readdirSync(${JSON.stringify(path.join(root, build.BUILDS, "b3", ".in-use"))}).join())`], { encoding: "utf8" });
  assert.match(holder.stdout, /^\d+\n$/, "the lease names its process");
  assert.deepEqual(fs.readdirSync(path.join(root, build.BUILDS, "b3", ".in-use")), [], "and is gone when it exits");
  fs.mkdirSync(path.join(root, build.BUILDS, "b2", ".in-use"));
  fs.writeFileSync(path.join(root, build.BUILDS, "b2", ".in-use", String(holder.pid)), "");
  fs.writeFileSync(path.join(root, build.BUILDS, "b3", ".in-use", String(process.pid)), "");
  const removed = build.prune(root, 3).map((d) => path.basename(d)).sort();
  assert.deepEqual(removed, ["b2", "b4"]);
  assert.deepEqual(fs.readdirSync(path.join(root, build.BUILDS)).sort(), ["b1", "b3", "b5", "b6"]);
});
