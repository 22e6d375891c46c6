import type { TableClient } from "@azure/data-tables";
import { sha256Hex } from "../ledger/keys";
import { BadRequest } from "./errors";

/**
 * One page of one query: exactly one storage request. The continuation token handed out is opaque:
 * the SDK's own token (the service's next keys) wrapped with a tag of the query it belongs to, so a
 * token from another number, thread or time range is refused instead of silently reading elsewhere.
 */
export interface PageQuery {
  /** An OData filter on PartitionKey (and a RowKey range). */
  readonly filter: string | undefined;
  /** Names the query (route and its parameters) that tokens are tied to. */
  readonly scope: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly continuationToken?: string;
}

type Entity = Record<string, unknown>;

export async function queryPage(client: TableClient, query: PageQuery, limit: number, continuationToken: string | undefined, timeoutMs: number): Promise<Page<Entity>> {
  const tag = scopeTag(query.scope);
  const sdkToken = continuationToken === undefined ? undefined : unwrap(continuationToken, tag);
  const pages = client
    .listEntities<Entity>({ queryOptions: query.filter === undefined ? {} : { filter: query.filter }, abortSignal: AbortSignal.timeout(timeoutMs) })
    .byPage({ maxPageSize: limit, ...(sdkToken === undefined ? {} : { continuationToken: sdkToken }) });
  const first = await pages.next(); // the pager requests lazily: one page is one request
  const page = first.done ? [] : first.value;
  const next = (page as { continuationToken?: string }).continuationToken;
  return next === undefined ? { items: [...page] } : { items: [...page], continuationToken: wrap(next, tag) };
}

function scopeTag(scope: string): string {
  return sha256Hex(scope).slice(0, 12);
}

function wrap(sdkToken: string, tag: string): string {
  return Buffer.from(JSON.stringify({ q: tag, n: sdkToken }), "utf8").toString("base64url");
}

function unwrap(token: string, tag: string): string {
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]{1,4096}$/.test(token) ? JSON.parse(Buffer.from(token, "base64url").toString("utf8")) : undefined;
  } catch {
    parsed = undefined;
  }
  const { q, n } = (parsed ?? {}) as { q?: unknown; n?: unknown };
  if (typeof q !== "string" || typeof n !== "string" || !isSdkToken(n)) {
    throw new BadRequest("continuationToken", "continuationToken is not one this API gave out: pass back the continuationToken of the previous answer unchanged");
  }
  if (q !== tag) throw new BadRequest("continuationToken", "continuationToken belongs to another query: use it with the same route and parameters as the answer that gave it");
  return n;
}

/** The SDK's token is base64 JSON `{ nextPartitionKey, nextRowKey? }`; anything else would make it throw. */
function isSdkToken(text: string): boolean {
  try {
    const value = JSON.parse(Buffer.from(text, "base64").toString("utf8")) as Record<string, unknown>;
    return typeof value["nextPartitionKey"] === "string" && (value["nextRowKey"] === undefined || typeof value["nextRowKey"] === "string");
  } catch {
    return false;
  }
}
