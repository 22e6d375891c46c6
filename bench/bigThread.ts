// The big thread: one chat thread of N members and 20 messages, some edited and one deleted. ACS sends
// every change once per thread (`…InThread`) and once per recipient (N − 1 copies); here every copy of
// every change is delivered shuffled, 16 in flight, through the four handlers as the host invokes them.
// Reports the storage requests per message and their floor (bench/floor.ts), the requests on the
// ChatMessages rows per message (what must not grow with N), ETag conflicts, and checks that the ledger
// equals in-order delivery into tables of its own.
//
// Run in a fresh process (one programming model per process; settings from the environment):
//   LEDGER_STORAGE=<connection string> [LEDGER_CHAT_STATE_FROM=thread] node dist/bench/bigThread.js [members]
import type { TableClient } from "@azure/data-tables";
import { settingsFromEnv, type LedgerSettings } from "../src/config";
import { findProjectRoot } from "../src/devhost/azurite";
import { loadFunctionApp } from "../src/devhost/functionsHost";
import { seededRandom } from "../src/devhost/seededRandom";
import { countOf, startCounting, stopCounting, tallyJson, within } from "../src/devhost/storageRequests";
import { ingestEvent } from "../src/ingest";
import { createTableClient, LedgerTables } from "../src/ledger/tables";
import { LedgerWriter } from "../src/ledger/writer";
import { loadTemplates, type BenchEvent } from "./events";
import { FloorModel } from "./floor";

export interface BigThreadResult {
  readonly members: number;
  readonly messages: number;
  /** Changes: every message received, some edited, one deleted. */
  readonly changes: number;
  readonly events: number;
  readonly concurrency: number;
  readonly chatStateFrom: "all" | "thread";
  readonly requestsPerMessage: number;
  readonly floorPerMessage: number;
  readonly floorRatio: number;
  /** Requests on the ChatMessages rows (the state row every copy of a change shares), per message. */
  readonly stateRequestsPerMessage: number;
  /** Conditional writes of a state row answered 409/412/404: another writer got there first. */
  readonly etagConflicts: number;
  /** Reads of a state row (each conflict is retried after one). */
  readonly stateReads: number;
  /** Requests on a state row beyond the first of their event: the retries conflicts cost. */
  readonly retries: number;
  readonly concurrencyErrors: number;
  readonly failedInvocations: number;
  readonly ledgerEqualsInOrder: boolean;
  readonly eventsPerSec: number;
  readonly byTable: Record<string, Record<string, number>>;
}

const MESSAGES = 20;
const EDITED = new Set([2, 5, 9, 13, 17]);
const DELETED = 11;
const CONCURRENCY = 16;
const C = "Microsoft.Communication.";
const TENANT = "8:acs:5f3c2b1a-0d9e-4c8b-a7f6-e5d4c3b2a190_";

const user = (i: number) => `${TENANT}00000009-${(0x1000 + i).toString(16)}-4000-8000-${i.toString(16).padStart(12, "0")}`;
const identifier = (rawId: string) => ({ rawId, communicationUser: { id: rawId } });

/** Every copy of every change, in the order ACS would send them (change by change). */
export function bigThreadEvents(members: number): BenchEvent[] {
  const templates = new Map(loadTemplates().filter((t) => t.file.includes("samples") && !t.file.includes("cloudevents")).map((t) => [t.type, t.text]));
  const template = (type: string) => JSON.parse(templates.get(`${C}${type}`) as string) as Record<string, any>;
  const threadId = `19:bigthread${members}@thread.v2`;
  const start = Date.UTC(2025, 8, 1, 9);
  const out: BenchEvent[] = [];
  let serial = 0;
  for (let m = 0; m < MESSAGES; m++) {
    const composed = start + m * 60_000;
    const sender = user(m % members);
    const changes: { kind: "Received" | "Edited" | "Deleted"; at: number }[] = [{ kind: "Received", at: composed }];
    if (EDITED.has(m)) changes.push({ kind: "Edited", at: composed + 20_000 });
    if (m === DELETED) changes.push({ kind: "Deleted", at: composed + 40_000 });
    for (const change of changes) {
      const at = new Date(change.at).toISOString();
      const data: Record<string, unknown> = {
        messageId: String(composed),
        type: "Text",
        senderDisplayName: `Member ${m % members}`,
        senderCommunicationIdentifier: identifier(sender),
        composeTime: new Date(composed).toISOString(),
        threadId,
        version: change.at,
        transactionId: `bt${members}.${m}.${change.kind}`,
        metadata: { topic: "standup" },
        ...(change.kind === "Deleted" ? { deleteTime: at } : { messageBody: `message ${m}${change.kind === "Edited" ? " (edited)" : ""}` }),
        ...(change.kind === "Edited" ? { editTime: at } : {}),
      };
      const copy = (type: string, recipient?: string): BenchEvent => {
        const e = template(type);
        e["id"] = `bt${members.toString(16).padStart(4, "0")}-${(serial++).toString(16).padStart(8, "0")}-4e5f-8a9b-0c1d2e3f4a5b`;
        e["eventTime"] = at;
        e["subject"] = `thread/${threadId}/sender/${sender}${recipient ? `/recipient/${recipient}` : ""}`;
        e["data"] = recipient ? { ...data, recipientCommunicationIdentifier: identifier(recipient) } : { ...data };
        return { type: `${C}${type}`, family: "chat", text: JSON.stringify(e) };
      };
      out.push(copy(`ChatMessage${change.kind}InThread`));
      for (let r = 0; r < members; r++) if (r !== m % members) out.push(copy(`ChatMessage${change.kind}`, user(r)));
    }
  }
  return out;
}

