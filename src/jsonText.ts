/**
 * JSON text of a parsed event. `JSON.stringify` recurses and overflows the stack on deeply nested
 * input (about 10,000 levels), which JSON.parse accepts; the ledger must still keep such an event,
 * so the rare overflow falls back to an iterative serializer that writes the same text.
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return stringifyIteratively(value);
  }
}

type Frame =
  | { readonly items: readonly unknown[]; i: number }
  | { readonly object: Readonly<Record<string, unknown>>; readonly keys: readonly string[]; i: number };

function stringifyIteratively(root: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const open = (value: unknown): void => {
    if (Array.isArray(value)) {
      out.push("[");
      stack.push({ items: value, i: 0 });
    } else if (value !== null && typeof value === "object") {
      const object = value as Record<string, unknown>;
      out.push("{");
      stack.push({ object, keys: Object.keys(object).filter((k) => object[k] !== undefined && typeof object[k] !== "function"), i: 0 });
    } else {
      out.push(JSON.stringify(value) ?? "null");
    }
  };
  open(root);
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    if ("items" in top) {
      if (top.i === top.items.length) {
        out.push("]");
        stack.pop();
        continue;
      }
      if (top.i > 0) out.push(",");
      open(top.items[top.i++]);
    } else {
      if (top.i === top.keys.length) {
        out.push("}");
        stack.pop();
        continue;
      }
      if (top.i > 0) out.push(",");
      const key = top.keys[top.i++] as string;
      out.push(JSON.stringify(key), ":");
      open(top.object[key]);
    }
  }
  return out.join("");
}
