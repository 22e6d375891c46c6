import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { CATALOG, eventTypesOf, FAMILIES, functionNameOf, specFor, UNCATALOGED_FAMILIES } from "../src/catalog";
import { planEvent } from "../src/ingest";
import { FIXTURES, loadFixtures, PROJECT_ROOT, SHARED } from "./helpers";

test("the catalog covers every event type the seed documents name, and nothing else", () => {
  const named = new Set<string>();
  for (const file of fs.readdirSync(path.join(SHARED, "seeds"))) {
    const text = fs.readFileSync(path.join(SHARED, "seeds", file), "utf8");
    for (const m of text.matchAll(/Microsoft\.Communication(?:Services)?\.[A-Za-z]+/g)) named.add(m[0]);
  }
  assert.deepEqual([...CATALOG.keys()].sort(), [...named].sort());
});

test("family sizes: sms 4, chat 21, calling 8, presence 1 (preview names included)", () => {
  assert.deepEqual(
    FAMILIES.map((f) => [f, eventTypesOf(f).length, eventTypesOf(f).filter((t) => specFor(t)?.preview).length]),
    [
      ["sms", 4, 2],
      ["chat", 21, 1],
      ["calling", 8, 2],
      ["presence", 1, 0],
    ],
  );
  assert.deepEqual(FAMILIES.map(functionNameOf), ["smsEvents", "chatEvents", "callingEvents", "presenceEvents"]);
});

test("every fixture validates and is stored by its own family's function", () => {
  const fixtures = loadFixtures();
  assert.equal(fixtures.length, 47);
  for (const f of fixtures) {
    for (const event of f.events) {
      const spec = specFor(f.type);
      assert.ok(spec, `${f.type} is in the catalog`);
      const plan = planEvent(event, spec.family);
      assert.equal(plan.outcome, "stored", `${f.seed}/${f.type}: ${plan.outcome === "quarantined" ? plan.quarantine.message : ""}`);
      const tables = new Set(plan.writes.map((w) => w.table));
      for (const t of tables) assert.ok(spec.tables.includes(t), `${f.type} writes ${t}, which its catalog entry lists`);
    }
  }
});

test("the doc samples in invalid/ are not JSON, and their corrected copies are stored", () => {
  for (const seed of ["seed-003", "seed-004"]) {
    const dir = path.join(FIXTURES, seed, "invalid");
    for (const file of fs.readdirSync(dir)) {
      assert.throws(() => JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")), SyntaxError);
      assert.ok(fs.existsSync(path.join(FIXTURES, seed, file)), `corrected copy of ${seed}/invalid/${file}`);
    }
  }
});

/** The `Microsoft.Communication.*` keys of @azure/eventgrid's SystemEventNameToEventData, read from its types. */
function eventGridSdkCommunicationTypes(): string[] {
  const probe = path.join(PROJECT_ROOT, "dist", "eventgrid-probe.ts");
  fs.mkdirSync(path.dirname(probe), { recursive: true });
  fs.writeFileSync(probe, 'import type { SystemEventNameToEventData } from "@azure/eventgrid";\nexport type Names = keyof SystemEventNameToEventData;\n');
  try {
    const program = ts.createProgram([probe], { strict: true, moduleResolution: ts.ModuleResolutionKind.Node10, module: ts.ModuleKind.CommonJS, skipLibCheck: true, noEmit: true });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(probe);
    assert.ok(source);
    const alias = source.statements.find(ts.isTypeAliasDeclaration);
    assert.ok(alias);
    const names = checker.getTypeAtLocation(alias.name);
    const members = names.isUnion() ? names.types : [names];
    return members
      .filter((t): t is ts.StringLiteralType => t.isStringLiteral())
      .map((t) => t.value)
      .filter((n) => n.startsWith("Microsoft.Communication."))
      .sort();
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

test("every ACS event type @azure/eventgrid knows is cataloged or in a family listed as not cataloged yet", () => {
  const sdkTypes = eventGridSdkCommunicationTypes();
  assert.ok(sdkTypes.length >= 53, `read ${sdkTypes.length} names from @azure/eventgrid`);
  const unaccounted = sdkTypes.filter((t) => !CATALOG.has(t) && !UNCATALOGED_FAMILIES.some((f) => t.startsWith(f.typePrefix)));
  assert.deepEqual(unaccounted, []);
  // The other direction: cataloged types the SDK lacks are the deprecated member events and the preview names.
  const notInSdk = [...CATALOG.keys()].filter((t) => !sdkTypes.includes(t)).sort();
  assert.deepEqual(notInSdk, [
    "Microsoft.Communication.ChatMemberAddedToThreadWithUser",
    "Microsoft.Communication.ChatMemberRemovedFromThreadWithUser",
    "Microsoft.CommunicationServices.CallEnded",
    "Microsoft.CommunicationServices.ChatReceived",
    "Microsoft.CommunicationServices.IncomingCall",
    "Microsoft.CommunicationServices.SMSDeliveryReport",
    "Microsoft.CommunicationServices.SMSReceived",
  ]);
});

test("chat events carry their level: user-level ones go to ChatUserEvents, thread-level ones to ChatThreadEvents", () => {
  for (const type of eventTypesOf("chat")) {
    const spec = specFor(type);
    assert.ok(spec?.level, type);
    assert.ok(spec.tables.includes(spec.level === "user" ? "ChatUserEvents" : "ChatThreadEvents"), type);
    assert.equal(spec.level === "user", /WithUser|PerUser|ChatMessage(Received|Edited|Deleted)$|ChatReceived$/.test(type), type);
  }
});
