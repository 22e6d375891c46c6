/**
 * Writes infra/event-types.json and infra/ledger-tables.json from the catalog. Bicep loads them with
 * loadJsonContent(), so the Event Grid filters and the tables that infra creates cannot be typed by
 * hand. The files are committed; test/deploy.test.ts fails when they drift from the catalog.
 *
 *   node dist/scripts/generate-infra-event-types.js           write both files
 *   node dist/scripts/generate-infra-event-types.js --check   exit 1 if either file is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAMILIES, TABLES, eventTypesOf, familyOfTable, functionNameOf, type Family } from "../src/catalog";
import { findProjectRoot } from "./deploy/paths";

export const EVENT_TYPES_FILE = "infra/event-types.json";
export const LEDGER_TABLES_FILE = "infra/ledger-tables.json";

export interface InfraFamily {
  readonly family: Family;
  readonly functionName: string;
  /** Event Grid subscription name; it is also the folder its dead letters land in. */
  readonly subscriptionName: string;
  readonly eventTypes: readonly string[];
}

export interface InfraEventTypes {
  readonly $comment: string;
  readonly topicType: "Microsoft.Communication.CommunicationServices";
  readonly families: readonly InfraFamily[];
}

const GENERATED_NOTE =
  "Generated from src/catalog by scripts/generate-infra-event-types.ts. Do not edit: run npm run gen:infra.";

/** The subscription name for a family: 3-64 characters of [A-Za-z0-9-]. */
export function subscriptionNameOf(family: Family): string {
  return `ledger-${family}`;
}

export function buildInfraEventTypes(): InfraEventTypes {
  return {
    $comment: GENERATED_NOTE,
    topicType: "Microsoft.Communication.CommunicationServices",
    families: FAMILIES.map((family) => ({
      family,
      functionName: functionNameOf(family),
      subscriptionName: subscriptionNameOf(family),
      eventTypes: [...eventTypesOf(family)],
    })),
  };
}

/** Every table, and each family's own (those an account of the family's own holds, see LedgerTables). */
export function buildLedgerTables(): { readonly $comment: string; readonly tables: readonly string[]; readonly familyTables: Record<string, readonly string[]> } {
  const familyTables = Object.fromEntries(FAMILIES.map((family) => [family, TABLES.filter((t) => familyOfTable(t) === family)]));
  return { $comment: GENERATED_NOTE, tables: [...TABLES], familyTables };
}

/** Stable text: two-space JSON and a final newline, so a regeneration without change is no diff. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function expectedInfraFiles(): ReadonlyArray<{ readonly file: string; readonly text: string }> {
  return [
    { file: EVENT_TYPES_FILE, text: renderJson(buildInfraEventTypes()) },
    { file: LEDGER_TABLES_FILE, text: renderJson(buildLedgerTables()) },
  ];
}

/** The generated files that differ from what the catalog gives now (empty when in sync). */
export function staleInfraFiles(projectRoot: string): string[] {
  const stale: string[] = [];
  for (const { file, text } of expectedInfraFiles()) {
    let current: string | undefined;
    try {
      current = readFileSync(join(projectRoot, file), "utf8");
    } catch {
      current = undefined;
    }
    if (current !== text) stale.push(file);
  }
  return stale;
}

function main(argv: readonly string[]): number {
  const root = findProjectRoot(__dirname);
  if (argv.includes("--check")) {
    const stale = staleInfraFiles(root);
    for (const file of stale) console.error(`${file} is out of date with src/catalog. Run: npm run gen:infra`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const { file, text } of expectedInfraFiles()) {
    writeFileSync(join(root, file), text);
    console.log(`wrote ${file}`);
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
