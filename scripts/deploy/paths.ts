import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The project root: the nearest folder above `from` that holds both package.json and host.json.
 * Scripts run compiled from dist/scripts/, so the root is not a fixed number of levels up.
 */
export function findProjectRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "host.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No project root (package.json + host.json) above ${from}`);
    dir = parent;
  }
}
