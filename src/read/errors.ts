/**
 * What a reader did wrong, said so that the answer can name it: a 400 naming the parameter, or a 404
 * naming what was not found. Anything else that goes wrong is the ledger's problem, answered without
 * detail (see src/read/http.ts).
 */
export class BadRequest extends Error {
  override readonly name = "BadRequest";
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

export class NotFound extends Error {
  override readonly name = "NotFound";
}

/** Shows a caller's value in an error message: quoted, and clipped so an error stays one line. */
export function quoted(value: string): string {
  const clipped = value.length > 80 ? `${value.slice(0, 79)}…` : value;
  return JSON.stringify(clipped);
}
