import type { LedgerSettings } from "../config";
import { StorageError } from "../errors";
import { isRestError } from "../ledger/storageErrors";
import { identityConflict, planEvent, type Plan } from "../ingest";
import { createTableClient, LedgerTables } from "../ledger/tables";
import { LedgerWriter } from "../ledger/writer";
import { BatchWriter, WritesStopped, type BatchWriterOptions, type BatchWriterStats } from "./batchWriter";
import { formatPosition, readEvents } from "./jsonEvents";
import { annotated, isResolved, quarantineRows, updateQuarantineRow, type QuarantineFilter, type QuarantineRow } from "./quarantine";
import { n, Progress, summaryLines, Tally, type ReplayIO, type TypeCounts } from "./report";
import { blobInputs, messageOf, pathInputs, type BlobInputOptions, type BlobListing, type InputSource } from "./sources";

/*
 * Replay: events from files, stdin, a blob container (Event Grid's dead letters) or the ledger's own
 * QuarantinedEvents table, through the same pipeline as the functions (planEvent: envelope, catalog,
 * validation, normalization, quarantine), written by BatchWriter. Replayed events are received by
 * "any" family: there is no function to be misrouted to, and quarantine rows say receivedBy "replay".
 */

export interface ReplayOptions {
  /** Files and directories; `-` is standard input. */
  readonly paths?: readonly string[];
  readonly blob?: BlobInputOptions;
  /** Replay the QuarantinedEvents table instead (not together with paths or a blob container). */
  readonly fromQuarantine?: QuarantineFilter;
  /** Validate and normalize only; write nothing. Needs no storage unless reading the quarantine. */
  readonly dryRun?: boolean;
  /** Storage requests in flight (default 16). */
  readonly concurrency?: number;
  /** No progress and no notes: only problems and the summary. */
  readonly quiet?: boolean;
  /** Where the ledger is. Required unless this is a dry run of files, stdin or blobs. */
  readonly settings?: LedgerSettings;
  readonly stdin?: () => NodeJS.ReadableStream;
  /** Aborting stops reading input; what was read is still written, then the summary is printed. */
  readonly signal?: AbortSignal;
  readonly batch?: Omit<BatchWriterOptions, "concurrency">;
  /** How often progress is shown (default: 100 ms on a TTY, else a line every 5 s). */
  readonly progressIntervalMs?: number;
  /** The time written as a quarantine row's resolvedAt / lastReplayedAt (default: now). */
  readonly now?: () => Date;
  /** When storage counts as gone: see {@link STOP_WHEN_STORAGE_IS_GONE}. */
  readonly stopWhenStorageIsGone?: StorageGoneRule;
}

/**
 * Storage is gone after `events` events in a row failed for a storage reason, with none stored in
 * between, over at least `ms`. Then the run stops reading: there is no point in failing the rest of
 * the input one event at a time. A blip costs fewer events, or less time (the SDK retries each
 * request for a few seconds first), and the run goes on.
 */
export interface StorageGoneRule {
  readonly events: number;
  readonly ms: number;
}
export const STOP_WHEN_STORAGE_IS_GONE: StorageGoneRule = { events: 50, ms: 15_000 };

export interface ReplayResult {
  /** 0: everything was stored or quarantined; 1: something could not be stored or read; 130: interrupted. */
  readonly exitCode: 0 | 1 | 130;
  readonly dryRun: boolean;
  readonly interrupted: boolean;
  /** Why the run stopped before the end of its input because storage was gone, if it did. */
  readonly stoppedBecause: string | undefined;
  /** Events read but not written once the run had stopped (neither stored nor failed). */
  readonly notAttempted: number;
  readonly events: number;
  readonly stored: number;
  readonly quarantined: number;
  readonly failed: number;
  readonly inputErrors: number;
  readonly skippedResolved: number;
  readonly byType: Readonly<Record<string, Readonly<TypeCounts>>>;
  readonly byReason: Readonly<Record<string, number>>;
  /** Write statistics (undefined on a dry run). */
  readonly rows: Readonly<BatchWriterStats> | undefined;
  readonly durationMs: number;
}

/** Problems printed one by one before the rest are only counted. */
const SHOWN_PROBLEMS = 50;
const SHOWN_QUARANTINES = 10;

