/**
 * The deploy command and the generated infra files, without Azure: a stand-in az (and npm, func) on
 * PATH records every call (test/fixtures/az-stub/stub.js), and the tests assert the calls, their
 * order, their arguments, the Event Grid filters per family, and that no argument carries a secret.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FAMILIES, TABLES, eventTypesOf, functionNameOf } from "../src/catalog";
import { MESSAGES } from "../scripts/deploy";
import { SECRET_PATTERNS, whichCommand } from "../scripts/deploy/runner";
import { findProjectRoot } from "../scripts/deploy/paths";
import { readZipEntryNames } from "../scripts/deploy/zip";
import {
  EVENT_TYPES_FILE,
  LEDGER_TABLES_FILE,
  buildInfraEventTypes,
  staleInfraFiles,
  type InfraEventTypes,
} from "../scripts/generate-infra-event-types";

const ROOT = findProjectRoot(__dirname);
const DEPLOY = join(ROOT, "dist", "scripts", "deploy.js");
const STUB = join(ROOT, "test", "fixtures", "az-stub", "stub.js");
const SUB = "00000000-0000-0000-0000-00000000aaaa";
const ACS_ID = `/subscriptions/${SUB}/resourceGroups/acs-rg/providers/Microsoft.Communication/CommunicationServices/my-acs`;
const RG = "ledger-rg";

const scratch = mkdtempSync(join(tmpdir(), "deploy-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => {
  const dir = join(scratch, `${name}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** A small project: the real infra/ and package files, a stand-in build output, and files to leave out. */
function makeProject(): string {
  const dir = fresh("project");
  cpSync(join(ROOT, "infra"), join(dir, "infra"), { recursive: true });
  for (const file of ["host.json", "package.json", "package-lock.json"]) cpSync(join(ROOT, file), join(dir, file));
  mkdirSync(join(dir, "dist", "src", "functions"), { recursive: true });
  writeFileSync(join(dir, "dist", "src", "functions", "index.js"), "module.exports = {};\n");
  writeFileSync(join(dir, "dist", "src", "functions", "index.js.map"), "{}\n");
  mkdirSync(join(dir, "dist", "test"), { recursive: true });
  writeFileSync(join(dir, "dist", "test", "x.test.js"), "\n");
  writeFileSync(join(dir, "local.settings.json"), '{"Values":{}}\n');
  return dir;
}

/** A folder of wrappers named after the tools, each running the stub. It is the whole PATH. */
function makeBin(tools: readonly string[]): string {
  const dir = fresh("bin");
  for (const tool of tools) {
    const file = join(dir, tool);
    writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${STUB}" ${tool} "$@"\n`);
    chmodSync(file, 0o755);
  }
  return dir;
}

interface Call {
  readonly tool: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: readonly Call[];
  readonly project: string;
}

interface RunOptions {
  readonly tools?: readonly string[];
  readonly env?: Record<string, string>;
  readonly project?: string;
  readonly withProjectRoot?: boolean;
}

function deploy(args: readonly string[], options: RunOptions = {}): Run {
  const project = options.project ?? makeProject();
  const work = fresh("run");
  const log = join(work, "calls.jsonl");
  writeFileSync(log, "");
  const result = spawnSync(
    process.execPath,
    [DEPLOY, ...args, ...(options.withProjectRoot === false ? [] : ["--project-root", project])],
    {
      encoding: "utf8",
      env: {
        PATH: makeBin(options.tools ?? ["az", "npm"]),
        HOME: work,
        TMPDIR: work,
        STUB_LOG: log,
        STUB_PROJECT: project,
        STUB_STATE: join(work, "state.json"),
        ...options.env,
      },
      timeout: 60_000,
    },
  );
  const calls = readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Call);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, calls, project };
}

/** "az deployment group create", "npm ci": the tool and the words before the first option. */
function label(call: Call): string {
  const words: string[] = [];
  for (const arg of call.args) {
    if (arg.startsWith("-")) break;
    words.push(arg);
  }
  return [call.tool, ...words].join(" ");
}

function option(call: Call | undefined, name: string): string | undefined {
  assert.ok(call, `no call to read ${name} from`);
  const i = call.args.indexOf(name);
  return i >= 0 ? call.args[i + 1] : undefined;
}

