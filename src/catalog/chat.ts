import { Type, type Static } from "@sinclair/typebox";
import type { Envelope } from "../envelope";
import { identifierProps, normalizeRawId } from "../identifiers";
import type { Instant } from "../time";
import {
  ChatParticipant,
  ChatVersion,
  chatEventFields,
  chatMessageFields,
  CommunicationIdentifier,
  Maybe,
  messageFields,
  NonEmptyString,
  recipientFields,
  StringMap,
  Timestamp,
  versionedChatFields,
} from "./common";
import { given, present } from "./props";
import { append, chatVersion, eventRowKey, instant, instantFromEpochSeconds, json, state } from "./rows";
import { defineEvent, type AnySpec, type LedgerWrite, type Properties, type Variant } from "./spec";

/*
 * Thread-level events (once per thread) form the thread's timeline in ChatThreadEvents. User-level
 * events (once per recipient) go to ChatUserEvents under their recipient, so a thread's timeline does
 * not show each message N times. Both levels feed the current-state tables (ChatMessages, ChatThreads,
 * ChatParticipants): versions make the N copies of one change a single write.
 *
 * Required: the thread id (every row), the message id and the participant's raw id (state row keys),
 * the recipient (the user-level partition) and the version (orders state). Times that place a row in
 * a timeline fall back to the event time when a producer leaves them out.
 */

// ---- schemas -------------------------------------------------------------------------------------

const MessageReceived = Type.Object({ ...chatMessageFields, messageBody: Maybe(Type.String()) });
const MessageEdited = Type.Object({ ...chatMessageFields, messageBody: Maybe(Type.String()), editTime: Maybe(Timestamp) });
const MessageDeleted = Type.Object({ ...chatMessageFields, deleteTime: Maybe(Timestamp) });
/** Typing indicators and bot commands: the spec's examples send no message id, version or time. */
const ControlMessage = Type.Object({ ...chatEventFields, ...messageFields, messageId: Maybe(Type.String()), messageBody: Maybe(Type.String()), version: Type.Optional(ChatVersion) });

const RetentionPolicy = Type.Object({ kind: Maybe(Type.String()), deleteThreadAfterDays: Maybe(Type.Integer()) });
const threadFields = { ...versionedChatFields, createTime: Maybe(Timestamp), metadata: Type.Optional(StringMap) };
const ThreadCreated = Type.Object({
  ...threadFields,
  createdByCommunicationIdentifier: Type.Optional(CommunicationIdentifier),
  createdBy: Maybe(Type.String()),
  properties: Type.Optional(StringMap),
  participants: Type.Optional(Type.Array(ChatParticipant)),
  members: Type.Optional(Type.Array(Type.Object({ memberId: Maybe(Type.String()), displayName: Maybe(Type.String()) }))),
  retentionPolicy: Type.Optional(RetentionPolicy),
});
const ThreadPropertiesUpdated = Type.Object({
  ...threadFields,
  editedByCommunicationIdentifier: Type.Optional(CommunicationIdentifier),
  editedBy: Maybe(Type.String()),
  editTime: Maybe(Timestamp),
  properties: Type.Optional(StringMap),
  retentionPolicy: Type.Optional(RetentionPolicy),
});
const ThreadDeleted = Type.Object({
  ...threadFields,
  deletedByCommunicationIdentifier: Type.Optional(CommunicationIdentifier),
  deletedBy: Maybe(Type.String()),
  deleteTime: Maybe(Timestamp),
  /** `deletedByUser` or `deletedByPolicy` in the spec; its own examples send `deleteByThread`. */
  reason: Maybe(Type.String()),
});
const ParticipantAdded = Type.Object({
  ...threadFields,
  time: Maybe(Timestamp),
  addedByCommunicationIdentifier: Type.Optional(CommunicationIdentifier),
  participantAdded: ChatParticipant,
});
const ParticipantRemoved = Type.Object({
  ...threadFields,
  time: Maybe(Timestamp),
  removedByCommunicationIdentifier: Type.Optional(CommunicationIdentifier),
  participantRemoved: ChatParticipant,
});

/** The deprecated member events name people by plain raw-id strings only. */
const ChatMember = Type.Object({ memberId: NonEmptyString, displayName: Maybe(Type.String()) });
const memberFields = { ...threadFields, time: Maybe(Timestamp), recipientId: NonEmptyString };
const MemberAdded = Type.Object({ ...memberFields, addedBy: Maybe(Type.String()), memberAdded: ChatMember });
const MemberRemoved = Type.Object({ ...memberFields, removedBy: Maybe(Type.String()), memberRemoved: ChatMember });

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

