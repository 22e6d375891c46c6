import { createHash } from "node:crypto";

/**
 * Table keys built from event values. The service forbids `/ \ # ?` and control characters in keys
 * and caps a key at 1 KiB (512 UTF-16 units); Azurite enforces less, so the rules live here.
 *
 * Escaping is percent-style and reversible: each forbidden character, `%` itself, the part separator
 * `|`, `~` (the hash marker below) and lone surrogates become `%XX` or `%uXXXX`.
 * A part whose escaped form is longer than {@link MAX_KEY_PART} keeps a readable prefix and ends in
 * `~` + 40 hex digits of the SHA-256 of the escaped value, so distinct values never share a key.
 */
export const KEY_SEPARATOR = "|";
export const MAX_KEY_PART = 160;
const HASH_HEX = 40;

const NEEDS_ESCAPE =
  /[%|~/\\#?\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `%${code.toString(16).toUpperCase().padStart(2, "0")}` : `%u${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

export function escapeKeyPart(value: string): string {
  if (value.length <= MAX_KEY_PART && isPlain(value)) return value; // most parts: nothing to escape or shorten
  const escaped = value.replace(NEEDS_ESCAPE, escapeChar);
  if (escaped.length <= MAX_KEY_PART) return escaped;
  let cut = MAX_KEY_PART - HASH_HEX - 1;
  // Do not cut an escape sequence or a surrogate pair in half.
  const lastPercent = escaped.lastIndexOf("%", cut);
  if (lastPercent >= 0 && lastPercent > cut - 6) cut = lastPercent;
  const code = escaped.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${escaped.slice(0, cut)}~${sha256Hex(escaped).slice(0, HASH_HEX)}`;
}

/** True when no character of `value` could need escaping (any surrogate sends it the long way). */
function isPlain(value: string): boolean {
  return !MAY_NEED_ESCAPE.test(value);
}

const MAY_NEED_ESCAPE = /[%|~/\\#?\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

/** Reverses {@link escapeKeyPart} for parts that were not shortened (those end in `~hash`). */
export function unescapeKeyPart(part: string): string {
  return part.replace(/%u([0-9A-F]{4})|%([0-9A-F]{2})/g, (_m, u: string | undefined, b: string | undefined) =>
    String.fromCharCode(parseInt((u ?? b) as string, 16)),
  );
}

export function isShortenedKeyPart(part: string): boolean {
  return new RegExp(`~[0-9a-f]{${HASH_HEX}}$`).test(part);
}

/** Joins escaped parts with `|`. Parts made by the ledger itself (time keys) pass through unchanged. */
export function buildKey(parts: readonly string[]): string {
  let key = "";
  for (let i = 0; i < parts.length; i++) key += (i === 0 ? "" : KEY_SEPARATOR) + escapeKeyPart(parts[i] as string);
  return key;
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}
