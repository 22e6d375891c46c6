import { decodeProperties } from "../ledger/entity";
import { unescapeKeyPart } from "../ledger/keys";

/**
 * A stored row as a reader thinks of it: keys unescaped, split strings joined, JSON-valued properties
 * parsed, the merge bookkeeping (`v_<facet>` versions) and storage metadata left out, and the raw
 * event only when asked for.
 */

/**
 * The properties the normalizers store as JSON text (`json()` in src/catalog/rows.ts) and the quarantine's
 * `errors`. Named, never guessed: a message body that happens to look like JSON stays text.
 * test/unit/read-items.test.ts fails when a normalizer starts storing JSON under another name.
 */
export const JSON_PROPERTIES: ReadonlySet<string> = new Set([
  "deliveryAttempts",
  "recordingChunks",
  "metadata",
  "participantMetadata",
  "threadMetadata",
  "properties",
  "participants",
  "retentionPolicy",
  "sipHeaders",
  "voipHeaders",
  "errors",
]);
const METADATA = new Set(["etag", "timestamp", "odata.metadata", "odata.etag"]);

export type Item = Record<string, unknown>;

export function toItem(entity: Readonly<Record<string, unknown>>, options: { raw: boolean }): Item {
  const stored: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entity)) {
    if (!METADATA.has(name) && !name.startsWith("v_")) stored[name] = value;
  }
  const item = decodeProperties(stored);
  if (typeof item["partitionKey"] === "string") item["partitionKey"] = unescapeKeyPart(item["partitionKey"]);
  if (typeof item["rowKey"] === "string") item["rowKey"] = unescapeKeyPart(item["rowKey"]);
  for (const name of JSON_PROPERTIES) if (typeof item[name] === "string") item[name] = parsedOrText(item[name]);
  if (options.raw && typeof item["rawEvent"] === "string") item["rawEvent"] = parsedOrText(item["rawEvent"]);
  else delete item["rawEvent"];
  return item;
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // written by an older build, or cut by hand: show what is there
  }
}
