import { StringDecoder } from "node:string_decoder";

/*
 * Streams events out of JSON text without ever holding more than one event (or one NDJSON line) in
 * memory. Three shapes, told apart by the first non-blank character and the first line:
 * - a JSON array of events (Event Grid batches, CloudEvents batches, dead-letter blobs);
 * - NDJSON: one event (or one array of events) per line;
 * - a sequence of JSON values: a single pretty-printed event, or several arrays/objects one after another.
 *
 * The structure (brackets, strings, commas) is scanned here; each event's own text is parsed by
 * `JSON.parse`. That keeps the scan cheap, gives every syntax error an exact line and column, and lets
 * a malformed event be reported and skipped while the rest of its array is still read. Only a broken
 * structure (a bracket that closes the wrong thing, input that ends inside a value) stops a file.
 */

export interface Position {
  /** File name, `<stdin>` or `container/blob`. */
  readonly source: string;
  /** 1-based line and column (UTF-16 units) of where the problem or the event starts. */
  readonly line: number;
  readonly column: number;
}

export type ReadItem =
  | { readonly kind: "event"; readonly value: unknown; readonly at: Position }
  | { readonly kind: "error"; readonly at: Position; readonly message: string };

export type InputFormat = "auto" | "ndjson" | "json";

export interface ReadOptions {
  readonly source: string;
  readonly format?: InputFormat;
  /** Called with each chunk's size in bytes as it is consumed (for progress). */
  readonly onBytes?: (bytes: number) => void;
  /** The largest single event or NDJSON line kept in memory; larger ones are reported and skipped. */
  readonly maxEventChars?: number;
}

/** An event larger than this cannot be stored anyway (an entity is at most 1 MiB). */
export const DEFAULT_MAX_EVENT_CHARS = 32 * 1024 * 1024;

export function formatPosition(at: Position): string {
  return `${at.source}:${at.line}:${at.column}`;
}

/** Reads every event of one input. Never throws for bad content: that comes out as `error` items. */
export async function* readEvents(chunks: AsyncIterable<Buffer | string>, options: ReadOptions): AsyncGenerator<ReadItem> {
  const iterator = chunks[Symbol.asyncIterator]();
  const decoder = new StringDecoder("utf8");
  const maxChars = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  // Peek until the first line is complete (or the first non-blank character is not `{`), to choose a reader.
  let head = "";
  let ended = false;
  const pull = async (): Promise<string | undefined> => {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      return decoder.end() || undefined;
    }
    const chunk = next.value;
    options.onBytes?.(typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length);
    return typeof chunk === "string" ? chunk : decoder.write(chunk);
  };
  let format: "ndjson" | "json" | undefined = options.format === "auto" || options.format === undefined ? undefined : options.format;
  while (format === undefined) {
    const start = firstNonBlank(head);
    if (start >= 0 && head.charCodeAt(start) !== 0x7b /* { */) {
      format = "json";
      break;
    }
    const newline = start >= 0 ? head.indexOf("\n", start) : -1;
    if (newline >= 0) {
      // A line that is a whole object on its own makes this NDJSON; a lone `{` is a pretty-printed value.
      const firstLine = head.slice(start, newline).trim();
      format = firstLine.length > 1 && firstLine.endsWith("}") ? "ndjson" : "json";
      break;
    }
    if (ended || head.length > maxChars) {
      format = "json";
      break;
    }
    const text = await pull();
    if (text !== undefined) head += text;
  }
  async function* rest(): AsyncGenerator<string> {
    if (head !== "") yield head;
    head = "";
    while (!ended) {
      const text = await pull();
      if (text !== undefined && text !== "") yield text;
    }
  }
  if (format === "ndjson") yield* readNdjson(rest(), options.source, maxChars);
  else yield* readJson(rest(), options.source, maxChars);
}

function firstNonBlank(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isBlank(c)) return i;
  }
  return -1;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

/** V8 names the character but not where it is; the quoted context around it says where. */
const UNEXPECTED_TOKEN = /^(Unexpected token '(.+?)'), (\.\.\.)?"([\s\S]*)"(\.\.\.)? is not valid JSON$/;
/** V8 shows at most this many characters either side of an unexpected token. */
const V8_CONTEXT = 10;

