import { Type, type TSchema } from "@sinclair/typebox";
import { loadValidator, type Validator } from "../validation";
import { callingEvents } from "./calling";
import { chatEvents } from "./chat";
import { presenceEvents } from "./presence";
import { smsEvents } from "./sms";
import { FAMILIES, type AnySpec, type Family } from "./spec";

export { FAMILIES, TABLES, type AnySpec, type Family, type LedgerWrite, type TableName } from "./spec";

/**
 * The one catalog: event type → family, JSON Schema, normalizer and tables. Function registrations,
 * subscription filters (infra/event-types.json) and tests are all derived from it.
 */
export const CATALOG: ReadonlyMap<string, AnySpec> = new Map(
  [...smsEvents, ...chatEvents, ...callingEvents, ...presenceEvents].map((spec) => [spec.type, spec]),
);

const FUNCTION_NAMES: Record<Family, string> = {
  sms: "smsEvents",
  chat: "chatEvents",
  calling: "callingEvents",
  presence: "presenceEvents",
};

export function functionNameOf(family: Family): string {
  return FUNCTION_NAMES[family];
}

export function eventTypesOf(family: Family): readonly string[] {
  return [...CATALOG.values()].filter((spec) => spec.family === family).map((spec) => spec.type).sort();
}

/**
 * ACS event families that Event Grid (and `@azure/eventgrid`) know but this ledger does not catalog
 * yet. Their events are quarantined as unknown types, never dropped.
 */
export const UNCATALOGED_FAMILIES = [
  { family: "email", typePrefix: "Microsoft.Communication.Email" },
  { family: "advanced messaging", typePrefix: "Microsoft.Communication.AdvancedMessage" },
  { family: "job router", typePrefix: "Microsoft.Communication.Router" },
] as const;

export function specFor(type: string): AnySpec | undefined {
  // `Map.get` and not an object lookup: a type named `__proto__` must find nothing.
  return CATALOG.get(type);
}

const validators = new Map<string, Validator>();

/** What a catalog type's validator checks: `{ subject, data }` of its events. */
export function validationSchemaOf(spec: AnySpec): TSchema {
  return Type.Object({ subject: spec.subject ?? Type.String(), data: spec.data });
}

/**
 * Validates `{ subject, data }` of an event of a catalog type, with the validator generated for the
 * type at build time (scripts/build-validators.ts), loaded once per type per process.
 */
export function validatorFor(spec: AnySpec): Validator {
  let validator = validators.get(spec.type);
  if (!validator) {
    validator = loadValidator(spec.type, () => validationSchemaOf(spec));
    validators.set(spec.type, validator);
  }
  return validator;
}

let tableFamilies: ReadonlyMap<string, Family> | undefined;

/**
 * The family whose events write a table, from the specs' table lists; `undefined` for a table that
 * no family or more than one family writes (QuarantinedEvents, and any table added beside the catalog).
 */
export function familyOfTable(table: string): Family | undefined {
  if (!tableFamilies) {
    const seen = new Map<string, Family | null>();
    for (const spec of CATALOG.values()) for (const t of spec.tables) seen.set(t, seen.has(t) && seen.get(t) !== spec.family ? null : spec.family);
    tableFamilies = new Map([...seen].filter((entry): entry is [string, Family] => entry[1] !== null));
  }
  return tableFamilies.get(table);
}

export function isFamily(name: string): name is Family {
  return (FAMILIES as readonly string[]).includes(name);
}
