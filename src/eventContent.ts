import { sha256Hex } from "./ledger/keys";
import { toJsonText } from "./jsonText";
import { parseTimestamp } from "./time";

/*
 * An event's content as values, for telling a redelivery from an identity conflict (same source, id
 * and type, other content). The Functions host re-prints each event before the handler sees it
 * (../shared/FACTS.md): date-time strings lose trailing fraction zeros and have their offsets
 * converted, non-integer numbers become doubles. So the same event is one text when a function stores
 * it and another when a dead-letter blob is replayed. Compared here: numbers as the doubles JSON
 * parsing gives (1.50 = 1.5, 1e2 = 100.0), date-time strings as the instants they name, objects
 * with their keys in order, and without the fields Event Grid adds when it dead-letters an event.
 * Only ever computed when a fact row's create answers 409, so an ordinary event pays nothing.
 */

/** What Event Grid adds to a dead-lettered event (CloudEvents dead letters spell them in lower case). */
export const DEAD_LETTER_FIELDS = ["deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "lastHttpStatusCode", "publishTime", "lastDeliveryAttemptTime"] as const;
const NOT_CONTENT = new Set<string>(DEAD_LETTER_FIELDS.flatMap((name) => [name, name.toLowerCase()]));

/**
 * The strings Newtonsoft reads as dates (its DateTimeParser): `yyyy-MM-ddTHH:mm:ss`, a fraction, a zone.
 * (It rounds fractions past 7 digits; ACS sends at most 7, and longer ones are compared as text.)
 */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?)(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** A hash of the event's content as values (hex SHA-256). */
export function contentHash(event: unknown): string {
  let canonical: string;
  try {
    canonical = canonicalText(event, true);
  } catch (error) {
    // Nesting deeper than the stack (thousands of levels, hostile input): its text is compared instead.
    if (!(error instanceof RangeError)) throw error;
    canonical = toJsonText(event);
  }
  return sha256Hex(canonical);
}

/** Whether two raw events (as JSON text, e.g. two rows' `rawEvent`) are one event's content. */
export function sameContent(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return contentHash(JSON.parse(a)) === contentHash(JSON.parse(b));
  } catch (error) {
    if (error instanceof SyntaxError) return false; // a row whose rawEvent is not JSON holds no event of ours
    throw error;
  }
}

function canonicalText(value: unknown, top: boolean): string {
  if (typeof value === "string") return JSON.stringify(canonicalString(value));
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => canonicalText(item, false)).join(",")}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object)
    .filter((key) => object[key] !== undefined && !(top && NOT_CONTENT.has(key)))
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalText(object[key], false)}`).join(",")}}`;
}

/** A date-time string as its instant (7 fraction digits, UTC), or without a zone as its local time. */
function canonicalString(text: string): string {
  const match = DATE_TIME.exec(text);
  if (!match) return text;
  const [, local = "", zone] = match;
  const offset = zone === undefined ? "Z" : zone.length === 3 ? `${zone}:00` : zone;
  const instant = parseTimestamp(`${local}${offset}`);
  if (!instant) return text; // not a real date (Feb 30th): Newtonsoft leaves it a string too
  return zone === undefined ? instant.iso.slice(0, -1) : instant.iso;
}
