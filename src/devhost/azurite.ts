// Starts Azurite (table, optionally blob) as child processes for tests and local runs.
// Azurite has no supported programmatic API, so we spawn its CLI entry points.
import { ChildProcess, spawn } from "node:child_process";
import { AZURITE_ACCOUNT, AZURITE_KEY } from "../config";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export interface AzuriteOptions {
  blob?: boolean;
  /** Table port; lets a test restart Azurite on the same endpoint. Default: a free port. */
  port?: number;
  blobPort?: number;
  /** On-disk data directory; default in-memory. */
  location?: string;
}

export interface Azurite {
  readonly connectionString: string;
  readonly tableEndpoint: string;
  readonly blobEndpoint: string | undefined;
  readonly tablePort: number;
  readonly blobPort: number | undefined;
  stop(): Promise<void>;
}


const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/** Walks up from `from` to the directory whose package.json is this project's. */
export function findProjectRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: unknown }).name === "acs-event-ledger") return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`acs-event-ledger project root not found above ${from}`);
  }
}

/** Binds `port` (0 = any) on loopback and releases it; rejects if it is taken. */
export async function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", (e) => reject(new Error(`port ${HOST}:${port} is not free: ${e.message}`)));
    srv.listen(port, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

interface Service {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output(): string;
}

function spawnService(root: string, bin: string, args: string[]): Service {
  const script = path.join(root, "node_modules", ".bin", bin);
  if (!fs.existsSync(script)) throw new Error(`${script} not found; is azurite installed?`);
  // Run with our own node rather than via the shebang, so PATH does not matter.
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-8192); // bounded: only for error messages
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  child.once("error", (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  return { child, exited, output: () => out };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => {
      sock.destroy();
      resolve(false);
    });
  });
}

async function waitForPort(svc: Service, name: string, port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  void svc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(
        `${name} exited early (code ${svc.child.exitCode}, signal ${svc.child.signalCode}) on port ${port}:\n${svc.output()}`,
      );
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not accept connections on ${HOST}:${port} within ${START_TIMEOUT_MS} ms:\n${svc.output()}`);
}

async function stopService(svc: Service): Promise<void> {
  const { child } = svc;
  if (child.exitCode === null && child.signalCode === null) {
    // SIGINT is what Azurite handles gracefully (it saves its on-disk db); SIGTERM would not.
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await svc.exited;
    clearTimeout(timer);
  }
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const root = findProjectRoot();
  const persistence = options.location ? ["--location", path.resolve(options.location)] : ["--inMemoryPersistence"];
  const common = [...persistence, "--silent", "--disableTelemetry"];

  const services: Service[] = [];
  // Processes must not outlive us even on process.exit(); only sync work is possible here.
  const killAll = () => services.forEach((s) => s.child.kill("SIGKILL"));
  process.once("exit", killAll);

  const stopAll = async () => {
    process.removeListener("exit", killAll);
    await Promise.all(services.map(stopService));
  };

  try {
    // A port given explicitly is checked too: otherwise a stale Azurite on it would pass the readiness probe.
    const tablePort = await freePort(options.port);
    const table = spawnService(root, "azurite-table", [...common, "--tableHost", HOST, "--tablePort", String(tablePort)]);
    services.push(table);

    let blobPort: number | undefined;
    let blob: Service | undefined;
    if (options.blob) {
      blobPort = await freePort(options.blobPort);
      blob = spawnService(root, "azurite-blob", [...common, "--blobHost", HOST, "--blobPort", String(blobPort)]);
      services.push(blob);
    }

    await waitForPort(table, "azurite-table", tablePort);
    if (blob && blobPort !== undefined) await waitForPort(blob, "azurite-blob", blobPort);

    const tableEndpoint = `http://${HOST}:${tablePort}/${AZURITE_ACCOUNT}`;
    const blobEndpoint = blobPort !== undefined ? `http://${HOST}:${blobPort}/${AZURITE_ACCOUNT}` : undefined;
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `TableEndpoint=${tableEndpoint};` +
      (blobEndpoint ? `BlobEndpoint=${blobEndpoint};` : "");

    let stopping: Promise<void> | undefined;
    return {
      connectionString,
      tableEndpoint,
      blobEndpoint,
      tablePort,
      blobPort,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