// ---- variants, and what each facet may leave out -------------------------------------------------

const VERSION_VARIANT: Variant = {
  path: "data.version",
  normalizedTo: "a 20-digit version string",
  seenIn: ["number: most samples", 'string of digits: */spec-ce-chat_message_received_in_thread.json, */*_in_thread.json ("1613783230064")'],
};
const OFFSET_VARIANT: Variant = {
  path: "data.composeTime, editTime, deleteTime, createTime, time",
  normalizedTo: "UTC ISO 8601 with 7 fraction digits",
  seenIn: ["Z: */spec-eg-*.json", "-08:00: */spec-ce-*_in_thread.json, */typespec-*.json", "+00:00: */docs-chat_*.json"],
};
const byStringVariant = (by: string): Variant => ({
  path: `data.${by} (deprecated raw-id string) and data.${by}CommunicationIdentifier`,
  normalizedTo: `${by}RawId / ${by}Kind (the identifier wins)`,
  seenIn: [`*/spec-eg-chat_thread_*with_user*.json, */docs-chat_thread_*with_user*.json carry both`],
});
const PARTICIPANT_METADATA_VARIANT: Variant = {
  path: "data.<participant>.participantCommunicationIdentifier.metadata",
  normalizedTo: "participantMetadata (data.<participant>.metadata wins)",
  seenIn: ["*/spec-ce-chat_thread_participant_added.json", "*/spec-ce-chat_thread_created_withUser.json (second participant)"],
};
const TIME_FALLBACK_VARIANT: Variant = {
  path: "data.<time field> (absent)",
  normalizedTo: "occurredAt: the event time",
  seenIn: ["*/spec-eg-chat_typing_indicator_received_in_thread.json, */go-chat_typing_indicator_received_in_thread.json (no composeTime)"],
};

const MESSAGE_UNCHANGED = ["messageType", "senderRawId", "senderKind", "senderDisplayName", "composeTime", "sequenceId", "messageBody", "metadata", "editTime"];
const PARTICIPANT_UNCHANGED = ["displayName", "participantMetadata", "changedByRawId", "changedByKind"];
const THREAD_PROPERTIES_UNCHANGED = ["topic", "properties", "threadMetadata", "retentionPolicy", "editedByRawId", "editedByKind", "editTime"];

// ---- rows ----------------------------------------------------------------------------------------

interface ChatData {
  readonly threadId: string;
  readonly recipientCommunicationIdentifier?: { readonly rawId: string };
  readonly recipientId?: string | null;
}

/** The event's own entry: the thread timeline for thread-level events, the recipient's otherwise. */
function timelineRow(e: Envelope<ChatData>, at: Instant, props: Properties): LedgerWrite {
  const recipient = e.data.recipientCommunicationIdentifier?.rawId ?? given(e.data.recipientId);
  const common = { threadId: e.data.threadId, occurredAt: at.iso, ...present(props) };
  if (recipient === undefined) return append("ChatThreadEvents", [e.data.threadId], eventRowKey(e, at, "oldestFirst"), common);
  const normalized = normalizeRawId(recipient);
  return append("ChatUserEvents", [normalized.rawId], eventRowKey(e, at, "oldestFirst"), {
    ...common,
    recipientRawId: normalized.rawId,
    recipientKind: normalized.kind,
  });
}

/** A time the event carries, or the event's own time when the producer left it out. */
const timeOr = (e: Envelope, text: string | null | undefined): Instant => (text ? instant(text) : e.time);

/** An identifier, or the deprecated raw-id string some producers send beside (or instead of) it. */
function person(identifier: { readonly rawId: string } | undefined, rawId: string | null | undefined): { readonly rawId: string } | undefined {
  return identifier ?? (rawId ? { rawId } : undefined);
}

type MessageData = Static<typeof MessageReceived> | Static<typeof MessageEdited> | Static<typeof MessageDeleted> | Static<typeof ControlMessage>;

function messageFacts(d: MessageData): Properties {
  return present({
    messageId: given(d.messageId),
    messageType: given(d.type),
    ...identifierProps("sender", person(d.senderCommunicationIdentifier, d.senderId)),
    senderDisplayName: given(d.senderDisplayName),
    composeTime: d.composeTime ? instant(d.composeTime).iso : undefined,
    sequenceId: d.sequenceId === undefined || d.sequenceId === null ? undefined : String(d.sequenceId),
  });
}

/**
 * A message event: its timeline row, and the message's current state. A delete removes the body and
 * metadata; fields an event leaves out leave the stored ones alone; older versions never win.
 */
