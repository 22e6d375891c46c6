// The ledger viewer (served by GET api/ledger/viewer, bundled by scripts/bundle-app.ts). It calls the
// read API and renders every value as text: event content is attacker-controlled, so nothing here
// ever parses it as HTML (no innerHTML, no insertAdjacentHTML, no attribute built from it but
// `title` and `data-id`), and the page's Content-Security-Policy would stop a script even if it did.

type Item = Record<string, unknown>;
interface Page {
  items: Item[];
  continuationToken?: string;
}
interface ApiError {
  status: number;
  message: string;
}

const view = document.getElementById("view") as HTMLElement;
const status = document.getElementById("status") as HTMLElement;
const search = document.getElementById("search") as HTMLFormElement;
const input = document.getElementById("q") as HTMLInputElement;

/** The function key the page was opened with (`?code=`), passed on to every API call. */
const code = new URLSearchParams(location.search).get("code");
const apiBase = new URL("./", location.href); // the page is api/ledger/viewer; the API is api/ledger/…

async function api<T>(path: string, query: Record<string, string | undefined> = {}, init: RequestInit = {}): Promise<T> {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
  if (code) url.searchParams.set("code", code);
  const response = await fetch(url, { ...init, headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}) } });
  const body = (await response.json().catch(() => ({}))) as { error?: unknown };
  if (!response.ok) throw { status: response.status, message: typeof body.error === "string" ? body.error : `HTTP ${response.status}` } satisfies ApiError;
  return body as T;
}

const enc = encodeURIComponent;

// ---- building the DOM from text ----------------------------------------------------------------

type Child = Node | string | number | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(typeof child === "object" ? child : String(child));
  return node;
}

/** A value as one piece of text (objects as JSON). `append(string)` makes a text node: never markup. */
function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function when(value: unknown): string {
  return typeof value === "string" ? value.replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1Z") : "";
}

function shortType(value: unknown): string {
  return text(value).replace(/^Microsoft\.Communication(Services)?\./, "");
}

function yesNo(value: unknown): string {
  return value === true ? "yes" : value === false ? "no" : "";
}

function heading(title: string, id: string): HTMLElement {
  document.title = `${title} ${id} · ACS event ledger`;
  const h = el("h2", { tabindex: "-1" }, `${title} `, el("code", {}, id));
  return h;
}

interface Column {
  readonly label: string;
  readonly cell: (item: Item) => Child;
}

function table(caption: string, columns: readonly Column[], items: readonly Item[], more?: () => Promise<Page>): HTMLElement {
  const body = el("tbody");
  const add = (rows: readonly Item[]) => {
    for (const item of rows) body.append(el("tr", {}, ...columns.map((c) => el("td", {}, c.cell(item)))));
  };
  add(items);
  const section = el(
    "section",
    { "aria-label": caption },
    el("table", {}, el("caption", {}, caption), el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col" }, c.label)))), body),
  );
  if (items.length === 0) section.append(el("p", { class: "empty" }, "None."));
  if (more) {
    const button = el("button", { type: "button" }, "Load more");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const page = await more();
        add(page.items);
        if (!page.continuationToken) button.remove();
        else button.disabled = false;
      } catch (error) {
        showError(error);
        button.disabled = false;
      }
    });
    section.append(button);
  }
  return section;
}

/** A "Load more" for a list whose next page is `fetchPage(token)`. */
function pager(first: { continuationToken?: string }, fetchPage: (token: string) => Promise<Page>): (() => Promise<Page>) | undefined {
  let token = first.continuationToken;
  if (!token) return undefined;
  return async () => {
    const page = await fetchPage(token as string);
    token = page.continuationToken;
    return page;
  };
}

function facts(label: string, rows: ReadonlyArray<[string, Child]>): HTMLElement {
  const dl = el("dl", { "aria-label": label });
  for (const [term, value] of rows) if (value !== "" && value !== null && value !== undefined) dl.append(el("dt", {}, term), el("dd", {}, value));
  return dl;
}

