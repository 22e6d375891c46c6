// `npm run demo -- --serve`: the app's HTTP functions and the local Event Grid webhook on loopback,
// through the dev host (what `func start` offers, without Core Tools). Routing and the webhook's
// rules follow the host and its Event Grid extension (HttpRequestProcessor and
// EventGridExtensionConfigProvider in azure-sdk-for-net).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpAnswer, LoadedFunctionApp } from "./functionsHost";
import { matchRoute } from "./httpRoutes";
import { UsageError } from "../cli/oneLine";

export const DEFAULT_PORT = 7071;
const HOST = "127.0.0.1";
/** The Functions host's default request body limit (100 MB). */
const MAX_BODY_BYTES = 100 * 1024 * 1024;
const WEBHOOK_PATH = "/runtime/webhooks/eventgrid";

export interface DevServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startDevServer(app: LoadedFunctionApp, port: number = DEFAULT_PORT): Promise<DevServer> {
  const server = http.createServer((req, res) => {
    handle(app, req)
      .then((answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === "EADDRINUSE" ? `port ${port} on ${HOST} is in use: pass --port N` : `cannot listen on ${HOST}:${port}: ${error.message}`)),
    );
    server.listen(port, HOST, resolve);
  });
  const url = `http://${HOST}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(status: number, body = "", headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: body === "" ? headers : { "content-type": "text/plain; charset=utf-8", ...headers }, body: Buffer.from(body, "utf8") };
}

async function handle(app: LoadedFunctionApp, req: http.IncomingMessage): Promise<HttpAnswer> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? HOST}`);
  const body = await readBody(req);
  if (body === undefined) return answer(413, "request body too large");
  if (url.pathname === WEBHOOK_PATH && req.method === "POST") return eventGridWebhook(app, url, req.headers, body);
  const match = matchRoute(app.functions.values(), req.method ?? "GET", url.pathname);
  if (!match) return answer(404);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  const outcome = await app.invokeHttp(match.functionName, { method: req.method ?? "GET", url: url.href, headers, params: match.params, body });
  // A failed invocation is a 500 with no detail, as the host answers.
  return outcome.status === "succeeded" && outcome.answer ? outcome.answer : answer(500);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The Event Grid extension's webhook: `functionName` must name an Event Grid function (else 404);
 * `aeg-event-type: SubscriptionValidation` answers the handshake, `Notification` delivers the body
 * (an array or one event), one invocation per event, all at once, 500 if any failed and 202 if none
 * did; `Unsubscribe` is accepted; anything else, or no header, is a 400.
 */
async function eventGridWebhook(app: LoadedFunctionApp, url: URL, headers: http.IncomingHttpHeaders, body: Buffer): Promise<HttpAnswer> {
  const name = url.searchParams.get("functionName") ?? "";
  const fn = app.functions.get(name);
  if (!fn || !Object.values(fn.bindings).some((b) => b.type === "eventGridTrigger")) return answer(404, `cannot find function: '${name}'`);
  const kind = String(headers["aeg-event-type"] ?? "").toLowerCase();
  if (kind === "unsubscribe") return answer(202);
  if (kind !== "subscriptionvalidation" && kind !== "notification") return answer(400);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return answer(400, "the request body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null) return answer(400, "the request content should be a JSON object or array");
  if (kind === "subscriptionvalidation") {
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as { data?: unknown } | undefined;
    // A CloudEvents handshake carries its data as JSON text.
    const data = typeof first?.data === "string" ? (JSON.parse(first.data) as unknown) : first?.data;
    const code = (data as { validationCode?: unknown } | undefined)?.validationCode;
    if (typeof code !== "string") return answer(400, "no data.validationCode in the SubscriptionValidation event");
    return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: Buffer.from(JSON.stringify({ validationResponse: code })) };
  }
  const events = Array.isArray(parsed) ? parsed : [parsed];
  const outcomes = await Promise.all(events.map((event: unknown) => app.invoke(name, event)));
  const failed = outcomes.find((o) => o.status === "failed");
  if (failed) return answer(500, failed.error instanceof Error ? failed.error.message : "the invocation failed");
  return answer(202);
}

/** `--serve [--port N]` out of the demo's arguments; the rest is left for the demo's own parser. */
export function serveArgs(argv: readonly string[]): { serve: { port: number } | undefined; rest: string[] } {
  const rest: string[] = [];
  let serve = false;
  let port = DEFAULT_PORT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = arg.startsWith("--port=") ? arg.slice("--port=".length) : arg === "--port" ? argv[++i] : undefined;
    if (arg === "--serve") serve = true;
    else if (value !== undefined || arg === "--port") {
      if (value === undefined || !/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`--port must be a port number from 1 to 65535: got ${value === undefined ? "nothing" : `"${value}"`}`);
      port = Number(value);
    } else rest.push(arg);
  }
  if (!serve && argv.some((a) => a === "--port" || a.startsWith("--port="))) throw new UsageError("--port goes with --serve");
  return { serve: serve ? { port } : undefined, rest };
}

/** Serves until Ctrl-C (SIGINT) or SIGTERM, then closes the server. */
export async function serveUntilStopped(app: LoadedFunctionApp, port: number, out: (line: string) => void): Promise<void> {
  const server = await startDevServer(app, port);
  out("");
  out(`Serving on ${server.url} until Ctrl-C:`);
  out(`  Viewer:  ${server.url}/api/ledger/viewer`);
  out(`  API:     ${server.url}/api/ledger/… (e.g. ${server.url}/api/ledger/sms/+14255550123/messages)`);
  out(`  Webhook: POST ${server.url}${WEBHOOK_PATH}?functionName=smsEvents (header aeg-event-type: Notification)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
  out("Stopped serving.");
}
