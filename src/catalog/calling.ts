import { Type, type Static } from "@sinclair/typebox";
import type { Envelope } from "../envelope";
import { identifierProps } from "../identifiers";
import { CommunicationIdentifier, NonEmptyString, Timestamp } from "./common";
import { append, eventRowKey, instant, json, state } from "./rows";
import { defineEvent, type AnySpec, type Facet, type LedgerWrite, type Properties } from "./spec";

/*
 * Every calling event lands in CallEvents under its server call id, oldest first: the call's timeline.
 * Calls holds each call's current state (started, ended), versioned by event time.
 */

const CallParticipant = Type.Object({ communicationIdentifier: CommunicationIdentifier, role: Type.Optional(Type.String()) });

const callFields = {
  serverCallId: NonEmptyString,
  startedBy: CallParticipant,
  group: Type.Optional(Type.Object({ id: Type.String() })),
  room: Type.Optional(Type.Object({ id: Type.String() })),
  isTwoParty: Type.Optional(Type.Boolean()),
  isRoomsCall: Type.Optional(Type.Boolean()),
  correlationId: Type.Optional(Type.String()),
};
const CallStarted = Type.Object(callFields);
const CallEnded = Type.Object({ ...callFields, durationOfCall: Type.Number({ minimum: 0 }) });
const CallParticipantChanged = Type.Object({
  ...callFields,
  user: CallParticipant,
  displayName: Type.Optional(Type.String()),
  participantId: Type.Optional(Type.String()),
  endpointType: Type.Optional(Type.String()),
});
const IncomingCall = Type.Object({
  serverCallId: NonEmptyString,
  to: CommunicationIdentifier,
  from: CommunicationIdentifier,
  callerDisplayName: Type.Optional(Type.String()),
  correlationId: Type.Optional(Type.String()),
  incomingCallContext: Type.Optional(Type.String()),
  customContext: Type.Optional(Type.Object({})),
});

const Uri = Type.String({ format: "uri" });
const RecordingChunk = Type.Object({
  documentId: NonEmptyString,
  index: Type.Integer({ minimum: 0 }),
  endReason: Type.Optional(Type.String()),
  contentLocation: Uri,
  metadataLocation: Uri,
  deleteLocation: Type.Optional(Uri),
});
const RecordingFileStatusUpdated = Type.Object({
  recordingStorageInfo: Type.Object({ recordingChunks: Type.Array(RecordingChunk) }),
  recordingStartTime: Timestamp,
  recordingDurationMs: Type.Number({ minimum: 0 }),
  sessionEndReason: Type.Optional(Type.String()),
});
/** A recording's server call id appears only in its subject. */
const RECORDING_SUBJECT = /\/serverCallId\/([^/]+)(?:\/recordingId\/([^/]+))?/;
const RecordingSubject = Type.String({ pattern: "/serverCallId/[^/]+" });

/** The preview docs list these names with no sample ("TODO"): accept any object, keep it whole. */
const PreviewCallData = Type.Object({ serverCallId: Type.Optional(NonEmptyString) });
const NonEmptySubject = Type.String({ minLength: 1 });

const CALL_ROW = ["call"];

function timelineRow(e: Envelope, serverCallId: string, props: Properties): LedgerWrite {
  return append("CallEvents", [serverCallId], eventRowKey(e, e.time, "oldestFirst"), { serverCallId, occurredAt: e.time.iso, ...props });
}

function callState(serverCallId: string, facet: Facet): LedgerWrite {
  return state("Calls", [serverCallId], CALL_ROW, facet);
}

function callProps(d: Static<typeof CallStarted>): Properties {
  return {
    ...identifierProps("startedBy", d.startedBy.communicationIdentifier),
    startedByRole: d.startedBy.role,
    groupId: d.group?.id,
    roomId: d.room?.id,
    isTwoParty: d.isTwoParty,
    isRoomsCall: d.isRoomsCall,
    correlationId: d.correlationId,
  };
}

function participantChanged(change: "added" | "removed") {
  return (e: Envelope<Static<typeof CallParticipantChanged>>): LedgerWrite[] => {
    const d = e.data;
    return [
      timelineRow(e, d.serverCallId, {
        change,
        ...callProps(d),
        ...identifierProps("participant", d.user.communicationIdentifier),
        participantRole: d.user.role,
        displayName: d.displayName,
        participantId: d.participantId,
        endpointType: d.endpointType,
      }),
    ];
  };
}

const C = "Microsoft.Communication.";

export const callingEvents: AnySpec[] = [
  defineEvent({
    type: `${C}CallStarted`,
    family: "calling",
    data: CallStarted,
    tables: ["CallEvents", "Calls"],
    normalize: (e) => [
      timelineRow(e, e.data.serverCallId, callProps(e.data)),
      callState(e.data.serverCallId, { name: "start", version: e.time.iso, props: { serverCallId: e.data.serverCallId, startedAt: e.time.iso, ...callProps(e.data) } }),
    ],
  }),
  defineEvent({
    type: `${C}CallEnded`,
    family: "calling",
    data: CallEnded,
    tables: ["CallEvents", "Calls"],
    normalize: (e) => [
      timelineRow(e, e.data.serverCallId, { ...callProps(e.data), durationOfCall: e.data.durationOfCall }),
      callState(e.data.serverCallId, {
        name: "end",
        version: e.time.iso,
        props: { serverCallId: e.data.serverCallId, endedAt: e.time.iso, durationOfCall: e.data.durationOfCall },
      }),
    ],
  }),
  defineEvent({ type: `${C}CallParticipantAdded`, family: "calling", data: CallParticipantChanged, tables: ["CallEvents"], normalize: participantChanged("added") }),
  defineEvent({ type: `${C}CallParticipantRemoved`, family: "calling", data: CallParticipantChanged, tables: ["CallEvents"], normalize: participantChanged("removed") }),
  defineEvent({
    type: `${C}IncomingCall`,
    family: "calling",
    data: IncomingCall,
    tables: ["CallEvents"],
    normalize: (e) => [
      timelineRow(e, e.data.serverCallId, {
        ...identifierProps("from", e.data.from),
        ...identifierProps("to", e.data.to),
        callerDisplayName: e.data.callerDisplayName,
        correlationId: e.data.correlationId,
      }),
    ],
  }),
  defineEvent({
    type: `${C}RecordingFileStatusUpdated`,
    family: "calling",
    data: RecordingFileStatusUpdated,
    subject: RecordingSubject,
    tables: ["CallEvents"],
    normalize: (e) => {
      const [, serverCallId = e.subject, recordingId] = RECORDING_SUBJECT.exec(e.subject) ?? [];
      return [
        timelineRow(e, serverCallId, {
          recordingId,
          recordingStartTime: instant(e.data.recordingStartTime).iso,
          recordingDurationMs: e.data.recordingDurationMs,
          sessionEndReason: e.data.sessionEndReason,
          recordingChunks: json(e.data.recordingStorageInfo.recordingChunks),
        }),
      ];
    },
  }),
  ...(["IncomingCall", "CallEnded"] as const).map((name) =>
    defineEvent({
      type: `Microsoft.CommunicationServices.${name}`,
      family: "calling",
      preview: true,
      data: PreviewCallData,
      subject: NonEmptySubject,
      tables: ["CallEvents"],
      // Without a documented payload, the subject (or a server call id, if one is sent) is the call's key.
      normalize: (e) => [timelineRow(e, e.data.serverCallId ?? e.subject, {})],
    }),
  ),
];