function parameters(call: Call | undefined): Record<string, string> {
  assert.ok(call, "no deployment call");
  const start = call.args.indexOf("--parameters");
  const out: Record<string, string> = {};
  for (const arg of call.args.slice(start + 1)) {
    if (arg.startsWith("--")) break;
    const eq = arg.indexOf("=");
    out[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return out;
}

const deployments = (run: Run, template: string): Call[] =>
  run.calls.filter((c) => label(c) === "az deployment group create" && option(c, "--template-file")?.endsWith(template));

const FULL_RUN = [
  "az version",
  "az account show",
  "az bicep build",
  "az bicep build",
  "az resource show",
  "az eventgrid topic-type list-event-types",
  "az eventgrid system-topic list",
  "az group exists",
  "npm run build",
  "az deployment group create",
  "npm ci",
  "az functionapp deployment source config-zip",
  "az functionapp function list",
  "az deployment group create",
  "az eventgrid system-topic event-subscription list",
];

function assertNoSecrets(run: Run): void {
  for (const call of run.calls) {
    for (const arg of call.args) {
      for (const pattern of SECRET_PATTERNS) {
        assert.doesNotMatch(arg, pattern, `${label(call)} has an argument that looks like a secret: ${arg}`);
      }
    }
  }
}

describe("infra files generated from the catalog", () => {
  test("infra/event-types.json and infra/ledger-tables.json equal what the catalog gives", () => {
    assert.deepEqual(staleInfraFiles(ROOT), [], "run: npm run gen:infra");
  });

  test("each family's function and event types in infra equal the catalog's", () => {
    const committed = JSON.parse(readFileSync(join(ROOT, EVENT_TYPES_FILE), "utf8")) as InfraEventTypes;
    assert.deepEqual(
      committed.families.map((f) => f.family),
      [...FAMILIES],
    );
    for (const family of FAMILIES) {
      const entry = committed.families.find((f) => f.family === family);
      assert.ok(entry, `${family} missing from ${EVENT_TYPES_FILE}`);
      assert.equal(entry.functionName, functionNameOf(family));
      assert.deepEqual(entry.eventTypes, [...eventTypesOf(family)], `${family} filter drifted from the catalog`);
    }
    const tables = JSON.parse(readFileSync(join(ROOT, LEDGER_TABLES_FILE), "utf8")) as { tables: string[] };
    assert.deepEqual(tables.tables, [...TABLES]);
  });

  test("a stale file is reported", () => {
    const project = makeProject();
    const file = join(project, EVENT_TYPES_FILE);
    const edited = buildInfraEventTypes();
    const chat = edited.families.find((f) => f.family === "chat");
    assert.ok(chat);
    writeFileSync(file, JSON.stringify({ ...edited, families: [{ ...chat, eventTypes: chat.eventTypes.slice(1) }] }));
    assert.deepEqual(staleInfraFiles(project), [EVENT_TYPES_FILE]);
  });

  test("the Bicep takes the filters, functions and tables from the generated files", () => {
    const subscriptions = readFileSync(join(ROOT, "infra", "subscriptions.bicep"), "utf8");
    assert.match(subscriptions, /loadJsonContent\('event-types\.json'\)/);
    assert.match(subscriptions, /for family in catalog\.families/);
    assert.match(subscriptions, /includedEventTypes: family\.eventTypes/);
    assert.match(subscriptions, /resourceId: '\$\{functionAppId\}\/functions\/\$\{family\.functionName\}'/);
    assert.match(subscriptions, /endpointType: 'AzureFunction'/);
    assert.match(subscriptions, /maxEventsPerBatch: 1\n/);
    assert.match(subscriptions, /deadLetterWithResourceIdentity:/);
    assert.match(subscriptions, /param maxDeliveryAttempts int = 30\n/);
    assert.match(subscriptions, /param eventTimeToLiveInMinutes int = 1440\n/);
    const main = readFileSync(join(ROOT, "infra", "main.bicep"), "utf8");
    assert.match(main, /loadJsonContent\('ledger-tables\.json'\)\.tables/);
    assert.match(main, /name: 'FC1'\n\s+tier: 'FlexConsumption'/);
    assert.match(main, /0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3/, "Storage Table Data Contributor");
    assert.match(main, /name: 'LEDGER_STORAGE'\n\s+value: 'https:\/\/\$\{ledgerStorage\.name\}\.table\./);
    // Family accounts: one per listed family, its tables there only, the app's setting pointing at it.
    assert.match(main, /param familyAccounts array = \[\]/);
    assert.match(main, /loadJsonContent\('ledger-tables\.json'\)\.familyTables/);
    assert.match(main, /for table in filter\(ledgerTables, t => !contains\(splitTables, t\)\)/);
    assert.match(main, /name: 'LEDGER_STORAGE_\$\{toUpper\(family\)\}'/);
    // The chat subscription includes the thread-level events, so the app lets them alone drive the state rows.
    assert.match(main, /name: 'LEDGER_CHAT_STATE_FROM'\n\s+value: chatStateFrom/);
    assert.ok(JSON.parse(readFileSync(join(ROOT, "infra", "event-types.json"), "utf8")).families.find((f: { family: string }) => f.family === "chat").eventTypes.includes("Microsoft.Communication.ChatMessageReceivedInThread"));
    const topic = readFileSync(join(ROOT, "infra", "modules", "system-topic.bicep"), "utf8");
    assert.match(topic, /topicType: 'Microsoft\.Communication\.CommunicationServices'/);
    for (const text of [main, subscriptions, topic]) {
      assert.doesNotMatch(text, /listKeys|AccountKey|connectionString\(/i, "infra must not read or pass keys");
    }
  });
});

describe("deploy: a full run against the stand-in az", () => {
  const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID]);

  test("succeeds", () => {
    assert.equal(run.code, 0, run.stderr);
  });

  test("calls az and npm in order: checks, build, infra, publish, indexing, subscriptions", () => {
    assert.deepEqual(run.calls.map(label), FULL_RUN);
  });

  test("builds both templates before anything is created", () => {
    const builds = run.calls.filter((c) => label(c) === "az bicep build").map((c) => option(c, "--file"));
    assert.deepEqual(builds, [join(run.project, "infra", "main.bicep"), join(run.project, "infra", "subscriptions.bicep")]);
  });

  test("deploys infra/main.bicep to the resource group with the ACS resource and no secret", () => {
    const [main] = deployments(run, join("infra", "main.bicep"));
    assert.equal(option(main, "--resource-group"), RG);
    assert.equal(option(main, "--name"), "acs-ledger-infra");
    assert.deepEqual(parameters(main), {
      acsResourceId: ACS_ID,
      namePrefix: "acsledger",
      systemTopicName: "acsledger-acs-events",
      systemTopicResourceGroup: RG,
      nodeVersion: "22",
    });
  });

  test("publishes the package with config-zip to the app the deployment named", () => {
    const publish = run.calls.find((c) => label(c) === "az functionapp deployment source config-zip");
    assert.equal(option(publish, "--name"), "acsledger-func-stubtoken");
    assert.equal(option(publish, "--resource-group"), RG);
    assert.equal(option(publish, "--src"), join(run.project, "dist", "deploy", "acs-ledger.zip"));
    const npmCi = run.calls.find((c) => label(c) === "npm ci");
    assert.deepEqual(npmCi?.args, ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]);
    assert.notEqual(npmCi?.cwd, run.project, "production dependencies are installed in a staging folder");
  });

  test("the package holds the app, host.json and production dependencies only", () => {
    const names = readZipEntryNames(join(run.project, "dist", "deploy", "acs-ledger.zip"));
    assert.deepEqual(names, [
      "dist/src/functions/index.js",
      "host.json",
      "node_modules/@azure/functions/index.js",
      "node_modules/@azure/functions/package.json",
      "package-lock.json",
      "package.json",
    ]);
    if (whichCommand("unzip")) {
      const check = spawnSync("unzip", ["-tqq", join(run.project, "dist", "deploy", "acs-ledger.zip")], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stdout + check.stderr);
    }
  });

  test("creates one subscription per family from infra/subscriptions.bicep, last", () => {
    const subscriptions = deployments(run, join("infra", "subscriptions.bicep"));
    assert.equal(subscriptions.length, 1);
    const [call] = subscriptions;
    assert.ok(call);
    const index = run.calls.indexOf(call);
    const publishIndex = run.calls.findIndex((c) => label(c) === "az functionapp deployment source config-zip");
    const indexedIndex = run.calls.findIndex((c) => label(c) === "az functionapp function list");
    assert.ok(publishIndex < indexedIndex && indexedIndex < index, "subscriptions come after publishing and indexing");
    assert.equal(option(call, "--resource-group"), RG);
    assert.deepEqual(parameters(call), {
      systemTopicName: "acsledger-acs-events",
      functionAppId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/acsledger-func-stubtoken`,
      deadLetterStorageAccountId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/acsledgerledstub`,
      deadLetterContainerName: "eventgrid-deadletters",
      maxDeliveryAttempts: "30",
      eventTimeToLiveInMinutes: "1440",
    });
  });

  test("reports each family's subscription, function and exact event-type filter", () => {
    for (const family of FAMILIES) {
      const types = eventTypesOf(family);
      const heading = new RegExp(`ledger-${family}\\s+-> ${functionNameOf(family)}  \\(${types.length} event types?\\)\\n`);
      const match = heading.exec(run.stdout);
      assert.ok(match, `no report line for ${family}`);
      const listed = run.stdout
        .slice(match.index + match[0].length)
        .split("\n")
        .filter((line) => /^ {8}\S/.test(line))
        .slice(0, types.length)
        .map((line) => line.trim());
      assert.deepEqual(listed, [...types]);
    }
    assert.match(run.stdout, /Watch events arrive:/);
    assert.match(run.stdout, /az monitor metrics list --resource \S+systemTopics\/acsledger-acs-events --metrics DeliverySuccessCount/);
  });

  test("no argument carries a secret", () => {
    assertNoSecrets(run);
  });
});

describe("deploy: running it again", () => {
  test("makes the same calls with the same arguments and the same package bytes", () => {
    const project = makeProject();
    const zip = join(project, "dist", "deploy", "acs-ledger.zip");
    const first = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { project });
    assert.equal(first.code, 0, first.stderr);
    const firstZip = createHash("sha256").update(readFileSync(zip)).digest("hex");
    const second = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { project });
    assert.equal(second.code, 0, second.stderr);
    const normalize = (run: Run): string[] =>
      run.calls.map((c) => `${c.tool} ${c.args.join(" ")}`.replace(/run-\d+\/acs-ledger-(bicep|package)-\w+/g, "<tmp>"));
    assert.deepEqual(normalize(second), normalize(first));
    assert.equal(createHash("sha256").update(readFileSync(zip)).digest("hex"), firstZip);
  });
});

