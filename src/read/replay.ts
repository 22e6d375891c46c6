import type { LedgerSettings } from "../config";
import { runReplay, type ReplayResult } from "../replay";
import { BadRequest, quoted } from "./errors";
import { instantParam } from "./params";

/**
 * `POST ledger/quarantine/replay`: what `acs-ledger replay --from-quarantine [--type] [--since] [--until]`
 * does (rows whose event now passes are stored and marked resolved, the rest get their new reasons),
 * answered with the replay's counts and its summary table. Problems are counted, not quoted: their
 * text can carry storage detail.
 */
export interface ReplayAnswer {
  readonly ok: boolean;
  readonly events: number;
  readonly resolved: number;
  readonly stillFailing: number;
  readonly failed: number;
  readonly skippedResolved: number;
  readonly byType: ReplayResult["byType"];
  readonly byReason: ReplayResult["byReason"];
  readonly summary: string[];
}

const BODY_FIELDS = new Set(["type", "from", "to"]);

export async function replayQuarantine(settings: LedgerSettings, body: unknown): Promise<ReplayAnswer> {
  const filter = replayFilter(body);
  const summary: string[] = [];
  const result = await runReplay(
    { fromQuarantine: { ...filter, includeResolved: false }, settings, quiet: true },
    { out: (line) => summary.push(line), err: () => undefined },
  );
  return {
    ok: result.exitCode === 0,
    events: result.events,
    resolved: result.stored,
    stillFailing: result.quarantined,
    failed: result.failed,
    skippedResolved: result.skippedResolved,
    byType: result.byType,
    byReason: result.byReason,
    summary: summary.filter((line) => line.trim() !== ""),
  };
}

function replayFilter(body: unknown): { types?: string[]; since?: ReturnType<typeof instantParam>; until?: ReturnType<typeof instantParam> } {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw new BadRequest("body", 'body must be a JSON object such as {"type": "Microsoft.Communication.SMSReceived", "from": "2025-07-08"} (every field optional)');
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) if (!BODY_FIELDS.has(name)) throw new BadRequest(name, `${quoted(name)} is not a replay option: give type, from and to (each optional)`);
  const type = fields["type"];
  const types = type === undefined ? undefined : typeof type === "string" && type !== "" ? [type] : Array.isArray(type) && type.length > 0 && type.every((t) => typeof t === "string" && t !== "") ? (type as string[]) : undefined;
  if (type !== undefined && types === undefined) throw new BadRequest("type", "type must be an event type name, or a list of them");
  const text = (name: string) => {
    const value = fields[name];
    if (value !== undefined && typeof value !== "string") throw new BadRequest(name, `${name} must be an ISO 8601 time as a string`);
    return value;
  };
  const since = instantParam("from", text("from"));
  const until = instantParam("to", text("to"));
  if (since && until && since.iso > until.iso) throw new BadRequest("from", `from (${since.iso}) is after to (${until.iso})`);
  return { ...(types ? { types } : {}), ...(since ? { since } : {}), ...(until ? { until } : {}) };
}
