/**
 * npm run deploy -- --resource-group <rg> --acs-resource <id-or-name>
 *
 * One command from a logged-in Azure CLI to a ledger that receives events:
 *   1. checks prerequisites (arguments, az, login, Bicep, the ACS resource, the generated infra files)
 *   2. builds the app
 *   3. deploys infra/main.bicep (storage, Flex Consumption app, Application Insights, system topic)
 *   4. publishes the package (Core Tools when on PATH, else az ... config-zip)
 *   5. waits until the functions are indexed, then deploys infra/subscriptions.bicep
 * and prints what exists and how to watch events arrive. Every step is declarative or replaces like
 * with like, so a second run changes nothing. No key, SAS or connection string is ever an argument.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { InfraFamily } from "./generate-infra-event-types";
import { USAGE, parseDeployArgs, type DeployOptions } from "./deploy/args";
import {
  ACS_RESOURCE_TYPE,
  ACS_TOPIC_TYPE,
  checkSubscriptions,
  isOlderThan,
  outputValue,
  parseJson,
  parseJsonArray,
  parseJsonObject,
  parseResourceId,
  sameId,
  unexpected,
} from "./deploy/azure";
import { deployedNodeMajor, NPM_CI_ARGS, prepareForCoreTools, stageProject } from "./deploy/package";
import { findProjectRoot } from "./deploy/paths";
import { CommandNotFoundError, DeployError, formatCommand, runCommand, whichCommand, type RunResult } from "./deploy/runner";
import { zipDirectory } from "./deploy/zip";
import { oneLine } from "../src/cli/oneLine";

export const MESSAGES = {
  azMissing:
    "Azure CLI (az) was not found on PATH. Install it from https://learn.microsoft.com/cli/azure/install-azure-cli, run 'az login', then try again.",
  notLoggedIn:
    "Azure CLI is not logged in. Run 'az login' (and 'az account set --subscription <id>' to pick a subscription), then try again.",
  npmMissing: "npm was not found on PATH. Install Node.js 22 (or later) with npm, then try again.",
} as const;

/** Oldest Azure CLI known to publish to Flex Consumption with config-zip (it then uses /api/publish). */
const MIN_AZ_VERSION = "2.60.0";
const INFRA_DEPLOYMENT = "acs-ledger-infra";
const SUBSCRIPTIONS_DEPLOYMENT = "acs-ledger-subscriptions";
const PUBLISH_ATTEMPTS = 3;
const PUBLISH_RETRY_SECONDS = 30;
const INDEX_POLL_SECONDS = 10;

interface Context {
  readonly options: DeployOptions;
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
}

interface Step {
  /** Changes something in Azure or on disk: only printed under --dry-run. */
  readonly mutates?: boolean;
  readonly cwd?: string;
  readonly quiet?: boolean;
  readonly showStdout?: boolean;
  /** Return a failed result instead of throwing. */
  readonly allowFailure?: boolean;
}

const say = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};
const warn = (line: string): void => {
  process.stderr.write(`warning: ${line}\n`);
};

async function run(ctx: Context, command: string, args: readonly string[], step: Step = {}): Promise<RunResult> {
  const line = formatCommand(command, args);
  if (step.mutates && ctx.options.dryRun) {
    say(`[dry-run] ${line}`);
    return { code: 0, stdout: "", stderr: "" };
  }
  if (!step.quiet) say(`> ${line}`);
  let result: RunResult;
  try {
    result = await runCommand(
      command,
      args,
      { cwd: step.cwd ?? ctx.root, showStderr: !step.quiet, showStdout: step.showStdout },
      ctx.env,
    );
  } catch (error) {
    if (error instanceof CommandNotFoundError) {
      if (command === "az") throw new DeployError(MESSAGES.azMissing);
      if (command === "npm") throw new DeployError(MESSAGES.npmMissing);
      throw new DeployError(`${command} was not found on PATH.`);
    }
    throw error;
  }
  if (result.code !== 0 && !step.allowFailure) {
    // A command that was not quiet has already shown its stderr; repeat only what was hidden.
    const detail = step.quiet ? result.stderr.trim() || result.stdout.trim() : result.stdout.trim();
    throw new DeployError(`'${line}' failed (exit ${result.code})${detail ? `:\n${detail}` : ", see above."}`);
  }
  return result;
}