function messageEvent(change: "received" | "edited" | "deleted") {
  return (e: Envelope<Static<typeof MessageReceived> | Static<typeof MessageEdited> | Static<typeof MessageDeleted>>): LedgerWrite[] => {
    const d = e.data;
    const facts = messageFacts(d);
    const body = "messageBody" in d ? given(d.messageBody) : undefined;
    const metadata = json(d.metadata);
    const deleted = change === "deleted";
    const changeTime = deleted ? ("deleteTime" in d ? d.deleteTime : undefined) : change === "edited" ? ("editTime" in d ? d.editTime : undefined) : d.composeTime;
    const at = timeOr(e, changeTime);
    const current = present({
      threadId: d.threadId,
      ...facts,
      messageBody: deleted ? null : body,
      metadata: deleted ? null : metadata,
      editTime: change === "edited" ? at.iso : null,
      deleteTime: deleted ? at.iso : null,
      deleted,
    });
    return [
      timelineRow(e, at, { change, ...facts, messageBody: body, metadata }),
      state("ChatMessages", [d.threadId], [d.messageId], { name: "message", version: chatVersion(d.version), props: current }),
    ];
  };
}

const THREAD_ROW = ["thread"];

interface Membership {
  readonly rawId: string;
  readonly displayName?: string | null;
  readonly metadata?: string;
  readonly member: boolean;
  readonly by: { readonly rawId: string } | undefined;
  readonly at: Instant;
}

/** Membership: whether the participant is in the thread, and who changed that, when. */
function participantState(threadId: string, version: string, m: Membership): LedgerWrite {
  const id = normalizeRawId(m.rawId);
  return state("ChatParticipants", [threadId], [id.rawId], {
    name: "membership",
    version,
    props: present({
      threadId,
      participantRawId: id.rawId,
      participantKind: id.kind,
      displayName: given(m.displayName),
      participantMetadata: m.metadata,
      member: m.member,
      changedAt: m.at.iso,
      ...identifierProps("changedBy", m.by),
    }),
  });
}

/** A participant's metadata, wherever its producer put it. */
function participantMetadata(p: ChatParticipant): string | undefined {
  return json(p.metadata ?? p.participantCommunicationIdentifier.metadata);
}

function topicOf(properties: Record<string, unknown> | undefined): string | undefined {
  return typeof properties?.["topic"] === "string" ? properties["topic"] : undefined;
}

/** What a thread event says about the thread's properties; absent fields stay absent. */
function threadProperties(d: { readonly properties?: Record<string, unknown>; readonly metadata?: Record<string, unknown>; readonly retentionPolicy?: Static<typeof RetentionPolicy> }): Properties {
  return present({ topic: topicOf(d.properties), properties: json(d.properties), threadMetadata: json(d.metadata), retentionPolicy: json(d.retentionPolicy) });
}

function threadCreated(e: Envelope<Static<typeof ThreadCreated> & ChatData>): LedgerWrite[] {
  const d = e.data;
  const at = timeOr(e, d.createTime);
  const version = chatVersion(d.version);
  const creator = person(d.createdByCommunicationIdentifier, d.createdBy);
  const createdBy = identifierProps("createdBy", creator);
  const properties = threadProperties(d);
  return [
    timelineRow(e, at, { ...createdBy, ...properties, participants: json(d.participants) }),
    state(
      "ChatThreads",
      [d.threadId],
      THREAD_ROW,
      { name: "created", version, props: present({ threadId: d.threadId, ...createdBy, createTime: at.iso }) },
      { name: "properties", version, props: { threadId: d.threadId, ...properties } },
    ),
    ...(d.participants ?? []).map((p) =>
      participantState(d.threadId, version, { rawId: p.participantCommunicationIdentifier.rawId, displayName: p.displayName, metadata: participantMetadata(p), member: true, by: creator, at }),
    ),
  ];
}

function threadPropertiesUpdated(e: Envelope<Static<typeof ThreadPropertiesUpdated> & ChatData>): LedgerWrite[] {
  const d = e.data;
  const at = timeOr(e, d.editTime);
  const props = { ...threadProperties(d), ...identifierProps("editedBy", person(d.editedByCommunicationIdentifier, d.editedBy)), editTime: at.iso };
  return [timelineRow(e, at, props), state("ChatThreads", [d.threadId], THREAD_ROW, { name: "properties", version: chatVersion(d.version), props: { threadId: d.threadId, ...props } })];
}

