/**
 * Stages the deployable package: the compiled app, host.json, package.json, package-lock.json, and
 * production dependencies installed with `npm ci --omit=dev`. Tests, scripts, infra and dev tools
 * stay out, and so does local.settings.json.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DeployError } from "./runner";

/** What goes into the package besides node_modules, relative to the project root. */
export const PACKAGE_FILES = ["host.json", "package.json", "package-lock.json"] as const;
/** The compiled app; package.json "main" points into it. */
export const PACKAGE_DIRS = ["dist/src"] as const;

export function stageProject(projectRoot: string, stagingDir: string): void {
  for (const file of [...PACKAGE_FILES, ...PACKAGE_DIRS]) {
    if (!existsSync(join(projectRoot, file))) {
      throw new DeployError(`Cannot package the app: ${file} is missing in ${projectRoot}. Did the build run?`);
    }
  }
  mkdirSync(stagingDir, { recursive: true });
  for (const file of PACKAGE_FILES) cpSync(join(projectRoot, file), join(stagingDir, file));
  for (const dir of PACKAGE_DIRS) {
    cpSync(join(projectRoot, dir), join(stagingDir, dir), {
      recursive: true,
      // Source maps help nobody at run time and double the size.
      filter: (source) => !source.endsWith(".map"),
    });
  }
}

/**
 * Core Tools publish the folder they run in; these files keep it from asking for the worker runtime
 * and from uploading local settings.
 */
export function prepareForCoreTools(stagingDir: string): void {
  writeFileSync(join(stagingDir, ".funcignore"), "local.settings.json\n.funcignore\n");
  writeFileSync(
    join(stagingDir, "local.settings.json"),
    `${JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: "node" } }, null, 2)}\n`,
  );
}

/**
 * The Node.js major the app is deployed on: the lowest that package.json's `engines` allows (">=22"),
 * so the runtime in Azure and what the package declares cannot drift apart.
 */
export function deployedNodeMajor(projectRoot: string): string {
  const engines = (JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { engines?: { node?: unknown } }).engines;
  const major = typeof engines?.node === "string" ? /^>=\s*(\d+)(?:\.\d+){0,2}$/.exec(engines.node.trim())?.[1] : undefined;
  if (major === undefined) throw new DeployError(`package.json's engines.node must read ">=<major>" (the Node.js the app is deployed on); got ${JSON.stringify(engines?.node)}.`);
  return major;
}

/** npm ci with production dependencies only; install scripts stay off, as in package.json. */
export const NPM_CI_ARGS = ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"] as const;
