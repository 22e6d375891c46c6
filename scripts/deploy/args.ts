/** Command-line arguments of scripts/deploy.ts. */
import { parseArgs } from "node:util";
import { FAMILIES } from "../../src/catalog/spec";
import { DeployError } from "./runner";

export type Publisher = "auto" | "az" | "func";

export interface DeployOptions {
  readonly resourceGroup: string;
  /** An ACS resource ID, or the name of an ACS resource in the current subscription. */
  readonly acsResource: string;
  readonly location?: string;
  readonly namePrefix: string;
  readonly maxDeliveryAttempts: number;
  readonly eventTtlMinutes: number;
  readonly operatorObjectId?: string;
  /** Families whose tables get a storage account of their own (LEDGER_STORAGE_<FAMILY>). */
  readonly familyAccounts: readonly string[];
  /** The optional alert rule on new schema drift or more quarantines, and the action groups it notifies. */
  readonly driftAlert: boolean;
  readonly alertActionGroups: readonly string[];
  readonly publisher: Publisher;
  readonly indexTimeoutSeconds: number;
  readonly skipBuild: boolean;
  readonly dryRun: boolean;
  readonly projectRoot?: string;
}

export type ParsedArgs = { readonly help: true } | { readonly help: false; readonly options: DeployOptions };

export const USAGE = `Deploy the ACS event ledger to Azure: infrastructure, code, then Event Grid subscriptions.

Usage: npm run deploy -- --resource-group <name> --acs-resource <id-or-name> [options]

Required:
  --resource-group <name>        Resource group for the ledger (created if missing and --location is given)
  --acs-resource <id-or-name>    Existing Azure Communication Services resource: its resource ID, or its
                                 name if that is unique in the current subscription

Options:
  --location <region>            Region for a new resource group and the ledger (default: the group's region)
  --name-prefix <prefix>         Prefix of resource names, 2-12 of [a-z0-9-] (default: acsledger)
  --max-delivery-attempts <n>    Event Grid delivery attempts, 1-30 (default: 30, Event Grid's default)
  --event-ttl-minutes <n>        Event Grid event time-to-live, 1-1440 (default: 1440, Event Grid's default)
  --operator-object-id <id>      Entra object ID granted read/replay rights on the ledger account(s)
  --family-accounts <list>       Families whose tables get a storage account of their own, comma-separated
                                 from sms, chat, calling, presence (default: none; see README "Capacity")
  --drift-alert                  Add the alert rule on new schema drift or more quarantines (README "Drift")
    --alert-action-group <id>    An action group (resource ID) the alert notifies (repeatable)
  --publisher <auto|az|func>     How to publish the code: func when Core Tools are on PATH (auto), or
                                 az functionapp deployment source config-zip (default: auto)
  --index-timeout-seconds <n>    How long to wait for the functions to be indexed (default: 600)
  --skip-build                   Do not run npm run build (dist/ is already fresh)
  --dry-run                      Run the checks, then print the commands that would change Azure
  --project-root <dir>           Project to deploy (default: the one this script belongs to)
  -h, --help                     Show this help

Running it again is safe: every step is declarative or replaces like with like.`;

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new DeployError(`--${name} must be a whole number, got '${raw}'.`, 2);
  const value = Number(raw);
  if (value < min || value > max) throw new DeployError(`--${name} must be between ${min} and ${max}, got ${value}.`, 2);
  return value;
}

export function parseDeployArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        "resource-group": { type: "string", short: "g" },
        "acs-resource": { type: "string" },
        location: { type: "string", short: "l" },
        "name-prefix": { type: "string" },
        "max-delivery-attempts": { type: "string" },
        "event-ttl-minutes": { type: "string" },
        "operator-object-id": { type: "string" },
        "family-accounts": { type: "string" },
        "drift-alert": { type: "boolean" },
        "alert-action-group": { type: "string", multiple: true },
        publisher: { type: "string" },
        "index-timeout-seconds": { type: "string" },
        "skip-build": { type: "boolean" },
        "dry-run": { type: "boolean" },
        "project-root": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new DeployError(`${(error as Error).message}\nRun with --help for usage.`, 2);
  }
  if (values.help) return { help: true };

  const missing = (["resource-group", "acs-resource"] as const).filter((name) => !values[name]?.trim());
  if (missing.length > 0) {
    const list = missing.map((name) => `--${name}`).join(", ");
    throw new DeployError(
      `Missing required argument${missing.length > 1 ? "s" : ""}: ${list}.\n` +
        "Usage: npm run deploy -- --resource-group <name> --acs-resource <id-or-name> (--help for more)",
      2,
    );
  }

  const namePrefix = values["name-prefix"] ?? "acsledger";
  if (!/^[a-z][a-z0-9-]{1,11}$/.test(namePrefix)) {
    throw new DeployError(
      `--name-prefix must be 2-12 lowercase letters, digits or hyphens, starting with a letter; got '${namePrefix}'.`,
      2,
    );
  }
  const publisher = values.publisher ?? "auto";
  if (publisher !== "auto" && publisher !== "az" && publisher !== "func") {
    throw new DeployError(`--publisher must be auto, az or func; got '${publisher}'.`, 2);
  }
  const operatorObjectId = values["operator-object-id"];
  if (operatorObjectId !== undefined && !/^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(operatorObjectId)) {
    throw new DeployError(`--operator-object-id must be an object ID (a GUID); got '${operatorObjectId}'.`, 2);
  }

  const familyAccounts = [...new Set((values["family-accounts"] ?? "").split(",").map((f) => f.trim()).filter((f) => f !== ""))];
  const unknownFamily = familyAccounts.find((f) => !(FAMILIES as readonly string[]).includes(f));
  if (unknownFamily !== undefined) {
    throw new DeployError(`--family-accounts takes families from ${FAMILIES.join(", ")}; got '${unknownFamily}'.`, 2);
  }

  const alertActionGroups = values["alert-action-group"] ?? [];
  if (alertActionGroups.length > 0 && !values["drift-alert"]) throw new DeployError("--alert-action-group goes with --drift-alert.", 2);
  const notGroup = alertActionGroups.find((id) => !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/microsoft\.insights\/actionGroups\/[^/]+$/i.test(id));
  if (notGroup !== undefined) throw new DeployError(`--alert-action-group must be an action group's resource ID (/subscriptions/…/providers/microsoft.insights/actionGroups/NAME); got '${notGroup}'.`, 2);

  return {
    help: false,
    options: {
      resourceGroup: (values["resource-group"] ?? "").trim(),
      acsResource: (values["acs-resource"] ?? "").trim(),
      location: values.location,
      namePrefix,
      maxDeliveryAttempts: integer("max-delivery-attempts", values["max-delivery-attempts"], 30, 1, 30),
      eventTtlMinutes: integer("event-ttl-minutes", values["event-ttl-minutes"], 1440, 1, 1440),
      operatorObjectId,
      familyAccounts,
      driftAlert: values["drift-alert"] ?? false,
      alertActionGroups,
      publisher,
      indexTimeoutSeconds: integer("index-timeout-seconds", values["index-timeout-seconds"], 600, 0, 3600),
      skipBuild: values["skip-build"] ?? false,
      dryRun: values["dry-run"] ?? false,
      projectRoot: values["project-root"],
    },
  };
}
