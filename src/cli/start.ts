// `npm start`: runs the built app under Azure Functions Core Tools (`func start`) against a local
// Azurite, for users who have Core Tools. Azurite listens on its standard ports (so
// `UseDevelopmentStorage=true` works) and keeps its data in .azurite/ between runs.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { findProjectRoot, freePort, startAzurite, type Azurite } from "../devhost/azurite";
import { runCli } from "./oneLine";

const TABLE_PORT = 10002;
const BLOB_PORT = 10000;

async function main(): Promise<number> {
  const root = findProjectRoot(__dirname);
  if (spawnSync("func", ["--version"], { stdio: "ignore" }).error) {
    console.error("npm start needs Azure Functions Core Tools v4 (`func`) on PATH; see https://learn.microsoft.com/azure/azure-functions/functions-run-local.");
    console.error("Without it, `npm run demo` delivers the sample events through the same handlers.");
    return 1;
  }
  const settings = path.join(root, "local.settings.json");
  if (!fs.existsSync(settings)) {
    fs.copyFileSync(path.join(root, "local.settings.sample.json"), settings);
    console.log("Created local.settings.json from local.settings.sample.json.");
  }
  let azurite: Azurite | undefined;
  const portsFree = await Promise.all([freePort(TABLE_PORT), freePort(BLOB_PORT)]).then(() => true, () => false);
  if (portsFree) {
    const location = path.join(root, ".azurite");
    fs.mkdirSync(location, { recursive: true });
    azurite = await startAzurite({ blob: true, port: TABLE_PORT, blobPort: BLOB_PORT, location });
    console.log(`Azurite: tables on 127.0.0.1:${TABLE_PORT}, blobs on 127.0.0.1:${BLOB_PORT}, data in .azurite/`);
  } else {
    console.log(`Ports ${TABLE_PORT}/${BLOB_PORT} are in use: assuming an Azurite is already running there.`);
  }
  try {
    const func = spawn("func", ["start"], { cwd: root, stdio: "inherit" });
    const stop = () => func.kill("SIGINT");
    process.on("SIGINT", stop).on("SIGTERM", stop);
    return await new Promise<number>((resolve) => func.once("exit", (code) => resolve(code ?? 0)));
  } finally {
    await azurite?.stop();
  }
}

runCli("start", main);
