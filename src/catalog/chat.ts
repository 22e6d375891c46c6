import { Type, type Static } from "@sinclair/typebox";
import type { Envelope } from "../envelope";
import { identifierProps, normalizeRawId } from "../identifiers";
import type { Instant } from "../time";
import {
  ChatParticipant,
  chatEventFields,
  chatMessageFields,
  CommunicationIdentifier,
  NonEmptyString,
  recipientFields,
  StringMap,
  Timestamp,
} from "./common";
import { append, chatVersion, eventRowKey, instant, instantFromEpochSeconds, json, state } from "./rows";
import { defineEvent, type AnySpec, type Facet, type LedgerWrite, type Properties } from "./spec";

/*
 * Thread-level events (once per thread) form the thread's timeline in ChatThreadEvents. User-level
 * events (once per recipient) go to ChatUserEvents under their recipient, so a thread's timeline does
 * not show each message N times. Both levels feed the current-state tables (ChatMessages, ChatThreads,
 * ChatParticipants): versions make the N copies of one change a single write.
 */

// ---- schemas -------------------------------------------------------------------------------------

const MessageReceived = Type.Object({ ...chatMessageFields, messageBody: Type.String() });
const MessageEdited = Type.Object({ ...chatMessageFields, messageBody: Type.String(), editTime: Timestamp });
const MessageDeleted = Type.Object({ ...chatMessageFields, deleteTime: Timestamp });

const threadFields = { ...chatEventFields, createTime: Timestamp };
const ThreadCreated = Type.Object({
  ...threadFields,
  createdByCommunicationIdentifier: CommunicationIdentifier,
  createdBy: Type.Optional(Type.String()),
  properties: StringMap,
  participants: Type.Array(ChatParticipant),
  members: Type.Optional(Type.Array(Type.Object({ memberId: Type.String(), displayName: Type.Optional(Type.String()) }))),
});
const ThreadPropertiesUpdated = Type.Object({
  ...threadFields,
  editedByCommunicationIdentifier: CommunicationIdentifier,
  editedBy: Type.Optional(Type.String()),
  editTime: Timestamp,
  properties: StringMap,
});
const ThreadDeleted = Type.Object({
  ...threadFields,
  deletedByCommunicationIdentifier: CommunicationIdentifier,
  deletedBy: Type.Optional(Type.String()),
  deleteTime: Timestamp,
});
const ParticipantAdded = Type.Object({
  ...threadFields,
  time: Timestamp,
  addedByCommunicationIdentifier: CommunicationIdentifier,
  participantAdded: ChatParticipant,
});
const ParticipantRemoved = Type.Object({
  ...threadFields,
  time: Timestamp,
  removedByCommunicationIdentifier: CommunicationIdentifier,
  participantRemoved: ChatParticipant,
});

/** The deprecated member events name people by plain raw-id strings only. */
const ChatMember = Type.Object({ memberId: NonEmptyString, displayName: Type.Optional(Type.String()) });
const memberFields = { ...threadFields, time: Timestamp, recipientId: NonEmptyString };
const MemberAdded = Type.Object({ ...memberFields, addedBy: NonEmptyString, memberAdded: ChatMember });
const MemberRemoved = Type.Object({ ...memberFields, removedBy: NonEmptyString, memberRemoved: ChatMember });

const withRecipient = <T extends Record<string, unknown>>(fields: T) => ({ ...fields, ...recipientFields });

/** The early preview's chat event: no thread, a user in the subject, epoch-second times. */
const PreviewChatReceived = Type.Object({
  id: NonEmptyString,
  content: Type.String(),
  composedAt: Type.Number(),
  arrivedAt: Type.Optional(Type.Number()),
  messageType: Type.Optional(Type.String()),
  clientMessageId: Type.Optional(Type.String()),
  priority: Type.Optional(Type.String()),
  senderDisplayName: Type.Optional(Type.String()),
  composedBy: Type.Optional(Type.String()),
});
const USER_SUBJECT = /^\/?user\/(.+)$/;
const UserSubject = Type.String({ pattern: "^/?user/.+$" });

// ---- rows ----------------------------------------------------------------------------------------

interface ChatData {
  readonly threadId: string;
  readonly recipientCommunicationIdentifier?: { readonly rawId: string };
  readonly recipientId?: string;
}