/**
 * `JSON.parse`'s message, without the position (we give line and column) and without the quoted
 * context (which could be message content), and the offset of the problem in `text` when known.
 */
export function parseErrorOf(error: unknown, text: string): { message: string; offset: number | undefined } {
  const raw = error instanceof Error ? error.message : String(error);
  const at = / (?:in JSON )?at position (\d+)(?: \(line \d+ column \d+\))?/.exec(raw);
  if (at) return { message: raw.replace(at[0], ""), offset: Number(at[1]) };
  const token = UNEXPECTED_TOKEN.exec(raw);
  if (token) {
    const [, message, char, before, context] = token as unknown as [string, string, string, string | undefined, string];
    let offset: number | undefined;
    if (before) {
      // The context starts ten characters before the token.
      for (let from = 0; ; from++) {
        const i = text.indexOf(context, from);
        if (i < 0) break;
        if (text.startsWith(char, i + V8_CONTEXT)) {
          offset = i + V8_CONTEXT;
          break;
        }
        from = i;
      }
    } else if (token[5]) offset = context.length - V8_CONTEXT; // the context is the text's start
    else offset = text.indexOf(char); // the whole (short) text
    return { message, offset: offset !== undefined && offset >= 0 ? offset : undefined };
  }
  if (/^Unexpected end of JSON input/.test(raw)) return { message: raw, offset: text.length };
  return { message: raw, offset: undefined };
}

/** Line and column of `offset` within `text`, which starts at (line, column). */
function advance(text: string, offset: number, line: number, column: number): { line: number; column: number } {
  let l = line, c = column;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      l++;
      c = 1;
    } else c++;
  }
  return { line: l, column: c };
}

function parseValue(text: string, source: string, line: number, column: number): { ok: true; value: unknown } | { ok: false; item: ReadItem } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const { message, offset } = parseErrorOf(error, text);
    const at = advance(text, offset ?? 0, line, column);
    return { ok: false, item: { kind: "error", at: { source, ...at }, message: `invalid JSON: ${message}` } };
  }
}

/** One NDJSON line's events: an object is one event, an array holds several. */
function* eventsOf(value: unknown, at: Position): Generator<ReadItem> {
  if (Array.isArray(value)) for (const v of value) yield { kind: "event", value: v, at };
  else yield { kind: "event", value, at };
}

async function* readNdjson(texts: AsyncIterable<string>, source: string, maxChars: number): AsyncGenerator<ReadItem> {
  let pending = "";
  let line = 0;
  let skipping = false; // inside an over-long line, dropping text up to its end
  const handle = function* (text: string): Generator<ReadItem> {
    line++;
    const start = firstNonBlank(text);
    if (start < 0) return;
    const body = text.charCodeAt(text.length - 1) === 0x0d ? text.slice(0, -1) : text;
    const parsed = parseValue(body, source, line, 1);
    if (parsed.ok) yield* eventsOf(parsed.value, { source, line, column: start + 1 });
    else yield parsed.item;
  };
  for await (const text of texts) {
    let from = 0;
    for (;;) {
      const newline = text.indexOf("\n", from);
      if (newline < 0) break;
      if (skipping) {
        skipping = false;
        line++;
      } else {
        const whole = pending === "" ? text.slice(from, newline) : pending + text.slice(from, newline);
        pending = "";
        yield* handle(whole);
      }
      from = newline + 1;
    }
    if (!skipping) {
      pending += text.slice(from);
      if (pending.length > maxChars) {
        yield { kind: "error", at: { source, line: line + 1, column: 1 }, message: `line longer than ${maxChars} characters; skipped` };
        pending = "";
        skipping = true;
      }
    }
  }
  if (!skipping && pending !== "") yield* handle(pending);
}

const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, NEWLINE = 0x0a;

/**
 * A sequence of JSON values. A top-level array's elements are events; a top-level object is one event.
 * Elements are cut at the array's own commas and handed to `JSON.parse` one by one.
 */