const az = (ctx: Context, args: readonly string[], step: Step = {}): Promise<RunResult> => run(ctx, "az", args, step);

interface Acs {
  readonly id: string;
  readonly name: string;
  readonly resourceGroup: string;
}

interface Topic {
  readonly name: string;
  readonly resourceGroup: string;
  readonly existing: boolean;
}

interface Prerequisites {
  readonly subscriptionId: string;
  readonly subscriptionName: string;
  readonly acs: Acs;
  readonly topic: Topic;
  readonly groupExists: boolean;
  readonly publisher: "az" | "func";
  readonly families: readonly InfraFamily[];
}

// ------------------------------------------------------------------------------------------------
// 1. Prerequisites: everything that can fail is checked before anything is created.
// ------------------------------------------------------------------------------------------------
async function checkPrerequisites(ctx: Context): Promise<Prerequisites> {
  const { options, root } = ctx;
  say("== 1/5 Checking prerequisites");

  // Loaded here, not at the top: the catalog takes a moment to load, and --help should not wait.
  const { buildInfraEventTypes, staleInfraFiles } = await import("./generate-infra-event-types");
  const stale = staleInfraFiles(root);
  if (stale.length > 0) {
    throw new DeployError(
      `${stale.join(" and ")} ${stale.length > 1 ? "are" : "is"} out of date with src/catalog. Run 'npm run gen:infra' and commit the result.`,
    );
  }

  const version = await az(ctx, ["version", "--output", "json"], { quiet: true });
  const azVersion = parseJsonObject(version.stdout, "az version", ["azure-cli"])["azure-cli"];
  if (typeof azVersion === "string" && isOlderThan(azVersion, MIN_AZ_VERSION)) {
    warn(`Azure CLI ${azVersion} may not publish to Flex Consumption; ${MIN_AZ_VERSION} or later is advised ('az upgrade').`);
  }

  const account = await az(ctx, ["account", "show", "--output", "json"], { quiet: true, allowFailure: true });
  if (account.code !== 0) throw new DeployError(MESSAGES.notLoggedIn);
  const { id: subscriptionId, name: subscriptionName } = parseJsonObject<{ id: string; name: string }>(account.stdout, "az account show", ["id", "name"]);
  say(`   subscription: ${subscriptionName} (${subscriptionId})`);

  // A Bicep error should surface here, on the user's machine, before any resource exists.
  const compiled = mkdtempSync(join(tmpdir(), "acs-ledger-bicep-"));
  try {
    for (const template of ["main", "subscriptions"]) {
      await az(ctx, [
        "bicep",
        "build",
        "--file",
        join(root, "infra", `${template}.bicep`),
        "--outfile",
        join(compiled, `${template}.json`),
      ]);
    }
  } finally {
    rmSync(compiled, { recursive: true, force: true });
  }

  const acs = await resolveAcs(ctx, subscriptionId);
  say(`   ACS resource: ${acs.id}`);

  const families = buildInfraEventTypes().families;
  await warnAboutUnknownEventTypes(ctx, families);

  const topic = await findSystemTopic(ctx, acs);
  say(
    topic.existing
      ? `   Event Grid system topic: reusing ${topic.name} (resource group ${topic.resourceGroup})`
      : `   Event Grid system topic: will create ${topic.name} (resource group ${topic.resourceGroup})`,
  );

  const exists = await az(ctx, ["group", "exists", "--name", options.resourceGroup], { quiet: true });
  const answer = exists.stdout.trim();
  if (answer !== "true" && answer !== "false") throw unexpected("az group exists", exists.stdout, "expected true or false");
  const groupExists = answer === "true";
  if (!groupExists && !options.location) {
    throw new DeployError(
      `Resource group '${options.resourceGroup}' does not exist. Pass --location <region> to create it (a region with Flex Consumption).`,
    );
  }

  const funcPath = whichCommand("func", ctx.env);
  let publisher: "az" | "func" = options.publisher === "auto" ? (funcPath ? "func" : "az") : options.publisher;
  if (publisher === "func" && !funcPath) {
    throw new DeployError("--publisher func needs Azure Functions Core Tools ('func') on PATH.");
  }
  say(`   publish with: ${publisher === "func" ? "func azure functionapp publish" : "az functionapp deployment source config-zip"}`);
  return { subscriptionId, subscriptionName, acs, topic, groupExists, publisher, families };
}

