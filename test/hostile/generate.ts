import fc from "fast-check";
import type { TSchema } from "@sinclair/typebox";
import { CATALOG, FAMILIES, functionNameOf, type Family } from "../../src/catalog";
import { loadSamples } from "../../src/cli/demo";
import type { QuarantineCode } from "../../src/ingest";
import { toJsonText } from "../../src/jsonText";

/*
 * Seeded generation of hostile deliveries. Each case says what it did to a valid sample event and
 * what the ledger must do with it, so the test can check the accounting without asking the
 * pipeline itself.
 */

export type Expected =
  | { readonly kind: "stored" }
  | { readonly kind: "quarantined"; readonly code: QuarantineCode; readonly path?: string }
  /** Too large for one Table entity: the invocation fails (Event Grid retries, then dead-letters). */
  | { readonly kind: "tooLarge" };

export interface HostileCase {
  readonly n: number;
  readonly mutation: string;
  readonly functionName: string;
  /** What the host sends: `{ json }` for JSON bodies, `{ string }` for bodies that are not JSON. */
  readonly body: { readonly json: string } | { readonly string: string };
  readonly expected: Expected;
  /** The id the ledger will see, when the event has a usable one. */
  readonly eventId: string | undefined;
  /** Phone numbers and message bodies in the event: they must never reach a log line. */
  readonly secrets: readonly string[];
}

const SPECIALS = ["/", "\\", "#", "?", "|", "%", "~", "\u0000", "\u0001", "\u001f", "\u007f", "\u0085", "\u009f", "😀", "\ud800", "\udc00", " ", "é"];
const hostileText = fc.string({ unit: fc.oneof(fc.constantFrom(...SPECIALS), fc.constantFrom(..."abcdefXYZ0189-_:.@")), maxLength: 24 });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

interface Leaf {
  readonly path: readonly (string | number)[];
  readonly schema: Record<string, unknown>;
  readonly required: boolean;
}

/** Every place in `value` that `schema` describes: the mutation targets. */
function leaves(schema: TSchema | Record<string, unknown>, value: Json, path: (string | number)[] = [], required = true): Leaf[] {
  const s = schema as Record<string, unknown>;
  const out: Leaf[] = [{ path, schema: s, required }];
  if (s["type"] === "object" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    const props = (s["properties"] ?? {}) as Record<string, Record<string, unknown>>;
    const req = new Set((s["required"] ?? []) as string[]);
    for (const [name, sub] of Object.entries(props)) {
      if (value[name] !== undefined) out.push(...leaves(sub, value[name] as Json, [...path, name], req.has(name)));
    }
  }
  if (s["type"] === "array" && Array.isArray(value) && value.length > 0) {
    out.push(...leaves(s["items"] as Record<string, unknown>, value[0] as Json, [...path, 0], true));
  }
  return out;
}