/** A raw id as a button that opens that user's view. */
function userLink(rawId: unknown, label?: unknown): Child {
  if (typeof rawId !== "string" || rawId === "") return text(label);
  const button = el("button", { type: "button", class: "link", title: rawId }, text(label) || rawId);
  button.addEventListener("click", () => go("user", rawId));
  return button;
}

function showError(error: unknown): void {
  const e = error as Partial<ApiError>;
  status.textContent = typeof e.message === "string" ? e.message : "Something went wrong.";
  status.className = "error";
}

/** The list, or an empty one when the API says there is nothing for this id (404). */
async function orEmpty(request: Promise<Page>): Promise<Page> {
  try {
    return await request;
  } catch (error) {
    if ((error as Partial<ApiError>).status === 404) return { items: [] };
    throw error;
  }
}

// ---- views -------------------------------------------------------------------------------------

async function smsView(number: string): Promise<Node[]> {
  const path = `sms/${enc(number)}/messages`;
  const first = await api<Page>(path);
  return [
    heading("SMS with", number),
    table(
      "Messages, newest first",
      [
        { label: "Time", cell: (m) => when(m["occurredAt"]) },
        { label: "Direction", cell: (m) => (m["direction"] === "outbound" ? "sent" : "received") },
        { label: "From", cell: (m) => text(m["from"]) },
        { label: "To", cell: (m) => text(m["to"]) },
        { label: "Message", cell: (m) => (m["direction"] === "outbound" ? el("span", { class: "muted" }, "(sent: its text is not in delivery reports)") : text(m["message"])) },
        { label: "Delivery status", cell: (m) => (m["direction"] === "outbound" ? [text(m["deliveryStatus"]), text(m["deliveryStatusDetails"])].filter(Boolean).join(": ") : "") },
      ],
      first.items,
      pager(first, (token) => api<Page>(path, { continuationToken: token })),
    ),
  ];
}

interface ThreadAnswer {
  thread: Item | null;
  participants: Item[];
  continuationToken?: string;
}

async function threadView(threadId: string): Promise<Node[]> {
  const base = `chat/threads/${enc(threadId)}`;
  const [now, messages, events] = await Promise.all([
    api<ThreadAnswer>(base).catch((error: ApiError) => (error.status === 404 ? ({ thread: null, participants: [] } as ThreadAnswer) : Promise.reject(error))),
    orEmpty(api<Page>(`${base}/messages`)),
    orEmpty(api<Page>(`${base}/events`)),
  ]);
  if (!now.thread && now.participants.length === 0 && messages.items.length === 0 && events.items.length === 0) throw { status: 404, message: `thread ${threadId}: the ledger has nothing for it` } satisfies ApiError;
  const t = now.thread ?? {};
  return [
    heading("Chat thread", threadId),
    facts("The thread now", [
      ["Topic", text(t["topic"])],
      ["Created by", userLink(t["createdByRawId"])],
      ["Created", when(t["createTime"])],
      ["Last edited", when(t["editTime"])],
      ["Retention", retention(t["retentionPolicy"])],
      ["Deleted", t["deleted"] === true ? `yes, ${when(t["deleteTime"])}` : now.thread ? "no" : ""],
    ]),
    table(
      "Participants",
      [
        { label: "Name", cell: (p) => text(p["displayName"]) },
        { label: "Raw id", cell: (p) => userLink(p["participantRawId"]) },
        { label: "Member", cell: (p) => yesNo(p["member"]) },
        { label: "Since / until", cell: (p) => when(p["changedAt"]) },
      ],
      now.participants,
      pager(now, (token) => api<ThreadAnswer>(base, { continuationToken: token }).then((a) => ({ items: a.participants, ...(a.continuationToken ? { continuationToken: a.continuationToken } : {}) }))),
    ),
    table(
      "Messages in their current state",
      [
        { label: "Sent", cell: (m) => when(m["composeTime"]) },
        { label: "Sender", cell: (m) => userLink(m["senderRawId"], m["senderDisplayName"]) },
        { label: "Message", cell: (m) => (m["deleted"] === true ? el("span", { class: "muted" }, "(deleted)") : text(m["messageBody"])) },
        { label: "State", cell: (m) => (m["deleted"] === true ? `deleted ${when(m["deleteTime"])}` : m["editTime"] ? `edited ${when(m["editTime"])}` : "") },
      ],
      messages.items,
      pager(messages, (token) => api<Page>(`${base}/messages`, { continuationToken: token })),
    ),
    table(
      "Timeline",
      [
        { label: "Time", cell: (e) => when(e["occurredAt"]) },
        { label: "Event", cell: (e) => shortType(e["eventType"]) },
        { label: "Who", cell: (e) => text(e["senderDisplayName"] ?? e["displayName"] ?? e["createdByRawId"] ?? e["editedByRawId"] ?? e["deletedByRawId"]) },
        { label: "Detail", cell: (e) => text(e["messageBody"] ?? e["topic"] ?? e["participantRawId"]) },
      ],
      events.items,
      pager(events, (token) => api<Page>(`${base}/events`, { continuationToken: token })),
    ),
  ];
}

