import { Type, type Static } from "@sinclair/typebox";
import type { Envelope } from "../envelope";
import { identifierProps } from "../identifiers";
import { callIdentifier, CallParticipant, CommunicationIdentifier, Maybe, NonEmptyString, StringMap, Timestamp } from "./common";
import { given, present } from "./props";
import { append, eventRowKey, instant, json, state } from "./rows";
import { defineEvent, type AnySpec, type Facet, type LedgerWrite, type Properties, type Variant } from "./spec";

/*
 * Every calling event lands in CallEvents under its server call id, oldest first: the call's timeline.
 * Calls holds each call's current state (started, ended), versioned by event time. The server call id
 * is the one required field: everything else is optional, and what an event carries reaches its rows.
 */

const IdOnly = Type.Object({ id: Maybe(Type.String()) });

const callFields = {
  serverCallId: NonEmptyString,
  startedBy: Type.Optional(CallParticipant),
  group: Type.Optional(IdOnly),
  room: Type.Optional(IdOnly),
  /** The spec's own examples send `null`. */
  isTwoParty: Maybe(Type.Boolean()),
  isRoomsCall: Maybe(Type.Boolean()),
  /** Joins the call with Azure Monitor's ACSCallSummary logs. */
  correlationId: Maybe(Type.String()),
};
const CallStarted = Type.Object(callFields);
const Duration = Type.Number({ minimum: 0 });
const CallEnded = Type.Object({
  ...callFields,
  /** The Learn docs' name; the spec's is `callDurationInSeconds`. Both in seconds. */
  durationOfCall: Maybe(Duration),
  callDurationInSeconds: Maybe(Duration),
  endedBy: Type.Optional(Type.Object({ ...CallParticipant.properties, type: Maybe(Type.String()), name: Maybe(Type.String()) })),
  reason: Type.Optional(Type.Object({ code: Maybe(Type.Integer()), subCode: Maybe(Type.Integer()), phrase: Maybe(Type.String()) })),
});
const CallParticipantChanged = Type.Object({
  ...callFields,
  user: Type.Optional(CallParticipant),
  displayName: Maybe(Type.String()),
  participantId: Maybe(Type.String()),
  /** The spec's name; the Learn docs' is `endpointType`. */
  userAgent: Maybe(Type.String()),
  endpointType: Maybe(Type.String()),
  reason: Type.Optional(Type.Object({ code: Maybe(Type.Integer()), subCode: Maybe(Type.Integer()), phrase: Maybe(Type.String()) })),
});
const IncomingCall = Type.Object({
  serverCallId: NonEmptyString,
  to: Type.Optional(CommunicationIdentifier),
  from: Type.Optional(CommunicationIdentifier),
  callerDisplayName: Maybe(Type.String()),
  correlationId: Maybe(Type.String()),
  incomingCallContext: Maybe(Type.String()),
  onBehalfOf: Maybe(Type.String()),
  onBehalfOfCallee: Type.Optional(CommunicationIdentifier),
  customContext: Type.Optional(
    Type.Object({
      sipHeaders: Type.Optional(StringMap),
      voipHeaders: Type.Optional(StringMap),
      onBehalfOfCallee: Type.Optional(CommunicationIdentifier),
    }),
  ),
});

const Uri = Type.String({ format: "uri" });
const RecordingChunk = Type.Object({
  documentId: Maybe(Type.String()),
  index: Maybe(Type.Integer({ minimum: 0 })),
  endReason: Maybe(Type.String()),
  contentLocation: Maybe(Uri),
  metadataLocation: Maybe(Uri),
  deleteLocation: Maybe(Uri),
});
const RecordingFileStatusUpdated = Type.Object({
  /** No producer sends it yet; when one does, it wins over the subject's id. */
  serverCallId: Maybe(NonEmptyString),
  recordingStorageInfo: Type.Optional(Type.Object({ recordingChunks: Type.Optional(Type.Array(RecordingChunk)) })),
  recordingStartTime: Maybe(Timestamp),
  recordingDurationMs: Maybe(Type.Number({ minimum: 0 })),
  sessionEndReason: Maybe(Type.String()),
  recordingContentType: Maybe(Type.String()),
  recordingChannelType: Maybe(Type.String()),
  recordingFormatType: Maybe(Type.String()),
});

/**
 * A recording's server call id appears only in its subject: `/recording/call/{callId}/serverCallId/
 * {serverCallId}/recordingId/{recordingId}` now, `/recording/call/{serverCallId}/recordingId/{id}`
 * before. A server call id is standard base64 and may contain `/`, so it runs to the last
 * `/recordingId/` segment (recording ids have none).
 */
const CURRENT_SUBJECT = /\/serverCallId\/(.+?)(?:\/recordingId\/([^/]*))?$/;
const OLD_SUBJECT = /^\/?recording\/call\/(.+?)(?:\/recordingId\/([^/]*))?$/;
const RecordingSubject = Type.String({ pattern: "/serverCallId/.|^/?recording/call/." });

