import type { Properties } from "./spec";

/** Row-property helpers for tolerant normalizers. */

/** Facet props without the keys a payload left out, so that absent means "unchanged". */
export function present(props: Readonly<Record<string, unknown>>): Properties {
  const out: Properties = {};
  // for…in over the normalizers' own object literals: no entry arrays (this runs several times an event).
  for (const key in props) {
    const value = props[key];
    if (value !== undefined) out[key] = value as Properties[string];
  }
  return out;
}

/** A nullable scalar as a row property: `null` from the producer is "not given". */
export function given<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}
