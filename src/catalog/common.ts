import { Type, type Static } from "@sinclair/typebox";

/**
 * Schema parts shared by several event types. Objects stay open (no `additionalProperties: false`):
 * producers add fields over time and the ledger keeps them in the raw event instead of rejecting them.
 */

/** A timestamp that parses (see src/time.ts): any precision, `Z` or an offset. */
export const Timestamp = Type.String({ format: "acs-timestamp" });

export const NonEmptyString = Type.String({ minLength: 1 });

/** `kind` and the per-kind members are optional: `rawId` is the one field every identifier carries. */
export const CommunicationIdentifier = Type.Object({
  rawId: NonEmptyString,
  kind: Type.Optional(Type.String()),
  communicationUser: Type.Optional(Type.Object({ id: Type.String() })),
  phoneNumber: Type.Optional(Type.Object({ value: Type.String() })),
  microsoftTeamsUser: Type.Optional(Type.Object({ userId: Type.String() })),
});
export type CommunicationIdentifier = Static<typeof CommunicationIdentifier>;

/**
 * Chat `version` arrives as a number in some events and as a string of digits in others; any size is
 * accepted and compared exactly (see `chatVersion` in rows.ts).
 */
export const ChatVersion = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^[0-9]+$" })]);
export type ChatVersion = Static<typeof ChatVersion>;

/** Free-form string maps (chat message metadata, thread properties). */
export const StringMap = Type.Record(Type.String(), Type.Unknown());

export const ChatParticipant = Type.Object({
  displayName: Type.Optional(Type.String()),
  participantCommunicationIdentifier: CommunicationIdentifier,
});
export type ChatParticipant = Static<typeof ChatParticipant>;

/** Fields every chat event carries. */
export const chatEventFields = {
  threadId: NonEmptyString,
  transactionId: Type.Optional(Type.String()),
  version: ChatVersion,
};

/** What user-level chat events add: the recipient, and the deprecated string ids some producers still send. */
export const recipientFields = {
  recipientCommunicationIdentifier: CommunicationIdentifier,
  recipientId: Type.Optional(Type.String()),
};

export const chatMessageFields = {
  ...chatEventFields,
  messageId: NonEmptyString,
  senderCommunicationIdentifier: CommunicationIdentifier,
  senderId: Type.Optional(Type.String()),
  senderDisplayName: Type.Optional(Type.String()),
  composeTime: Timestamp,
  type: Type.String(),
  metadata: Type.Optional(StringMap),
};
