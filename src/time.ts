/**
 * Timestamps as ACS producers really send them: 0–9 fraction digits, `Z` or `±hh:mm`, and (in the
 * preview docs) unpadded months and days such as `2020-4-20T17:02:19Z`. Everything is normalized to
 * one fixed-width UTC form with 7 fraction digits (.NET ticks), so that keys sort in time order
 * whatever precision and offset an event arrived with.
 */
const TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})$/;

export interface Instant {
  /** Milliseconds since the epoch, whole milliseconds only. */
  readonly epochMs: number;
  /** `YYYY-MM-DDTHH:mm:ss.fffffffZ`: fixed width, so it sorts as text. */
  readonly iso: string;
}

/**
 * Parses a timestamp; `undefined` when it is not one (or names an impossible date).
 * Parsing is pure, and one event names the same timestamp several times (validation, envelope,
 * normalizer), so recent results are remembered; an {@link Instant} is immutable.
 */
export function parseTimestamp(text: string): Instant | undefined {
  if (text.length > MAX_TIMESTAMP_LENGTH) return undefined; // and is not kept in the cache
  const slot = slotOf(text);
  if (recentTexts[slot] === text) return recentInstants[slot] ?? undefined;
  const parsed = parseUncached(text);
  recentTexts[slot] = text;
  recentInstants[slot] = parsed ?? null;
  return parsed;
}

/** The longest text {@link TIMESTAMP} matches: `YYYY-MM-DDThh:mm:ss.fffffffff+hh:mm`. */
const MAX_TIMESTAMP_LENGTH = 35;

/** A small direct-mapped cache: a slot from a few characters that differ between nearby timestamps. */
const SLOTS = 64;
const recentTexts: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
const recentInstants: (Instant | null)[] = new Array<Instant | null>(SLOTS).fill(null);

function slotOf(text: string): number {
  const n = text.length;
  if (n < 20) return n & (SLOTS - 1);
  return (text.charCodeAt(18) * 7 + text.charCodeAt(n - 2) * 5 + text.charCodeAt(n - 4) * 3 + text.charCodeAt(15) + n) & (SLOTS - 1);
}

function parseUncached(text: string): Instant | undefined {
  const canonical = canonicalFields(text);
  const fields = canonical === undefined ? regexFields(text) : canonical;
  if (!fields) return undefined;
  const { year, month, day, hour, minute, second, offsetMinutes, ticks } = fields;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.UTC reads years 0–99 as 1900–1999; so does this (a timestamp's behaviour must not change).
  const utcYear = year <= 99 ? 1900 + year : year;
  if (day > daysInMonth(utcYear, month)) return undefined;
  const wholeSecondsMs = daysFromCivil(utcYear, month, day) * DAY_MS + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000;
  const epochMs = wholeSecondsMs + Math.floor(Number(ticks) / 10_000);
  if (offsetMinutes === 0 && year >= 100 && fields.canonical) {
    // Already UTC and four digits: the text's own date and time are the key's.
    return Object.freeze({ epochMs, iso: `${text.slice(0, 10)}T${text.slice(11, 19)}.${ticks}Z` });
  }
  const days = Math.floor(wholeSecondsMs / DAY_MS);
  const date = civilFromDays(days);
  // Keys are fixed width only for four-digit years.
  if (date.year < 1 || date.year > 9999) return undefined;
  const secondOfDay = (wholeSecondsMs - days * DAY_MS) / 1000;
  const iso =
    `${String(date.year).padStart(4, "0")}-${TWO[date.month]}-${TWO[date.day]}T` +
    `${TWO[Math.floor(secondOfDay / 3600)]}:${TWO[Math.floor(secondOfDay / 60) % 60]}:${TWO[secondOfDay % 60]}.${ticks}Z`;
  return Object.freeze({ epochMs, iso });
}

interface Fields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly offsetMinutes: number;
  /** Seven fraction digits (.NET ticks). */
  readonly ticks: string;
  /** `YYYY-MM-DD?hh:mm:ss` at the start of the text. */
  readonly canonical: boolean;
}

function regexFields(text: string): Fields | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const zone = m[8] ?? "Z";
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.replace(":", "");
    const oh = Number(digits.slice(1, 3)), om = Number(digits.slice(3, 5));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const ticks = ((m[7] ?? "") + "0000000").slice(0, 7);
  return {
    year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6] ?? "0"),
    offsetMinutes, ticks, canonical: false,
  };
}

/**
 * The shape nearly every timestamp has, `YYYY-MM-DDThh:mm:ss[.f…](Z|±hh:mm|±hhmm)`, read without a
 * regex: `null` when it has that shape but is no timestamp, `undefined` for any other shape, which
 * {@link TIMESTAMP} decides. Where both read a text, they read the same fields.
 */