async function inFlight<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const TABLES = ["ChatThreadEvents", "ChatUserEvents", "ChatMessages"] as const;

async function tableRows(settings: LedgerSettings, table: string): Promise<string[]> {
  const client: TableClient = createTableClient(settings, `${settings.tablePrefix}${table}`);
  const rows: string[] = [];
  for await (const e of client.listEntities<Record<string, unknown>>()) {
    const { etag: _etag, timestamp: _timestamp, ...rest } = e as Record<string, unknown>;
    rows.push(JSON.stringify(Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)))));
  }
  return rows.sort();
}

export async function measureBigThread(members = 250): Promise<BigThreadResult> {
  const run = Date.now().toString(36);
  process.env["LEDGER_TABLE_PREFIX"] = `Bt${run}`;
  const settings = settingsFromEnv();
  const inOrder = bigThreadEvents(members);
  const random = seededRandom(members);
  const shuffled = [...inOrder];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as BenchEvent, shuffled[i] as BenchEvent];
  }
  const floor = new FloorModel(settings);
  const floorRequests = shuffled.reduce((n, e) => {
    const c = floor.cost(e);
    return n + c.facts + c.states;
  }, 0);

  const app = loadFunctionApp(findProjectRoot(__dirname));
  // Tables created and code warm before counting: one event of another thread.
  const [warm] = bigThreadEvents(2);
  await app.invoke("chatEvents", JSON.parse((warm as BenchEvent).text));

  const labels = new Map(shuffled.map((e, i) => [e, i]));
  const tally = startCounting();
  let failed = 0;
  let concurrencyErrors = 0;
  const t0 = process.hrtime.bigint();
  await inFlight(shuffled, CONCURRENCY, async (e) => {
    // Each event's requests under a label of its own, so that its retries can be told apart.
    const outcome = await within(String(labels.get(e)), () => app.invoke("chatEvents", JSON.parse(e.text)));
    if (outcome.status === "succeeded") return;
    failed++;
    if ((outcome.error as { name?: string } | undefined)?.name === "ConcurrencyError") concurrencyErrors++;
    if (failed <= 3) console.error(`bench: big thread: ${e.type} failed: ${String(outcome.error)}`);
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  stopCounting();

  // The same events in order, one at a time, into tables of their own.
  const reference: LedgerSettings = { ...settings, tablePrefix: `Bo${run}` };
  const writer = new LedgerWriter(new LedgerTables(reference));
  for (const e of [warm as BenchEvent, ...inOrder]) await ingestEvent(JSON.parse(e.text), "chat", writer);
  let equal = true;
  for (const table of TABLES) {
    const [a, b] = [await tableRows(settings, table), await tableRows(reference, table)];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      equal = false;
      console.error(`bench: big thread: ${table} differs from in-order delivery (${a.length} vs ${b.length} rows)`);
    }
  }

  const requests = countOf(tally);
  const perEvent = tallyJson(tally);
  const byTable: Record<string, Record<string, number>> = {};
  let retries = 0;
  for (const tables of Object.values(perEvent)) {
    let stateRequests = 0;
    for (const [table, kinds] of Object.entries(tables)) {
      const into = (byTable[table] ??= {});
      for (const [kind, c] of Object.entries(kinds)) {
        into[kind] = (into[kind] ?? 0) + c;
        if (table === "ChatMessages") stateRequests += c;
      }
    }
    retries += Math.max(0, stateRequests - 1);
  }
  const isState = (table: string) => table === "ChatMessages";
  const changes = MESSAGES + EDITED.size + 1;
  return {
    members,
    messages: MESSAGES,
    changes,
    events: shuffled.length,
    concurrency: CONCURRENCY,
    chatStateFrom: settings.chatStateFrom ?? "all",
    requestsPerMessage: round(requests / MESSAGES),
    floorPerMessage: round(floorRequests / MESSAGES),
    floorRatio: round(requests / floorRequests),
    stateRequestsPerMessage: round(countOf(tally, (_l, table) => isState(table)) / MESSAGES),
    etagConflicts: countOf(tally, (_l, table, kind) => isState(table) && /^(POST|PUT) (409|412|404)$/.test(kind)),
    stateReads: countOf(tally, (_l, table, kind) => isState(table) && kind.startsWith("GET")),
    retries,
    concurrencyErrors,
    failedInvocations: failed,
    ledgerEqualsInOrder: equal,
    eventsPerSec: Math.round(shuffled.length / seconds),
    byTable,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (require.main === module) {
  const members = process.argv[2] ? Number(process.argv[2]) : undefined;
  measureBigThread(members).then(
    (result) => {
      process.stdout.write(JSON.stringify(result) + "\n");
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
