import { app, type InvocationContext } from "@azure/functions";
import { functionNameOf, type Family } from "./catalog";
import { settingsFromEnv } from "./config";
import { ingestEvent } from "./ingest";
import { DriftWatch } from "./ledger/drift";
import { LedgerTables } from "./ledger/tables";
import { LedgerWriter } from "./ledger/writer";

let writer: LedgerWriter | undefined;
let drift: DriftWatch | undefined;

/** One writer per process, created on first use so that a settings error fails an invocation, not the host. */
function ledgerWriter(): LedgerWriter {
  writer ??= new LedgerWriter(new LedgerTables(settingsFromEnv()));
  return writer;
}

/** The process's drift watch: what it has recorded is remembered for the life of the process. */
function driftWatch(): DriftWatch {
  drift ??= new DriftWatch(ledgerWriter().tables);
  return drift;
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
      // After the event's rows: drift is best-effort and never fails the event (src/ledger/drift.ts).
      await driftWatch().observe(plan.eventType, plan.eventId, plan.unnamedPaths, context);
    } else {
      context.warn(`quarantined ${plan.label}: ${plan.quarantine.code}${already > 0 ? " (already quarantined)" : ""}`);
    }
  };
}

export function registerFamilyFunction(family: Family): void {
  app.eventGrid(functionNameOf(family), { handler: eventGridHandler(family) });
}
