// The floor of storage requests for a sequence of events: one request per fact row, plus one per
// current-state row that the event changes given every event before it (an event whose patch an
// earlier one already covers costs no state request). Computed by merging the same patches the
// handlers write, in delivery order, with the ledger's own mergeFacets.
import { planEvent, writesToApply } from "../src/ingest";
import type { LedgerSettings } from "../src/config";
import { mergeFacets } from "../src/ledger/writer";
import type { BenchEvent } from "./events";

export interface FloorCost {
  readonly facts: number;
  readonly states: number;
}

export class FloorModel {
  readonly #rows = new Map<string, Record<string, unknown>>();
  readonly #settings: Pick<LedgerSettings, "chatStateFrom">;

  constructor(settings: Pick<LedgerSettings, "chatStateFrom">) {
    this.#settings = settings;
  }

  /** The floor of one event, delivered after every event this model has seen. */
  cost(event: BenchEvent): FloorCost {
    let facts = 0;
    let states = 0;
    for (const w of writesToApply(planEvent(JSON.parse(event.text), event.family), this.#settings)) {
      if (w.kind === "append") {
        facts++;
        continue;
      }
      const key = `${w.table}\n${w.partitionKey}\n${w.rowKey}`;
      const merged = mergeFacets(this.#rows.get(key) ?? {}, w);
      if (merged === undefined) continue;
      states++;
      this.#rows.set(key, merged);
    }
    return { facts, states };
  }
}
