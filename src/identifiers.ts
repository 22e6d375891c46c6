import { createIdentifierFromRawId, getIdentifierRawId, type CommunicationIdentifierKind } from "@azure/communication-common";

/** An identifier as the ledger stores it: one canonical raw id, and its kind. */
export interface NormalizedIdentifier {
  readonly rawId: string;
  readonly kind: CommunicationIdentifierKind["kind"];
}

const PHONE_SEPARATORS = /[\s\-().]/g;
const DIGITS = /^\+?[0-9]+$/;

/**
 * A phone number in one canonical form: separators removed and a leading `+`, so that `15555555555`,
 * `+15555555555` and `1-555-555-5555` are one number (one partition). Values that are not numbers
 * (alphanumeric sender ids) are returned as they came.
 */
export function normalizePhoneNumber(value: string): string {
  const compact = value.replace(PHONE_SEPARATORS, "");
  if (!DIGITS.test(compact)) return value;
  return compact.startsWith("+") ? compact : `+${compact}`;
}

const normalized = new Map<string, NormalizedIdentifier>();
const MAX_CACHED = 10_000;

/**
 * Parses a raw id with the ACS SDK and re-serializes it, canonicalizing phone numbers on the way.
 * The same users and numbers recur in event after event, so results are cached (bounded).
 */
export function normalizeRawId(rawId: string): NormalizedIdentifier {
  let result = normalized.get(rawId);
  if (!result) {
    if (normalized.size >= MAX_CACHED) normalized.clear();
    result = parseRawId(rawId);
    normalized.set(rawId, result);
  }
  return result;
}

function parseRawId(rawId: string): NormalizedIdentifier {
  const parsed = createIdentifierFromRawId(rawId);
  if (parsed.kind === "phoneNumber") {
    const phoneNumber = normalizePhoneNumber(parsed.phoneNumber);
    return { kind: parsed.kind, rawId: getIdentifierRawId({ phoneNumber }) };
  }
  return { kind: parsed.kind, rawId: getIdentifierRawId(parsed) };
}

/** Row properties for an identifier, named `<name>RawId` and `<name>Kind`. */
export function identifierProps(name: string, identifier: { readonly rawId: string } | undefined): Record<string, string | undefined> {
  if (!identifier) return {};
  const normalized = normalizeRawId(identifier.rawId);
  return { [`${name}RawId`]: normalized.rawId, [`${name}Kind`]: normalized.kind };
}
