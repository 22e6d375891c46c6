import { RestError } from "@azure/core-rest-pipeline";

/** Branch on `statusCode`: under Azurite `code` can be undefined. */
export function isRestError(error: unknown): error is RestError {
  return error instanceof RestError || (typeof error === "object" && error !== null && (error as { name?: unknown }).name === "RestError");
}

export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}