function threadDeleted(e: Envelope<Static<typeof ThreadDeleted> & ChatData>): LedgerWrite[] {
  const d = e.data;
  const at = timeOr(e, d.deleteTime);
  const props = present({ ...identifierProps("deletedBy", person(d.deletedByCommunicationIdentifier, d.deletedBy)), deleteTime: at.iso, deleteReason: given(d.reason) });
  return [
    timelineRow(e, at, props),
    state("ChatThreads", [d.threadId], THREAD_ROW, { name: "deletion", version: chatVersion(d.version), props: { threadId: d.threadId, ...props, deleted: true } }),
  ];
}

function participantChanged(member: boolean) {
  return (e: Envelope<(Static<typeof ParticipantAdded> | Static<typeof ParticipantRemoved>) & ChatData>): LedgerWrite[] => {
    const d = e.data;
    const at = timeOr(e, d.time);
    const [participant, by] =
      "participantAdded" in d ? [d.participantAdded, d.addedByCommunicationIdentifier] : [d.participantRemoved, d.removedByCommunicationIdentifier];
    const metadata = participantMetadata(participant);
    const rawId = participant.participantCommunicationIdentifier.rawId;
    return [
      timelineRow(e, at, {
        ...identifierProps("participant", participant.participantCommunicationIdentifier),
        displayName: given(participant.displayName),
        participantMetadata: metadata,
        ...identifierProps(member ? "addedBy" : "removedBy", by),
      }),
      participantState(d.threadId, chatVersion(d.version), { rawId, displayName: participant.displayName, metadata, member, by, at }),
    ];
  };
}

function memberChanged(member: boolean) {
  return (e: Envelope<Static<typeof MemberAdded> | Static<typeof MemberRemoved>>): LedgerWrite[] => {
    const d = e.data;
    const at = timeOr(e, d.time);
    const [who, byId] = "memberAdded" in d ? [d.memberAdded, d.addedBy] : [d.memberRemoved, d.removedBy];
    const by = person(undefined, byId);
    return [
      timelineRow(e, at, { ...identifierProps("participant", { rawId: who.memberId }), displayName: given(who.displayName), ...identifierProps(member ? "addedBy" : "removedBy", by) }),
      participantState(d.threadId, chatVersion(d.version), { rawId: who.memberId, displayName: who.displayName, member, by, at }),
    ];
  };
}

/** Typing indicators and bot commands are thread facts, not messages: timeline only. */
function controlMessage(e: Envelope<Static<typeof ControlMessage>>): LedgerWrite[] {
  const d = e.data;
  return [timelineRow(e, timeOr(e, d.composeTime), { ...messageFacts(d), messageBody: given(d.messageBody), metadata: json(d.metadata) })];
}

// ---- catalog entries -----------------------------------------------------------------------------

const C = "Microsoft.Communication.";
const messageTables = (level: "thread" | "user") => [level === "thread" ? "ChatThreadEvents" : "ChatUserEvents", "ChatMessages"] as const;
const threadTables = (level: "thread" | "user") => [level === "thread" ? "ChatThreadEvents" : "ChatUserEvents", "ChatThreads"] as const;
const participantTables = (level: "thread" | "user") => [level === "thread" ? "ChatThreadEvents" : "ChatUserEvents", "ChatParticipants"] as const;
const allThreadTables = (level: "thread" | "user") => [...threadTables(level), "ChatParticipants"] as const;

const messageEntry = { variants: [VERSION_VARIANT, OFFSET_VARIANT], absentMeansUnchanged: { message: MESSAGE_UNCHANGED } };
const createdEntry = {
  variants: [VERSION_VARIANT, OFFSET_VARIANT, byStringVariant("createdBy"), PARTICIPANT_METADATA_VARIANT],
  absentMeansUnchanged: { created: ["createdByRawId", "createdByKind"], properties: ["topic", "properties", "threadMetadata", "retentionPolicy"], membership: PARTICIPANT_UNCHANGED },
};
const propertiesEntry = { variants: [VERSION_VARIANT, OFFSET_VARIANT, byStringVariant("editedBy")], absentMeansUnchanged: { properties: THREAD_PROPERTIES_UNCHANGED } };
const deletedEntry = { variants: [VERSION_VARIANT, OFFSET_VARIANT, byStringVariant("deletedBy")], absentMeansUnchanged: { deletion: ["deletedByRawId", "deletedByKind", "deleteReason"] } };
const participantEntry = { variants: [VERSION_VARIANT, OFFSET_VARIANT, PARTICIPANT_METADATA_VARIANT], absentMeansUnchanged: { membership: PARTICIPANT_UNCHANGED } };
const controlEntry = { variants: [TIME_FALLBACK_VARIANT, OFFSET_VARIANT] };

