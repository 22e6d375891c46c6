// `acs-ledger query …`: the read API's answers on the command line (src/read does the work), as a
// table on a terminal or as the API's JSON with --json. Reads the same settings as `replay`.
import { parseArgs } from "node:util";
import { settingsFromEnv, storageConfigured } from "../config";
import { normalizePhoneNumber } from "../identifiers";
import { LedgerTables } from "../ledger/tables";
import { BadRequest, NotFound } from "../read/errors";
import type { Item } from "../read/items";
import * as queries from "../read/queries";
import { EXIT, runCli, UsageError } from "./oneLine";

export const USAGE = `Usage: acs-ledger query <what> [ID] [options]

What (each answers from one partition of the ledger's tables):
  sms NUMBER                    SMS to and from a number, newest first; outgoing ones with their
                                latest delivery status. With or without +.
  sms --reports MESSAGEID       The delivery reports of one message
  thread THREADID               The chat thread now (topic, deleted, …) and its participants
  thread THREADID --events      The thread's timeline
  messages THREADID             The thread's messages in their current state (edited, deleted)
  call SERVERCALLID             The call now (started, ended, duration) and its timeline
  user RAWID                    What one user received in chat (8:acs:…, 4:+1…)
  user RAWID --disconnects      The user's disconnects, newest first
  quarantine [--type TYPE]      Quarantined events: reasons, errors, resolved or not

Options:
  --from TIME, --to TIME        Only rows in [from, to) (ISO 8601, or a date), where rows are in time order
  --limit N                     Rows per page (default 100, at most 1000)
  --continuation-token TOKEN    The next page: the token the previous page printed
  --json                        The API's JSON answer instead of a table
  --raw                         With --json: each row's raw event too
  --account NAME                The ledger's storage account, signed in with DefaultAzureCredential
                                (default: LEDGER_STORAGE or AzureWebJobsStorage, as for replay)
  -h, --help

Exit status: 0 with an answer, 1 when the ledger has nothing for the id or storage failed, 2 for a
bad command line.
`;

const WHAT = ["sms", "thread", "messages", "call", "user", "quarantine"] as const;
type What = (typeof WHAT)[number];

/** API parameter names → the flags that set them, so a refusal names what the user typed. */
const FLAG_OF: Readonly<Record<string, string>> = { continuationToken: "--continuation-token", from: "--from", to: "--to", limit: "--limit", raw: "--raw", type: "--type" };

interface Query {
  readonly what: What;
  readonly id: string | undefined;
  readonly flags: { reports?: string; events?: boolean; disconnects?: boolean };
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly json: boolean;
  readonly account: string | undefined;
}

export function parseQueryArgs(argv: readonly string[]): Query | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        from: { type: "string" },
        to: { type: "string" },
        limit: { type: "string" },
        "continuation-token": { type: "string" },
        json: { type: "boolean" },
        raw: { type: "boolean" },
        type: { type: "string" },
        reports: { type: "string" },
        events: { type: "boolean" },
        disconnects: { type: "boolean" },
        account: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return "help";
  const [what, id, ...extra] = parsed.positionals;
  if (what === undefined) throw new UsageError(`say what to query: ${WHAT.join(", ")}`);
  if (!(WHAT as readonly string[]).includes(what)) throw new UsageError(`cannot query "${what}": choose one of ${WHAT.join(", ")}`);
  if (extra.length > 0) throw new UsageError(`one id only: got also ${extra.map((e) => `"${e}"`).join(", ")}`);
  const needsId = !(what === "quarantine" || (what === "sms" && v.reports !== undefined));
  if (needsId && id === undefined) throw new UsageError(`query ${what} needs an id: acs-ledger query ${what} ${what === "sms" ? "NUMBER" : what === "user" ? "RAWID" : what === "call" ? "SERVERCALLID" : "THREADID"}`);
  if (!needsId && id !== undefined) throw new UsageError(`query ${what}${what === "sms" ? " --reports" : ""} takes no other id: got "${id}"`);
  const only = (flag: "reports" | "events" | "disconnects" | "type", owner: What) => {
    if (v[flag] !== undefined && what !== owner) throw new UsageError(`--${flag} goes with query ${owner}`);
  };
  only("reports", "sms");
  only("events", "thread");
  only("disconnects", "user");
  only("type", "quarantine");
  if (v.account !== undefined && !/^[a-z0-9]{3,24}$/.test(v.account)) throw new UsageError(`--account must be a storage account name (3–24 lower-case letters and digits): got "${v.account}"`);
  return {
    what: what as What,
    id,
    flags: { ...(v.reports !== undefined ? { reports: v.reports } : {}), ...(v.events ? { events: true } : {}), ...(v.disconnects ? { disconnects: true } : {}) },
    params: { from: v.from, to: v.to, limit: v.limit, continuationToken: v["continuation-token"], raw: v.raw ? "true" : undefined, type: v.type },
    json: v.json ?? false,
    account: v.account,
  };
}