/** `{kind: "threadCreationDate", deleteThreadAfterDays}` or `{kind: "none"}`, as ACS sends it. */
function retention(policy: unknown): string {
  if (typeof policy !== "object" || policy === null) return "";
  const p = policy as Item;
  if (p["kind"] === "threadCreationDate" && typeof p["deleteThreadAfterDays"] === "number") return `deleted ${p["deleteThreadAfterDays"]} days after creation`;
  return text(p["kind"]);
}

interface CallAnswer {
  call: Item | null;
  timeline: Item[];
  continuationToken?: string;
}

async function callView(serverCallId: string): Promise<Node[]> {
  const path = `calls/${enc(serverCallId)}`;
  const answer = await api<CallAnswer>(path);
  const c = answer.call ?? {};
  const participants = new Map<string, Item>();
  for (const e of answer.timeline) {
    const id = text(e["participantRawId"]);
    if (!id) continue;
    const p = participants.get(id) ?? { name: e["displayName"], rawId: id };
    if (e["change"] === "added") p["joined"] ??= e["occurredAt"];
    if (e["change"] === "removed") p["left"] = e["occurredAt"];
    participants.set(id, p);
  }
  const recordings = answer.timeline.filter((e) => shortType(e["eventType"]) === "RecordingFileStatusUpdated");
  return [
    heading("Call", serverCallId),
    facts("The call now", [
      ["Started", when(c["startedAt"])],
      ["Ended", when(c["endedAt"])],
      ["Duration", typeof c["durationOfCall"] === "number" ? `${c["durationOfCall"]} s` : ""],
      ["Started by", userLink(c["startedByRawId"])],
      ["Ended by", c["endedByRawId"] ? userLink(c["endedByRawId"], c["endedByName"]) : text(c["endedByName"])],
      ["Why", [c["endReasonCode"], c["endReasonSubCode"]].filter((v) => v !== undefined).join("/") + (c["endReasonPhrase"] ? ` ${text(c["endReasonPhrase"])}` : "")],
      ["Two-party", yesNo(c["isTwoParty"])],
      ["Group", text(c["groupId"])],
      ["Room", text(c["roomId"])],
    ]),
    table(
      "Participants",
      [
        { label: "Name", cell: (p) => text(p["name"]) },
        { label: "Raw id", cell: (p) => userLink(p["rawId"]) },
        { label: "Joined", cell: (p) => when(p["joined"]) },
        { label: "Left", cell: (p) => when(p["left"]) },
      ],
      [...participants.values()],
    ),
    table(
      "Recordings",
      [
        { label: "Recording", cell: (r) => text(r["recordingId"]) },
        { label: "Started", cell: (r) => when(r["recordingStartTime"]) },
        { label: "Duration", cell: (r) => (typeof r["recordingDurationMs"] === "number" ? `${r["recordingDurationMs"] / 1000} s` : "") },
        { label: "Files", cell: (r) => (Array.isArray(r["recordingChunks"]) ? String(r["recordingChunks"].length) : "") },
        { label: "Ended because", cell: (r) => text(r["sessionEndReason"]) },
      ],
      recordings,
    ),
    table(
      "Timeline",
      [
        { label: "Time", cell: (e) => when(e["occurredAt"]) },
        { label: "Event", cell: (e) => shortType(e["eventType"]) },
        { label: "Who", cell: (e) => text(e["displayName"] ?? e["callerDisplayName"] ?? e["participantRawId"] ?? e["startedByRawId"]) },
      ],
      answer.timeline,
      pager(answer, (token) => api<CallAnswer>(path, { continuationToken: token }).then((a) => ({ items: a.timeline, ...(a.continuationToken ? { continuationToken: a.continuationToken } : {}) }))),
    ),
  ];
}