/** The event's own entry: the thread timeline for thread-level events, the recipient's otherwise. */
function timelineRow(e: Envelope<ChatData>, at: Instant, props: Properties): LedgerWrite {
  const recipient = e.data.recipientCommunicationIdentifier?.rawId ?? e.data.recipientId;
  const common = { threadId: e.data.threadId, occurredAt: at.iso, ...props };
  if (recipient === undefined) return append("ChatThreadEvents", [e.data.threadId], eventRowKey(e, at, "oldestFirst"), common);
  const normalized = normalizeRawId(recipient);
  return append("ChatUserEvents", [normalized.rawId], eventRowKey(e, at, "oldestFirst"), {
    ...common,
    recipientRawId: normalized.rawId,
    recipientKind: normalized.kind,
  });
}

type MessageData = Static<typeof MessageReceived> | Static<typeof MessageEdited> | Static<typeof MessageDeleted>;

function messageFacts(d: MessageData): Properties {
  return {
    messageId: d.messageId,
    messageType: d.type,
    ...identifierProps("sender", d.senderCommunicationIdentifier),
    senderDisplayName: d.senderDisplayName,
    composeTime: instant(d.composeTime).iso,
  };
}

/**
 * A message event: its timeline row, and the message's current state. A delete removes the body, and
 * older versions never win. Every change sets (or clears) every property of the facet, so the newest
 * version alone decides the row.
 */
function messageEvent(change: "received" | "edited" | "deleted") {
  return (e: Envelope<MessageData>): LedgerWrite[] => {
    const d = e.data;
    const facts = messageFacts(d);
    const body = "messageBody" in d ? d.messageBody : undefined;
    const metadata = json(d.metadata);
    const deleted = "deleteTime" in d;
    const at = instant(deleted ? d.deleteTime : "editTime" in d ? d.editTime : d.composeTime);
    const current: Properties = {
      ...facts,
      messageBody: deleted ? null : body,
      metadata: deleted ? null : metadata,
      editTime: change === "edited" ? at.iso : null,
      deleteTime: deleted ? at.iso : null,
      deleted,
    };
    return [
      timelineRow(e, at, { change, ...facts, messageBody: body, metadata }),
      state("ChatMessages", [d.threadId], [d.messageId], { name: "message", version: chatVersion(d.version), props: current }),
    ];
  };
}

const THREAD_ROW = ["thread"];

/** Membership: whether the participant is in the thread, and who changed that, when. */
function participantState(threadId: string, version: string, rawId: string, displayName: string | undefined, member: boolean, by: { readonly rawId: string }, at: Instant): LedgerWrite {
  const id = normalizeRawId(rawId);
  const changedBy = normalizeRawId(by.rawId);
  return state("ChatParticipants", [threadId], [id.rawId], {
    name: "membership",
    version,
    props: {
      participantRawId: id.rawId,
      participantKind: id.kind,
      displayName,
      member,
      changedAt: at.iso,
      changedByRawId: changedBy.rawId,
      changedByKind: changedBy.kind,
    },
  });
}

type ThreadCreatedData = Static<typeof ThreadCreated>;
function threadCreated(e: Envelope<ThreadCreatedData & ChatData>): LedgerWrite[] {
  const d = e.data;
  const at = instant(d.createTime);
  const version = chatVersion(d.version);
  const createdBy = identifierProps("createdBy", d.createdByCommunicationIdentifier);
  return [
    timelineRow(e, at, { ...createdBy, topic: topicOf(d.properties), properties: json(d.properties), participants: json(d.participants) }),
    state(
      "ChatThreads",
      [d.threadId],
      THREAD_ROW,
      { name: "created", version, props: { threadId: d.threadId, ...createdBy, createTime: at.iso } },
      { name: "properties", version, props: { topic: topicOf(d.properties) ?? null, properties: json(d.properties), editedByRawId: null, editedByKind: null, editTime: null } },
    ),
    ...d.participants.map((p) => participantState(d.threadId, version, p.participantCommunicationIdentifier.rawId, p.displayName, true, d.createdByCommunicationIdentifier, at)),
  ];
}

function topicOf(properties: Record<string, unknown>): string | undefined {
  return typeof properties["topic"] === "string" ? properties["topic"] : undefined;
}

