// cpuRatio: what the handler does before its storage call (planEvent: envelope, catalog, validation,
// normalization, keys, encoding, the raw event's JSON), per event, over JSON.parse of the same event.
// In-process, warm, over a weighted mix of distinct events; parse and plan are timed in alternating
// order in every round, and the figures are medians over rounds.
import { specFor, validatorFor } from "../src/catalog";
import { readEnvelope, type Envelope } from "../src/envelope";
import { planEvent } from "../src/ingest";
import { EventStream, loadTemplates, type BenchEvent } from "./events";

export interface CpuResult {
  readonly events: number;
  readonly rounds: number;
  /** Median ns per event. */
  readonly parseNs: number;
  readonly planNs: number;
  readonly cpuRatio: number;
  /** Parts of planNs, each timed alone (ns per event; they overlap a little with each other). */
  readonly breakdownNs: { readonly stringify: number; readonly envelope: number; readonly validate: number; readonly normalize: number };
  readonly meanEventBytes: number;
}

const now = () => process.hrtime.bigint();
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export function measureCpu(options: { events?: number; rounds?: number; seed?: number } = {}): CpuResult {
  const n = options.events ?? 2_000;
  const rounds = options.rounds ?? 31;
  const events: BenchEvent[] = new EventStream(loadTemplates(), options.seed ?? 7).take(n);
  const texts = events.map((e) => e.text);

  // Every generated event must be stored: a quarantine would measure another path.
  for (const e of events) {
    const plan = planEvent(JSON.parse(e.text), e.family);
    if (plan.outcome !== "stored") throw new Error(`bench: a generated ${e.type} event was quarantined: ${plan.quarantine.message}`);
  }

  let sink = 0;
  const timeParse = (): number => {
    const t0 = now();
    for (const text of texts) sink += (JSON.parse(text) as object) ? 1 : 0;
    return Number(now() - t0) / n;
  };
  const timePlan = (): number => {
    const objects = texts.map((t) => JSON.parse(t) as unknown); // fresh objects each round, as each delivery is
    const t0 = now();
    for (let i = 0; i < n; i++) sink += planEvent(objects[i], (events[i] as BenchEvent).family).writes.length;
    return Number(now() - t0) / n;
  };

  for (let i = 0; i < 10; i++) {
    timeParse();
    timePlan();
  }
  const parse: number[] = [];
  const plan: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      parse.push(timeParse());
      plan.push(timePlan());
    } else {
      plan.push(timePlan());
      parse.push(timeParse());
    }
  }

  // The breakdown, for the report only.
  const objects = texts.map((t) => JSON.parse(t) as unknown);
  const envelopes = objects.map((o) => {
    const r = readEnvelope(o);
    if (!r.ok) throw new Error("bench: invalid envelope");
    return r.envelope;
  });
  const specs = envelopes.map((e) => specFor(e.type)!);
  const part = (fn: (i: number) => unknown): number => {
    const samples: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = now();
      for (let i = 0; i < n; i++) sink += fn(i) ? 1 : 0;
      samples.push(Number(now() - t0) / n);
    }
    return median(samples.slice(2));
  };
  const breakdownNs = {
    stringify: part((i) => JSON.stringify(objects[i])),
    envelope: part((i) => readEnvelope(objects[i])),
    validate: part((i) => {
      const e = envelopes[i] as Envelope;
      return validatorFor(specs[i]!)({ subject: e.subject, data: e.data }) ?? true;
    }),
    normalize: part((i) => specs[i]!.normalize(envelopes[i] as Envelope)),
  };
  if (sink === 0) throw new Error("unreachable");

  const parseNs = median(parse);
  const planNs = median(plan);
  return {
    events: n,
    rounds,
    parseNs: Math.round(parseNs),
    planNs: Math.round(planNs),
    cpuRatio: round(planNs / parseNs, 3),
    breakdownNs: {
      stringify: Math.round(breakdownNs.stringify),
      envelope: Math.round(breakdownNs.envelope),
      validate: Math.round(breakdownNs.validate),
      normalize: Math.round(breakdownNs.normalize),
    },
    meanEventBytes: Math.round(texts.reduce((s, t) => s + Buffer.byteLength(t), 0) / n),
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (require.main === module) console.log(JSON.stringify(measureCpu(), null, 2));
