/*
 * What the replay tells its user: a progress bar on a terminal (plain periodic lines otherwise), and
 * a closing summary per event type.
 */

export interface ReplayIO {
  /** The summary and notes (stdout). */
  out(line: string): void;
  /** Problems: unreadable input, events that could not be stored (stderr). */
  err(line: string): void;
  /** Where progress goes (stderr). A TTY gets a redrawn bar; anything else a line every few seconds. */
  readonly progress?: { readonly isTTY: boolean; write(text: string): void; readonly columns?: number };
}

export interface TypeCounts {
  stored: number;
  quarantined: number;
  failed: number;
}

/** The running counts (shared by the progress display and the summary). */
export class Tally {
  readonly startedAt = Date.now();
  events = 0;
  stored = 0;
  quarantined = 0;
  failed = 0;
  /** Quarantine rows left alone because they were resolved already (--from-quarantine). */
  skippedResolved = 0;
  inputErrors = 0;
  bytesRead = 0;
  /** Input bytes in all, when known in advance. */
  totalBytes: number | undefined;
  readonly byType = new Map<string, TypeCounts>();
  readonly byReason = new Map<string, number>();

  /** At most this many types are counted one by one; the rest are summed (input may be hostile). */
  static readonly MAX_TYPES = 500;

  counts(type: string): TypeCounts {
    let counts = this.byType.get(type);
    if (!counts) {
      const key = this.byType.size < Tally.MAX_TYPES ? type : "(other types)";
      counts = this.byType.get(key) ?? { stored: 0, quarantined: 0, failed: 0 };
      this.byType.set(key, counts);
    }
    return counts;
  }

  get done(): number {
    return this.stored + this.quarantined + this.failed;
  }
}

const TTY_INTERVAL_MS = 100;
const LINE_INTERVAL_MS = 5_000;

export class Progress {
  readonly #io: ReplayIO;
  readonly #tally: Tally;
  readonly #label: string;
  #timer: NodeJS.Timeout | undefined;
  #shown = false;
  #rate = 0;
  #last = { at: Date.now(), done: 0 };

  constructor(io: ReplayIO, tally: Tally, label: string, enabled: boolean, intervalMs?: number) {
    this.#io = io;
    this.#tally = tally;
    this.#label = label;
    const target = io.progress;
    if (!enabled || !target) return;
    this.#timer = setInterval(() => this.#tick(), intervalMs ?? (target.isTTY ? TTY_INTERVAL_MS : LINE_INTERVAL_MS));
    this.#timer.unref();
  }

  /** Prints a line on stderr without tearing the bar. */
  err(line: string): void {
    this.#clear();
    this.#io.err(line);
  }