function pointer(path: readonly (string | number)[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function setAt(root: Obj, path: readonly (string | number)[], value: Json | undefined): void {
  let node: any = root;
  for (const p of path.slice(0, -1)) node = node[p];
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** A value of the wrong JSON type for a schema node. */
function wrongType(schema: Record<string, unknown>): Json {
  switch (schema["type"]) {
    case "string":
      return 42;
    case "number":
    case "integer":
      return "42";
    case "boolean":
      return "true";
    case "object":
      return ["an", "array"];
    case "array":
      return { not: "an array" };
    default:
      return true; // unions (chat versions): neither an integer nor a string
  }
}

/** Own `__proto__`, `constructor` and `prototype` keys on every object of the event. */
function poison(value: Json): Json {
  if (Array.isArray(value)) return value.map(poison);
  if (value === null || typeof value !== "object") return value;
  const out: Obj = JSON.parse('{"__proto__": {"polluted": "__proto__"}, "constructor": {"prototype": {"polluted": "constructor"}}, "prototype": {"polluted": "prototype"}}');
  for (const [k, v] of Object.entries(value)) out[k] = poison(v);
  return out;
}

function deeplyNested(levels: number): Json {
  let node: Json = "bottom";
  for (let i = 0; i < levels; i++) node = i % 2 === 0 ? { d: node } : [node];
  return node;
}

function toCloudEvent(e: Obj): Obj {
  return { specversion: "1.0", id: e["id"] as Json, source: e["topic"] as Json, type: e["eventType"] as Json, subject: e["subject"] as Json, time: e["eventTime"] as Json, data: e["data"] as Json };
}

function secretsOf(e: Obj): string[] {
  const data = (e["data"] ?? {}) as Obj;
  const phones = ["From", "To", "sender", "recepient"].map((k) => data[k]).filter((v): v is string => typeof v === "string");
  const bodies = ["messageBody", "Message", "content"].map((k) => data[k]).filter((v): v is string => typeof v === "string" && v.length >= 12);
  return [...phones.map((p) => p.replace(/^\+/, "")), ...bodies];
}

const MUTATIONS = [
  "valid",
  "valid-cloudevent",
  "valid-poisoned-keys",
  "valid-deep-nesting",
  "valid-100k-text",
  "missing-field",
  "wrong-type",
  "empty-string",
  "not-a-date",
  "array-for-object",
  "megabyte-string",
  "mixed-envelope",
  "misrouted",
  "not-json",
  "json-not-an-object",
] as const;

const SAMPLES = loadSamples().filter((s) => "eventType" in s.event); // Event Grid schema bases
const TYPES = [...CATALOG.keys()];

export function generateCases(count: number, seed: number): HostileCase[] {
  const arb = fc.record({
    type: fc.constantFrom(...TYPES),
    mutation: fc.constantFrom(...MUTATIONS),
    id: hostileText,
    key: hostileText,
    pick: fc.nat(),
    otherFamily: fc.constantFrom(...FAMILIES),
    junk: fc.string({ unit: "binary", maxLength: 40 }),
  });
  return fc.sample(arb, { seed, numRuns: count }).map((c, n) => build(n, c));
}

function build(
  n: number,
  c: { type: string; mutation: (typeof MUTATIONS)[number]; id: string; key: string; pick: number; otherFamily: Family; junk: string },
): HostileCase {
  const spec = CATALOG.get(c.type);
  const bases = SAMPLES.filter((s) => s.type === c.type);
  if (!spec || bases.length === 0) throw new Error(`no sample for ${c.type}`);
  const base = structuredClone(bases[c.pick % bases.length]?.event) as Obj;
  const family = spec.family;
  const own = functionNameOf(family);
  // A unique id full of hostile characters, and hostile values in the fields that become keys.
  const id = `h${n}-${c.id}`;
  base["id"] = id;
  const data = base["data"] as Obj;
  for (const keyField of ["threadId", "messageId", "serverCallId"]) {
    if (typeof data[keyField] === "string") data[keyField] = `${keyField}-${n}-${c.key}`;
  }
  const stored: Expected = { kind: "stored" };
  const secrets = secretsOf(base);
  // `null`: the event has no usable id (an explicit `undefined` would take the default).
  const json = (e: Json, expected: Expected, functionName = own, eventId: string | null = id): HostileCase => ({
    n,
    mutation: c.mutation,
    functionName,
    body: { json: toJsonText(e) },
    expected,
    eventId: eventId ?? undefined,
    secrets,
  });
  const targets = leaves(spec.data, data).filter((l) => l.path.length > 0);
  const pick = <T>(items: readonly T[]): T | undefined => items[c.pick % Math.max(1, items.length)];

  switch (c.mutation) {
    case "valid":
      return json(base, stored);
    case "valid-cloudevent":
      return json(toCloudEvent(base), stored);
    case "valid-poisoned-keys":
      return json(poison(base), stored);
    case "valid-deep-nesting":
      return json({ ...base, data: { ...data, extension: deeplyNested(10_000) } }, stored);
    case "valid-100k-text": {
      // Free text with no constraints: stored whole, split across properties.
      const free = pick(targets.filter((l) => l.schema["type"] === "string" && !l.schema["format"] && !l.schema["pattern"] && !l.schema["minLength"]));
      if (!free) return json(base, stored);
      setAt(data, free.path, "x".repeat(100_000));
      return json(base, stored);
    }
    case "missing-field": {
      const target = pick(targets.filter((l) => l.required));
      if (!target) {
        delete base["eventTime"];
        return json(base, { kind: "quarantined", code: "InvalidEnvelope", path: "/eventTime" });
      }
      setAt(data, target.path, undefined);
      return json(base, { kind: "quarantined", code: "SchemaViolation", path: `/data${pointer(target.path)}` });
    }
    case "wrong-type": {
      const target = pick(targets);
      if (!target) {
        base["data"] = "not an object";
        return json(base, { kind: "quarantined", code: "InvalidEnvelope", path: "/data" });
      }
      setAt(data, target.path, wrongType(target.schema));
      return json(base, { kind: "quarantined", code: "SchemaViolation", path: `/data${pointer(target.path)}` });
    }
    case "empty-string": {
      const target = pick(targets.filter((l) => l.schema["type"] === "string" && (l.schema["minLength"] !== undefined || l.schema["format"] !== undefined)));
      if (!target) {
        base["id"] = "";
        return json(base, { kind: "quarantined", code: "InvalidEnvelope", path: "/id" }, own, null);
      }
      setAt(data, target.path, "");
      return json(base, { kind: "quarantined", code: "SchemaViolation", path: `/data${pointer(target.path)}` });
    }
    case "not-a-date": {
      const target = pick(targets.filter((l) => l.schema["format"] === "acs-timestamp"));
      if (!target) {
        base["eventTime"] = "last Tuesday";
        return json(base, { kind: "quarantined", code: "InvalidEnvelope", path: "/eventTime" });
      }
      setAt(data, target.path, ["2021-02-30T00:00:00Z", "20210220", "tomorrow", "2021-02-20 noon"][c.pick % 4] as string);
      return json(base, { kind: "quarantined", code: "SchemaViolation", path: `/data${pointer(target.path)}` });
    }
    case "array-for-object": {
      const target = pick(targets.filter((l) => l.schema["type"] === "object"));
      if (!target) {
        base["data"] = [data];
        return json(base, { kind: "quarantined", code: "InvalidEnvelope", path: "/data" });
      }
      setAt(data, target.path, [structuredClone(target.path.reduce<any>((o, p) => o[p], data))]);
      return json(base, { kind: "quarantined", code: "SchemaViolation", path: `/data${pointer(target.path)}` });
    }
    case "megabyte-string": {
      // Wherever it goes, the raw event alone is over 1 MiB as UTF-16: no Table entity can hold it.
      const target = pick(targets.filter((l) => l.schema["type"] === "string"));
      if (target) setAt(data, target.path, "m".repeat(1024 * 1024));
      else data["padding"] = "m".repeat(1024 * 1024);
      return json(base, { kind: "tooLarge" });
    }
    case "mixed-envelope":
      return json({ ...toCloudEvent(base), eventType: base["eventType"] as Json }, { kind: "quarantined", code: "InvalidEnvelope", path: "/eventType" });
    case "misrouted": {
      const other = c.otherFamily === family ? FAMILIES[(FAMILIES.indexOf(family) + 1) % FAMILIES.length] : c.otherFamily;
      return json(base, { kind: "quarantined", code: "WrongFunction" }, functionNameOf(other as Family));
    }
    case "not-json":
      return { n, mutation: c.mutation, functionName: own, body: { string: `not json #${n}: <${c.junk}>` }, expected: { kind: "quarantined", code: "InvalidEnvelope", path: "" }, eventId: undefined, secrets: [] };
    case "json-not-an-object": {
      const values: Json[] = [n, `just a string ${n}`, [n, c.junk], n + 0.5];
      return json(values[c.pick % values.length] as Json, { kind: "quarantined", code: "InvalidEnvelope", path: "" }, own, null);
    }
  }
}
