import { createHash } from "node:crypto";
import type { TSchema } from "@sinclair/typebox";

// Which data property paths an event type's schema names, derived from the JSON Schema itself (so it
// follows every schema change with nothing to maintain), and which paths of one event's data it does
// not name: the drift watch (src/ledger/drift.ts) records those.
//
// Paths are JSON Pointers into `data` (`/startedBy/role`), with `*` for "every element of an array"
// (`/participants/*/displayName`). What a schema leaves free is named as a whole: a map with free keys
// (`Type.Record`, `patternProperties`, `additionalProperties: <schema>`) or a value of any shape
// (`Type.Unknown()`), so a chat message's metadata keys are never paths. An object schema names its
// `properties` and nothing else; `anyOf`/`oneOf`/`allOf` name what any of their branches names.

interface PathNode {
  /** Everything below is named: free keys or any shape. */
  readonly free: boolean;
  readonly properties: ReadonlyMap<string, PathNode>;
  /** What the elements of an array are. */
  readonly items: PathNode | undefined;
}

const FREE: PathNode = { free: true, properties: new Map(), items: undefined };

/** The keywords that say what a value's shape is; a schema with none of them allows any value. */
const SHAPE_KEYWORDS = ["type", "properties", "items", "prefixItems", "anyOf", "oneOf", "allOf", "const", "enum", "not", "$ref", "patternProperties", "additionalProperties"];

function isSchema(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The path tree of a schema, built once per event type. */
export function namedPathsOf(schema: TSchema): PathNode {
  return nodeOf(schema as unknown);
}

function nodeOf(schema: unknown): PathNode {
  if (schema === true || (isSchema(schema) && !SHAPE_KEYWORDS.some((k) => Object.hasOwn(schema, k)))) return FREE;
  if (!isSchema(schema)) return { free: false, properties: new Map(), items: undefined };
  // A reference could only be resolved against schemas this module does not see: named as a whole.
  if (typeof schema["$ref"] === "string") return FREE;
  const parts: PathNode[] = [];
  const free = isSchema(schema["patternProperties"]) || isSchema(schema["additionalProperties"]) || schema["additionalProperties"] === true;
  const properties = new Map<string, PathNode>();
  if (isSchema(schema["properties"])) for (const [key, sub] of Object.entries(schema["properties"])) properties.set(key, nodeOf(sub));
  // `items` is one schema, or (draft 7 tuples) a list of them; `prefixItems` is the 2020-12 tuple.
  const itemSchemas: unknown[] = [schema["items"], schema["prefixItems"]].flatMap((s) => (Array.isArray(s) ? s : s === undefined ? [] : [s]));
  const items = itemSchemas.map(nodeOf);
  parts.push({ free, properties, items: items.length === 0 ? undefined : items.reduce(merge) });
  for (const keyword of ["anyOf", "oneOf", "allOf"]) {
    const branches = schema[keyword];
    if (Array.isArray(branches)) parts.push(...branches.map(nodeOf));
  }
  return parts.reduce(merge);
}

function merge(a: PathNode, b: PathNode): PathNode {
  if (a.free || b.free) return FREE;
  const properties = new Map(a.properties);
  for (const [key, node] of b.properties) {
    const mine = properties.get(key);
    properties.set(key, mine ? merge(mine, node) : node);
  }
  const items = a.items && b.items ? merge(a.items, b.items) : (a.items ?? b.items);
  return { free: false, properties, items };
}

/** At most this many unnamed paths are reported per event: hostile data cannot make it more work. */
export const MAX_UNNAMED_PER_EVENT = 16;
/** A key longer than this is shortened in its path, with a hash so that distinct keys stay distinct. */
const MAX_SEGMENT = 64;

/**
 * The paths in `data` that `node` does not name, shallowest first per branch: an unnamed key is reported
 * and what lies below it is not walked (it is all new). The walk only follows what the schema names, so
 * its depth is the schema's, whatever the data's.
 */
export function unnamedPaths(node: PathNode, data: unknown): string[] {
  const found: string[] = [];
  walk(node, data, [], found);
  return found;
}

/** `parents` holds the raw keys (and `*`) above `value`: a path string is built only for what is reported. */
function walk(node: PathNode, value: unknown, parents: Parent[], found: string[]): void {
  if (node.free || typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    if (!node.items) return;
    parents.push(ARRAY_ELEMENT);
    for (const element of value) {
      walk(node.items, element, parents, found);
      if (found.length >= MAX_UNNAMED_PER_EVENT) break;
    }
    parents.pop();
    return;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const child = node.properties.get(key);
    if (child) {
      const v = (value as Record<string, unknown>)[key];
      if (child.free || typeof v !== "object" || v === null) continue; // most values: nothing below to check
      parents.push(key);
      walk(child, v, parents, found);
      parents.pop();
    } else {
      const path = pathOf(parents, key);
      if (!found.includes(path)) found.push(path); // the same key under two array elements
    }
    if (found.length >= MAX_UNNAMED_PER_EVENT) return;
  }
}

/** Marks "every element" among the parents (a `*` in a path is an array: no schema names a key `*`). */
const ARRAY_ELEMENT: unique symbol = Symbol("*");
type Parent = string | typeof ARRAY_ELEMENT;

function pathOf(parents: readonly Parent[], key: string): string {
  let path = "";
  for (const p of parents) path += p === ARRAY_ELEMENT ? "/*" : `/${segment(p)}`;
  return `${path}/${segment(key)}`;
}

/** A key as a JSON Pointer segment (`~` → `~0`, `/` → `~1`), shortened when very long. */
function segment(key: string): string {
  const escaped = key.includes("~") || key.includes("/") ? key.replace(/~/g, "~0").replace(/\//g, "~1") : key;
  if (escaped.length <= MAX_SEGMENT) return escaped;
  return `${escaped.slice(0, MAX_SEGMENT - 13)}…${createHash("sha256").update(escaped).digest("hex").slice(0, 12)}`;
}

const trees = new WeakMap<TSchema, PathNode>();

/** {@link unnamedPaths} of an event's data under its type's data schema; the tree is built once per schema. */
export function unnamedDataPaths(spec: { readonly data: TSchema }, data: unknown): string[] {
  let tree = trees.get(spec.data);
  if (!tree) trees.set(spec.data, (tree = namedPathsOf(spec.data)));
  return unnamedPaths(tree, data);
}
