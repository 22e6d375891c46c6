import { Type, type Static, type TSchema } from "@sinclair/typebox";

/**
 * Schema parts shared by several event types. Objects stay open (no `additionalProperties: false`):
 * producers add fields over time and the ledger keeps them in the raw event instead of rejecting them.
 *
 * Tolerance: a schema requires only what a row's keys and ordering need (the ids a row is filed
 * under, identifier raw ids used in keys, versions). Every other field is optional, typed when
 * present, and scalars accept `null` (producers send `null` where a value is documented).
 */

/** A timestamp that parses (see src/time.ts): any precision, `Z` or an offset. */
export const Timestamp = Type.String({ format: "acs-timestamp" });

export const NonEmptyString = Type.String({ minLength: 1 });

/**
 * An optional field that producers may also send as `null`. AJV's `nullable` keeps the schema one
 * typed object (errors read "must be number", not an anyOf of alternatives). Needs a `type`.
 */
export function Maybe<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Unsafe<Static<T> | null>({ ...schema, nullable: true }));
}

/** `kind` and the per-kind members are optional: `rawId` is the one field every identifier carries. */
export const CommunicationIdentifier = Type.Object({
  rawId: NonEmptyString,
  kind: Maybe(Type.String()),
  communicationUser: Type.Optional(Type.Object({ id: Maybe(Type.String()) })),
  phoneNumber: Type.Optional(Type.Object({ value: Maybe(Type.String()) })),
  microsoftTeamsUser: Type.Optional(Type.Object({ userId: Maybe(Type.String()), isAnonymous: Maybe(Type.Boolean()), cloud: Maybe(Type.String()) })),
  microsoftTeamsApp: Type.Optional(Type.Object({ appId: Maybe(Type.String()), cloud: Maybe(Type.String()) })),
});
export type CommunicationIdentifier = Static<typeof CommunicationIdentifier>;

/**
 * Chat `version` arrives as a number in some events and as a string of digits in others; any size is
 * accepted and compared exactly (see `chatVersion` in rows.ts).
 */
export const ChatVersion = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^[0-9]+$" })]);
export type ChatVersion = Static<typeof ChatVersion>;

/** Free-form maps (chat message, thread and participant metadata, thread properties). */
export const StringMap = Type.Record(Type.String(), Type.Unknown());

/**
 * A chat participant. Its `metadata` sits beside the identifier, except in some of the spec's
 * CloudEvents examples, which put it inside `participantCommunicationIdentifier`.
 */
export const ChatParticipant = Type.Object({
  displayName: Maybe(Type.String()),
  participantCommunicationIdentifier: Type.Object({ ...CommunicationIdentifier.properties, metadata: Type.Optional(StringMap) }),
  metadata: Type.Optional(StringMap),
});
export type ChatParticipant = Static<typeof ChatParticipant>;

/** Fields every chat event carries: the thread is the one every row is filed under. */
export const chatEventFields = {
  threadId: NonEmptyString,
  transactionId: Maybe(Type.String()),
};

/** Chat events that change current state carry the version that orders them. */
export const versionedChatFields = { ...chatEventFields, version: ChatVersion };

/** What user-level chat events add: the recipient, and the deprecated string ids some producers still send. */
export const recipientFields = {
  recipientCommunicationIdentifier: CommunicationIdentifier,
  recipientId: Maybe(Type.String()),
};

/** What every chat message event may carry besides its thread. */
export const messageFields = {
  senderCommunicationIdentifier: Type.Optional(CommunicationIdentifier),
  senderId: Maybe(Type.String()),
  senderDisplayName: Maybe(Type.String()),
  composeTime: Maybe(Timestamp),
  type: Maybe(Type.String()),
  metadata: Type.Optional(StringMap),
  /** Newer producers number a thread's messages; a string in the spec, digits in practice. */
  sequenceId: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()])),
};

/** A message event that changes a message's current state: keyed by its id, ordered by its version. */
export const chatMessageFields = { ...versionedChatFields, messageId: NonEmptyString, ...messageFields };

/**
 * Calling's people: the spec wraps the identifier (`{communicationIdentifier, role}`, and its own
 * CallEnded example spells it `communicationidentifier`); the Learn docs send it flat with `role`
 * beside `rawId`. Not used in keys, so none of it is required.
 */
export const CallParticipant = Type.Object({
  communicationIdentifier: Type.Optional(CommunicationIdentifier),
  communicationidentifier: Type.Optional(CommunicationIdentifier),
  rawId: Type.Optional(NonEmptyString),
  role: Maybe(Type.String()),
});
export type CallParticipant = Static<typeof CallParticipant>;

/** The identifier of a calling participant, whichever way it came. */
export function callIdentifier(p: CallParticipant | undefined): { readonly rawId: string } | undefined {
  if (!p) return undefined;
  return p.communicationIdentifier ?? p.communicationidentifier ?? (p.rawId === undefined ? undefined : { rawId: p.rawId });
}