async function resolveAcs(ctx: Context, subscriptionId: string): Promise<Acs> {
  const given = ctx.options.acsResource;
  let found: { id?: string; name?: string; type?: string; resourceGroup?: string } | undefined;
  if (given.startsWith("/")) {
    const parsed = parseResourceId(given);
    if (!parsed || `${parsed.provider}/${parsed.type}`.toLowerCase() !== ACS_RESOURCE_TYPE.toLowerCase()) {
      throw new DeployError(
        `--acs-resource '${given}' is not a Communication Services resource ID (/subscriptions/…/resourceGroups/…/providers/${ACS_RESOURCE_TYPE}/<name>).`,
      );
    }
    const shown = await az(ctx, ["resource", "show", "--ids", given, "--output", "json"], { quiet: true, allowFailure: true });
    if (shown.code !== 0) {
      throw new DeployError(`The ACS resource '${given}' was not found, or you cannot read it.`);
    }
    found = parseJsonObject(shown.stdout, "az resource show", ["id"]);
  } else {
    const listed = await az(
      ctx,
      ["resource", "list", "--name", given, "--resource-type", ACS_RESOURCE_TYPE, "--output", "json"],
      { quiet: true },
    );
    const matches = parseJsonArray<NonNullable<typeof found>>(listed.stdout, "az resource list");
    if (matches.length === 0) {
      throw new DeployError(`No Communication Services resource named '${given}' in subscription ${subscriptionId}. Pass its resource ID.`);
    }
    if (matches.length > 1) {
      throw new DeployError(`More than one Communication Services resource is named '${given}'. Pass the resource ID instead.`);
    }
    found = matches[0];
  }
  const id = found?.id ?? "";
  const parsed = parseResourceId(id);
  if (!parsed) throw new DeployError(`Unexpected ACS resource ID from az: '${id}'.`);
  if (parsed.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
    throw new DeployError(
      `The ACS resource is in subscription ${parsed.subscriptionId}, but az is using ${subscriptionId}. Run 'az account set --subscription ${parsed.subscriptionId}' first.`,
    );
  }
  return { id, name: parsed.name, resourceGroup: found?.resourceGroup ?? parsed.resourceGroup };
}

/** Event Grid may refuse a filter type it does not list for the topic type; say so before deploying. */
async function warnAboutUnknownEventTypes(ctx: Context, families: readonly InfraFamily[]): Promise<void> {
  const listed = await az(
    ctx,
    ["eventgrid", "topic-type", "list-event-types", "--name", ACS_TOPIC_TYPE, "--output", "json"],
    { quiet: true, allowFailure: true },
  );
  if (listed.code !== 0) {
    warn(`could not list the event types of ${ACS_TOPIC_TYPE}; the subscription filters are not pre-checked.`);
    return;
  }
  const known = new Set(
    parseJsonArray<{ name?: string }>(listed.stdout, "az eventgrid topic-type list-event-types").map((t) => String(t.name ?? "").toLowerCase()),
  );
  const unknown = families.flatMap((f) => f.eventTypes.filter((type) => !known.has(type.toLowerCase())));
  if (unknown.length > 0) {
    warn(`Event Grid does not list these catalog types for ${ACS_TOPIC_TYPE}: ${unknown.join(", ")}. If it rejects them, the subscriptions step fails and names them.`);
  }
}

/** A source has at most one system topic; reuse it wherever it is. */
async function findSystemTopic(ctx: Context, acs: Acs): Promise<Topic> {
  const listed = await az(ctx, ["eventgrid", "system-topic", "list", "--output", "json"], { quiet: true });
  const topics = parseJsonArray<{ name?: string; resourceGroup?: string; source?: string }>(listed.stdout, "az eventgrid system-topic list");
  const existing = topics.find((topic) => typeof topic.source === "string" && sameId(topic.source, acs.id));
  if (existing?.name && existing.resourceGroup) {
    return { name: existing.name, resourceGroup: existing.resourceGroup, existing: true };
  }
  return { name: `${ctx.options.namePrefix}-acs-events`, resourceGroup: ctx.options.resourceGroup, existing: false };
}

