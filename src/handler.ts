import { app, type InvocationContext } from "@azure/functions";
import { functionNameOf, type Family } from "./catalog";
import { settingsFromEnv } from "./config";
import { ingestEvent } from "./ingest";
import { LedgerTables } from "./ledger/tables";
import { LedgerWriter } from "./ledger/writer";

let writer: LedgerWriter | undefined;

/** One writer per process, created on first use so that a settings error fails an invocation, not the host. */
function ledgerWriter(): LedgerWriter {
  writer ??= new LedgerWriter(new LedgerTables(settingsFromEnv()));
  return writer;
}

/**
 * The Event Grid handler of one family's function. It returns once the event is stored or
 * quarantined (Event Grid's delivery is then done) and throws on storage failure (Event Grid retries).
 * Logs name the event by type and id only: never a message body or a phone number.
 */
export function eventGridHandler(family: Family) {
  return async (event: unknown, context: InvocationContext): Promise<void> => {
    const { plan, outcomes } = await ingestEvent(event, family, ledgerWriter());
    const already = outcomes.filter((o) => o !== "written").length;
    if (plan.outcome === "stored") {
      context.log(`stored ${plan.label}: ${outcomes.length} rows (${already} already up to date)`);
    } else {
      context.warn(`quarantined ${plan.label}: ${plan.quarantine.code}${already > 0 ? " (already quarantined)" : ""}`);
    }
  };
}

export function registerFamilyFunction(family: Family): void {
  app.eventGrid(functionNameOf(family), { handler: eventGridHandler(family) });
}