function recordingKeys(subject: string, fromData: string | undefined): { readonly serverCallId: string; readonly recordingId: string | undefined } {
  const [, subjectCallId = subject, recordingId] = CURRENT_SUBJECT.exec(subject) ?? OLD_SUBJECT.exec(subject) ?? [];
  return { serverCallId: fromData ?? subjectCallId, recordingId };
}

/** Each chunk's locations as properties (bounded: a row holds at most 255), and all chunks as JSON. */
const MAX_CHUNK_COLUMNS = 20;
function chunkProps(chunks: readonly Static<typeof RecordingChunk>[] | undefined): Properties {
  const out: Properties = { recordingChunks: json(chunks), chunkCount: chunks?.length };
  chunks?.slice(0, MAX_CHUNK_COLUMNS).forEach((c, i) => {
    Object.assign(out, present({ [`chunk${i}ContentLocation`]: given(c.contentLocation), [`chunk${i}MetadataLocation`]: given(c.metadataLocation), [`chunk${i}DeleteLocation`]: given(c.deleteLocation) }));
  });
  return present(out);
}

/** The preview docs list these names with no sample ("TODO"): accept any object, keep it whole. */
const PreviewCallData = Type.Object({ serverCallId: Type.Optional(NonEmptyString) });
const NonEmptySubject = Type.String({ minLength: 1 });

const CALL_ROW = ["call"];

function timelineRow(e: Envelope, serverCallId: string, props: Properties): LedgerWrite {
  return append("CallEvents", [serverCallId], eventRowKey(e, e.time, "oldestFirst"), { serverCallId, occurredAt: e.time.iso, ...present(props) });
}

function callState(serverCallId: string, facet: Facet): LedgerWrite {
  return state("Calls", [serverCallId], CALL_ROW, facet);
}

/** What every calling event says about its call; on both facets of the Calls row. */
function callProps(d: Static<typeof CallStarted>): Properties {
  return present({
    serverCallId: d.serverCallId,
    ...identifierProps("startedBy", callIdentifier(d.startedBy)),
    startedByRole: given(d.startedBy?.role),
    groupId: given(d.group?.id),
    roomId: given(d.room?.id),
    isTwoParty: given(d.isTwoParty),
    isRoomsCall: given(d.isRoomsCall),
    correlationId: given(d.correlationId),
  });
}

type Reason = { readonly code?: number | null; readonly subCode?: number | null; readonly phrase?: string | null } | undefined;
const reasonProps = (prefix: string, r: Reason): Properties =>
  present({ [`${prefix}Code`]: given(r?.code), [`${prefix}SubCode`]: given(r?.subCode), [`${prefix}Phrase`]: given(r?.phrase) });

function endedProps(d: Static<typeof CallEnded>): Properties {
  return present({
    durationOfCall: given(d.callDurationInSeconds ?? d.durationOfCall),
    ...identifierProps("endedBy", callIdentifier(d.endedBy)),
    endedByRole: given(d.endedBy?.role),
    endedByType: given(d.endedBy?.type),
    endedByName: given(d.endedBy?.name),
    ...reasonProps("endReason", d.reason),
  });
}

function participantChanged(change: "added" | "removed") {
  return (e: Envelope<Static<typeof CallParticipantChanged>>): LedgerWrite[] => {
    const d = e.data;
    return [
      timelineRow(e, d.serverCallId, {
        change,
        ...callProps(d),
        ...identifierProps("participant", callIdentifier(d.user)),
        participantRole: given(d.user?.role),
        displayName: given(d.displayName),
        participantId: given(d.participantId),
        userAgent: given(d.userAgent ?? d.endpointType),
        ...reasonProps("removedReason", d.reason),
      }),
    ];
  };
}

// ---- variants, and what each facet may leave out -------------------------------------------------

const identifierVariant = (name: string, extra: string[] = []): Variant => ({
  path: `data.${name}`,
  normalizedTo: `${name}RawId / ${name}Kind (and ${name}Role)`,
  seenIn: [
    "wrapped {communicationIdentifier, role}: */spec-*.json, */typespec-*.json, */go-*.json",
    "flat {rawId, communicationUser, role}: */docs-call_*.json",
    ...extra,
  ],
});
const LOWER_CASE_ENDED_BY = "lower-case {communicationidentifier}: */spec-eg-call_ended.json, */spec-ce-call_ended.json";
const NULL_TWO_PARTY: Variant = { path: "data.isTwoParty: null", normalizedTo: "isTwoParty absent", seenIn: ["*/spec-eg-call_ended.json, */typespec-call_*.json, */go-call_*.json"] };
const CALL_UNCHANGED = ["startedByRawId", "startedByKind", "startedByRole", "groupId", "roomId", "isTwoParty", "isRoomsCall", "correlationId"];

