import type { RegisteredFunction } from "./functionsHost";

/**
 * What the host does before an HTTP function runs: match `api/<route>` against each function's
 * route template and method, and pull out the route values. Templates here are literal segments and
 * `{name}`; a route value is percent-decoded except for `%2F`, which ASP.NET Core routing leaves
 * encoded (so the app has to cope with it, as it must in Azure).
 */
export const ROUTE_PREFIX = "api";

export interface RouteMatch {
  readonly functionName: string;
  readonly params: Record<string, string>;
}

export function matchRoute(functions: Iterable<RegisteredFunction>, method: string, pathname: string): RouteMatch | undefined {
  const segments = pathname.split("/").filter((s) => s !== "");
  if (segments[0] !== ROUTE_PREFIX) return undefined;
  for (const fn of functions) {
    const trigger = Object.values(fn.bindings).find((b) => b.type === "httpTrigger");
    if (!trigger) continue;
    const methods = (trigger["methods"] as string[] | undefined)?.map((m) => m.toUpperCase());
    if (methods && !methods.includes(method.toUpperCase())) continue;
    const template = String(trigger["route"] ?? fn.name).split("/").filter((s) => s !== "");
    const params = matchSegments(template, segments.slice(1));
    if (params) return { functionName: fn.name, params };
  }
  return undefined;
}

function matchSegments(template: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (template.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const part = template[i] as string, segment = segments[i] as string;
    const name = /^\{([A-Za-z0-9_]+)\}$/.exec(part)?.[1];
    if (name === undefined) {
      if (part.toLowerCase() !== segment.toLowerCase()) return undefined;
      continue;
    }
    let value: string;
    try {
      value = decodeURIComponent(segment.replace(/%2F/gi, "%252F"));
    } catch {
      return undefined; // malformed escape: the host answers 400; no route matches here
    }
    params[name] = value;
  }
  return params;
}