export async function runReplay(options: ReplayOptions, io: ReplayIO): Promise<ReplayResult> {
  const dryRun = options.dryRun ?? false;
  const fromQuarantine = options.fromQuarantine;
  const paths = options.paths ?? [];
  if (fromQuarantine && (paths.length > 0 || options.blob)) throw new Error("replay from the quarantine table cannot be combined with files or a blob container");
  if (!fromQuarantine && paths.length === 0 && !options.blob) throw new Error("nothing to replay: give files, directories, - (stdin), a blob container, or the quarantine table");
  const settings = options.settings;
  if (!settings && (!dryRun || fromQuarantine)) throw new Error("replay needs the ledger's storage settings (only a dry run of files or blobs does without)");

  const tally = new Tally();
  const progress = new Progress(io, tally, dryRun ? "replay (dry run)" : "replay", !options.quiet, options.progressIntervalMs);
  const tables = settings ? new LedgerTables(settings) : undefined;
  const batch = tables && !dryRun ? new BatchWriter(new LedgerWriter(tables), { ...options.batch, concurrency: options.concurrency ?? 16 }) : undefined;
  const now = options.now ?? (() => new Date());
  let shownProblems = 0;
  let shownQuarantines = 0;
  let interrupted = false;
  const goneRule = options.stopWhenStorageIsGone ?? STOP_WHEN_STORAGE_IS_GONE;
  /** The current run of storage failures with nothing stored in between. */
  let failing = { events: 0, since: 0, last: undefined as unknown };
  let stoppedBecause: string | undefined;
  /** Where reading got to: the last event read (a position in a file, or a quarantine row). */
  let readUpTo: string | undefined;
  let notAttempted = 0;
  const stopping = () => interrupted || stoppedBecause !== undefined || options.signal?.aborted === true;

  const problem = (line: string) => {
    if (shownProblems < SHOWN_PROBLEMS) progress.err(line);
    else if (shownProblems === SHOWN_PROBLEMS) progress.err(`… further problems are counted in the summary but not shown`);
    shownProblems++;
  };
  const inputError = (where: string, message: string) => {
    tally.inputErrors++;
    problem(`${where}: ${message}`);
  };
  const record = (plan: Plan) => {
    failing = { events: 0, since: 0, last: undefined };
    const counts = tally.counts(plan.eventType ?? "(no type)");
    if (plan.outcome === "stored") {
      counts.stored++;
      tally.stored++;
      return;
    }
    counts.quarantined++;
    tally.quarantined++;
    tally.byReason.set(plan.quarantine.code, (tally.byReason.get(plan.quarantine.code) ?? 0) + 1);
    if (!options.quiet && shownQuarantines < SHOWN_QUARANTINES) {
      progress.err(`${dryRun ? "would quarantine" : fromQuarantine ? "still failing" : "quarantined"}: ${plan.quarantine.message}`);
    } else if (!options.quiet && shownQuarantines === SHOWN_QUARANTINES) progress.err("… further quarantined events are counted in the summary");
    shownQuarantines++;
  };
  const fail = (type: string | undefined, label: string, error: unknown) => {
    if (error instanceof WritesStopped) {
      notAttempted++;
      return;
    }
    tally.counts(type ?? "(no type)").failed++;
    tally.failed++;
    problem(`could not store ${failureText(label, error)}`);
    if (!isStorageFailure(error)) return;
    const now = Date.now();
    failing = { events: failing.events + 1, since: failing.events === 0 ? now : failing.since, last: error };
    if (stoppedBecause === undefined && failing.events >= goneRule.events && now - failing.since >= goneRule.ms) {
      stoppedBecause = `${n(failing.events)} events in a row could not be stored over ${((now - failing.since) / 1000).toFixed(1)} s, none stored in between: storage looks unavailable (the last: ${messageOf(storageCause(error)).replace(RETRY_NOTE, "")})`;
      batch?.stop(stoppedBecause);
    }
  };

  /** Plans one event and hands its rows to the writer; resolves when the writer has room for more. */
  const replayEvent = (event: unknown): Promise<void> | undefined => {
    tally.events++;
    let plan: Plan;
    try {
      plan = planEvent(event, "any");
    } catch (error) {
      fail(textField(event, "eventType") ?? textField(event, "type"), rawLabel(event), error); // a row over a Table limit
      return undefined;
    }
    if (!batch) {
      record(plan);
      return undefined;
    }
    return batch.add(plan.writes, plan.label, (result) => {
      if (!result.ok) fail(plan.eventType, plan.label, result.error);
      else if (!result.conflict) record(plan);
      else {
        // Another event holds this identity: this one is kept as an IdentityConflict quarantine row.
        const conflict = identityConflict(event, "any", plan.label, result.conflict);
        void batch.add(conflict.writes, conflict.label, (written) => (written.ok ? record(conflict) : fail(plan.eventType, conflict.label, written.error)));
      }
    });
  };

  const readSource = async (source: InputSource) => {
    let chunks: AsyncIterable<Buffer | string>;
    try {
      chunks = await source.open();
    } catch (error) {
      inputError(source.name, `cannot read: ${messageOf(error)}`);
      return;
    }
    try {
      const items = readEvents(chunks, { source: source.name, format: source.format, onBytes: (bytes) => (tally.bytesRead += bytes) });
      for await (const item of items) {
        if (item.kind === "error") inputError(formatPosition(item.at), item.message);
        else {
          readUpTo = formatPosition(item.at);
          const wait = replayEvent(item.value);
          if (wait) await wait;
        }
        if (options.signal?.aborted) interrupted = true;
        if (stopping()) return;
      }
    } catch (error) {
      inputError(source.name, `reading failed: ${messageOf(error)}`);
    }
  };

  const replayQuarantine = async (filter: QuarantineFilter, settings: LedgerSettings, tables: LedgerTables) => {
    const name = tables.nameOf("QuarantinedEvents");
    // Read through a plain client: listing must not create the table (a dry run writes nothing).
    const reader = createTableClient(settings, name);
    const timeoutMs = settings.requestTimeoutMs;
    const update = async (row: QuarantineRow, change: Parameters<typeof annotated>[1]) => {
      const client = await tables.client("QuarantinedEvents");
      await updateQuarantineRow(client, row, (current) => annotated(current, change), timeoutMs);
    };
    try {
      for await (const row of quarantineRows(reader, filter)) {
        if (options.signal?.aborted) interrupted = true;
        if (stopping()) return;
        if (isResolved(row) && !filter.includeResolved) {
          tally.skippedResolved++;
          continue;
        }
        const where = `${name} ${row.partitionKey}/${row.rowKey}`;
        readUpTo = where;
        let event: unknown;
        try {
          event = JSON.parse(String(row.props["rawEvent"]));
        } catch (error) {
          inputError(where, `its rawEvent is not JSON: ${messageOf(error)}`);
          continue;
        }
        tally.events++;
        let plan: Plan;
        try {
          plan = planEvent(event, "any");
        } catch (error) {
          fail(textField(event, "eventType") ?? textField(event, "type"), rawLabel(event), error);
          continue;
        }
        if (!batch) {
          record(plan);
          continue;
        }
        const p = plan;
        const annotate = (change: Parameters<typeof annotated>[1], outcome: Plan = p) =>
          batch.schedule(() => update(row, change)).then(
            () => record(outcome),
            (error: unknown) => fail(p.eventType, p.label, new Error(`its rows were handled, but updating ${where} failed: ${messageOf(error)}`, { cause: error })),
          );
        let wait: Promise<void> | undefined;
        if (p.outcome === "stored") {
          wait = batch.add(p.writes, p.label, (result) => {
            if (!result.ok) fail(p.eventType, p.label, result.error);
            else if (result.conflict) {
              const conflict = identityConflict(event, "any", p.label, result.conflict);
              void annotate({ stillFailing: conflict.quarantine, at: now().toISOString() }, conflict);
            }
            else void annotate({ resolved: { resolvedAt: now().toISOString(), resolvedEventRows: p.writes.length } });
          });
        } else {
          // Still failing: the original row gets the new reasons (no second quarantine row is written).
          void annotate({ stillFailing: p.quarantine, at: now().toISOString() });
          wait = batch.room();
        }
        if (wait) await wait;
      }
    } catch (error) {
      inputError(name, `reading failed: ${messageOf(error)}`);
    }
  };

  const started = Date.now();
  try {
    if (fromQuarantine) {
      if (!options.quiet) progress.out(`Replaying ${tables?.nameOf("QuarantinedEvents")}${describeFilter(fromQuarantine)}${dryRun ? " (dry run: nothing is written)" : ""}.`);
      if (!options.quiet && (fromQuarantine.since || fromQuarantine.until)) progress.out("Events without a time are in no time range, so not replayed now (--without-time replays them).");
      await replayQuarantine(fromQuarantine, settings as LedgerSettings, tables as LedgerTables);
    } else {
      const inputs = pathInputs(paths, options.stdin ?? (() => process.stdin));
      for (const e of inputs.errors) inputError(e.source, e.message);
      const hasUnknownSize = inputs.sources.some((s) => s.size === undefined) || options.blob !== undefined;
      tally.totalBytes = hasUnknownSize ? undefined : inputs.totalBytes;
      if (!options.quiet && paths.length > 0) {
        progress.out(`Replaying ${inputs.sources.length} input${inputs.sources.length === 1 ? "" : "s"}${hasUnknownSize ? "" : ` (${mb(inputs.totalBytes)})`}${dryRun ? " (dry run: nothing is written)" : ""}.`);
      }
      for (const source of inputs.sources) {
        if (stopping()) break;
        await readSource(source);
      }
      if (options.blob && !stopping()) {
        const listing: BlobListing = { skipped: 0, listed: 0 };
        if (!options.quiet) progress.out(`Replaying blobs of container ${options.blob.container}${options.blob.prefix ? ` under ${options.blob.prefix}` : ""}${dryRun ? " (dry run: nothing is written)" : ""}.`);
        try {
          for await (const source of blobInputs(options.blob, listing)) {
            if (stopping()) break;
            await readSource(source);
            if (stopping()) break;
          }
        } catch (error) {
          inputError(`container ${options.blob.container}`, `listing failed: ${messageOf(error)}`);
        }
        if (!options.quiet) progress.out(`Read ${listing.listed} blob${listing.listed === 1 ? "" : "s"}${listing.skipped ? `; skipped ${listing.skipped} not named *.json, *.ndjson or *.jsonl` : ""}.`);
      }
    }
    if (options.signal?.aborted) interrupted = true;
    await batch?.flush();
  } finally {
    batch?.close();
    progress.stop();
  }
  const durationMs = Date.now() - started;
  const rows = batch ? { ...batch.stats } : undefined;
  for (const line of summaryLines({ tally, dryRun, fromQuarantine: fromQuarantine !== undefined, durationMs, rows, interrupted })) io.out(line);
  if (stoppedBecause !== undefined) {
    io.err("");
    io.err(`Stopped: ${stoppedBecause}.`);
    io.err(`Read up to ${readUpTo ?? "the start"} and no further${notAttempted > 0 ? `; ${n(notAttempted)} of the events read were not attempted` : ""}. The input is untouched: once storage answers, run the same command again.`);
    io.err("Re-running is safe: rows already written are recognised and left as they are.");
  }
  return {
    exitCode: interrupted ? 130 : tally.failed > 0 || tally.inputErrors > 0 ? 1 : 0,
    dryRun,
    interrupted,
    stoppedBecause,
    notAttempted,
    events: tally.events,
    stored: tally.stored,
    quarantined: tally.quarantined,
    failed: tally.failed,
    inputErrors: tally.inputErrors,
    skippedResolved: tally.skippedResolved,
    byType: Object.fromEntries([...tally.byType].map(([k, v]) => [k, { ...v }])),
    byReason: Object.fromEntries(tally.byReason),
    rows,
    durationMs,
  };
}