async function* readJson(texts: AsyncIterable<string>, source: string, maxChars: number): AsyncGenerator<ReadItem> {
  let buf = "";
  let i = 0; // next index of buf to scan
  const stack: number[] = []; // open brackets
  let inString = false;
  let escaped = false;
  let topIsArray = false;
  let afterComma = false; // in a top-level array, just after a comma (or `[`): a value must follow
  let sawElement = false; // the top-level array has had an element
  let elementStart = -1; // index in buf of the current event's text
  let elementLine = 0, elementColumn = 0;
  let line = 1;
  let lineStart = 0; // absolute offset where the current line starts
  let base = 0; // absolute offset of buf[0]
  const pos = (index: number): Position => ({ source, line, column: base + index - lineStart + 1 });

  const emit = (end: number): ReadItem => {
    let text = buf.slice(elementStart, end);
    // Trailing blanks belong to no event; they do not change the text's positions.
    let cut = text.length;
    while (cut > 0 && isBlank(text.charCodeAt(cut - 1))) cut--;
    text = text.slice(0, cut);
    const at: Position = { source, line: elementLine, column: elementColumn };
    elementStart = -1;
    const parsed = parseValue(text, source, at.line, at.column);
    return parsed.ok ? { kind: "event", value: parsed.value, at } : parsed.item;
  };
  const startElement = (index: number) => {
    elementStart = index;
    elementLine = line;
    elementColumn = base + index - lineStart + 1;
  };

  for await (const text of texts) {
    buf += text;
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
        else if (c === NEWLINE) {
          line++;
          lineStart = base + i + 1;
        }
        continue;
      }
      if (c === NEWLINE) {
        line++;
        lineStart = base + i + 1;
        continue;
      }
      if (isBlank(c)) continue;
      const depth = stack.length;
      if (depth === 0) {
        if (c === OPEN_ARRAY) {
          stack.push(c);
          topIsArray = true;
          afterComma = true;
          sawElement = false;
        } else if (c === OPEN_OBJECT) {
          stack.push(c);
          topIsArray = false;
          startElement(i);
        } else {
          yield { kind: "error", at: pos(i), message: `unexpected ${describeChar(c)}: expected an event object or an array of events; stopped reading this input` };
          return;
        }
        continue;
      }
      if (depth === 1 && topIsArray) {
        if (c === COMMA || c === CLOSE_ARRAY) {
          if (elementStart >= 0) yield emit(i);
          else if (afterComma && (c === COMMA || sawElement)) {
            yield { kind: "error", at: pos(i), message: `invalid JSON: ${c === COMMA ? "missing value before ','" : "trailing comma before ']'"}` };
          }
          if (c === CLOSE_ARRAY) {
            stack.pop();
            topIsArray = false;
          } else afterComma = true;
          continue;
        }
        if (elementStart < 0) {
          startElement(i);
          afterComma = false;
          sawElement = true;
        }
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) stack.push(c);
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        const open = stack.pop();
        if (open !== (c === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY)) {
          yield { kind: "error", at: pos(i), message: `invalid JSON: unexpected ${describeChar(c)}; stopped reading this input` };
          return;
        }
        if (stack.length === 0) yield emit(i + 1); // a top-level object ends
      }
    }
    // Keep only the current event's text; everything before it has been scanned and is dropped.
    if (elementStart < 0) {
      base += buf.length;
      buf = "";
      i = 0;
    } else {
      if (i - elementStart > maxChars) {
        yield { kind: "error", at: { source, line: elementLine, column: elementColumn }, message: `an event larger than ${maxChars} characters; stopped reading this input` };
        return;
      }
      if (elementStart > 0) {
        buf = buf.slice(elementStart);
        base += elementStart;
        i -= elementStart;
        elementStart = 0;
      }
    }
  }
  if (stack.length > 0 || inString) {
    const at = elementStart >= 0 ? { source, line: elementLine, column: elementColumn } : pos(i);
    yield { kind: "error", at, message: `invalid JSON: the input ends inside ${inString ? "a string" : stack[stack.length - 1] === OPEN_ARRAY ? "an array" : "an object"}${elementStart >= 0 ? " (this event is incomplete)" : ""}` };
  }
}

function describeChar(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `character U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}
