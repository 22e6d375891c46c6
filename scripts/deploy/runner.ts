/**
 * Runs external commands (az, npm, func) with an argument array, never through a shell string, and
 * refuses any argument that looks like a secret: deployment passes names and resource IDs only.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export class DeployError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "DeployError";
  }
}

export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`${command}: not found`);
    this.name = "CommandNotFoundError";
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  /** Show the command's stderr (progress, warnings) as it runs, besides capturing it. */
  readonly showStderr?: boolean;
  /** Show stdout too (builds); it is still captured. */
  readonly showStdout?: boolean;
}

/** Patterns that mark a secret in a command line: keys, SAS tokens, connection strings, passwords. */
export const SECRET_PATTERNS: readonly RegExp[] = [
  /AccountKey=/i,
  /SharedAccessKey/i,
  /SharedAccessSignature/i,
  /[?&]sig=/i,
  /DefaultEndpointsProtocol=/i,
  /InstrumentationKey=/i,
  /password/i,
  /client[-_]?secret/i,
];

export function findSecret(args: readonly string[]): string | undefined {
  return args.find((arg) => SECRET_PATTERNS.some((pattern) => pattern.test(arg)));
}

/** Where `command` is on PATH, or undefined. On Windows the usual .cmd/.exe shims count. */
export function whichCommand(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? "").split(delimiter).filter(Boolean);
  const names = process.platform === "win32" ? [`${command}.cmd`, `${command}.exe`, `${command}.bat`] : [command];
  for (const dir of dirs) {
    for (const name of names) {
      const full = join(dir, name);
      try {
        accessSync(full, process.platform === "win32" ? constants.F_OK : constants.X_OK);
        return full;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function windowsQuote(arg: string): string {
  // cmd.exe expands %VAR% even inside quotes, and a quote cannot be escaped reliably.
  if (/["%\r\n]/.test(arg)) throw new DeployError(`Argument not supported on Windows: ${arg}`);
  return `"${arg}"`;
}

export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  const secret = findSecret(args);
  if (secret !== undefined) {
    return Promise.reject(new DeployError(`Refusing to run ${command}: an argument looks like a secret.`));
  }
  if (options.cwd !== undefined && !existsSync(options.cwd)) {
    return Promise.reject(new DeployError(`Cannot run ${command}: folder ${options.cwd} does not exist.`));
  }
  let file = command;
  let argv = [...args];
  let windowsVerbatimArguments = false;
  if (process.platform === "win32") {
    // az, npm and func are .cmd shims on Windows, which only cmd.exe can start.
    const resolved = whichCommand(command, env);
    if (!resolved) return Promise.reject(new CommandNotFoundError(command));
    file = env.ComSpec ?? "cmd.exe";
    argv = ["/d", "/s", "/c", `"${[resolved, ...args].map(windowsQuote).join(" ")}"`];
    windowsVerbatimArguments = true;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env,
      shell: false,
      windowsVerbatimArguments,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      out.push(chunk);
      if (options.showStdout) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err.push(chunk);
      if (options.showStderr) process.stderr.write(chunk);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT" ? new CommandNotFoundError(command) : error);
    });
    child.on("close", (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** The command line as a person would type it, for logs and --dry-run. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(" ");
}