function canonicalFields(text: string): Fields | null | undefined {
  const n = text.length;
  if (n < 20 || n > MAX_TIMESTAMP_LENGTH) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined; // - - : :
  const t = text.charCodeAt(10);
  if (t !== 84 && t !== 116 && t !== 32) return undefined; // T t space
  const century = twoDigits(text, 0), years = twoDigits(text, 2), month = twoDigits(text, 5), day = twoDigits(text, 8);
  const hour = twoDigits(text, 11), minute = twoDigits(text, 14), second = twoDigits(text, 17);
  if (century < 0 || years < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let i = 19;
  let ticks = "0000000";
  if (text.charCodeAt(i) === 46) { // .
    const from = ++i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    const digits = i - from;
    if (digits < 1 || digits > 9) return undefined;
    ticks = digits >= 7 ? text.slice(from, from + 7) : text.slice(from, i) + ZEROS[7 - digits];
  }
  const zone = text.charCodeAt(i);
  let offsetMinutes = 0;
  if (zone === 90 || zone === 122) { // Z z
    if (i !== n - 1) return undefined;
  } else if (zone === 43 || zone === 45) { // + -
    const oh = twoDigits(text, i + 1);
    let j = i + 3;
    if (text.charCodeAt(j) === 58) j++;
    const om = twoDigits(text, j);
    if (oh < 0 || om < 0 || j + 2 !== n) return undefined;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone === 45 ? -1 : 1) * (oh * 60 + om);
  } else return undefined;
  return { year: century * 100 + years, month, day, hour, minute, second, offsetMinutes, ticks, canonical: true };
}

const ZEROS = ["", "0", "00", "000", "0000", "00000", "000000", "0000000"];

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The number of the two ASCII digits at `at`, or -1. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at), b = text.charCodeAt(at + 1);
  return isDigit(a) && isDigit(b) ? (a - 48) * 10 + (b - 48) : -1;
}

const DAY_MS = 86_400_000;
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The inverse of {@link daysFromCivil}. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day: doy - Math.floor((153 * mp + 2) / 5) + 1 };
}

/** Seconds since the epoch (as the preview chat event's `composedAt`). */
export function fromEpochSeconds(seconds: number): Instant | undefined {
  const ms = seconds * 1000;
  if (!Number.isFinite(ms)) return undefined;
  const whole = Math.floor(ms / 1000) * 1000;
  const ticks = String(Math.round((ms - whole) * 10_000)).padStart(7, "0");
  return fromParts(whole, ticks);
}

function fromParts(wholeSecondsMs: number, ticks: string): Instant | undefined {
  const date = new Date(wholeSecondsMs);
  const year = date.getUTCFullYear();
  // Keys are fixed width only for four-digit years.
  if (Number.isNaN(wholeSecondsMs) || year < 1 || year > 9999) return undefined;
  const iso = `${date.toISOString().slice(0, 19)}.${ticks}Z`;
  return { epochMs: wholeSecondsMs + Math.floor(Number(ticks) / 10_000), iso };
}

/**
 * Any ISO 8601 time a person types (0–9 fraction digits, `Z` or an offset), or a date alone (its
 * midnight UTC), as an {@link Instant}. Throws a RangeError that names the text when it is neither.
 */
export function instantOf(text: string): Instant {
  const instant = parseTimestamp(text) ?? (/^\d{4}-\d{1,2}-\d{1,2}$/.test(text) ? parseTimestamp(`${text}T00:00:00Z`) : undefined);
  if (!instant) throw new RangeError(`not an ISO 8601 time such as 2026-01-05T07:00:00Z or a date such as 2026-01-05: "${text}"`);
  return instant;
}

/**
 * The key form of a time, as row keys hold it: `timeKey("2026-01-05T08:00:00.5+01:00")` is
 * `"2026-01-05T07:00:00.5000000Z"`. Range queries on time-first row keys (QuarantinedEvents,
 * ChatThreadEvents, CallEvents, …) need this form: a time with other digits or an offset compares
 * as text, and matches the wrong rows or none.
 */
export function timeKey(text: string): string {
  return ascendingTimeKey(instantOf(text));
}

/** The time part of the row key of an event without a (valid) time: such rows are in no time range. */
export const NO_TIME_KEY = "(no time)";

/** Ascending key part: the fixed-width ISO form. */
export function ascendingTimeKey(instant: Instant): string {
  return instant.iso;
}

/**
 * Descending key part ("newest first"): the nines' complement of the 21 digits of the fixed-width
 * form. `descendingTimeKey(a) < descendingTimeKey(b)` exactly when a is later than b. From an ISO
 * text: `descendingTimeKey(instantOf("2026-01-05T07:00:00Z"))`.
 */
export function descendingTimeKey(instant: Instant): string {
  const iso = instant.iso;
  let out = "";
  for (let i = 0; i < iso.length; i++) {
    const code = iso.charCodeAt(i);
    if (code >= 48 && code <= 57) out += NINES[code - 48];
  }
  return out;
}

const NINES = ["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"];
