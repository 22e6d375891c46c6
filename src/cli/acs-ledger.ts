#!/usr/bin/env node
// `acs-ledger <command> …`: one bin, one small module per command, each loaded only when it is
// the one asked for, so that a command starts without paying for the others.
import { holdBuild } from "./buildLease";
import { runCli } from "./oneLine";

type CommandMain = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;

/** Command name → its module's `main`. Without a command name, `replay` runs (as it always has). */
const COMMANDS: Readonly<Record<string, () => CommandMain>> = {
  replay: () => (require("./replay") as typeof import("./replay")).main,
  drift: () => (require("./drift") as typeof import("./drift")).main,
  query: () => (require("./query") as typeof import("./query")).main,
};

const USAGE = `Usage: acs-ledger <command> [options]   (npx acs-ledger …)

Commands:
  replay    Push events through the ledger after the fact (files, stdin, blobs, the quarantine)
  drift     List the data property paths events carried that their schemas do not name
  query     Read the ledger: SMS by number, chat threads, calls, users, the quarantine

Run "acs-ledger <command> --help" for a command's options.
`;

export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [first] = argv;
  if (first === "-h" || first === "--help" || first === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return (COMMANDS[first] as () => CommandMain)()(argv.slice(1), env);
  if (first !== undefined && !first.startsWith("-") && !first.includes(".") && !first.includes("/")) {
    process.stderr.write(`acs-ledger: unknown command "${first}"\n\n${USAGE}`);
    return 2;
  }
  return (COMMANDS["replay"] as () => CommandMain)()(argv, env);
}

if (require.main === module) {
  holdBuild(__dirname);
  runCli("acs-ledger", () => main());
}
