import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "../src/devhost/azurite";
import { PROJECT_ROOT } from "./helpers";

/*
 * The viewer in a real browser (Debian's Chromium driven by playwright-core) against
 * `npm run demo -- --serve` on a free port: the search box opens the SMS, thread and call views, the
 * quarantine view replays, and event text that looks like markup stays text. Screenshots of each view
 * go to test-artifacts/ (git-ignored).
 */

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(PROJECT_ROOT, "test-artifacts");
const KEY = "test-function-key";
const THREAD = "19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2";
const CALL = "aHR0cHM6Ly9hcGFjLXByb2QtMDMuY29udi5za3lwZS5jb206NDQzL2NvbnYvM2FKS0x3RVZockR6dFc2Slkzay1waz9pPTEyJmU9NjM4ODc2MDE2MDI2OTA1ODU2";
const USER = "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-5cbb-38e6-07fd-084822002467";
const XSS = `<img src=x onerror="window.__xss=1;document.title='pwned'">`;
const SMS_XSS = `<script>window.__xss=2</script><b>bold?</b>`;

if (!fs.existsSync(CHROMIUM)) {
  test(`viewer browser tests skipped: no Chromium at ${CHROMIUM} (install it: apt-get install -y chromium)`, { skip: true }, () => undefined);
} else {
  browserTests();
}

