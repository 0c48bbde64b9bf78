import { isDeepStrictEqual } from "node:util";
import { decodeSessionState, encodeSessionState } from "../../src/session/session.js";
import { check, decodes } from "../support/invariants.js";

/**
 * Session state as sealed in tickets and session files (a client loads these from disk, a server
 * from a ticket it opened): only TLSError, and what decodes re-encodes to a state that decodes equal.
 */
export function fuzz(data: Buffer): void {
  const s = decodes(() => decodeSessionState(new Uint8Array(data)));
  if (s === undefined) return;
  check(isDeepStrictEqual(decodeSessionState(encodeSessionState(s)), s), "session state does not round-trip");
}
