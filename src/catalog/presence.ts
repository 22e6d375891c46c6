import { Type } from "@sinclair/typebox";
import { identifierProps, normalizeRawId } from "../identifiers";
import { CommunicationIdentifier } from "./common";
import { append, eventRowKey } from "./rows";
import { defineEvent, type AnySpec } from "./spec";

const UserDisconnected = Type.Object({ userCommunicationIdentifier: CommunicationIdentifier });

/** Newest first under the user: a user's last disconnect is the partition's first row. */
export const presenceEvents: AnySpec[] = [
  defineEvent({
    type: "Microsoft.Communication.UserDisconnected",
    family: "presence",
    data: UserDisconnected,
    tables: ["UserDisconnects"],
    normalize: (e) => [
      append("UserDisconnects", [normalizeRawId(e.data.userCommunicationIdentifier.rawId).rawId], eventRowKey(e, e.time, "newestFirst"), {
        ...identifierProps("user", e.data.userCommunicationIdentifier),
        disconnectedAt: e.time.iso,
      }),
    ],
  }),
];
