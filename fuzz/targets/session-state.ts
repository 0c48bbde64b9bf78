import { isDeepStrictEqual } from "node:util";
import { TLSSession } from "../../src/session/client-session.js";
import { decodeSessionState, encodeSessionState } from "../../src/session/session.js";
import { check, decodes } from "../support/invariants.js";

/**
 * Session state as sealed in tickets and session files (a client loads these from disk, a server
 * from a ticket it opened): only TLSError, and what decodes re-encodes to a state that decodes
 * equal; TLSSession.from (bytes, or the base64 text of a session file) agrees with the decoder.
 */
export function fuzz(data: Buffer): void {
  const bytes = new Uint8Array(data);
  const s = decodes(() => decodeSessionState(bytes));
  const session = decodes(() => TLSSession.from(bytes));
  check((s === undefined) === (session === undefined), "TLSSession.from disagrees with the decoder");
  const text = decodes(() => TLSSession.from(data.toString("latin1")));
  if (text) text.isResumable();
  if (s === undefined || session === undefined) return;
  check(isDeepStrictEqual(decodeSessionState(encodeSessionState(s)), s), "session state does not round-trip");
  const again = TLSSession.from(session.toString());
  check(isDeepStrictEqual(again.state, s), "session text form does not round-trip");
  session.isResumable();
  void session.expiresAt;
}