async function userView(rawId: string): Promise<Node[]> {
  const [received, disconnects] = await Promise.all([orEmpty(api<Page>(`chat/users/${enc(rawId)}/events`)), orEmpty(api<Page>(`users/${enc(rawId)}/disconnects`))]);
  if (received.items.length === 0 && disconnects.items.length === 0) throw { status: 404, message: `user ${rawId}: the ledger has nothing for it` } satisfies ApiError;
  return [
    heading("User", rawId),
    table(
      "Disconnects, newest first",
      [
        { label: "Time", cell: (d) => when(d["disconnectedAt"]) },
        { label: "Event id", cell: (d) => text(d["eventId"]) },
      ],
      disconnects.items,
      pager(disconnects, (token) => api<Page>(`users/${enc(rawId)}/disconnects`, { continuationToken: token })),
    ),
    table(
      "Chat events received",
      [
        { label: "Time", cell: (e) => when(e["occurredAt"]) },
        { label: "Event", cell: (e) => shortType(e["eventType"]) },
        { label: "Thread", cell: (e) => threadLink(e["threadId"]) },
        { label: "From", cell: (e) => text(e["senderDisplayName"] ?? e["displayName"]) },
        { label: "Message", cell: (e) => text(e["messageBody"] ?? e["topic"]) },
      ],
      received.items,
      pager(received, (token) => api<Page>(`chat/users/${enc(rawId)}/events`, { continuationToken: token })),
    ),
  ];
}

function threadLink(threadId: unknown): Child {
  if (typeof threadId !== "string" || threadId === "") return "";
  const button = el("button", { type: "button", class: "link" }, threadId);
  button.addEventListener("click", () => go("thread", threadId));
  return button;
}

interface ReplayAnswer {
  ok: boolean;
  events: number;
  resolved: number;
  stillFailing: number;
  failed: number;
}