/** The answer, and the rows a table shows of it. */
async function answer(tables: LedgerTables, q: Query): Promise<{ answer: unknown; sections: Array<{ title: string; rows: Item[]; columns: readonly string[] }> }> {
  const get = (name: string) => q.params[name];
  const id = q.id ?? "";
  const page = (title: string, columns: readonly string[]) => (a: { items: Item[] }) => ({ answer: a, sections: [{ title, rows: a.items, columns }] });
  switch (q.what) {
    case "sms":
      return q.flags.reports !== undefined
        ? page(`Delivery reports of ${q.flags.reports}`, ["occurredAt", "deliveryStatus", "deliveryStatusDetails", "to", "tag"])(await queries.deliveryReports(tables, q.flags.reports, get))
        : page(`SMS to and from ${normalizePhoneNumber(id)}`, ["occurredAt", "direction", "from", "to", "message", "deliveryStatus"])(await queries.smsMessages(tables, id, get));
    case "thread": {
      if (q.flags.events) return page(`Timeline of ${id}`, ["occurredAt", "eventType", "senderDisplayName", "displayName", "messageBody", "topic"])(await queries.chatThreadEvents(tables, id, get));
      const a = await queries.chatThread(tables, id, get);
      return {
        answer: a,
        sections: [
          ...(a.thread ? [{ title: `Thread ${id}`, rows: [a.thread], columns: ["topic", "createdByRawId", "createTime", "editTime", "deleted", "deleteTime"] }] : []),
          { title: "Participants", rows: a.participants, columns: ["displayName", "participantRawId", "member", "changedAt"] },
        ],
      };
    }
    case "messages":
      return page(`Messages of ${id}`, ["messageId", "composeTime", "senderDisplayName", "messageBody", "editTime", "deleted"])(await queries.chatMessages(tables, id, get));
    case "call": {
      const a = await queries.call(tables, id, get);
      return {
        answer: a,
        sections: [
          ...(a.call ? [{ title: `Call ${id}`, rows: [a.call], columns: ["startedAt", "endedAt", "durationOfCall", "startedByRawId", "isTwoParty"] }] : []),
          { title: "Timeline", rows: a.timeline, columns: ["occurredAt", "eventType", "change", "displayName", "participantRawId", "recordingDurationMs"] },
        ],
      };
    }
    case "user":
      return q.flags.disconnects
        ? page(`Disconnects of ${id}`, ["disconnectedAt", "eventId", "deliverySchema"])(await queries.userDisconnects(tables, id, get))
        : page(`Chat events received by ${id}`, ["occurredAt", "eventType", "threadId", "senderDisplayName", "messageBody"])(await queries.chatUserEvents(tables, id, get));
    case "quarantine":
      return page("Quarantined events", ["eventTime", "eventType", "eventId", "reasonCode", "resolved", "reason"])(await queries.quarantined(tables, get));
  }
}

export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await run(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`acs-ledger query: ${error.message}\nRun with --help for usage.\n`);
    return EXIT.usage;
  }
}

async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const q = parseQueryArgs(argv);
  if (q === "help") {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (q.account === undefined && !storageConfigured(env)) {
    process.stderr.write("acs-ledger query: no LEDGER_STORAGE or AzureWebJobsStorage is set, and an embedded Azurite would be empty: set LEDGER_STORAGE to the ledger's account (or give --account NAME)\n");
    return EXIT.usage;
  }
  const settings = settingsFromEnv(q.account === undefined ? env : { ...env, LEDGER_STORAGE: `https://${q.account}.table.core.windows.net` });
  let result;
  try {
    result = await answer(new LedgerTables(settings), q);
  } catch (error) {
    if (error instanceof BadRequest) throw new UsageError(error.message.replace(/^\w+/, (name) => (name === error.parameter ? FLAG_OF[name] ?? name.toUpperCase() : name)));
    if (error instanceof NotFound) {
      process.stderr.write(`acs-ledger query: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (q.json) {
    out(JSON.stringify(result.answer, null, 2));
    return EXIT.ok;
  }
  const width = process.stdout.isTTY ? process.stdout.columns || 120 : 160;
  for (const section of result.sections) {
    out(`${section.title}: ${section.rows.length} row${section.rows.length === 1 ? "" : "s"}`);
    if (section.rows.length > 0) for (const line of table(section.rows, section.columns, width)) out(`  ${line}`);
    out("");
  }
  const token = (result.answer as { continuationToken?: string }).continuationToken;
  if (token) out(`More: add --continuation-token ${token}`);
  return EXIT.ok;
}

/** Columns that some row has, each as wide as its widest cell, the widest cut so a line fits `width`. */
export function table(rows: readonly Item[], columns: readonly string[], width: number): string[] {
  const shown = columns.filter((c) => rows.some((r) => r[c] !== undefined && r[c] !== null));
  const cells = rows.map((r) => shown.map((c) => cellText(r[c])));
  const widths = shown.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const budget = width - 2 - 2 * (shown.length - 1);
  while (widths.reduce((a, b) => a + b, 0) > budget) {
    const widest = widths.indexOf(Math.max(...widths));
    if ((widths[widest] as number) <= 12) break;
    widths[widest] = (widths[widest] as number) - 1;
  }
  const line = (values: readonly string[]) => values.map((v, i) => fit(v, widths[i] as number)).join("  ").trimEnd();
  return [line(shown), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
}

/** One line of text: control characters (event content can hold any) become spaces. */
function cellText(value: unknown): string {
  const text = value === undefined || value === null ? "" : typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
}

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

if (require.main === module) runCli("acs-ledger query", () => main());
