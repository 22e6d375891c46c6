/** Reading what az prints, and checking the Event Grid subscriptions it reports. */
import { DeployError } from "./runner";

export const ACS_RESOURCE_TYPE = "Microsoft.Communication/CommunicationServices";
export const ACS_TOPIC_TYPE = "Microsoft.Communication.CommunicationServices";

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new DeployError(`Could not read the output of ${what}: ${text.slice(0, 300)}`);
  }
}

/*
 * What az prints is checked for the shape the deploy reads from it: an az that answers something
 * else (an old version, an extension, a proxy's page) fails with what it said, never with an
 * "undefined" further on.
 */
export function unexpected(what: string, text: string, wanted: string): DeployError {
  return new DeployError(`Unexpected output from ${what} (${wanted}): ${text.trim().slice(0, 300) || "(nothing)"}. Run it yourself to see what az says.`);
}

/** A JSON object; `keys` must be non-empty strings in it. */
export function parseJsonObject<T extends Record<string, unknown>>(text: string, what: string, keys: readonly string[] = []): T {
  const value = parseJson<unknown>(text, what);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw unexpected(what, text, "expected a JSON object");
  for (const key of keys) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field !== "string" || field.trim() === "") throw unexpected(what, text, `expected "${key}" in it`);
  }
  return value as T;
}

/** A JSON array of objects. */
export function parseJsonArray<T extends Record<string, unknown>>(text: string, what: string): T[] {
  const value = parseJson<unknown>(text, what);
  if (!Array.isArray(value) || value.some((item) => typeof item !== "object" || item === null || Array.isArray(item))) {
    throw unexpected(what, text, "expected a JSON list of objects");
  }
  return value as T[];
}

export interface ResourceId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly provider: string;
  readonly type: string;
  readonly name: string;
}

const RESOURCE_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)$/i;

export function parseResourceId(id: string): ResourceId | undefined {
  const match = RESOURCE_ID.exec(id.trim());
  if (!match) return undefined;
  const [, subscriptionId = "", resourceGroup = "", provider = "", type = "", name = ""] = match;
  return { subscriptionId, resourceGroup, provider, type, name };
}

export function sameId(a: string, b: string): boolean {
  return a.replace(/\/+$/, "").toLowerCase() === b.replace(/\/+$/, "").toLowerCase();
}

/** `az deployment group create --query properties.outputs` prints { name: { type, value } }. */
export function outputValue(outputs: Record<string, { value?: unknown } | undefined>, name: string): string {
  const value = outputs[name]?.value;
  if (typeof value !== "string" || value === "") {
    throw new DeployError(`The deployment did not return the output '${name}'.`);
  }
  return value;
}

/** `version` of `az version -o json` is at "azure-cli". */
export function isOlderThan(version: string, minimum: string): boolean {
  const a = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  const b = minimum.split(".").map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

export interface ExpectedSubscription {
  readonly family: string;
  readonly subscriptionName: string;
  readonly functionName: string;
  readonly eventTypes: readonly string[];
}

type Json = Record<string, unknown>;

function field(object: unknown, ...path: string[]): unknown {
  let current: unknown = object;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Json)[key];
  }
  return current;
}

/** az flattens `properties`; the REST shape nests it. Accept both. */
function either(object: unknown, ...path: string[]): unknown {
  return field(object, ...path) ?? field(object, "properties", ...path);
}

/**
 * Compares the subscriptions Event Grid reports with what the catalog asks for. Returns the
 * differences, one line each; an empty list means the filters, endpoints and dead-lettering match.
 */
export function checkSubscriptions(
  reported: readonly unknown[],
  expected: readonly ExpectedSubscription[],
  functionAppId: string,
): string[] {
  const problems: string[] = [];
  for (const want of expected) {
    const got = reported.find((sub) => field(sub, "name") === want.subscriptionName);
    if (!got) {
      problems.push(`${want.family}: subscription ${want.subscriptionName} is missing`);
      continue;
    }
    const destination = either(got, "destination");
    const endpointType = field(destination, "endpointType");
    const resourceId = field(destination, "resourceId") ?? field(destination, "properties", "resourceId");
    const batch = field(destination, "maxEventsPerBatch") ?? field(destination, "properties", "maxEventsPerBatch");
    if (endpointType !== "AzureFunction") problems.push(`${want.family}: endpoint type is ${String(endpointType)}`);
    if (typeof resourceId !== "string" || !sameId(resourceId, `${functionAppId}/functions/${want.functionName}`)) {
      problems.push(`${want.family}: endpoint is ${String(resourceId)}, not function ${want.functionName}`);
    }
    if (batch !== 1) problems.push(`${want.family}: maxEventsPerBatch is ${String(batch)}, not 1`);
    const types = either(got, "filter", "includedEventTypes");
    const actual = Array.isArray(types) ? [...(types as string[])].sort() : [];
    const wanted = [...want.eventTypes].sort();
    const missing = wanted.filter((type) => !actual.includes(type));
    const extra = actual.filter((type) => !wanted.includes(type));
    if (missing.length > 0) problems.push(`${want.family}: filter lacks ${missing.join(", ")}`);
    if (extra.length > 0) problems.push(`${want.family}: filter has extra ${extra.join(", ")}`);
    if (either(got, "deadLetterWithResourceIdentity") === undefined && either(got, "deadLetterDestination") === undefined) {
      problems.push(`${want.family}: no dead-letter destination`);
    }
  }
  return problems;
}
