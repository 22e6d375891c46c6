// How the command-line tools end: an exit code, and on failure one line that says what is wrong.
// A bad setting or an unreachable account is the user's to fix, and a stack trace only hides the
// sentence that says how.

/** The command line is wrong (unknown option, bad value): exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Exit codes of every acs-ledger command, the demo and the deploy script. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** An error's message as one line (the first; the SDK's may run on with a response body). */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.trim().split(/\r?\n/)[0] ?? "").slice(0, 500);
}

/**
 * Runs a command's `main` and exits with its code. An error that escapes it is printed as one line,
 * `<name>: <message>`, with exit 2 for a usage error and 1 otherwise; ACS_LEDGER_STACK=1 adds the
 * stack for whoever debugs the tool itself.
 */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${name}: ${oneLine(error)}\n`);
      if (error instanceof UsageError) process.stderr.write(`Run with --help for usage.\n`);
      if (process.env["ACS_LEDGER_STACK"] === "1" && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exit(error instanceof UsageError ? EXIT.usage : EXIT.failed);
    },
  );
}