// ------------------------------------------------------------------------------------------------
// 2. Build
// ------------------------------------------------------------------------------------------------
async function build(ctx: Context): Promise<void> {
  say("== 2/5 Building the app");
  if (ctx.options.skipBuild) {
    say("   already built (--skip-build)");
    return;
  }
  await run(ctx, "npm", ["run", "build"], { showStdout: true });
}

// ------------------------------------------------------------------------------------------------
// 3. Infrastructure
// ------------------------------------------------------------------------------------------------
interface Infra {
  readonly functionAppName: string;
  readonly functionAppId: string;
  readonly functionAppHostName: string;
  readonly ledgerStorageAccountName: string;
  readonly ledgerStorageAccountId: string;
  readonly ledgerTableEndpoint: string;
  readonly deadLetterContainerName: string;
  readonly hostStorageAccountName: string;
  readonly appInsightsName: string;
  readonly systemTopicId: string;
}

const INFRA_OUTPUTS: ReadonlyArray<keyof Infra> = [
  "functionAppName",
  "functionAppId",
  "functionAppHostName",
  "ledgerStorageAccountName",
  "ledgerStorageAccountId",
  "ledgerTableEndpoint",
  "deadLetterContainerName",
  "hostStorageAccountName",
  "appInsightsName",
  "systemTopicId",
];

async function deployInfrastructure(ctx: Context, pre: Prerequisites): Promise<Infra> {
  const { options, root } = ctx;
  say("== 3/5 Deploying infrastructure (infra/main.bicep)");
  if (!pre.groupExists) {
    await az(ctx, ["group", "create", "--name", options.resourceGroup, "--location", options.location ?? "", "--output", "none"], {
      mutates: true,
    });
  }
  const parameters = [
    `acsResourceId=${pre.acs.id}`,
    `namePrefix=${options.namePrefix}`,
    `systemTopicName=${pre.topic.name}`,
    `systemTopicResourceGroup=${pre.topic.resourceGroup}`,
    `nodeVersion=${deployedNodeMajor(root)}`,
  ];
  if (options.location) parameters.push(`location=${options.location}`);
  if (options.operatorObjectId) parameters.push(`operatorPrincipalId=${options.operatorObjectId}`);
  if (options.familyAccounts.length > 0) parameters.push(`familyAccounts=${JSON.stringify(options.familyAccounts)}`);
  if (options.driftAlert) parameters.push("enableDriftAlert=true", `driftAlertActionGroupIds=${JSON.stringify(options.alertActionGroups)}`);
  const result = await az(
    ctx,
    [
      "deployment",
      "group",
      "create",
      "--resource-group",
      options.resourceGroup,
      "--name",
      INFRA_DEPLOYMENT,
      "--template-file",
      join(root, "infra", "main.bicep"),
      "--parameters",
      ...parameters,
      "--query",
      "properties.outputs",
      "--output",
      "json",
    ],
    { mutates: true },
  );
  if (options.dryRun) {
    return Object.fromEntries(INFRA_OUTPUTS.map((key) => [key, `<${key}>`])) as unknown as Infra;
  }
  const outputs = parseJsonObject<Record<string, { value?: unknown }>>(result.stdout, "az deployment group create");
  return Object.fromEntries(INFRA_OUTPUTS.map((key) => [key, outputValue(outputs, key)])) as unknown as Infra;
}

