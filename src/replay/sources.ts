import * as fs from "node:fs";
import * as path from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { describeStorageError } from "../ledger/storageErrors";
import type { InputFormat } from "./jsonEvents";

/** One input to read: a file, stdin, or a blob. Opened only when its turn comes. */
export interface InputSource {
  /** How positions name it: a path, `<stdin>`, or `container/blob`. */
  readonly name: string;
  /** Bytes, when known in advance (for progress). */
  readonly size: number | undefined;
  readonly format: InputFormat;
  open(): Promise<AsyncIterable<Buffer | string>>;
}

/** File names a directory walk or a container listing takes; a file named explicitly is always read. */
const EVENT_FILE = /\.(json|ndjson|jsonl)$/i;
const READ_CHUNK = 1 << 20;

export function formatOf(name: string): InputFormat {
  return /\.(ndjson|jsonl)$/i.test(name) ? "ndjson" : "auto";
}

export interface PathInputs {
  readonly sources: InputSource[];
  /** Paths that could not be read at all: these make the run fail. */
  readonly errors: { readonly source: string; readonly message: string }[];
  readonly totalBytes: number;
}

/**
 * Files and directories (walked recursively, in name order, taking *.json, *.ndjson and *.jsonl), and
 * `-` for standard input. Listing them first gives the progress bar its total.
 */
export function pathInputs(paths: readonly string[], stdin: () => NodeJS.ReadableStream): PathInputs {
  const sources: InputSource[] = [];
  const errors: { source: string; message: string }[] = [];
  let totalBytes = 0;
  let stdinUsed = false;
  const addFile = (file: string, size: number) => {
    totalBytes += size;
    sources.push({
      name: file,
      size,
      format: formatOf(file),
      open: () => Promise.resolve(fs.createReadStream(file, { highWaterMark: READ_CHUNK })),
    });
  };
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      errors.push({ source: dir, message: `cannot read this directory: ${messageOf(error)}` });
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (EVENT_FILE.test(entry.name) && (entry.isFile() || entry.isSymbolicLink())) {
        try {
          const stat = fs.statSync(full);
          if (stat.isFile()) addFile(full, stat.size);
        } catch (error) {
          errors.push({ source: full, message: `cannot read this file: ${messageOf(error)}` });
        }
      }
    }
  };
  for (const p of paths) {
    if (p === "-") {
      if (stdinUsed) continue;
      stdinUsed = true;
      sources.push({ name: "<stdin>", size: undefined, format: "auto", open: () => Promise.resolve(stdin() as AsyncIterable<Buffer>) });
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (error) {
      errors.push({ source: p, message: `cannot read this path: ${messageOf(error)}` });
      continue;
    }
    if (stat.isDirectory()) walk(p);
    else addFile(p, stat.size);
  }
  return { sources, errors, totalBytes };
}

export interface BlobInputOptions {
  readonly container: string;
  /** A connection string (e.g. Azurite's), or else an account URL used with DefaultAzureCredential. */
  readonly connectionString?: string;
  readonly accountUrl?: string;
  readonly prefix?: string;
  /** How many small blobs to download ahead of the one being read (default 8). */
  readonly readAhead?: number;
}

/** Blobs up to this size are downloaded ahead whole; larger ones are streamed when their turn comes. */
const READ_AHEAD_MAX_BYTES = 4 * 1024 * 1024;

export function containerClient(options: BlobInputOptions): ContainerClient {
  const { BlobServiceClient } = require("@azure/storage-blob") as typeof import("@azure/storage-blob");
  if (options.connectionString) return BlobServiceClient.fromConnectionString(options.connectionString).getContainerClient(options.container);
  if (!options.accountUrl) throw new Error("a blob source needs a connection string or an account URL");
  const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
  return new BlobServiceClient(options.accountUrl, new DefaultAzureCredential()).getContainerClient(options.container);
}

export interface BlobListing {
  /** Blobs whose names are not *.json, *.ndjson or *.jsonl, and so not read. */
  skipped: number;
  listed: number;
}

/**
 * The container's blobs (under the prefix) in listing order, which for dead letters
 * (`SUBSCRIPTION/YYYY/M/D/H/<guid>.json`) is by subscription and then roughly by time. Small blobs
 * are downloaded a few at a time ahead of the reader, since each costs a round trip.
 */
export async function* blobInputs(options: BlobInputOptions, listing: BlobListing = { skipped: 0, listed: 0 }): AsyncGenerator<InputSource> {
  const container = containerClient(options);
  const ahead = Math.max(0, options.readAhead ?? 8);
  const queue: { name: string; size: number | undefined; data: Promise<Buffer> | undefined }[] = [];
  const pages = container.listBlobsFlat(options.prefix ? { prefix: options.prefix } : {})[Symbol.asyncIterator]();
  let listed = false;
  const download = (name: string): Promise<Buffer> => {
    const data = container.getBlobClient(name).downloadToBuffer();
    data.catch(() => undefined); // awaited when its turn comes; until then a failure must not go unhandled
    return data;
  };
  const fill = async () => {
    while (!listed && queue.length <= ahead) {
      const next = await pages.next();
      if (next.done) {
        listed = true;
        break;
      }
      const blob = next.value;
      if (!EVENT_FILE.test(blob.name)) {
        listing.skipped++;
        continue;
      }
      listing.listed++;
      const size = blob.properties.contentLength;
      const small = ahead > 0 && size !== undefined && size <= READ_AHEAD_MAX_BYTES;
      queue.push({ name: blob.name, size, data: small ? download(blob.name) : undefined });
    }
  };
  for (;;) {
    await fill();
    const next = queue.shift();
    if (!next) return;
    const { name, size, data } = next;
    yield {
      name: `${options.container}/${name}`,
      size,
      format: formatOf(name),
      open: async () => {
        if (data) return once(await data);
        const response = await container.getBlobClient(name).download(0);
        const body = response.readableStreamBody;
        if (!body) throw new Error("the download has no body");
        return body as AsyncIterable<Buffer>;
      },
    };
  }
}

async function* once(buffer: Buffer): AsyncGenerator<Buffer> {
  yield buffer;
}

/** One line: a storage error's status, code and message; any other error's first line. */
export function messageOf(error: unknown): string {
  return describeStorageError(error);
}