describe("deploy: variations", () => {
  test("uses Core Tools when func is on PATH, in the same place in the order", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { tools: ["az", "npm", "func"] });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.calls.map(label),
      FULL_RUN.map((l) =>
        l === "az functionapp deployment source config-zip" ? "func azure functionapp publish acsledger-func-stubtoken" : l,
      ),
    );
    const func = run.calls.find((c) => c.tool === "func");
    assert.deepEqual(func?.args, ["azure", "functionapp", "publish", "acsledger-func-stubtoken", "--no-build"]);
    assertNoSecrets(run);
  });

  test("--publisher az uses config-zip even when func is on PATH", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--publisher", "az"], { tools: ["az", "npm", "func"] });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.calls.map(label), FULL_RUN);
  });

  test("passes the retry policy, prefix, location and operator through", () => {
    const operator = "11111111-2222-3333-4444-555555555555";
    const run = deploy(
      [
        "--resource-group", RG,
        "--acs-resource", ACS_ID,
        "--max-delivery-attempts", "10",
        "--event-ttl-minutes", "60",
        "--name-prefix", "ledg",
        "--location", "swedencentral",
        "--operator-object-id", operator,
      ],
      { env: { STUB_GROUP_EXISTS: "false" } },
    );
    assert.equal(run.code, 0, run.stderr);
    const create = run.calls.find((c) => label(c) === "az group create");
    assert.deepEqual(create?.args, ["group", "create", "--name", RG, "--location", "swedencentral", "--output", "none"]);
    const labels = run.calls.map(label);
    assert.ok(labels.indexOf("npm run build") < labels.indexOf("az group create"), "nothing is created before the build");
    assert.ok(labels.indexOf("az group create") < labels.indexOf("az deployment group create"));
    assert.deepEqual(parameters(deployments(run, "main.bicep")[0]), {
      acsResourceId: ACS_ID,
      namePrefix: "ledg",
      systemTopicName: "ledg-acs-events",
      systemTopicResourceGroup: RG,
      nodeVersion: "22",
      location: "swedencentral",
      operatorPrincipalId: operator,
    });
    const subs = parameters(deployments(run, "subscriptions.bicep")[0]);
    assert.equal(subs.maxDeliveryAttempts, "10");
    assert.equal(subs.eventTimeToLiveInMinutes, "60");
  });

  test("reuses a system topic that already exists for the ACS resource", () => {
    const existing = { name: "portal-made-topic", resourceGroup: "acs-rg", source: ACS_ID.toLowerCase() };
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { env: { STUB_EXISTING_TOPIC: JSON.stringify(existing) } });
    assert.equal(run.code, 0, run.stderr);
    const main = parameters(deployments(run, "main.bicep")[0]);
    assert.equal(main.systemTopicName, "portal-made-topic");
    assert.equal(main.systemTopicResourceGroup, "acs-rg");
    const [subs] = deployments(run, "subscriptions.bicep");
    assert.equal(option(subs, "--resource-group"), "acs-rg");
    assert.equal(parameters(subs).systemTopicName, "portal-made-topic");
  });

  test("finds the ACS resource by name", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", "my-acs"]);
    assert.equal(run.code, 0, run.stderr);
    const list = run.calls.find((c) => label(c) === "az resource list");
    assert.deepEqual(list?.args, [
      "resource", "list", "--name", "my-acs", "--resource-type", "Microsoft.Communication/CommunicationServices", "--output", "json",
    ]);
    assert.equal(parameters(deployments(run, "main.bicep")[0]).acsResourceId, ACS_ID);
  });

  test("--dry-run runs the checks and the build, and changes nothing in Azure", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--dry-run"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.calls.map(label), FULL_RUN.slice(0, 9));
    assert.match(run.stdout, /\[dry-run\] az deployment group create --resource-group ledger-rg --name acs-ledger-infra/);
    assert.match(run.stdout, /\[dry-run\] az functionapp deployment source config-zip/);
    assert.match(run.stdout, /\[dry-run\] az deployment group create --resource-group ledger-rg --name acs-ledger-subscriptions/);
  });
});

