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

/** Parses a timestamp; `undefined` when it is not one (or names an impossible date). */
export function parseTimestamp(text: string): Instant | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = "0", frac = "", zone = "Z"] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.replace(":", "");
    const oh = Number(digits.slice(1, 3)), om = Number(digits.slice(3, 5));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const wholeSecondsMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  const ticks = (frac + "0000000").slice(0, 7);
  return fromParts(wholeSecondsMs, ticks);
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

/** Ascending key part: the fixed-width ISO form. */
export function ascendingTimeKey(instant: Instant): string {
  return instant.iso;
}

/**
 * Descending key part ("newest first"): the nines' complement of the 21 digits of the fixed-width
 * form. `descendingTimeKey(a) < descendingTimeKey(b)` exactly when a is later than b.
 */
export function descendingTimeKey(instant: Instant): string {
  let out = "";
  for (const ch of instant.iso) if (ch >= "0" && ch <= "9") out += String(9 - Number(ch));
  return out;
}
