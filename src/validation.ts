import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { TSchema } from "@sinclair/typebox";
import { parseTimestamp } from "./time";

/** One schema violation: where (a JSON Pointer into the event) and why. */
export interface SchemaError {
  readonly instancePath: string;
  readonly message: string;
}

/** Returns `undefined` when the value is valid, else every violation found. */
export type Validator = (value: unknown) => readonly SchemaError[] | undefined;

/**
 * Validation never changes the data (no coercion, defaults or property removal). The first pass stops
 * at the first error, which is cheap and safe on hostile input; only a value that failed is checked
 * again with `allErrors`, to report everything wrong with it.
 */
function createAjv(allErrors: boolean): Ajv {
  const ajv = new Ajv({ strict: true, allErrors, coerceTypes: false, useDefaults: false, removeAdditional: false });
  addFormats(ajv, ["uri"]);
  ajv.addFormat("acs-timestamp", { type: "string", validate: (text: string) => parseTimestamp(text) !== undefined });
  return ajv;
}

const firstErrorAjv = createAjv(false);
const allErrorsAjv = createAjv(true);

export function compileValidator(schema: TSchema): Validator {
  const quick = firstErrorAjv.compile(schema);
  let thorough: ValidateFunction | undefined;
  return (value) => {
    if (quick(value)) return undefined;
    thorough ??= allErrorsAjv.compile(schema);
    thorough(value);
    return (thorough.errors ?? quick.errors ?? []).map(toSchemaError);
  };
}

function toSchemaError(error: ErrorObject): SchemaError {
  if (error.keyword === "required") {
    const missing = String((error.params as { missingProperty: string }).missingProperty);
    return { instancePath: `${error.instancePath}/${missing.replace(/~/g, "~0").replace(/\//g, "~1")}`, message: "is required" };
  }
  return { instancePath: error.instancePath, message: error.message ?? error.keyword };
}

export function describeErrors(errors: readonly SchemaError[]): string {
  return errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}