describe("deploy: failing early with a clear message", () => {
  test("missing required arguments: exit 2, before any command", () => {
    const none = deploy([]);
    assert.equal(none.code, 2);
    assert.equal(
      none.stderr,
      "error: Missing required arguments: --resource-group, --acs-resource.\n" +
        "Usage: npm run deploy -- --resource-group <name> --acs-resource <id-or-name> (--help for more)\n",
    );
    assert.deepEqual(none.calls, []);
    const one = deploy(["--acs-resource", ACS_ID]);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /^error: Missing required argument: --resource-group\.\n/);
    assert.deepEqual(one.calls, []);
  });

  test("an unknown option or a bad value: exit 2, before any command", () => {
    const unknown = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--bogus"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
    const bad = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--max-delivery-attempts", "31"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, "error: --max-delivery-attempts must be between 1 and 30, got 31.\n");
    const family = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--family-accounts", "chat,email"]);
    assert.equal(family.code, 2);
    assert.equal(family.stderr, "error: --family-accounts takes families from sms, chat, calling, presence; got 'email'.\n");
    assert.deepEqual([...unknown.calls, ...bad.calls, ...family.calls], []);
  });

  test("--family-accounts passes the families whose tables get an account of their own", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--family-accounts", "chat, sms,chat"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(parameters(deployments(run, "main.bicep")[0]).familyAccounts, '["chat","sms"]');
  });

  test("--drift-alert adds the alert rule, with the action groups it notifies", () => {
    const group = `/subscriptions/${SUB}/resourceGroups/ops/providers/microsoft.insights/actionGroups/oncall`;
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--drift-alert", "--alert-action-group", group]);
    assert.equal(run.code, 0, run.stderr);
    const params = parameters(deployments(run, "main.bicep")[0]);
    assert.equal(params.enableDriftAlert, "true");
    assert.equal(params.driftAlertActionGroupIds, JSON.stringify([group]));
    const alone = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--alert-action-group", group]);
    assert.equal(alone.code, 2);
    assert.equal(alone.stderr, "error: --alert-action-group goes with --drift-alert.\n");
    const bad = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--drift-alert", "--alert-action-group", "oncall"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --alert-action-group must be an action group's resource ID .*; got 'oncall'\.\n$/);
    assert.deepEqual([...alone.calls, ...bad.calls], []);
  });

  test("--help prints usage and runs nothing", () => {
    const run = deploy(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--resource-group <name>/);
    assert.match(run.stdout, /--acs-resource <id-or-name>/);
    assert.deepEqual(run.calls, []);
  });

  test("az missing from PATH", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { tools: ["npm"] });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `error: ${MESSAGES.azMissing}\n`);
    assert.deepEqual(run.calls, []);
  });

  test("az not logged in", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { env: { STUB_NOT_LOGGED_IN: "1" } });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `error: ${MESSAGES.notLoggedIn}\n`);
    assert.deepEqual(run.calls.map(label), ["az version", "az account show"]);
  });

  test("a Bicep error stops the run before anything is built or created", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { env: { STUB_BICEP_FAIL: "1" } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /BCP007/);
    assert.deepEqual(run.calls.map(label), ["az version", "az account show", "az bicep build"]);
  });

  test("generated infra files out of date with the catalog", () => {
    const project = makeProject();
    writeFileSync(join(project, EVENT_TYPES_FILE), "{}\n");
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { project });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /infra\/event-types\.json is out of date with src\/catalog\. Run 'npm run gen:infra'/);
    assert.deepEqual(run.calls, []);
  });

  test("an ACS resource that does not exist", () => {
    const byName = deploy(["--resource-group", RG, "--acs-resource", "missing-acs"]);
    assert.equal(byName.code, 1);
    assert.match(byName.stderr, /No Communication Services resource named 'missing-acs'/);
    const notAcs = deploy(["--resource-group", RG, "--acs-resource", `/subscriptions/${SUB}/resourceGroups/x/providers/Microsoft.Storage/storageAccounts/y`]);
    assert.equal(notAcs.code, 1);
    assert.match(notAcs.stderr, /is not a Communication Services resource ID/);
    for (const run of [byName, notAcs]) {
      assert.ok(!run.calls.some((c) => label(c) === "az deployment group create"));
    }
  });

  test("a missing resource group without --location", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { env: { STUB_GROUP_EXISTS: "false" } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Resource group 'ledger-rg' does not exist\. Pass --location <region>/);
    assert.ok(!run.calls.some((c) => c.tool === "npm"));
  });

  test("functions that are never indexed: no subscription is attempted", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID, "--index-timeout-seconds", "0"], {
      env: { STUB_UNINDEXED: "presenceEvents" },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /The app does not list presenceEvents after 0 s/);
    assert.equal(deployments(run, "subscriptions.bicep").length, 0);
  });

  test("a subscription whose filter differs from the catalog is reported", () => {
    const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { env: { STUB_DRIFT_FAMILY: "chat" } });
    assert.equal(run.code, 1);
    const first = eventTypesOf("chat")[0];
    assert.ok(first);
    assert.match(run.stderr, new RegExp(`chat: filter lacks ${first.replace(/\./g, "\\.")}`));
  });
});

