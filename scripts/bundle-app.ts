// Bundles the compiled app (src/app.js of the build this script is part of) into src/app.bundle.js
// beside it, the package's `main` (dist/src/app.bundle.js).
// Kept outside: the host-provided `@azure/functions-core`, and what the app loads only on rare paths
// (`@azure/identity` for endpoint URLs, AJV's compiler for builds without generated validators,
// `@azure/storage-blob` for the read API's quarantine replay), so
// that a cold start parses none of it. The generated validators stay files beside the bundle, and so
// do the modules they share with it.
import * as path from "node:path";
import { build, type Plugin } from "esbuild";
import * as ts from "typescript";
import { findProjectRoot } from "../src/devhost/azurite";

/**
 * TypeBox's ES module build instead of its CommonJS one: the same code, but about half the bytes in
 * the bundle and half the load time (its CommonJS build wraps every re-export), and the catalog builds
 * its schemas with it when the app loads.
 */
const typeboxEsm: Plugin = {
  name: "typebox-esm",
  setup(b) {
    b.onResolve({ filter: /^@sinclair\/typebox$/ }, (args) => ({ path: require.resolve("@sinclair/typebox", { paths: [args.resolveDir] }).replace(/build[\\/]cjs[\\/]index\.js$/, "build/esm/index.mjs") }));
  },
};

/**
 * The timestamp module (and the formats module that holds it) stay files beside the bundle: the
 * generated validators `require` them, and the app must share that one instance, so that the
 * timestamps validation parsed are found in its cache by the envelope and the normalizers.
 */
const sharedWithValidators = (src: string): Plugin => ({
  name: "shared-with-validators",
  setup(b) {
    const shared = new Set(["time.js", "validation-formats.js"].map((f) => path.join(src, f)));
    b.onResolve({ filter: /(^|\/)(time|validation-formats)$/ }, (args) => {
      const file = path.join(args.resolveDir, `${args.path}.js`);
      return shared.has(file) ? { path: `./${path.basename(file)}`, external: true } : undefined;
    });
  },
});

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
    plugins: [typeboxEsm, sharedWithValidators(src)],
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`bundle-app: src/app.bundle.js and its map, ${Math.round(bytes / 1024)} KiB, ${Date.now() - started} ms`);
  await bundleViewer(path.join(src, "viewer"));
}

/**
 * The viewer page's script and style (src/viewer, a browser program of its own: the main tsconfig
 * leaves it out), type-checked with its tsconfig, then minified into src/viewer/ of the build, where
 * src/read/viewerPage.ts inlines them.
 */
async function bundleViewer(outdir: string): Promise<void> {
  const started = Date.now();
  const dir = path.join(findProjectRoot(__dirname), "src", "viewer");
  const configFile = path.join(dir, "tsconfig.json");
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configFile, ts.sys.readFile).config, ts.sys, dir);
  const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram(config.fileNames, config.options));
  if (diagnostics.length > 0) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => dir, getNewLine: () => "\n" };
    throw new Error(`bundle-app: the viewer does not type-check:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  const result = await build({
    entryPoints: [path.join(dir, "main.ts"), path.join(dir, "viewer.css")],
    entryNames: "viewer",
    outdir,
    bundle: true,
    minify: true,
    platform: "browser",
    format: "iife",
    target: ["chrome109", "firefox115", "safari16"],
    logLevel: "warning",
    metafile: true,
  });
  const sizes = Object.entries(result.metafile.outputs).map(([file, o]) => `${path.basename(file)} ${(o.bytes / 1024).toFixed(1)} KiB`);
  console.log(`bundle-app: the viewer (${sizes.join(", ")}), ${Date.now() - started} ms`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
