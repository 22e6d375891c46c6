import { TableLimitError } from "../errors";
import type { Properties } from "../catalog/spec";

/**
 * The real Table service's limits, enforced here because Azurite accepts more than the service does.
 * - A string property holds at most 64 KiB as UTF-16: 32 K code units. Longer text is split into
 *   chunks of {@link MAX_STRING_UNITS}: `name` holds the first, `name__2` … `name__N` the rest, and
 *   `name__parts` = N. {@link decodeProperties} joins them again. Nothing is truncated.
 * - An entity has at most 255 properties, counting PartitionKey, RowKey and Timestamp.
 * - An entity is at most 1 MiB, measured with the service's published size formula.
 */
export const MAX_STRING_UNITS = 32_000;
export const MAX_PROPERTIES = 255;
export const MAX_ENTITY_BYTES = 1024 * 1024;
const SYSTEM_PROPERTIES = 3; // PartitionKey, RowKey, Timestamp
const PARTS_SUFFIX = "__parts";

export type StoredValue = string | number | boolean;
export type StoredProperties = Record<string, StoredValue>;

/** Drops absent values and splits long strings. */
export function encodeProperties(props: Properties): StoredProperties {
  const out: StoredProperties = {};
  const names = Object.keys(props);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const value = props[name];
    if (value === null || value === undefined) continue;
    if (typeof value !== "string" || value.length <= MAX_STRING_UNITS) {
      out[name] = value;
      continue;
    }
    const chunks = splitText(value);
    chunks.forEach((chunk, i) => (out[i === 0 ? name : `${name}__${i + 1}`] = chunk));
    out[`${name}${PARTS_SUFFIX}`] = chunks.length;
  }
  return out;
}

/**
 * {@link encodeProperties} for a fresh object that the caller hands over: the object itself when
 * encoding would not change it (no absent value, no string to split), else its encoded copy.
 */
export function encodeOwnedProperties(props: Properties): StoredProperties {
  const names = Object.keys(props);
  for (let i = 0; i < names.length; i++) {
    const value = props[names[i] as string];
    if (value === null || value === undefined || (typeof value === "string" && value.length > MAX_STRING_UNITS)) return encodeProperties(props);
  }
  return props as StoredProperties;
}

/** Joins split strings; leaves every other property as stored. */
export function decodeProperties(stored: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(stored)) {
    if (!key.endsWith(PARTS_SUFFIX) || typeof value !== "number") continue;
    const name = key.slice(0, -PARTS_SUFFIX.length);
    let text = String(stored[name] ?? "");
    for (let i = 2; i <= value; i++) {
      text += String(stored[`${name}__${i}`] ?? "");
      delete out[`${name}__${i}`];
    }
    out[name] = text;
    delete out[key];
  }
  return out;
}

function splitText(text: string): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + MAX_STRING_UNITS, text.length);
    // Never split a surrogate pair across two properties.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

/** The service's formula: 4 + 2·len(keys) + Σ (8 + 2·len(name) + size of value). */
export function entitySize(partitionKey: string, rowKey: string, props: StoredProperties): number {
  let size = 4 + 2 * (partitionKey.length + rowKey.length);
  const names = Object.keys(props);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const value = props[name];
    size += 8 + 2 * name.length + (typeof value === "string" ? 4 + 2 * value.length : typeof value === "number" ? 8 : 1);
  }
  return size;
}

export function assertWithinLimits(table: string, partitionKey: string, rowKey: string, props: StoredProperties, eventLabel: string): void {
  const count = Object.keys(props).length + SYSTEM_PROPERTIES;
  if (count > MAX_PROPERTIES) {
    throw new TableLimitError(`${eventLabel}: the ${table} row would have ${count} properties; Table Storage allows ${MAX_PROPERTIES}`);
  }
  const size = entitySize(partitionKey, rowKey, props);
  if (size > MAX_ENTITY_BYTES) {
    throw new TableLimitError(`${eventLabel}: the ${table} row would be ${size} bytes; Table Storage allows ${MAX_ENTITY_BYTES} (1 MiB)`);
  }
}
