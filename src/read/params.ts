import { normalizePhoneNumber, normalizeRawId } from "../identifiers";
import { parseTimestamp, type Instant } from "../time";
import { BadRequest, quoted } from "./errors";

/** What every list takes: a page size, where the last page ended, and a time range. */
export interface ListParams {
  readonly limit: number;
  readonly continuationToken: string | undefined;
  readonly from: Instant | undefined;
  readonly to: Instant | undefined;
  /** Include each row's raw event (parsed). */
  readonly raw: boolean;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** The caller's parameters by name; absent ones are `undefined` (an HTTP query or CLI flags alike). */
export type RawParams = (name: string) => string | undefined;

export function listParams(get: RawParams, options: { timeOrdered: boolean }): ListParams {
  const from = instantParam("from", get("from"));
  const to = instantParam("to", get("to"));
  if (!options.timeOrdered) {
    for (const [name, value] of [["from", from], ["to", to]] as const) {
      if (value) throw new BadRequest(name, `${name} does not apply here: these rows are not ordered by time`);
    }
  }
  if (from && to && from.iso > to.iso) throw new BadRequest("from", `from (${from.iso}) is after to (${to.iso})`);
  const token = get("continuationToken");
  return { limit: limitParam(get("limit")), continuationToken: token === undefined || token === "" ? undefined : token, from, to, raw: booleanParam("raw", get("raw")) };
}

function limitParam(text: string | undefined): number {
  if (text === undefined || text === "") return DEFAULT_LIMIT;
  const value = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_LIMIT)) throw new BadRequest("limit", `limit must be a whole number from 1 to ${MAX_LIMIT}: got ${quoted(text)}`);
  return value;
}

/** ISO 8601 with a time (any precision, `Z` or an offset), or a date alone (midnight UTC). */
export function instantParam(name: string, text: string | undefined): Instant | undefined {
  if (text === undefined || text === "") return undefined;
  const instant = parseTimestamp(text) ?? (/^\d{4}-\d{2}-\d{2}$/.test(text) ? parseTimestamp(`${text}T00:00:00Z`) : undefined);
  if (!instant) throw new BadRequest(name, `${name} must be an ISO 8601 time such as 2025-07-08T16:00:00Z, or a date such as 2025-07-08: got ${quoted(text)}`);
  return instant;
}

function booleanParam(name: string, text: string | undefined): boolean {
  if (text === undefined || text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new BadRequest(name, `${name} must be true or false: got ${quoted(text)}`);
}

const E164_DIGITS = /^\+?[0-9]{7,15}$/;
/** Alphanumeric sender ids (1–11 letters, digits and spaces, with a letter) are SMS parties too. */
const SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;

/** A number as the ledger files it (E.164, `+` added), or an alphanumeric sender id as it is. */
export function phoneNumberParam(text: string): string {
  const number = normalizePhoneNumber(text.trim());
  if (E164_DIGITS.test(number) || SENDER_ID.test(text)) return number;
  throw new BadRequest("number", `number must be a phone number such as +14255550123 (with or without +): got ${quoted(text)}`);
}

/** A communication identifier's raw id, canonical as the ledger stores it (`8:acs:…`, `4:+1…`). */
export function rawIdParam(text: string): string {
  if (text.trim() === "") throw new BadRequest("rawId", "rawId must not be empty");
  return normalizeRawId(text.trim()).rawId;
}

export function idParam(name: string, text: string): string {
  if (text.trim() === "") throw new BadRequest(name, `${name} must not be empty`);
  return text;
}
