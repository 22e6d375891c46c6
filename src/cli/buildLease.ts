// A long-running command marks the build it runs from as in use, so that scripts/build.js keeps that
// build (and every module it may still load lazily) however many builds come after it.
import * as fs from "node:fs";
import * as path from "node:path";

/** Where scripts/build.js looks for the ids of processes using a build (see its `prune`). */
const IN_USE = ".in-use";
const STAMP = ".build.json";

/** Marks the build that `fromDir` is part of as used by this process until it exits; else does nothing. */
export function holdBuild(fromDir: string): void {
  let dir = path.resolve(fromDir);
  while (!fs.existsSync(path.join(dir, STAMP))) {
    const parent = path.dirname(dir);
    if (parent === dir) return; // not run from a build made by scripts/build.js
    dir = parent;
  }
  const lease = path.join(dir, IN_USE, String(process.pid));
  try {
    fs.mkdirSync(path.dirname(lease), { recursive: true });
    fs.writeFileSync(lease, "");
    process.once("exit", () => fs.rmSync(lease, { force: true }));
  } catch {
    // A read-only install: nothing prunes it either.
  }
}
