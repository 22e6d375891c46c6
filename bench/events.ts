// The benchmark's traffic: every sample and doc fixture of every catalog type, weighted like real ACS
// traffic (mostly chat messages, delivered once per recipient; SMS; some calling), and turned into
// distinct events: each generated event gets its own id and time, and its thread, call, phone numbers
// and ACS users drawn from pools. So nothing keyed by value (a cache, a table row) sees the same event
// twice, and partitions fill as they would: many threads, users and customers; few own numbers.
import * as fs from "node:fs";
import { seededRandom } from "../src/devhost/seededRandom";
import * as path from "node:path";
import { CATALOG, type Family } from "../src/catalog";
import { findProjectRoot } from "../src/devhost/azurite";

export interface Template {
  readonly type: string;
  readonly family: Family;
  /** The event as JSON text (Event Grid schema or CloudEvents 1.0). */
  readonly text: string;
  readonly file: string;
}

export interface BenchEvent {
  readonly type: string;
  readonly family: Family;
  /** As delivered: the JSON text of one event. */
  readonly text: string;
}

/**
 * Relative volume per event type. ACS delivers user-level chat events once per recipient, so one chat
 * message in a thread of 3 is 1 `…InThread` plus 3 `ChatMessageReceived`. Types not listed (thread
 * lifecycle, preview names) get {@link RARE}: every type is in the mix, as in real traffic.
 */
export const WEIGHTS: Readonly<Record<string, number>> = {
  "Microsoft.Communication.ChatMessageReceived": 30,
  "Microsoft.Communication.ChatMessageReceivedInThread": 10,
  "Microsoft.Communication.ChatTypingIndicatorReceivedInThread": 4,
  "Microsoft.Communication.ChatMessageEdited": 3,
  "Microsoft.Communication.ChatMessageEditedInThread": 1,
  "Microsoft.Communication.ChatMessageDeleted": 1.5,
  "Microsoft.Communication.ChatMessageDeletedInThread": 0.5,
  "Microsoft.Communication.SMSReceived": 12,
  "Microsoft.Communication.SMSDeliveryReportReceived": 14,
  "Microsoft.Communication.IncomingCall": 3,
  "Microsoft.Communication.CallStarted": 2,
  "Microsoft.Communication.CallEnded": 2,
  "Microsoft.Communication.CallParticipantAdded": 4,
  "Microsoft.Communication.CallParticipantRemoved": 4,
  "Microsoft.Communication.RecordingFileStatusUpdated": 0.5,
  "Microsoft.Communication.UserDisconnected": 2,
};
const RARE = 0.3;

const PROJECT_ROOT = findProjectRoot(__dirname);

function jsonFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(dir, f));
}

/** samples/ (both delivery schemas) and ../shared/fixtures/events/seed-NNN (valid ones). */
export function loadTemplates(root: string = PROJECT_ROOT): Template[] {
  const fixtures = path.resolve(root, "..", "shared", "fixtures", "events");
  const seeds = fs.existsSync(fixtures) ? fs.readdirSync(fixtures).filter((d) => d.startsWith("seed-")).sort() : [];
  const files = [
    ...jsonFiles(path.join(root, "samples")),
    ...jsonFiles(path.join(root, "samples", "cloudevents")),
    ...seeds.flatMap((s) => jsonFiles(path.join(fixtures, s))),
  ];
  const out: Template[] = [];
  for (const file of files) {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
      const e = event as Record<string, unknown>;
      const type = String(e["eventType"] ?? e["type"]);
      const spec = CATALOG.get(type);
      if (!spec) throw new Error(`bench: ${file}: type ${type} is not in the catalog`);
      out.push({ type, family: spec.family, text: JSON.stringify(event), file });
    }
  }
  const missing = [...CATALOG.keys()].filter((t) => !out.some((x) => x.type === t));
  if (missing.length > 0) throw new Error(`bench: no sample for ${missing.join(", ")}`);
  return out;
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, "0").slice(-width);
const TIME = /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/g;
const ACS_USER = /(8:acs:[0-9a-f-]{36}_)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/g;
const PHONE = /^\+?(\d{10,15})$/;

export interface Pools {
  readonly threads: number;
  readonly users: number;
  /** Customers' phone numbers, and the resource's own (each SMS has one of each). */
  readonly numbers: number;
  readonly ownNumbers: number;
  readonly calls: number;
}
export const DEFAULT_POOLS: Pools = { threads: 2_000, users: 5_000, numbers: 5_000, ownNumbers: 5, calls: 5_000 };

