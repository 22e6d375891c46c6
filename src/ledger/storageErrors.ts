import { RestError } from "@azure/core-rest-pipeline";

/** Branch on `statusCode`: under Azurite `code` can be undefined. */
export function isRestError(error: unknown): error is RestError {
  return error instanceof RestError || (typeof error === "object" && error !== null && (error as { name?: unknown }).name === "RestError");
}

export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/**
 * A storage failure in one line: the HTTP status with the service's error code and message (from the
 * error, the `x-ms-error-code` header, or the body, which the Table and Blob services send as JSON
 * or XML), else the error's first line. The SDK's own message is the raw body when it cannot parse
 * it, whose first line is only `<?xml …?>`.
 */
export function describeStorageError(error: unknown): string {
  if (!isRestError(error) || error.statusCode === undefined) return firstLine(error); // no answer: the message names the network error
  const body = error.response?.bodyAsText ?? "";
  const code = errorCodeOf(error, body);
  const message = serviceMessageOf(body) ?? (isMarkup(error.message) ? undefined : firstLine(error));
  return [`HTTP ${error.statusCode}${code ? ` ${code}` : ""}`, message].filter((part) => part).join(": ");
}

function errorCodeOf(error: RestError, body: string): string | undefined {
  const header = error.response?.headers.get("x-ms-error-code");
  const fromBody = /<Code>([^<]{1,100})<\/Code>/i.exec(body)?.[1] ?? jsonError(body)?.code;
  const code = header ?? fromBody ?? (typeof error.code === "string" ? error.code : undefined);
  return code?.trim() || undefined;
}

function serviceMessageOf(body: string): string | undefined {
  const xml = /<Message(?:\s[^>]*)?>([\s\S]{1,2000}?)<\/Message>/i.exec(body)?.[1];
  const text = xml ?? jsonError(body)?.message;
  // The service appends "RequestId:…\nTime:…" lines: the first line is the message.
  return text === undefined ? undefined : (text.trim().split(/\r?\n/)[0] ?? "").slice(0, 300) || undefined;
}

function jsonError(body: string): { code?: string; message?: string } | undefined {
  if (!body.trimStart().startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(body) as Record<string, { code?: unknown; message?: unknown } | undefined>;
    const e = parsed["odata.error"] ?? parsed["error"];
    if (!e) return undefined;
    const message = typeof e.message === "string" ? e.message : (e.message as { value?: unknown } | undefined)?.value;
    return { ...(typeof e.code === "string" ? { code: e.code } : {}), ...(typeof message === "string" ? { message } : {}) };
  } catch {
    return undefined;
  }
}

function isMarkup(message: string): boolean {
  return /^\s*(<\?xml|<\w|\{)/.test(message);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split("\n")[0] ?? "").slice(0, 300);
}