function threadPropertiesUpdated(e: Envelope<Static<typeof ThreadPropertiesUpdated> & ChatData>): LedgerWrite[] {
  const d = e.data;
  const at = instant(d.editTime);
  const props = { topic: topicOf(d.properties), properties: json(d.properties), ...identifierProps("editedBy", d.editedByCommunicationIdentifier), editTime: at.iso };
  return [timelineRow(e, at, props), state("ChatThreads", [d.threadId], THREAD_ROW, { name: "properties", version: chatVersion(d.version), props })];
}

function threadDeleted(e: Envelope<Static<typeof ThreadDeleted> & ChatData>): LedgerWrite[] {
  const d = e.data;
  const at = instant(d.deleteTime);
  const props = { ...identifierProps("deletedBy", d.deletedByCommunicationIdentifier), deleteTime: at.iso };
  return [
    timelineRow(e, at, props),
    state("ChatThreads", [d.threadId], THREAD_ROW, { name: "deletion", version: chatVersion(d.version), props: { ...props, deleted: true } }),
  ];
}

function participantChanged(member: boolean) {
  return (e: Envelope<(Static<typeof ParticipantAdded> | Static<typeof ParticipantRemoved>) & ChatData>): LedgerWrite[] => {
    const d = e.data;
    const at = instant(d.time);
    const [participant, by] =
      "participantAdded" in d ? [d.participantAdded, d.addedByCommunicationIdentifier] : [d.participantRemoved, d.removedByCommunicationIdentifier];
    const byProps = identifierProps(member ? "addedBy" : "removedBy", by);
    const rawId = participant.participantCommunicationIdentifier.rawId;
    return [
      timelineRow(e, at, { ...identifierProps("participant", participant.participantCommunicationIdentifier), displayName: participant.displayName, ...byProps }),
      participantState(d.threadId, chatVersion(d.version), rawId, participant.displayName, member, by, at),
    ];
  };
}

function memberChanged(member: boolean) {
  return (e: Envelope<Static<typeof MemberAdded> | Static<typeof MemberRemoved>>): LedgerWrite[] => {
    const d = e.data;
    const at = instant(d.time);
    const [who, by] = "memberAdded" in d ? [d.memberAdded, d.addedBy] : [d.memberRemoved, d.removedBy];
    const byProps = identifierProps(member ? "addedBy" : "removedBy", { rawId: by });
    return [
      timelineRow(e, at, { ...identifierProps("participant", { rawId: who.memberId }), displayName: who.displayName, ...byProps }),
      participantState(d.threadId, chatVersion(d.version), who.memberId, who.displayName, member, { rawId: by }, at),
    ];
  };
}

/** Typing indicators and bot commands are thread facts, not messages: timeline only. */
function controlMessage(e: Envelope<Static<typeof MessageReceived>>): LedgerWrite[] {
  const d = e.data;
  return [timelineRow(e, instant(d.composeTime), { ...messageFacts(d), messageBody: d.messageBody, metadata: json(d.metadata) })];
}

// ---- catalog entries -----------------------------------------------------------------------------

const C = "Microsoft.Communication.";
const messageTables = (level: "thread" | "user") => [level === "thread" ? "ChatThreadEvents" : "ChatUserEvents", "ChatMessages"] as const;
const threadTables = (level: "thread" | "user") => [level === "thread" ? "ChatThreadEvents" : "ChatUserEvents", "ChatThreads"] as const;
const participantTables = (level: "thread" | "user") => [level === "thread" ? "ChatThreadEvents" : "ChatUserEvents", "ChatParticipants"] as const;
const allThreadTables = (level: "thread" | "user") => [...threadTables(level), "ChatParticipants"] as const;