export const callingEvents: AnySpec[] = [
  defineEvent({
    type: "Microsoft.Communication.CallStarted",
    family: "calling",
    data: CallStarted,
    tables: ["CallEvents", "Calls"],
    variants: [identifierVariant("startedBy"), NULL_TWO_PARTY],
    absentMeansUnchanged: { start: CALL_UNCHANGED },
    normalize: (e) => [
      timelineRow(e, e.data.serverCallId, callProps(e.data)),
      callState(e.data.serverCallId, { name: "start", version: e.time.iso, props: { ...callProps(e.data), startedAt: e.time.iso } }),
    ],
  }),
  defineEvent({
    type: "Microsoft.Communication.CallEnded",
    family: "calling",
    data: CallEnded,
    tables: ["CallEvents", "Calls"],
    variants: [
      identifierVariant("startedBy"),
      identifierVariant("endedBy", [LOWER_CASE_ENDED_BY]),
      { path: "data.callDurationInSeconds", normalizedTo: "durationOfCall (seconds)", seenIn: ["durationOfCall: */docs-call_ended.json", "callDurationInSeconds: */spec-*-call_ended.json, */go-call_ended.json"] },
      NULL_TWO_PARTY,
    ],
    absentMeansUnchanged: { end: [...CALL_UNCHANGED, "durationOfCall", "endedByRawId", "endedByKind", "endedByRole", "endedByType", "endedByName", "endReasonCode", "endReasonSubCode", "endReasonPhrase"] },
    normalize: (e) => {
      const ended = { ...callProps(e.data), ...endedProps(e.data) };
      return [timelineRow(e, e.data.serverCallId, ended), callState(e.data.serverCallId, { name: "end", version: e.time.iso, props: { ...ended, endedAt: e.time.iso } })];
    },
  }),
  ...(["added", "removed"] as const).map((change) =>
    defineEvent({
      type: `Microsoft.Communication.CallParticipant${change === "added" ? "Added" : "Removed"}`,
      family: "calling",
      data: CallParticipantChanged,
      tables: ["CallEvents"],
      variants: [
        identifierVariant("startedBy"),
        identifierVariant("user"),
        { path: "data.endpointType", normalizedTo: "userAgent", seenIn: ["endpointType: */docs-call_participant_*.json", "userAgent: */spec-*.json, */typespec-*.json, */go-*.json"] },
        NULL_TWO_PARTY,
      ],
      normalize: participantChanged(change),
    }),
  ),
  defineEvent({
    type: "Microsoft.Communication.IncomingCall",
    family: "calling",
    data: IncomingCall,
    tables: ["CallEvents"],
    variants: [
      { path: "data.customContext.onBehalfOfCallee", normalizedTo: "onBehalfOfCalleeRawId (data.onBehalfOfCallee wins)", seenIn: ["data.onBehalfOfCallee: */spec-eg-incoming_call.json", "in customContext: the TypeSpec's AzureCommunicationServicesExample.tsp"] },
      { path: "data.customContext.sipHeaders, voipHeaders", normalizedTo: "sipHeaders / voipHeaders as JSON (header names such as X-MS-Custom-… cannot be property names)", seenIn: ["*/spec-*-incoming_call.json"] },
    ],
    normalize: (e) => {
      const d = e.data;
      return [
        timelineRow(e, d.serverCallId, {
          ...identifierProps("from", d.from),
          ...identifierProps("to", d.to),
          callerDisplayName: given(d.callerDisplayName),
          correlationId: given(d.correlationId),
          onBehalfOf: given(d.onBehalfOf),
          ...identifierProps("onBehalfOfCallee", d.onBehalfOfCallee ?? d.customContext?.onBehalfOfCallee),
          sipHeaders: json(d.customContext?.sipHeaders),
          voipHeaders: json(d.customContext?.voipHeaders),
          incomingCallContext: given(d.incomingCallContext),
        }),
      ];
    },
  }),
  defineEvent({
    type: "Microsoft.Communication.RecordingFileStatusUpdated",
    family: "calling",
    data: RecordingFileStatusUpdated,
    subject: RecordingSubject,
    tables: ["CallEvents"],
    variants: [
      { path: "subject", normalizedTo: "serverCallId: between serverCallId/ and /recordingId/", seenIn: ["/recording/call/{id}/serverCallId/{id}/recordingId/{id}: the current service"] },
      { path: "subject (old form)", normalizedTo: "serverCallId: the id after recording/call/", seenIn: ["/recording/call/{call-id}/recordingId/{recording-id}: */spec-*.json, */docs-recording_file_status_updated.json"] },
      { path: "data.recordingStartTime, recordingDurationMs (absent)", normalizedTo: "not set", seenIn: ["*/go-test-recording_file_status_updated.json"] },
    ],
    normalize: (e) => {
      const d = e.data;
      const { serverCallId, recordingId } = recordingKeys(e.subject, given(d.serverCallId));
      return [
        timelineRow(e, serverCallId, {
          recordingId,
          recordingStartTime: d.recordingStartTime ? instant(d.recordingStartTime).iso : undefined,
          recordingDurationMs: given(d.recordingDurationMs),
          sessionEndReason: given(d.sessionEndReason),
          recordingContentType: given(d.recordingContentType),
          recordingChannelType: given(d.recordingChannelType),
          recordingFormatType: given(d.recordingFormatType),
          ...chunkProps(d.recordingStorageInfo?.recordingChunks),
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
