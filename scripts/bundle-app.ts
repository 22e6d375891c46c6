// Bundles the compiled app (src/app.js of the build this script is part of) into src/app.bundle.js
// beside it, the package's `main` (dist/src/app.bundle.js).
// Kept outside: the host-provided `@azure/functions-core`, and what the app loads only on rare paths
// (`@azure/identity` for endpoint URLs, AJV's compiler for builds without generated validators,
// `@azure/storage-blob` for the read API's quarantine replay), so
// that a cold start parses none of it. The generated validators stay files beside the bundle.
import * as path from "node:path";
import { build } from "esbuild";

async function main(): Promise<void> {
  const src = path.resolve(__dirname, "..", "src"); // the build being made (scripts/build.js), not dist yet
  const started = Date.now();
  const result = await build({
    entryPoints: [path.join(src, "app.js")],
    outfile: path.join(src, "app.bundle.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: true,
    external: ["@azure/functions-core", "@azure/identity", "@azure/storage-blob", "ajv", "ajv-formats"],
    logLevel: "warning",
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`bundle-app: src/app.bundle.js and its map, ${Math.round(bytes / 1024)} KiB, ${Date.now() - started} ms`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