  out(line: string): void {
    this.#clear();
    this.#io.out(line);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  #clear(): void {
    if (this.#shown && this.#io.progress?.isTTY) this.#io.progress.write("\r\x1b[K");
    this.#shown = false;
  }

  #tick(): void {
    const target = this.#io.progress;
    if (!target) return;
    const t = this.#tally;
    const now = Date.now();
    const seconds = (now - this.#last.at) / 1000;
    if (seconds > 0) {
      const instant = (t.done - this.#last.done) / seconds;
      // Smoothed over about a second on a TTY; a plain line shows its own interval's rate.
      this.#rate = target.isTTY && this.#rate > 0 ? this.#rate * 0.9 + instant * 0.1 : instant;
    }
    this.#last = { at: now, done: t.done };
    const fraction = t.totalBytes ? Math.min(1, t.bytesRead / t.totalBytes) : undefined;
    // Events in all are not known without reading everything twice: estimate from the bytes read so far.
    const estimate = fraction && fraction > 0 && t.events > 0 ? Math.max(t.events, Math.round(t.events / fraction)) : undefined;
    const total = estimate !== undefined ? `/${fraction === 1 ? "" : "≈"}${n(estimate)}` : "";
    const text = `${n(t.done)}${total} events  ${n(Math.round(this.#rate))} ev/s  quarantined ${n(t.quarantined)}  failed ${n(t.failed)}`;
    if (target.isTTY) {
      const width = Math.max(10, Math.min(30, (target.columns ?? 80) - text.length - this.#label.length - 12));
      const bar = fraction === undefined ? "" : `[${"█".repeat(Math.round(fraction * width)).padEnd(width, "░")}] ${String(Math.floor(fraction * 100)).padStart(3)}%  `;
      target.write(`\r${this.#label} ${bar}${text}\x1b[K`);
      this.#shown = true;
    } else {
      target.write(`${this.#label}: ${text}${fraction === undefined ? "" : `, ${Math.floor(fraction * 100)}% of the input read`}\n`);
    }
  }
}

export function n(value: number): string {
  return value.toLocaleString("en-US");
}

export interface SummaryInput {
  readonly tally: Tally;
  readonly dryRun: boolean;
  readonly fromQuarantine: boolean;
  readonly durationMs: number;
  readonly rows?: { written: number; existing: number; unchanged: number; failed: number; transactions: number; transactionRows: number; fallbacks: number };
  readonly interrupted: boolean;
}

/** The closing summary: per type, how many were stored, quarantined, failed; then rows and speed. */
export function summaryLines(s: SummaryInput): string[] {
  const t = s.tally;
  const [stored, quarantined, failed] = s.fromQuarantine
    ? s.dryRun
      ? ["would resolve", "still failing", "would fail"]
      : ["resolved", "still failing", "failed"]
    : s.dryRun
      ? ["would store", "would quarantine", "would fail"]
      : ["stored", "quarantined", "failed"];
  const lines: string[] = [];
  lines.push("");
  lines.push(
    s.dryRun
      ? "Replay summary (dry run: nothing was written)"
      : s.interrupted
        ? "Replay summary (interrupted: the input was not read to its end)"
        : "Replay summary",
  );
  const types = [...t.byType.keys()].sort();
  const nameWidth = Math.max(10, ...types.map((x) => x.length), "total".length);
  const cols = [stored, quarantined, failed];
  const widths = cols.map((c) => Math.max(c.length, 7));
  const row = (name: string, values: number[]) =>
    `  ${name.padEnd(nameWidth)}  ${values.map((v, i) => n(v).padStart(widths[i] as number)).join("  ")}`;
  lines.push(`  ${"event type".padEnd(nameWidth)}  ${cols.map((c, i) => c.padStart(widths[i] as number)).join("  ")}`);
  for (const type of types) {
    const c = t.byType.get(type) as TypeCounts;
    lines.push(row(type, [c.stored, c.quarantined, c.failed]));
  }
  lines.push(row("total", [t.stored, t.quarantined, t.failed]));
  if (t.byReason.size > 0) {
    lines.push(`  ${s.fromQuarantine ? "still failing" : quarantined}, by reason: ${[...t.byReason].sort().map(([code, count]) => `${code} ${n(count)}`).join(", ")}`);
  }
  if (t.skippedResolved > 0) lines.push(`  skipped ${n(t.skippedResolved)} quarantine rows already resolved (--include-resolved replays them)`);
  if (s.rows) {
    const r = s.rows;
    lines.push(
      `  rows: ${n(r.written)} written, ${n(r.existing)} already there, ${n(r.unchanged)} state rows already up to date` +
        (r.failed > 0 ? `, ${n(r.failed)} FAILED` : "") +
        `; ${n(r.transactions)} transactions (${n(r.transactionRows)} rows)` +
        (r.fallbacks > 0 ? `, ${n(r.fallbacks)} fell back to single writes` : ""),
    );
  }
  if (t.inputErrors > 0) lines.push(`  input errors: ${n(t.inputErrors)} (malformed or unreadable input, listed above)`);
  const seconds = s.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(t.done / seconds) : t.done;
  lines.push(`  ${n(t.done)} events in ${seconds.toFixed(2)} s (${n(rate)} events/s)`);
  return lines;
}
