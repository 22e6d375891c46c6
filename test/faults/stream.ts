import fc from "fast-check";
import { fixture } from "../helpers";

/*
 * A stream of related events: a few chat threads (created, renamed, people in and out, messages
 * received, edited, deleted, with per-recipient copies) and a few calls. Listed in version order;
 * the tests shuffle and repeat it.
 */

type Event = Record<string, any>;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const user = (n: number) => ({ rawId: `8:acs:scale_${n}`, communicationUser: { id: `8:acs:scale_${n}` } });

function chat(type: string, id: string, threadId: string, version: number, data: Record<string, unknown>): Event {
  const e = fixture("seed-003", `Microsoft.Communication.${type}`) as Event;
  e["id"] = id;
  e["eventTime"] = iso(T0 + version);
  e["data"] = { ...e["data"], threadId, version, createTime: iso(T0), ...data };
  return e;
}

export function relatedEvents(threads = 4, messages = 10, calls = 3): Event[] {
  const out: Event[] = [];
  for (let t = 0; t < threads; t++) {
    const threadId = `19:scale-${t}@thread.v2`;
    const id = (what: string) => `scale-${t}-${what}`;
    const participants = [0, 1, 2, 3].map((p) => ({ displayName: `P${p}`, participantCommunicationIdentifier: user(p) }));
    out.push(chat("ChatThreadCreated", id("created"), threadId, 0, { createdByCommunicationIdentifier: user(0), properties: { topic: "first" }, participants }));
    const membership = (what: string, version: number, p: number, added: boolean) =>
      chat(added ? "ChatThreadParticipantAdded" : "ChatThreadParticipantRemoved", id(what), threadId, version, {
        time: iso(T0 + version),
        [added ? "addedByCommunicationIdentifier" : "removedByCommunicationIdentifier"]: user(0),
        [added ? "participantAdded" : "participantRemoved"]: { displayName: `P${p}`, participantCommunicationIdentifier: user(p) },
      });
    out.push(membership("add-4", 20, 4, true), membership("remove-4", 30, 4, false), membership("remove-1", 40, 1, false), membership("add-1", 60, 1, true));
    for (const v of [10, 50]) {
      out.push(chat("ChatThreadPropertiesUpdated", id(`topic-${v}`), threadId, v, { editedByCommunicationIdentifier: user(0), editTime: iso(T0 + v), properties: { topic: `topic-${v}` } }));
    }
    for (let m = 0; m < messages; m++) {
      const messageId = `${t}-${m}`;
      const base = { messageId, senderCommunicationIdentifier: user(m % 4), senderDisplayName: `P${m % 4}`, composeTime: iso(T0 + 100 + m), type: "Text" };
      out.push(chat("ChatMessageReceivedInThread", id(`m${m}-received`), threadId, 100 + m, { ...base, messageBody: `body ${m}` }));
      for (const r of [1, 2]) {
        out.push(chat("ChatMessageReceived", id(`m${m}-received-for-${r}`), threadId, 100 + m, { ...base, messageBody: `body ${m}`, recipientCommunicationIdentifier: user(r) }));
      }
      if (m % 2 === 0) out.push(chat("ChatMessageEditedInThread", id(`m${m}-edited`), threadId, 200 + m, { ...base, messageBody: `edited ${m}`, editTime: iso(T0 + 200 + m) }));
      if (m % 3 === 0) out.push(chat("ChatMessageDeletedInThread", id(`m${m}-deleted`), threadId, 300 + m, { ...base, deleteTime: iso(T0 + 300 + m) }));
    }
  }
  for (let c = 0; c < calls; c++) {
    const serverCallId = `scale-call-${c}`;
    const call = (type: string, what: string, at: number, data: Record<string, unknown> = {}) => {
      const e = fixture("seed-001", `Microsoft.Communication.${type}`) as Event;
      e["id"] = `scale-call-${c}-${what}`;
      e["eventTime"] = iso(T0 + at);
      e["data"] = { ...e["data"], serverCallId, ...data };
      return e;
    };
    out.push(call("CallStarted", "started", 0), call("CallParticipantAdded", "joined", 1_000), call("CallParticipantRemoved", "left", 50_000), call("CallEnded", "ended", 60_000, { durationOfCall: 60 }));
  }
  return out;
}

/** Each event 1–3 times, in a seeded random order. */
export function duplicatedAndShuffled<T>(events: readonly T[], seed: number): T[] {
  const [plan] = fc.sample(fc.tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: events.length, maxLength: events.length }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: events.length * 3, maxLength: events.length * 3 })), { seed, numRuns: 1 });
  if (!plan) throw new Error("no sample");
  const [copies, order] = plan;
  const deliveries = events.flatMap((e, i) => Array.from({ length: copies[i] ?? 1 }, () => e));
  return deliveries.map((e, i) => ({ e, k: order[i] ?? 0 })).sort((a, b) => a.k - b.k).map((x) => x.e);
}
