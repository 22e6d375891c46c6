import type { Ajv, ErrorObject } from "ajv";
import type { TSchema } from "@sinclair/typebox";
import * as path from "node:path";
import { formats } from "./validation-formats";

/** One schema violation: where (a JSON Pointer into the event) and why. */
export interface SchemaError {
  readonly instancePath: string;
  readonly message: string;
}

/** Returns `undefined` when the value is valid, else every violation found. */
export type Validator = (value: unknown) => readonly SchemaError[] | undefined;

/** An AJV validate function, compiled or generated. */
export interface ValidateFunction {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * Validators come from JSON Schemas (TypeBox objects) in two passes, both AJV:
 * - `firstError` stops at the first error, which is cheap and safe on hostile input;
 * - `allErrors` checks a value that failed again, to report everything wrong with it.
 * Validation never changes the data (no coercion, defaults or property removal).
 *
 * `npm run build` generates both passes of every schema as standalone code (scripts/build-validators.ts),
 * one small module per schema and pass under dist/src/generated/, indexed by `validators.js`. The app
 * loads a schema's module when it first meets the schema, and never loads AJV's compiler. Only a build
 * without that step (plain `tsc`, no index) compiles at run time, once per schema.
 */
export type Pass = "firstError" | "allErrors";
export const PASSES: readonly Pass[] = ["firstError", "allErrors"];

/** What `generated/validators.js` exports: per schema name, a loader per pass. */
export type GeneratedIndex = Readonly<Record<string, Readonly<Record<Pass, () => ValidateFunction>>>>;
/** The generated index, relative to this file. */
export const GENERATED_INDEX = "generated/validators.js";

/** Loads the named schema's validator: generated at build time, or compiled from `schema()` without that. */
export function loadValidator(name: string, schema: () => TSchema): Validator {
  const index = generatedIndex();
  if (!index) return compileValidator(schema());
  const entry = Object.hasOwn(index, name) ? index[name] : undefined;
  if (!entry) throw new Error(`${GENERATED_INDEX} has no validator for "${name}": the build is stale; run npm run build`);
  return validatorOf(entry.firstError(), entry.allErrors);
}

/** Compiles a schema (both passes, the second on first use). For builds without generated code, and for tests. */
export function compileValidator(schema: TSchema): Validator {
  return validatorOf(compiler("firstError").compile(schema), () => compiler("allErrors").compile(schema));
}

function validatorOf(quick: ValidateFunction, allErrors: () => ValidateFunction): Validator {
  let thorough: ValidateFunction | undefined;
  return (value) => {
    if (quick(value)) return undefined;
    thorough ??= allErrors();
    thorough(value);
    return (thorough.errors ?? quick.errors ?? []).map(toSchemaError);
  };
}

let index: GeneratedIndex | null | undefined;

function generatedIndex(): GeneratedIndex | undefined {
  if (index === undefined) {
    const file = path.join(__dirname, GENERATED_INDEX);
    try {
      index = (require(file) as { validators: GeneratedIndex }).validators;
    } catch (error) {
      // Only "not generated" means compile instead; an index that fails to load is a broken build.
      if ((error as { code?: string }).code !== "MODULE_NOT_FOUND" || !String((error as Error).message).includes(file)) throw error;
      index = null;
    }
  }
  return index ?? undefined;
}

const compilers: Partial<Record<Pass, Ajv>> = {};

function compiler(pass: Pass): Ajv {
  return (compilers[pass] ??= createAjv(pass));
}

/**
 * The AJV instance of one pass. With `formatsModule` (a path as the generated code will `require` it)
 * it keeps the code it generates, for standalone modules.
 */
export function createAjv(pass: Pass, options: { formatsModule?: string } = {}): Ajv {
  // Loaded here only: the app runs generated code, and AJV's compiler costs ~100 ms of cold start.
  const { default: AjvClass, _ } = require("ajv") as typeof import("ajv");
  return new AjvClass({
    strict: true,
    allErrors: pass === "allErrors",
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    formats,
    code: options.formatsModule === undefined ? {} : { source: true, formats: _`require(${options.formatsModule}).formats` },
  });
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