/** A failure storage caused (unreachable, refused, failing), as opposed to one the event caused. */
function isStorageFailure(error: unknown): boolean {
  return storageCause(error) !== undefined;
}

function storageCause(error: unknown): unknown {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StorageError || isRestError(e)) return e;
  }
  return undefined;
}

function describeFilter(filter: QuarantineFilter): string {
  const parts: string[] = [];
  if (filter.types?.length) parts.push(`type ${filter.types.join(" or ")}`);
  if (filter.since) parts.push(`events from ${filter.since.iso}`);
  if (filter.until) parts.push(`events before ${filter.until.iso}`);
  if (filter.withoutTime) parts.push("events without a time");
  if (filter.includeResolved) parts.push("resolved rows included");
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** The writer's messages are meant for Event Grid's retries; a replay says it plainly. */
const RETRY_NOTE = /; the invocation fails so that Event Grid retries$/;

function failureText(label: string, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(RETRY_NOTE, "");
  return message.startsWith(label) ? message : `${label}: ${message}`;
}

function textField(event: unknown, name: string): string | undefined {
  if (typeof event !== "object" || event === null || Array.isArray(event) || !Object.hasOwn(event, name)) return undefined;
  const value = (event as Record<string, unknown>)[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function rawLabel(event: unknown): string {
  const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}…` : s);
  return `${clip(textField(event, "eventType") ?? textField(event, "type") ?? "(no type)")} event ${clip(textField(event, "id") ?? "(no id)")}`;
}