export const chatEvents: AnySpec[] = [
  defineEvent({ type: `${C}ChatMessageReceivedInThread`, family: "chat", level: "thread", data: MessageReceived, tables: messageTables("thread"), normalize: messageEvent("received") }),
  defineEvent({ type: `${C}ChatMessageEditedInThread`, family: "chat", level: "thread", data: MessageEdited, tables: messageTables("thread"), normalize: messageEvent("edited") }),
  defineEvent({ type: `${C}ChatMessageDeletedInThread`, family: "chat", level: "thread", data: MessageDeleted, tables: messageTables("thread"), normalize: messageEvent("deleted") }),
  defineEvent({ type: `${C}ChatThreadCreated`, family: "chat", level: "thread", data: ThreadCreated, tables: allThreadTables("thread"), normalize: threadCreated }),
  defineEvent({ type: `${C}ChatThreadPropertiesUpdated`, family: "chat", level: "thread", data: ThreadPropertiesUpdated, tables: threadTables("thread"), normalize: threadPropertiesUpdated }),
  defineEvent({ type: `${C}ChatThreadDeleted`, family: "chat", level: "thread", data: ThreadDeleted, tables: threadTables("thread"), normalize: threadDeleted }),
  defineEvent({ type: `${C}ChatThreadParticipantAdded`, family: "chat", level: "thread", data: ParticipantAdded, tables: participantTables("thread"), normalize: participantChanged(true) }),
  defineEvent({ type: `${C}ChatThreadParticipantRemoved`, family: "chat", level: "thread", data: ParticipantRemoved, tables: participantTables("thread"), normalize: participantChanged(false) }),
  defineEvent({ type: `${C}ChatTypingIndicatorReceivedInThread`, family: "chat", level: "thread", data: MessageReceived, tables: ["ChatThreadEvents"], normalize: controlMessage }),
  defineEvent({ type: `${C}ChatAzureBotCommandReceivedInThread`, family: "chat", level: "thread", data: MessageReceived, tables: ["ChatThreadEvents"], normalize: controlMessage }),

  defineEvent({ type: `${C}ChatMessageReceived`, family: "chat", level: "user", data: Type.Object(withRecipient(MessageReceived.properties)), tables: messageTables("user"), normalize: messageEvent("received") }),
  defineEvent({ type: `${C}ChatMessageEdited`, family: "chat", level: "user", data: Type.Object(withRecipient(MessageEdited.properties)), tables: messageTables("user"), normalize: messageEvent("edited") }),
  defineEvent({ type: `${C}ChatMessageDeleted`, family: "chat", level: "user", data: Type.Object(withRecipient(MessageDeleted.properties)), tables: messageTables("user"), normalize: messageEvent("deleted") }),
  defineEvent({ type: `${C}ChatThreadCreatedWithUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ThreadCreated.properties)), tables: allThreadTables("user"), normalize: threadCreated }),
  defineEvent({ type: `${C}ChatThreadPropertiesUpdatedPerUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ThreadPropertiesUpdated.properties)), tables: threadTables("user"), normalize: threadPropertiesUpdated }),
  defineEvent({ type: `${C}ChatThreadWithUserDeleted`, family: "chat", level: "user", data: Type.Object(withRecipient(ThreadDeleted.properties)), tables: threadTables("user"), normalize: threadDeleted }),
  defineEvent({ type: `${C}ChatParticipantAddedToThreadWithUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ParticipantAdded.properties)), tables: participantTables("user"), normalize: participantChanged(true) }),
  defineEvent({ type: `${C}ChatParticipantRemovedFromThreadWithUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ParticipantRemoved.properties)), tables: participantTables("user"), normalize: participantChanged(false) }),
  defineEvent({ type: `${C}ChatMemberAddedToThreadWithUser`, family: "chat", level: "user", data: MemberAdded, tables: participantTables("user"), normalize: memberChanged(true) }),
  defineEvent({ type: `${C}ChatMemberRemovedFromThreadWithUser`, family: "chat", level: "user", data: MemberRemoved, tables: participantTables("user"), normalize: memberChanged(false) }),

  defineEvent({
    type: "Microsoft.CommunicationServices.ChatReceived",
    family: "chat",
    level: "user",
    preview: true,
    data: PreviewChatReceived,
    subject: UserSubject,
    tables: ["ChatUserEvents"],
    normalize: (e) => {
      const d = e.data;
      const recipient = USER_SUBJECT.exec(e.subject)?.[1] ?? e.subject;
      const at = instantFromEpochSeconds(d.composedAt, e.time);
      return [
        append("ChatUserEvents", [recipient], eventRowKey(e, at, "oldestFirst"), {
          recipientRawId: recipient,
          occurredAt: at.iso,
          messageId: d.id,
          messageType: d.messageType,
          messageBody: d.content,
          senderDisplayName: d.senderDisplayName,
          composedBy: d.composedBy,
          priority: d.priority,
          clientMessageId: d.clientMessageId,
        }),
      ];
    },
  }),
];