function browserTests(): void {
  // Loaded only here: without Chromium nothing of Playwright is needed.
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  type Browser = import("playwright-core").Browser;
  type Page = import("playwright-core").Page;

  let demo: ChildProcess;
  let base: string;
  let browser: Browser;
  let page: Page;
  const apiCalls: string[] = [];
  const problems: string[] = [];

  before(async () => {
    const port = await freePort();
    // Its own process group, so that stopping it reaches npm, the demo and its Azurite.
    demo = spawn("npm", ["run", "--silent", "demo", "--", "--serve", "--port", String(port)], { cwd: PROJECT_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    base = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`demo --serve did not start in 120 s:\n${out}`)), 120_000);
      const read = (chunk: Buffer) => {
        out += chunk.toString("utf8");
        const m = /Viewer: {2}(http:\/\/127\.0\.0\.1:\d+)\/api\/ledger\/viewer/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      };
      demo.stdout?.on("data", read);
      demo.stderr?.on("data", read);
      demo.once("exit", (code) => reject(new Error(`demo --serve exited (${code}):\n${out}`)));
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/api/ledger/") && !r.url().includes("/api/ledger/viewer")) apiCalls.push(r.url());
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    if (demo?.pid !== undefined && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once("exit", resolve));
      process.kill(-demo.pid, "SIGINT");
      await exited;
    }
  });

  async function webhook(functionName: string, body: unknown, headers: Record<string, string> = { "aeg-event-type": "Notification" }) {
    const response = await fetch(`${base}/runtime/webhooks/eventgrid?functionName=${functionName}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    return { status: response.status, text: await response.text() };
  }

  async function open(query: string, view: string): Promise<void> {
    await page.fill("#q", query);
    await page.press("#q", "Enter");
    await page.waitForSelector(`#view[data-view="${view}"]:not([aria-busy])`);
  }

  const rowsOf = (caption: string) =>
    page.$$eval("table", (tables, c) => {
      const table = tables.find((t) => t.caption?.textContent === c);
      return table ? [...table.tBodies[0]!.rows].map((r) => [...r.cells].map((cell) => cell.textContent ?? "")) : null;
    }, caption);

  test("the local Event Grid webhook follows the host's rules, and stores attacker-shaped text", async () => {
    const sms = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "samples", "Microsoft.Communication.SMSReceived.json"), "utf8"))[0];
    const chat = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "samples", "Microsoft.Communication.ChatMessageReceivedInThread.json"), "utf8"))[0];
    assert.deepEqual(await webhook("smsEvents", sms, {}), { status: 400, text: "" }, "no aeg-event-type header: 400");
    assert.equal((await webhook("noSuchFunction", sms)).status, 404);
    assert.deepEqual(await webhook("smsEvents", [{ id: "v1", eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" } }], { "aeg-event-type": "SubscriptionValidation" }), {
      status: 200,
      text: '{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}',
    });
    const hostileSms = { ...sms, id: "xss-sms-1", eventTime: "2025-07-08T16:48:00Z", data: { ...sms.data, MessageId: "xss-sms-1", Message: SMS_XSS, ReceivedTimestamp: "2025-07-08T16:48:00Z" } };
    const hostileChat = { ...chat, id: "xss-chat-1", eventTime: "2025-07-08T20:07:00Z", data: { ...chat.data, messageId: "1752005220000", version: "1752005220000", composeTime: "2025-07-08T20:07:00Z", messageBody: XSS, senderDisplayName: `<i>Mallory</i>` } };
    assert.equal((await webhook("smsEvents", hostileSms)).status, 202, "one event");
    assert.equal((await webhook("chatEvents", [hostileChat])).status, 202, "an array");
  });

  test("the search box opens a number's SMS with delivery status; markup in a message stays text", async () => {
    const response = await page.goto(`${base}/api/ledger/viewer?code=${KEY}`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()["content-security-policy"] ?? "";
    assert.match(csp, /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'; connect-src 'self'; img-src 'none'/);
    assert.equal(await page.getAttribute("#q", "type"), "search");
    assert.equal(await page.textContent('label[for="q"]'), "Number, thread id, call id or raw id");
    await open("+1 425 555 0123", "sms");
    assert.equal(await page.textContent("#view h2"), "SMS with +14255550123");
    const rows = await rowsOf("Messages, newest first");
    assert.deepEqual(rows?.map((r) => [r[1], r[2], r[3], r[4], r[5]]), [
      ["received", "+14255550123", "+18005550199", SMS_XSS, ""],
      ["received", "+14255550123", "+18005550199", "Great, thanks!", ""],
      ["sent", "+18005550199", "+14255550123", "(sent: its text is not in delivery reports)", "Delivered: No error."],
      ["received", "+14255550123", "+18005550199", "Hi, is my order #4471 shipping today?", ""],
    ]);
    assert.equal(await page.$$eval("#view script, #view b", (nodes) => nodes.length), 0, "the message's tags are not elements");
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-sms.png"), fullPage: true });
  });

  test("a thread: participants, messages in their current state, the timeline; an onerror body runs nothing", async () => {
    await open(THREAD, "thread");
    assert.equal(await page.textContent("#view dl dd"), "Q3 launch planning (review on Thursday)");
    assert.deepEqual((await rowsOf("Participants"))?.map((r) => `${r[0]}: ${r[2]}`).sort(), ["Anthony: yes", "Bob: yes", "John Smith: yes", "Scott: yes", "Shawn: no"]);
    const messages = (await rowsOf("Messages in their current state"))?.map((r) => [r[1], r[2], r[3]?.replace(/ .*/, "")]);
    assert.deepEqual(messages, [
      ["Scott", "Morning all, the final agenda is in the channel.", "edited"],
      ["Bob", "(deleted)", "deleted"],
      ["Anthony", "Thursday works for me.", ""],
      ["<i>Mallory</i>", XSS, ""],
    ]);
    assert.equal((await rowsOf("Timeline"))?.length, 13);
    // A string: it runs in the page, where the DOM is (this file is compiled for Node).
    const state = await page.evaluate(`({ images: document.images.length, italics: document.querySelectorAll("#view i").length, xss: window.__xss ?? null, title: document.title })`);
    assert.deepEqual(state, { images: 0, italics: 0, xss: null, title: `Chat thread ${THREAD} · ACS event ledger` });
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-thread.png"), fullPage: true });
  });

  test("a call: when, how long, who came and went, the recording", async () => {
    await open(CALL, "call");
    const facts = await page.$$eval("#view dl dt, #view dl dd", (nodes) => nodes.map((n) => n.textContent));
    assert.deepEqual(facts.slice(0, 6), ["Started", "2025-07-08 21:00:02.690Z", "Ended", "2025-07-08 21:14:41.614Z", "Duration", "878.924 s"]);
    assert.equal((await rowsOf("Participants"))?.length, 2);
    assert.ok((await rowsOf("Participants"))?.every((r) => r[2] !== "" && r[3] !== ""), "each joined and left");
    assert.equal((await rowsOf("Recordings"))?.length, 1);
    assert.deepEqual((await rowsOf("Timeline"))?.map((r) => r[1]), ["CallStarted", "CallParticipantAdded", "IncomingCall", "CallParticipantAdded", "CallParticipantRemoved", "CallParticipantRemoved", "CallEnded", "RecordingFileStatusUpdated"]);
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-call.png"), fullPage: true });
  });

  test("a user: disconnects and the chat events they received", async () => {
    await open(USER, "user");
    assert.deepEqual((await rowsOf("Disconnects, newest first"))?.map((r) => r[0]), ["2025-07-08 21:15:02.000Z"]);
    assert.ok(((await rowsOf("Chat events received")) ?? []).length >= 5);
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-user.png"), fullPage: true });
  });

  test("the quarantine: reasons, errors, the raw event, and a replay that resolves what now passes", async () => {
    await page.click("#open-quarantine");
    await page.waitForSelector('#view[data-view="quarantine"]:not([aria-busy])');
    const before = await rowsOf("Quarantined events, oldest first");
    assert.deepEqual(before?.map((r) => [r[1], r[4]]), [
      ["Microsoft.Communication.ChatMessageReceivedInThread", "no"],
      ["Microsoft.Communication.EmailDeliveryReportReceived", "no"],
    ]);
    assert.match(before?.[0]?.[3] ?? "", /^WrongFunction Microsoft\.Communication\.ChatMessageReceivedInThread event 5ce6b2e5-8167-4039-93d5-e9d6c5d58b08: chat events belong to chatEvents, but this one was delivered to smsEvents$/);
    await page.click("#view details summary");
    assert.match((await page.textContent("#view details pre")) ?? "", /"id": "5ce6b2e5-8167-4039-93d5-e9d6c5d58b08"/);
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-quarantine.png"), fullPage: true });
    await page.click("#replay");
    // (waitForFunction would be a string eval, which the page's CSP refuses: as it should.)
    await page.locator("#status", { hasText: /^Replay:/ }).waitFor();
    assert.equal(await page.textContent("#status"), "Replay: 2 events, 1 resolved, 1 still failing, 0 failed.");
    const after = await rowsOf("Quarantined events, oldest first");
    assert.match(after?.[0]?.[4] ?? "", /^yes, \d{4}-\d{2}-\d{2} /);
    assert.equal(after?.[1]?.[4], "no");
    await page.screenshot({ path: path.join(ARTIFACTS, "viewer-quarantine-replayed.png"), fullPage: true });
  });

  test("every API call carried the page's function key, and nothing failed in the page", () => {
    assert.ok(apiCalls.length >= 8, apiCalls.join("\n"));
    for (const call of apiCalls) assert.equal(new URL(call).searchParams.get("code"), KEY, call);
    assert.deepEqual(problems, []);
  });
}