// ------------------------------------------------------------------------------------------------
// 4. Publish
// ------------------------------------------------------------------------------------------------
async function publish(ctx: Context, pre: Prerequisites, infra: Infra): Promise<void> {
  const { options, root } = ctx;
  say(`== 4/5 Publishing the app to ${infra.functionAppName}`);
  const staging = mkdtempSync(join(tmpdir(), "acs-ledger-package-"));
  try {
    stageProject(root, staging);
    await run(ctx, "npm", NPM_CI_ARGS, { cwd: staging, mutates: true });
    if (pre.publisher === "func") {
      prepareForCoreTools(staging);
      // --no-build: the folder already holds the compiled app and its production dependencies.
      await withRetries(() =>
        run(ctx, "func", ["azure", "functionapp", "publish", infra.functionAppName, "--no-build"], { cwd: staging, mutates: true }),
      );
      return;
    }
    const outDir = join(root, "dist", "deploy");
    mkdirSync(outDir, { recursive: true });
    const zipFile = join(outDir, "acs-ledger.zip");
    if (!options.dryRun) {
      const entries = zipDirectory(staging, zipFile);
      say(`   packaged ${entries} files into ${zipFile}`);
    }
    await withRetries(() =>
      az(
        ctx,
        [
          "functionapp",
          "deployment",
          "source",
          "config-zip",
          "--resource-group",
          options.resourceGroup,
          "--name",
          infra.functionAppName,
          "--src",
          zipFile,
          "--output",
          "none",
        ],
        { mutates: true },
      ),
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * On a first deployment the app's new role on its deployment storage can take a minute or two to
 * apply, and the upload fails with 403 until it does. Trying again is the documented remedy.
 */
async function withRetries(action: () => Promise<RunResult>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await action();
      return;
    } catch (error) {
      if (!(error instanceof DeployError) || attempt >= PUBLISH_ATTEMPTS) throw error;
      warn(`publishing failed (attempt ${attempt} of ${PUBLISH_ATTEMPTS}); retrying in ${PUBLISH_RETRY_SECONDS} s.\n${error.message}`);
      await sleep(PUBLISH_RETRY_SECONDS * 1000);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 5. Subscriptions, once the functions are indexed
// ------------------------------------------------------------------------------------------------
async function waitForFunctions(ctx: Context, pre: Prerequisites, infra: Infra): Promise<void> {
  const wanted = pre.families.map((f) => f.functionName);
  const deadline = Date.now() + ctx.options.indexTimeoutSeconds * 1000;
  for (;;) {
    const listed = await az(
      ctx,
      ["functionapp", "function", "list", "--resource-group", ctx.options.resourceGroup, "--name", infra.functionAppName, "--output", "json"],
      { allowFailure: true },
    );
    const names =
      listed.code === 0
        ? parseJsonArray<{ name?: string }>(listed.stdout, "az functionapp function list").map((f) => String(f.name ?? "").split("/").pop() ?? "")
        : [];
    const missing = wanted.filter((name) => !names.includes(name));
    if (missing.length === 0) {
      say(`   indexed: ${wanted.join(", ")}`);
      return;
    }
    if (Date.now() + INDEX_POLL_SECONDS * 1000 > deadline) {
      throw new DeployError(
        `The app does not list ${missing.join(", ")} after ${ctx.options.indexTimeoutSeconds} s, so Event Grid would refuse the subscriptions. ` +
          `Check the app's logs in Application Insights (${infra.appInsightsName}), then run the command again.`,
      );
    }
    say(`   waiting for ${missing.join(", ")} to be indexed…`);
    await sleep(INDEX_POLL_SECONDS * 1000);
  }
}

async function deploySubscriptions(ctx: Context, pre: Prerequisites, infra: Infra): Promise<void> {
  const { options, root } = ctx;
  say("== 5/5 Creating Event Grid subscriptions (infra/subscriptions.bicep)");
  if (!options.dryRun) await waitForFunctions(ctx, pre, infra);
  await az(
    ctx,
    [
      "deployment",
      "group",
      "create",
      "--resource-group",
      pre.topic.resourceGroup,
      "--name",
      SUBSCRIPTIONS_DEPLOYMENT,
      "--template-file",
      join(root, "infra", "subscriptions.bicep"),
      "--parameters",
      `systemTopicName=${pre.topic.name}`,
      `functionAppId=${infra.functionAppId}`,
      `deadLetterStorageAccountId=${infra.ledgerStorageAccountId}`,
      `deadLetterContainerName=${infra.deadLetterContainerName}`,
      `maxDeliveryAttempts=${options.maxDeliveryAttempts}`,
      `eventTimeToLiveInMinutes=${options.eventTtlMinutes}`,
      "--query",
      "properties.outputs",
      "--output",
      "json",
    ],
    { mutates: true },
  );
  if (options.dryRun) return;

  // Read back what Event Grid holds, so a filter that differs from the catalog cannot pass unseen.
  const listed = await az(ctx, [
    "eventgrid",
    "system-topic",
    "event-subscription",
    "list",
    "--resource-group",
    pre.topic.resourceGroup,
    "--system-topic-name",
    pre.topic.name,
    "--output",
    "json",
  ]);
  const problems = checkSubscriptions(
    parseJsonArray(listed.stdout, "az eventgrid system-topic event-subscription list"),
    pre.families.map((f) => ({ ...f })),
    infra.functionAppId,
  );
  if (problems.length > 0) {
    throw new DeployError(`The Event Grid subscriptions do not match the catalog:\n  ${problems.join("\n  ")}`);
  }
}

// ------------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------------
function report(ctx: Context, pre: Prerequisites, infra: Infra): void {
  const { options } = ctx;
  const rg = options.resourceGroup;
  say();
  say(options.dryRun ? "Dry run: nothing was changed." : `Deployed. These exist now in resource group ${rg} (a re-run changes nothing):`);
  say(`  Function app          ${infra.functionAppName}  https://${infra.functionAppHostName}`);
  say(`                        Flex Consumption, Node ${deployedNodeMajor(ctx.root)}, system-assigned identity; LEDGER_STORAGE=${infra.ledgerTableEndpoint}`);
  say(`  Ledger storage        ${infra.ledgerStorageAccountName}  (tables; dead letters in container ${infra.deadLetterContainerName})`);
  say(`  Host storage          ${infra.hostStorageAccountName}  (AzureWebJobsStorage and the deployment package)`);
  say(`  Application Insights  ${infra.appInsightsName}`);
  say(`  Event Grid topic      ${pre.topic.name}  (resource group ${pre.topic.resourceGroup}) on ${pre.acs.id}`);
  say(`  Subscriptions         retry ${options.maxDeliveryAttempts} attempts / ${options.eventTtlMinutes} min, one event per batch:`);
  for (const family of pre.families) {
    const count = family.eventTypes.length;
    say(`    ${family.subscriptionName.padEnd(22)} -> ${family.functionName}  (${count} event type${count === 1 ? "" : "s"})`);
    for (const type of family.eventTypes) say(`        ${type}`);
  }
  say();
  say("Watch events arrive:");
  say(`  # Event Grid deliveries per minute (also DeliveryAttemptFailCount, DeadLetteredCount)`);
  say(`  az monitor metrics list --resource ${infra.systemTopicId} --metrics DeliverySuccessCount --interval PT1M --output table`);
  say(`  # Function invocations in the last 15 minutes`);
  say(
    `  az monitor app-insights query --app ${infra.appInsightsName} --resource-group ${rg} --analytics-query "requests | where timestamp > ago(15m) | summarize count() by name, success"`,
  );
  say(`  # Ledger rows (needs a Storage Table Data role for you: see --operator-object-id)`);
  say(`  az storage entity query --account-name ${infra.ledgerStorageAccountName} --table-name SmsMessages --auth-mode login --num-results 10`);
  say(`  # Dead letters`);
  say(`  az storage blob list --account-name ${infra.ledgerStorageAccountName} --container-name ${infra.deadLetterContainerName} --auth-mode login --output table`);
}

// ------------------------------------------------------------------------------------------------
export async function deploy(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const parsed = parseDeployArgs(argv);
    if (parsed.help) {
      say(USAGE);
      return 0;
    }
    const root = parsed.options.projectRoot ? resolve(parsed.options.projectRoot) : findProjectRoot(__dirname);
    const ctx: Context = { options: parsed.options, root, env };
    const pre = await checkPrerequisites(ctx);
    await build(ctx);
    const infra = await deployInfrastructure(ctx, pre);
    await publish(ctx, pre, infra);
    await deploySubscriptions(ctx, pre, infra);
    report(ctx, pre, infra);
    return 0;
  } catch (error) {
    if (error instanceof DeployError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

if (require.main === module) {
  deploy(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${oneLine(error)}\n`);
      if (process.env["ACS_LEDGER_STACK"] === "1" && error instanceof Error) process.stderr.write(`${error.stack ?? ""}\n`);
      process.exitCode = 1;
    },
  );
}
