import { fullFormats } from "ajv-formats/dist/formats";
import { parseTimestamp } from "./time";

/**
 * Every string format the schemas use, in one object: AJV gets it when it compiles (the build step
 * and tests), and the validators generated at build time `require` it at run time (`code.formats`).
 */
export const formats = {
  /** A timestamp as ACS producers send them (see src/time.ts). */
  "acs-timestamp": { type: "string", validate: (text: string) => parseTimestamp(text) !== undefined },
  /** ajv-formats' full `uri`. */
  uri: fullFormats.uri,
} as const;
