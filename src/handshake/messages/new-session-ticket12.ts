import { HandshakeType } from "../../constants.js";
import { Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { frameHandshake, type HandshakeMessage } from "./framing.js";

/**
 * RFC 5077 §3.3 (TLS 1.2 session tickets):
 *   struct { uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>; } NewSessionTicket;
 * Sent by the server after the client's Finished (full handshake) or after its ServerHello
 * (abbreviated), before its ChangeCipherSpec. The session_ticket extension carries the ticket in
 * the ClientHello (empty to ask for one) and is empty in the ServerHello.
 */
export interface NewSessionTicket12 {
  lifetimeHint: number;
  ticket: Uint8Array;
}

export function encodeNewSessionTicket12(m: NewSessionTicket12): HandshakeMessage {
  return frameHandshake(
    HandshakeType.new_session_ticket,
    encode((w) => w.u32(m.lifetimeHint).vec16(m.ticket)),
  );
}

export function decodeNewSessionTicket12(b: Uint8Array): NewSessionTicket12 {
  const r = new Reader(b);
  const m = { lifetimeHint: r.u32(), ticket: r.vec16() };
  r.end("NewSessionTicket");
  return m;
}
