import * as http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback proxy in front of Azurite that misbehaves on purpose: for a share of requests it answers
 * 503 (with Retry-After) without forwarding, answers 500 after forwarding (the write happened, the
 * answer was lost), or never answers at all.
 */
export interface FaultyProxy {
  readonly endpoint: string;
  readonly counts: { forwarded: number; refused: number; lostAnswers: number; hung: number };
  /** Every request received, as `METHOD path?query` (decoded), in order; tests may empty it. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface Faults {
  /** Share of requests answered 503 without being forwarded. */
  readonly refuse?: number;
  /** Share of requests forwarded, then answered 500. */
  readonly loseAnswer?: number;
  /** Share of requests never answered. */
  readonly hang?: number;
  /** Entity requests (not table creation) answered this many milliseconds late, the rest as above. */
  readonly slowEntityMs?: number;
  /** Deterministic "random" numbers in [0, 1). */
  readonly random: () => number;
}

export async function startFaultyProxy(targetPort: number, faults: Faults): Promise<FaultyProxy> {
  const counts = { forwarded: 0, refused: 0, lostAnswers: 0, hung: 0 };
  const hung = new Set<http.ServerResponse>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${decodeURIComponent(req.url ?? "")}`);
    const roll = faults.random();
    const refuse = faults.refuse ?? 0, lose = faults.loseAnswer ?? 0, hang = faults.hang ?? 0;
    if (roll < hang) {
      counts.hung++;
      hung.add(res);
      req.resume();
      return;
    }
    if (roll < hang + refuse) {
      counts.refused++;
      req.resume();
      res.writeHead(503, { "Retry-After": "0", "Content-Type": "application/json" });
      res.end('{"odata.error":{"code":"ServerBusy","message":{"value":"injected"}}}');
      return;
    }
    const loseThis = roll < hang + refuse + lose;
    const slow = faults.slowEntityMs !== undefined && !/\/Tables(\?|$)/.test(req.url ?? "") ? faults.slowEntityMs : 0;
    const upstream = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      counts.forwarded++;
      if (loseThis) {
        counts.lostAnswers++;
        up.resume();
        up.on("end", () => {
          res.writeHead(500, { "Content-Type": "application/json" });
          res.end('{"odata.error":{"code":"InternalError","message":{"value":"injected"}}}');
        });
        return;
      }
      const answer = () => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      };
      if (slow > 0) setTimeout(answer, slow);
      else answer();
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/devstoreaccount1`,
    counts,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
