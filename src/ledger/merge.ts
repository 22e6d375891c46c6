import type { Properties, PropertyValue } from "../catalog/spec";
import type { PreparedState } from "./writer";

/*
 * The current-state merge. A row's value for each field is the one set by the newest event that
 * carried the field (a last-writer-wins register per field), where "newest" is the stamp
 * `version|eventId|identityTag`: the facet's version first, then the event's identity (source, id,
 * type), so that copies of one change, and two events that share an id and a version but differ in
 * type, are ordered the same way whatever order they arrive in. A field a facet does not carry
 * (`undefined`) leaves the stored value alone; `null` removes it. That makes the merge commutative,
 * associative and idempotent: any arrival order, with any redeliveries, ends in the same row.
 *
 * The row keeps, per field, the stamp that set it (`fieldVersions`: JSON, stamps → fields), including
 * fields removed by `null`, so that an older event arriving late neither overwrites a newer value nor
 * revives a removed one, yet still fills in a field that no newer event carried.
 */

export const FIELD_VERSIONS = "fieldVersions";

/**
 * Applies what `w` changes; `undefined` when nothing changes. `v_<facet>` is the newest stamp seen for
 * each facet, and the row's `eventId`/`eventType`/`eventSource` name the event with the newest stamp.
 */
export function mergeFacets(stored: Readonly<Record<string, unknown>>, w: PreparedState): Properties | undefined {
  const out: Record<string, unknown> = { ...stored };
  const newestStored = newestStamp(stored);
  const fields = readFieldVersions(stored);
  // A row written before fields had stamps of their own: its values are as new as its newest facet.
  const legacy = typeof stored[FIELD_VERSIONS] !== "string" && newestStored !== "";
  let changed = false;
  let newestApplied = "";
  for (const facet of w.facets) {
    const stamp = `${facet.version}|${w.identity}`;
    if (stamp > newestApplied) newestApplied = stamp;
    const versionKey = `v_${facet.name}`;
    const storedStamp = out[versionKey];
    if (typeof storedStamp !== "string" || storedStamp < stamp) {
      out[versionKey] = stamp;
      changed = true;
    }
    for (const key of Object.keys(facet.props)) {
      const value = facet.props[key];
      if (value === undefined) continue; // absent: unchanged
      const current = fields.get(key) ?? (legacy && Object.hasOwn(stored, key) ? newestStored : undefined);
      if (current !== undefined && (current > stamp || (current === stamp && compareValues(out[key] as PropertyValue, value) >= 0))) continue;
      if (value === null) delete out[key];
      else out[key] = value;
      fields.set(key, stamp);
      changed = true;
    }
  }
  if (!changed) return undefined;
  out[FIELD_VERSIONS] = writeFieldVersions(fields);
  const source = String(w.common["eventSource"] ?? "");
  if (newestApplied > newestStored || (newestApplied === newestStored && source > String(stored["eventSource"] ?? ""))) Object.assign(out, w.common);
  return out as Properties;
}

/** {@link mergeFacets} of several patches in order; `undefined` when none changes anything. */
export function mergeAll(stored: Readonly<Record<string, unknown>>, patches: readonly PreparedState[]): Properties | undefined {
  let merged: Properties | undefined;
  for (const w of patches) merged = mergeFacets(merged ?? stored, w) ?? merged;
  return merged;
}

function newestStamp(stored: Readonly<Record<string, unknown>>): string {
  let newest = "";
  for (const key of Object.keys(stored)) {
    const value = stored[key];
    if (key.startsWith("v_") && typeof value === "string" && value > newest) newest = value;
  }
  return newest;
}

function readFieldVersions(stored: Readonly<Record<string, unknown>>): Map<string, string> {
  const fields = new Map<string, string>();
  const text = stored[FIELD_VERSIONS];
  if (typeof text !== "string") return fields;
  const byStamp = JSON.parse(text) as Record<string, string[]>;
  for (const stamp of Object.keys(byStamp)) for (const key of byStamp[stamp] ?? []) fields.set(key, stamp);
  return fields;
}

/**
 * Stamps in order, each with its fields in order: the same text for the same state. Written piece by
 * piece (every state write pays for it), the same text as `JSON.stringify` of the object in that order.
 */
function writeFieldVersions(fields: ReadonlyMap<string, string>): string {
  const byStamp = new Map<string, string[]>();
  for (const [key, stamp] of fields) {
    const keys = byStamp.get(stamp);
    if (keys) keys.push(key);
    else byStamp.set(stamp, [key]);
  }
  const stamps = [...byStamp.keys()].sort();
  let text = "{";
  for (let i = 0; i < stamps.length; i++) {
    const stamp = stamps[i] as string;
    text += `${i === 0 ? "" : ","}${JSON.stringify(stamp)}:${JSON.stringify((byStamp.get(stamp) as string[]).sort())}`;
  }
  return `${text}}`;
}

const TYPE_RANK = { undefined: 0, object: 0, boolean: 1, number: 2, string: 3 } as Record<string, number>;

/**
 * A total order on property values (removed < booleans < numbers < strings), for the one case that
 * stamps cannot order: two events with the same stamp (the same source, id, type and version) that
 * set a field differently. The greater value wins, so the row still ends the same in every order.
 */
function compareValues(a: PropertyValue, b: PropertyValue): number {
  const ra = TYPE_RANK[typeof a] ?? 0;
  const rb = TYPE_RANK[typeof b] ?? 0;
  if (ra !== rb) return ra - rb;
  if (a === b || ra === 0) return 0;
  return (a as string | number | boolean) < (b as string | number | boolean) ? -1 : 1;
}