/**
 * Event `i` of a stream: a template drawn by weight, with a new id, every full timestamp moved to
 * `i` seconds after a fixed start (formats kept: precision, `Z` or offset), and its thread, message
 * id, phone numbers and ACS users replaced from the pools.
 */
export class EventStream {
  readonly #templates: readonly Template[];
  readonly #cumulative: number[] = [];
  readonly #total: number;
  readonly #random: () => number;
  readonly #pools: Pools;
  readonly #start = Date.UTC(2025, 6, 1);
  #next = 0;

  constructor(templates: readonly Template[], seed = 1, pools: Pools = DEFAULT_POOLS) {
    // A type's weight is shared by its templates.
    const perType = new Map<string, number>();
    for (const t of templates) perType.set(t.type, (perType.get(t.type) ?? 0) + 1);
    let sum = 0;
    for (const t of templates) {
      sum += (WEIGHTS[t.type] ?? RARE) / (perType.get(t.type) ?? 1);
      this.#cumulative.push(sum);
    }
    this.#templates = templates;
    this.#total = sum;
    this.#random = seededRandom(seed);
    this.#pools = pools;
  }

  next(): BenchEvent {
    const i = this.#next++;
    const r = this.#random() * this.#total;
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#cumulative[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    const t = this.#templates[lo] as Template;
    return { type: t.type, family: t.family, text: this.#vary(t.text, i) };
  }

  take(n: number): BenchEvent[] {
    return Array.from({ length: n }, () => this.next());
  }

  #pick(size: number): number {
    return Math.floor(this.#random() * size);
  }

  #vary(text: string, i: number): string {
    const event = JSON.parse(text) as Record<string, unknown>;
    event["id"] = `${hex(i, 8)}-b3c4-4d5e-8f60-${hex(i * 2654435761, 12)}`;
    const data = (event["data"] ?? {}) as Record<string, unknown>;
    let out = JSON.stringify(event);
    const swap = (from: string, to: string) => {
      if (from !== "") out = out.split(from).join(to);
    };
    if (typeof data["threadId"] === "string") swap(data["threadId"], `19:bench${hex(this.#pick(this.#pools.threads), 8)}@thread.v2`);
    const call = typeof data["serverCallId"] === "string" ? data["serverCallId"] : /\/serverCallId\/([^/]+)/.exec(String(event["subject"]))?.[1];
    if (call) swap(call, `YmVuY2gtY2FsbC0${hex(this.#pick(this.#pools.calls), 8)}`);
    if (typeof data["messageId"] === "string" && /^\d+$/.test(data["messageId"])) swap(data["messageId"], String(1751328000000 + i));
    for (const name of ["From", "To"]) {
      const digits = typeof data[name] === "string" ? PHONE.exec(data[name] as string)?.[1] : undefined;
      // The ACS resource's own numbers (toll-free in the samples) are few; its customers' are many.
      if (digits) swap(digits, digits.startsWith("1800") ? `1800555${String(this.#pick(this.#pools.ownNumbers)).padStart(4, "0")}` : `1425${String(this.#pick(this.#pools.numbers)).padStart(7, "0")}`);
    }
    const users = new Map<string, string>();
    out = out.replace(ACS_USER, (_all, prefix: string, user: string) => {
      let mapped = users.get(user);
      if (!mapped) {
        const n = this.#pick(this.#pools.users);
        mapped = `00000008-${hex(n >>> 16, 4)}-${hex(n, 4)}-b3c4-${hex(n * 2654435761, 12)}`;
        users.set(user, mapped);
      }
      return prefix + mapped;
    });
    const shiftMs = this.#start + i * 1000;
    let base: number | undefined;
    out = out.replace(TIME, (_all, y: string, mo: string, d: string, h: string, mi: string, s: string) => {
      const at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
      base ??= at; // the event's first timestamp lands on `i` seconds; the others keep their distance to it
      return new Date(shiftMs + (at - base)).toISOString().slice(0, 19);
    });
    return out;
  }
}

/** Writes `n` events as NDJSON (one event per line), without holding them all in memory. */
export async function writeNdjson(file: string, n: number, seed = 1, templates: readonly Template[] = loadTemplates()): Promise<void> {
  const stream = new EventStream(templates, seed);
  const out = fs.createWriteStream(file);
  const chunk: string[] = [];
  for (let i = 0; i < n; i++) {
    chunk.push(stream.next().text);
    if (chunk.length === 1000 || i === n - 1) {
      if (!out.write(chunk.join("\n") + "\n")) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk.length = 0;
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
