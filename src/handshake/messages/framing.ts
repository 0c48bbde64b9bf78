import type { HandshakeType } from "../../constants.js";
import { encode } from "../../wire/writer.js";

/** RFC 5246 §7.4 / RFC 8446 §4: Handshake { msg_type; uint24 length; body }. */
export interface HandshakeMessage {
  type: HandshakeType;
  body: Uint8Array;
  /** The whole message with its 4-byte header, as it enters the transcript. */
  raw: Uint8Array;
}

export function frameHandshake(type: HandshakeType, body: Uint8Array): HandshakeMessage {
  const raw = encode((w) => w.u8(type).vec24(body));
  return { type, body: raw.subarray(4), raw };
}

/** A one-line description of a message's main fields, for traces and the demo. */
export type Fields = Record<string, string>;