describe("deploy: an az that answers nonsense", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["account show", "{}", `Unexpected output from az account show (expected "id" in it): {}. Run it yourself to see what az says.`],
    ["account show", "[]", "Unexpected output from az account show (expected a JSON object): []. Run it yourself to see what az says."],
    ["version", '"2.67.0"', 'Unexpected output from az version (expected a JSON object): "2.67.0". Run it yourself to see what az says.'],
    ["resource show", '{"name":"my-acs"}', `Unexpected output from az resource show (expected "id" in it): {"name":"my-acs"}. Run it yourself to see what az says.`],
    ["eventgrid system-topic list", '{"value":[]}', 'Unexpected output from az eventgrid system-topic list (expected a JSON list of objects): {"value":[]}. Run it yourself to see what az says.'],
    ["group exists", "maybe\n", "Unexpected output from az group exists (expected true or false): maybe. Run it yourself to see what az says."],
    ["account show", "<html>Proxy login</html>", "Could not read the output of az account show: <html>Proxy login</html>"],
  ];
  for (const [command, answer, message] of cases) {
    test(`az ${command} printing ${JSON.stringify(answer)}: a message naming it, exit 1, nothing created`, () => {
      const run = deploy(["--resource-group", RG, "--acs-resource", ACS_ID], { env: { STUB_ANSWER: JSON.stringify({ [command]: answer }) } });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.trim().split("\n").pop(), `error: ${message}`);
      assert.doesNotMatch(run.stdout + run.stderr, /undefined/);
      assert.ok(!run.calls.some((c) => label(c).startsWith("az deployment") || label(c) === "npm run"), "nothing built or deployed");
    });
  }
});

test("npm run deploy without arguments fails at once, before any build", () => {
  const before = realpathSync(join(ROOT, "dist"));
  const run = spawnSync("npm", ["run", "--silent", "deploy"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /^error: Missing required arguments: --resource-group, --acs-resource\.\n/);
  assert.equal(run.stdout, "", "nothing was built (no build output)");
  assert.equal(realpathSync(join(ROOT, "dist")), before);
});

test("the stand-in az is where the tests expect it", () => {
  assert.ok(existsSync(STUB));
});
