// The invocation floor: Event Grid functions that do nothing of their own. For each event they
// upsert the rows the ledger writes for that event (made by the benchmark before timing, keyed by
// event id) with the bare SDK. Run through the same invocation model as the ledger's functions, they
// cost what any v4 handler writing those rows costs: the host's invocation as the library turns it
// into arguments (parsing the event and the trigger metadata), plus the writes. One writes all of an
// event's rows at once; the other writes its fact rows first and its state rows once they are
// answered, the order the ledger keeps so that an identity conflict changes no other row.
// bench/function.ts loads them beside the app (loadFunctionApp's extraEntryFiles).
import { app } from "@azure/functions";
import type { TableClient } from "@azure/data-tables";

export interface FloorRow {
  readonly client: TableClient;
  readonly entity: { partitionKey: string; rowKey: string } & Record<string, unknown>;
  /** A current-state row (else a fact row). */
  readonly state: boolean;
}

export const FLOOR_FUNCTIONS = { atOnce: "invocationFloor", factsFirst: "invocationFloorFactsFirst" } as const;

/** The rows of each event of the round at hand, by event id. */
export const floorRows = new Map<string, readonly FloorRow[]>();

function rowsOf(event: { id: unknown }): readonly FloorRow[] {
  const rows = floorRows.get(String(event.id));
  if (!rows) throw new Error(`invocation floor: no rows for event ${String(event.id)}`);
  return rows;
}

const upsert = (rows: readonly FloorRow[]) => Promise.all(rows.map((r) => r.client.upsertEntity(r.entity)));

app.eventGrid(FLOOR_FUNCTIONS.atOnce, {
  handler: async (event) => {
    await upsert(rowsOf(event));
  },
});

app.eventGrid(FLOOR_FUNCTIONS.factsFirst, {
  handler: async (event) => {
    const rows = rowsOf(event);
    await upsert(rows.filter((r) => !r.state));
    await upsert(rows.filter((r) => r.state));
  },
});
