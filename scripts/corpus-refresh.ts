// Checks test/corpus against the sources it was taken from, and with --update takes the newest
// version of each payload. Usage (after `npm run build`):
//   node dist/scripts/corpus-refresh.js --git-dir Azure/azure-rest-api-specs=/path/to/clone/.git [...] [--rev HEAD] [--update]
// Every corpus file names its repository, path, commit and how the JSON was extracted; files from a
// repository without a --git-dir are listed as not checked. Payloads wrapped in code (an SDK test's
// string literal) are never rewritten: those are listed for a look by hand.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { findProjectRoot } from "../src/devhost/azurite";

interface Provenance {
  repository: string;
  path: string;
  commit: string;
  extraction: string;
}
interface CorpusFile {
  provenance: Provenance;
  event: unknown;
}

/** The payload in a source file, found the way `extraction` says; undefined for code literals. */
function extract(text: string, extraction: string): unknown {
  const element = / element (\d+) of \d+$/.exec(extraction);
  const pickElement = (value: unknown) => (element && Array.isArray(value) ? value[Number(element[1]) - 1] : Array.isArray(value) && value.length === 1 ? value[0] : value);
  if (extraction.startsWith("whole file")) return pickElement(JSON.parse(text));
  const block = /^markdown code block (\d+)/.exec(extraction);
  if (block) {
    const blocks = [...text.matchAll(/```json\s*\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    const source = blocks[Number(block[1]) - 1];
    return source === undefined ? undefined : pickElement(JSON.parse(source));
  }
  return undefined;
}

function main(argv: readonly string[]): number {
  const gitDirs = new Map<string, string>();
  let rev = "HEAD";
  let update = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--update") update = true;
    else if (arg === "--rev") rev = argv[++i] ?? rev;
    else if (arg === "--git-dir") {
      const [repo, dir] = (argv[++i] ?? "").split("=");
      if (!repo || !dir) throw new Error("--git-dir takes owner/name=/path/to/.git");
      gitDirs.set(repo, dir);
    } else throw new Error(`corpus-refresh: unknown argument ${String(arg)}`);
  }
  const corpus = path.join(findProjectRoot(__dirname), "test", "corpus");
  const counts = { same: 0, changed: 0, gone: 0, unchecked: 0, byHand: 0 };
  for (const type of fs.readdirSync(corpus, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const name of fs.readdirSync(path.join(corpus, type.name)).filter((f) => f.endsWith(".json"))) {
      const file = path.join(corpus, type.name, name);
      const entry = JSON.parse(fs.readFileSync(file, "utf8")) as CorpusFile;
      const gitDir = gitDirs.get(entry.provenance.repository);
      const label = `${type.name}/${name}`;
      if (!gitDir) {
        counts.unchecked++;
        continue;
      }
      let text: string;
      let commit: string;
      try {
        commit = execFileSync("git", ["--git-dir", gitDir, "rev-parse", rev], { encoding: "utf8" }).trim();
        text = execFileSync("git", ["--git-dir", gitDir, "show", `${commit}:${entry.provenance.path}`], { encoding: "utf8", maxBuffer: 64 << 20 });
      } catch {
        counts.gone++;
        console.log(`gone     ${label}: ${entry.provenance.path} is not in ${entry.provenance.repository} at ${rev}`);
        continue;
      }
      const current = extract(text, entry.provenance.extraction);
      if (current === undefined) {
        counts.byHand++;
        console.log(`by hand  ${label}: ${entry.provenance.extraction}`);
      } else if (JSON.stringify(current) === JSON.stringify(entry.event)) {
        counts.same++;
      } else {
        counts.changed++;
        console.log(`changed  ${label}`);
        if (update) fs.writeFileSync(file, `${JSON.stringify({ provenance: { ...entry.provenance, commit }, event: current }, null, 2)}\n`);
      }
    }
  }
  console.log(`corpus-refresh: ${counts.same} same, ${counts.changed} changed${update ? " (updated)" : ""}, ${counts.gone} gone, ${counts.byHand} to check by hand, ${counts.unchecked} not checked (no --git-dir)`);
  return counts.changed > 0 && !update ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