export const chatEvents: AnySpec[] = [
  defineEvent({ type: `${C}ChatMessageReceivedInThread`, family: "chat", level: "thread", data: MessageReceived, tables: messageTables("thread"), ...messageEntry, normalize: messageEvent("received") }),
  defineEvent({ type: `${C}ChatMessageEditedInThread`, family: "chat", level: "thread", data: MessageEdited, tables: messageTables("thread"), ...messageEntry, normalize: messageEvent("edited") }),
  defineEvent({ type: `${C}ChatMessageDeletedInThread`, family: "chat", level: "thread", data: MessageDeleted, tables: messageTables("thread"), ...messageEntry, normalize: messageEvent("deleted") }),
  defineEvent({ type: `${C}ChatThreadCreated`, family: "chat", level: "thread", data: ThreadCreated, tables: allThreadTables("thread"), ...createdEntry, normalize: threadCreated }),
  defineEvent({ type: `${C}ChatThreadPropertiesUpdated`, family: "chat", level: "thread", data: ThreadPropertiesUpdated, tables: threadTables("thread"), ...propertiesEntry, normalize: threadPropertiesUpdated }),
  defineEvent({ type: `${C}ChatThreadDeleted`, family: "chat", level: "thread", data: ThreadDeleted, tables: threadTables("thread"), ...deletedEntry, normalize: threadDeleted }),
  defineEvent({ type: `${C}ChatThreadParticipantAdded`, family: "chat", level: "thread", data: ParticipantAdded, tables: participantTables("thread"), ...participantEntry, normalize: participantChanged(true) }),
  defineEvent({ type: `${C}ChatThreadParticipantRemoved`, family: "chat", level: "thread", data: ParticipantRemoved, tables: participantTables("thread"), ...participantEntry, normalize: participantChanged(false) }),
  defineEvent({ type: `${C}ChatTypingIndicatorReceivedInThread`, family: "chat", level: "thread", data: ControlMessage, tables: ["ChatThreadEvents"], ...controlEntry, normalize: controlMessage }),
  defineEvent({ type: `${C}ChatAzureBotCommandReceivedInThread`, family: "chat", level: "thread", data: ControlMessage, tables: ["ChatThreadEvents"], ...controlEntry, normalize: controlMessage }),

  defineEvent({ type: `${C}ChatMessageReceived`, family: "chat", level: "user", data: Type.Object(withRecipient(MessageReceived.properties)), tables: messageTables("user"), ...messageEntry, normalize: messageEvent("received") }),
  defineEvent({ type: `${C}ChatMessageEdited`, family: "chat", level: "user", data: Type.Object(withRecipient(MessageEdited.properties)), tables: messageTables("user"), ...messageEntry, normalize: messageEvent("edited") }),
  defineEvent({ type: `${C}ChatMessageDeleted`, family: "chat", level: "user", data: Type.Object(withRecipient(MessageDeleted.properties)), tables: messageTables("user"), ...messageEntry, normalize: messageEvent("deleted") }),
  defineEvent({ type: `${C}ChatThreadCreatedWithUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ThreadCreated.properties)), tables: allThreadTables("user"), ...createdEntry, normalize: threadCreated }),
  defineEvent({ type: `${C}ChatThreadPropertiesUpdatedPerUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ThreadPropertiesUpdated.properties)), tables: threadTables("user"), ...propertiesEntry, normalize: threadPropertiesUpdated }),
  defineEvent({ type: `${C}ChatThreadWithUserDeleted`, family: "chat", level: "user", data: Type.Object(withRecipient(ThreadDeleted.properties)), tables: threadTables("user"), ...deletedEntry, normalize: threadDeleted }),
  defineEvent({ type: `${C}ChatParticipantAddedToThreadWithUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ParticipantAdded.properties)), tables: participantTables("user"), ...participantEntry, normalize: participantChanged(true) }),
  defineEvent({ type: `${C}ChatParticipantRemovedFromThreadWithUser`, family: "chat", level: "user", data: Type.Object(withRecipient(ParticipantRemoved.properties)), tables: participantTables("user"), ...participantEntry, normalize: participantChanged(false) }),
  defineEvent({ type: `${C}ChatMemberAddedToThreadWithUser`, family: "chat", level: "user", data: MemberAdded, tables: participantTables("user"), ...participantEntry, normalize: memberChanged(true) }),
  defineEvent({ type: `${C}ChatMemberRemovedFromThreadWithUser`, family: "chat", level: "user", data: MemberRemoved, tables: participantTables("user"), ...participantEntry, normalize: memberChanged(false) }),

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
