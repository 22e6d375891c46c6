#!/usr/bin/env node
// @ts-check
// `npm run build` (and the first step of test, demo, replay, bench, …): builds the project only when
// its sources changed, and never under a running process.
//
// - Up to date: the sources' digest equals the one the current build recorded; nothing is done
//   (about 0.1 s). The digest covers src/, test/, scripts/, bench/, tsconfig.json, package.json and
//   package-lock.json, by content.
// - Otherwise: tsc, the generated validators and the bundle go into a fresh folder .dist/<id>/, and
//   `dist` (a symlink) is switched to it with one rename. A process that is running keeps the build it
//   started from: Node resolves the symlink when it loads a module, so its lazily loaded files
//   (validators per event type) stay where they were. The newest KEEP builds are kept, and any
//   older one that a live process has marked as in use (src/cli/buildLease.ts: the acs-ledger
//   commands, the demo and the test runner do).
//
// Plain JavaScript on purpose: it runs before anything is compiled. Options: --force (build even when
// up to date), --if-missing (build only when there is no build at all), --quiet (say nothing when up
// to date).
"use strict";
const { spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const LINK = "dist";
const BUILDS = ".dist";
const STAMP = ".build.json";
const IN_USE = ".in-use";
/** Builds kept, the current one included: a process started from one of them keeps its files. */
const KEEP = 4;
const SOURCE_DIRS = ["src", "test", "scripts", "bench"];
const SOURCE_FILES = ["tsconfig.json", "package.json", "package-lock.json"];
const SOURCE_FILE = /\.(ts|js|json|css)$/;

/** A digest of everything a build reads, by content (mtimes change on every checkout). */
function sourceDigest(root = ROOT) {
  const hash = crypto.createHash("sha256");
  const files = [...SOURCE_FILES];
  for (const dir of SOURCE_DIRS) {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    for (const name of /** @type {string[]} */ (fs.readdirSync(abs, { recursive: true, encoding: "utf8" }))) {
      if (SOURCE_FILE.test(name) && !name.split(path.sep).includes("tmp")) files.push(path.join(dir, name));
    }
  }
  for (const file of files.sort()) {
    const abs = path.join(root, file);
    if (!fs.statSync(abs, { throwIfNoEntry: false })?.isFile()) continue;
    hash.update(`${file.split(path.sep).join("/")}\0`).update(fs.readFileSync(abs)).update("\0");
  }
  return hash.digest("hex");
}

/** What the current build recorded, or undefined when there is none (or `dist` is an old-style folder). */
function currentBuild(root = ROOT) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, LINK, STAMP), "utf8"));
  } catch {
    return undefined;
  }
}

/** Runs one build step; a failure ends the build with the step's own output already shown. */
function step(label, args) {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`build: ${label} failed${result.status === null ? ` (${result.signal})` : ""}`);
  return Date.now() - started;
}

/**
 * Points `dist` at `buildDir` with one rename of a fresh symlink over the old one, so there is no
 * moment without a build. A `dist` folder from before builds were kept apart is moved aside first.
 */
function swapIn(root, buildDir) {
  const link = path.join(root, LINK);
  const stat = fs.lstatSync(link, { throwIfNoEntry: false });
  if (stat && !stat.isSymbolicLink()) fs.renameSync(link, path.join(root, BUILDS, `old-${Date.now()}`));
  const target = path.relative(root, buildDir);
  const next = path.join(root, `${LINK}.next-${process.pid}`);
  fs.rmSync(next, { force: true });
  // Windows makes directory symlinks only with rights; a junction needs none (and an absolute path).
  if (process.platform === "win32") fs.symlinkSync(path.resolve(root, target), next, "junction");
  else fs.symlinkSync(target, next);
  try {
    fs.renameSync(next, link);
  } catch (error) {
    if (process.platform !== "win32") throw error;
    fs.rmSync(link, { force: true }); // Windows cannot rename over a junction: a moment without one
    fs.renameSync(next, link);
  }
}

/** When a build was made: its stamp's time (a lease written into it later must not make it newer). */
function builtAt(dir) {
  return (fs.statSync(path.join(dir, STAMP), { throwIfNoEntry: false }) ?? fs.statSync(dir)).mtimeMs;
}

/** Whether a live process has marked this build as in use (`<build>/.in-use/<pid>`). */
function inUse(dir) {
  const leases = path.join(dir, IN_USE);
  if (!fs.existsSync(leases)) return false;
  return fs.readdirSync(leases).some((name) => {
    try {
      process.kill(Number(name), 0); // signal 0: only asks whether the process exists
      return true;
    } catch (error) {
      return /** @type {NodeJS.ErrnoException} */ (error).code === "EPERM"; // exists, someone else's
    }
  });
}

/** Removes all but the newest `keep` builds (the current one is always kept), except builds in use. */
function prune(root, keep = KEEP) {
  const builds = path.join(root, BUILDS);
  if (!fs.existsSync(builds)) return [];
  const current = fs.realpathSync(path.join(root, LINK));
  const old = fs
    .readdirSync(builds)
    .map((name) => path.join(builds, name))
    .filter((dir) => dir !== current)
    .sort((a, b) => builtAt(b) - builtAt(a))
    .slice(keep - 1)
    .filter((dir) => !inUse(dir));
  for (const dir of old) fs.rmSync(dir, { recursive: true, force: true });
  return old;
}

function build({ force = false, ifMissing = false, quiet = false } = {}) {
  const started = Date.now();
  const say = (line) => process.stdout.write(`${line}\n`);
  const current = currentBuild();
  if (ifMissing && current) return current;
  const digest = sourceDigest();
  if (!force && current?.digest === digest) {
    if (!quiet) say(`build: up to date (${path.join(LINK, "")} → ${current.dir}, ${Date.now() - started} ms)`);
    return current;
  }
  const id = `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${digest.slice(0, 8)}-${process.pid}`;
  const dir = path.join(ROOT, BUILDS, id);
  fs.mkdirSync(dir, { recursive: true });
  say(`build: ${current ? (force ? "rebuilding" : "sources changed since the last build") : "no build yet"}; building ${path.relative(ROOT, dir)} (about 20 s)`);
  try {
    const tsc = require.resolve("typescript/bin/tsc", { paths: [ROOT] });
    const times = [
      `tsc ${step("tsc", [tsc, "-p", "tsconfig.json", "--outDir", dir])} ms`,
      `validators ${step("build-validators", [path.join(dir, "scripts", "build-validators.js")])} ms`,
      `bundle ${step("bundle-app", [path.join(dir, "scripts", "bundle-app.js")])} ms`,
    ];
    const stamp = { digest, dir: path.relative(ROOT, dir), builtAt: new Date().toISOString(), node: process.version };
    fs.writeFileSync(path.join(dir, STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
    swapIn(ROOT, dir);
    const removed = prune(ROOT);
    say(`build: ${stamp.dir} in ${Date.now() - started} ms (${times.join(", ")}); ${LINK} → it${removed.length ? `; removed ${removed.length} old build${removed.length === 1 ? "" : "s"}` : ""}`);
    return stamp;
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

module.exports = { sourceDigest, currentBuild, swapIn, prune, build, LINK, BUILDS, STAMP, KEEP };

if (require.main === module) {
  const args = new Set(process.argv.slice(2));
  const unknown = [...args].filter((a) => !["--force", "--if-missing", "--quiet"].includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`build: unknown option ${unknown.join(", ")} (use --force, --if-missing, --quiet)\n`);
    process.exit(2);
  }
  try {
    build({ force: args.has("--force"), ifMissing: args.has("--if-missing"), quiet: args.has("--quiet") });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
