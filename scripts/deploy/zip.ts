/**
 * A small, deterministic zip writer (deflate, no zip64), so that packaging needs no `zip` tool and
 * the same files always give the same bytes. Entries are sorted and carry a fixed timestamp.
 * Symbolic links are skipped: in a Node package they are node_modules/.bin shims, unused at run time.
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { deflateRawSync } from "node:zlib";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Every regular file under `dir`, as forward-slash paths relative to it, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const full = join(current, name);
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  walk(dir);
  return out.sort();
}

// 1980-01-01 00:00, the earliest DOS date: a fixed stamp keeps the archive reproducible.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** Zips the contents of `dir` (not the folder itself) into `outFile`. Returns the entry count. */
export function zipDirectory(dir: string, outFile: string): number {
  const files = listFiles(dir);
  if (files.length > 0xffff) throw new Error(`Too many files to zip without zip64: ${files.length}`);
  const fd = openSync(outFile, "w");
  const central: Buffer[] = [];
  let offset = 0;
  const write = (buf: Buffer): void => {
    writeSync(fd, buf);
    offset += buf.length;
  };
  try {
    for (const file of files) {
      const data = readFileSync(join(dir, ...file.split("/")));
      const deflated = deflateRawSync(data, { level: 9 });
      const useDeflate = deflated.length < data.length;
      const body = useDeflate ? deflated : data;
      const name = Buffer.from(file, "utf8");
      const crc = crc32(data);
      if (offset > 0xffffffff || data.length > 0xffffffff) throw new Error("Package too large for zip without zip64");

      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(useDeflate ? 8 : 0, 8);
      local.writeUInt16LE(DOS_TIME, 10);
      local.writeUInt16LE(DOS_DATE, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);

      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below is honoured
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(0x0800, 8);
      header.writeUInt16LE(useDeflate ? 8 : 0, 10);
      header.writeUInt16LE(DOS_TIME, 12);
      header.writeUInt16LE(DOS_DATE, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(body.length, 20);
      header.writeUInt32LE(data.length, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt16LE(0, 30); // extra
      header.writeUInt16LE(0, 32); // comment
      header.writeUInt16LE(0, 34); // disk
      header.writeUInt16LE(0, 36); // internal attributes
      header.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
      header.writeUInt32LE(offset, 42);
      central.push(header, name);

      write(local);
      write(name);
      write(body);
    }
    const centralStart = offset;
    for (const part of central) write(part);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(files.length, 8);
    end.writeUInt16LE(files.length, 10);
    end.writeUInt32LE(offset - centralStart, 12);
    end.writeUInt32LE(centralStart, 16);
    write(end);
  } finally {
    closeSync(fd);
  }
  return files.length;
}

/** The entry names of a zip written by zipDirectory (reads the central directory). */
export function readZipEntryNames(zipFile: string): string[] {
  const buf = readFileSync(zipFile);
  const end = buf.length - 22;
  if (end < 0 || buf.readUInt32LE(end) !== 0x06054b50) throw new Error(`${zipFile}: no end of central directory`);
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${zipFile}: bad central directory entry ${i}`);
    const nameLength = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    names.push(buf.toString("utf8", at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extra + comment;
  }
  return names;
}