async function quarantineView(): Promise<Node[]> {
  const first = await api<Page>("quarantine", { raw: "true" });
  document.title = "Quarantine · ACS event ledger";
  const replay = el("button", { type: "button", id: "replay" }, "Replay quarantined events");
  replay.addEventListener("click", async () => {
    replay.disabled = true;
    status.className = "";
    status.textContent = "Replaying…";
    try {
      const r = await api<ReplayAnswer>("quarantine/replay", {}, { method: "POST", body: "{}" });
      await render();
      status.className = r.ok ? "" : "error";
      status.textContent = `Replay: ${r.events} events, ${r.resolved} resolved, ${r.stillFailing} still failing, ${r.failed} failed.`;
    } catch (error) {
      showError(error);
      replay.disabled = false;
    }
  });
  return [
    el("h2", { tabindex: "-1" }, "Quarantine"),
    el("p", {}, "Events that arrived but could not be stored: why, every schema error, and the event as delivered. A replay stores those that now pass and marks them resolved. ", replay),
    table(
      "Quarantined events, oldest first",
      [
        { label: "Time", cell: (q) => when(q["eventTime"]) },
        { label: "Type", cell: (q) => text(q["eventType"]) },
        { label: "Event id", cell: (q) => text(q["eventId"]) },
        { label: "Reason", cell: (q) => el("span", {}, el("strong", {}, text(q["reasonCode"])), " ", text(q["reason"])) },
        { label: "Resolved", cell: (q) => (q["resolved"] === true ? `yes, ${when(q["resolvedAt"])}` : "no") },
        { label: "Errors and raw event", cell: quarantineDetails },
      ],
      first.items,
      pager(first, (token) => api<Page>("quarantine", { raw: "true", continuationToken: token })),
    ),
  ];
}

function quarantineDetails(q: Item): Node {
  const errors = Array.isArray(q["errors"]) ? (q["errors"] as Item[]) : [];
  return el(
    "details",
    {},
    el("summary", {}, `${errors.length} error${errors.length === 1 ? "" : "s"}, raw event`),
    errors.length > 0 ? el("ul", {}, ...errors.map((e) => el("li", {}, el("code", {}, text(e["instancePath"]) || "/"), " ", text(e["message"])))) : null,
    el("pre", {}, JSON.stringify(q["rawEvent"], null, 2) ?? ""),
  );
}

// ---- navigation --------------------------------------------------------------------------------

type ViewName = "sms" | "thread" | "call" | "user" | "quarantine";
const VIEWS: Record<ViewName, (id: string) => Promise<Node[]>> = { sms: smsView, thread: threadView, call: callView, user: userView, quarantine: quarantineView };

/** What the search box was given: a number, a thread id (19:…), a raw id (8:…, 4:+…) or a server call id. */
export function routeFor(query: string): [ViewName, string] {
  const q = query.trim();
  if (/^quarantine$/i.test(q)) return ["quarantine", ""];
  if (/^\+?[0-9][0-9 ().-]{5,}$/.test(q)) return ["sms", q.replace(/[ ().-]/g, "")];
  if (/^19:/.test(q)) return ["thread", q];
  if (/^\d{1,2}:/.test(q)) return ["user", q];
  return ["call", q];
}

function go(name: ViewName, id: string): void {
  const hash = `#/${name}/${enc(id)}`;
  if (location.hash === hash) void render();
  else location.hash = hash;
}

let rendering = 0;

async function render(): Promise<void> {
  const match = /^#\/(sms|thread|call|user|quarantine)\/(.*)$/.exec(location.hash);
  if (!match) return;
  const name = match[1] as ViewName;
  let id: string;
  try {
    id = decodeURIComponent(match[2] ?? "");
  } catch {
    return;
  }
  if (name !== "quarantine") input.value = id;
  const mine = ++rendering;
  status.className = "";
  status.textContent = "Loading…";
  view.setAttribute("aria-busy", "true");
  try {
    const nodes = await VIEWS[name](id);
    if (mine !== rendering) return;
    view.replaceChildren(...nodes);
    view.dataset["view"] = name;
    status.textContent = "";
    (view.querySelector("h2") as HTMLElement | null)?.focus();
  } catch (error) {
    if (mine !== rendering) return;
    view.replaceChildren();
    view.dataset["view"] = "error";
    showError(error);
  } finally {
    if (mine === rendering) view.removeAttribute("aria-busy");
  }
}

search.addEventListener("submit", (event) => {
  event.preventDefault();
  const [name, id] = routeFor(input.value);
  go(name, id);
});
(document.getElementById("open-quarantine") as HTMLButtonElement).addEventListener("click", () => go("quarantine", ""));
window.addEventListener("hashchange", () => void render());
void render();
