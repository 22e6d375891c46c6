import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { settingsFromEnv } from "../config";
import { LedgerTables } from "../ledger/tables";
import { isRestError, statusOf } from "../ledger/storageErrors";
import { BadRequest, NotFound } from "./errors";
import * as queries from "./queries";
import { viewerPage } from "./viewerPage";

/**
 * The read API's routes (under the host's `api/` prefix) and the one handler shape they share:
 * parameters in, JSON out; a 400 that names the parameter, a 404 that names the entity, and for
 * anything else a 500 or 503 that says nothing about storage (the log gets the error's name and status).
 */
export interface ReadRequest {
  /** A route parameter, as the host decoded it. */
  param(name: string): string;
  /** A query parameter; `undefined` when absent. */
  query(name: string): string | undefined;
  /** The parsed JSON body (`undefined` when empty). */
  json(): Promise<unknown>;
}

export interface ReadRoute {
  /** The function's name. */
  readonly name: string;
  readonly route: string;
  readonly method: "GET" | "POST";
  readonly answer: (request: ReadRequest, tables: LedgerTables) => Promise<unknown>;
}

const get = (name: string, route: string, answer: ReadRoute["answer"]): ReadRoute => ({ name, route, method: "GET", answer });

export const READ_ROUTES: readonly ReadRoute[] = [
  get("ledgerSmsMessages", "ledger/sms/{number}/messages", (r, t) => queries.smsMessages(t, r.param("number"), r.query)),
  get("ledgerSmsDeliveryReports", "ledger/sms/messages/{messageId}/reports", (r, t) => queries.deliveryReports(t, r.param("messageId"), r.query)),
  get("ledgerChatThread", "ledger/chat/threads/{threadId}", (r, t) => queries.chatThread(t, r.param("threadId"), r.query)),
  get("ledgerChatMessages", "ledger/chat/threads/{threadId}/messages", (r, t) => queries.chatMessages(t, r.param("threadId"), r.query)),
  get("ledgerChatThreadEvents", "ledger/chat/threads/{threadId}/events", (r, t) => queries.chatThreadEvents(t, r.param("threadId"), r.query)),
  get("ledgerChatUserEvents", "ledger/chat/users/{rawId}/events", (r, t) => queries.chatUserEvents(t, r.param("rawId"), r.query)),
  get("ledgerCall", "ledger/calls/{serverCallId}", (r, t) => queries.call(t, r.param("serverCallId"), r.query)),
  get("ledgerUserDisconnects", "ledger/users/{rawId}/disconnects", (r, t) => queries.userDisconnects(t, r.param("rawId"), r.query)),
  get("ledgerQuarantine", "ledger/quarantine", (r, t) => queries.quarantined(t, r.query)),
  { name: "ledgerQuarantineReplay", route: "ledger/quarantine/replay", method: "POST", answer: async (r, t) => replayModule().replayQuarantine(t.settings, await r.json()) },
];

/** The viewer page (src/read/viewerPage.ts), calling the routes above with the key it was opened with. */
export const VIEWER_ROUTE = { name: "ledgerViewer", route: "ledger/viewer" } as const;

export async function viewerHandler(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const page = viewerPage();
    return { status: 200, headers: page.headers, body: page.html };
  } catch (error) {
    context.error(`${VIEWER_ROUTE.name} failed: ${error instanceof Error ? error.name : typeof error}`); // a build without the viewer's files
    return { status: 500, headers: JSON_HEADERS, jsonBody: { error: "the viewer is not part of this build" } };
  }
}

/** The replay (and the blob SDK behind it) is loaded on the first replay, not at every cold start. */
function replayModule(): typeof import("./replay") {
  return require("./replay") as typeof import("./replay");
}

let tables: LedgerTables | undefined;

/** One set of table clients per process, made on first use so that a settings error fails a request, not the host. */
function readTables(): LedgerTables {
  tables ??= new LedgerTables(settingsFromEnv());
  return tables;
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};

export function readHandler(route: ReadRoute) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const answer = await route.answer(readRequest(request), readTables());
      return { status: 200, headers: JSON_HEADERS, jsonBody: answer };
    } catch (error) {
      if (error instanceof BadRequest) return { status: 400, headers: JSON_HEADERS, jsonBody: { error: error.message, parameter: error.parameter } };
      if (error instanceof NotFound) return { status: 404, headers: JSON_HEADERS, jsonBody: { error: error.message } };
      const status = statusOf(error);
      context.error(`${route.name} failed: ${error instanceof Error ? error.name : typeof error}${status === undefined ? "" : ` (storage status ${status})`}`);
      return isUnavailable(error, status)
        ? { status: 503, headers: { ...JSON_HEADERS, "retry-after": "5" }, jsonBody: { error: "the ledger's storage did not answer; try again shortly" } }
        : { status: 500, headers: JSON_HEADERS, jsonBody: { error: "the ledger could not answer this request" } };
    }
  };
}

/** Storage that did not answer, timed out or was busy: worth trying again, unlike a bug. */
function isUnavailable(error: unknown, status: number | undefined): boolean {
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const name = error instanceof Error ? error.name : "";
  return isRestError(error) || name === "AbortError" || name === "TimeoutError";
}

function readRequest(request: HttpRequest): ReadRequest {
  return {
    // ASP.NET Core routing leaves an encoded slash (%2F) encoded in a route value; ids such as
    // server call ids (base64) can hold one, so it is decoded here.
    param: (name) => (request.params[name] ?? "").replace(/%2F/gi, "/"),
    query: (name) => request.query.get(name) ?? undefined,
    json: async () => {
      const text = await request.text();
      if (text.trim() === "") return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new BadRequest("body", "body is not JSON: send a JSON object, or nothing");
      }
    },
  };
}
