import { AlertDescription } from "../alert.js";
import { TLSError } from "../errors.js";
import { utf8 } from "../wire/bytes.js";
import { Reader } from "../wire/reader.js";
import { encode } from "../wire/writer.js";

/**
 * What a resumable session remembers (both roles, both versions). The server seals it into tickets
 * or keeps it in its SessionStore; the client keeps it (with the ticket or session id) to offer it
 * again. A resumed session keeps the original's properties: version, suite, name, ALPN, peer chain.
 */
export interface SessionState {
  version: 0x0303 | 0x0304;
  cipherSuite: number;
  /** TLS 1.2: the master secret. TLS 1.3: the resumption PSK of this ticket. */
  secret: Uint8Array;
  /** TLS 1.2: whether the master secret is an extended one (RFC 7627). */
  extendedMasterSecret: boolean;
  serverName: string | undefined;
  alpnProtocol: string | undefined;
  /** The peer's certificate chain from the full handshake (DER). */
  peerCertificates: Uint8Array[];
  /** When the full handshake happened (ms since the epoch). */
  createdAt: number;
  /** Seconds this session may be resumed for. */
  lifetime: number;
  /** TLS 1.3: ticket_age_add. */
  ageAdd: number;
  /** TLS 1.3: max_early_data_size the server allowed (0: none). */
  maxEarlyData: number;
  /** Client: the ticket to present (TLS 1.3 identity, or RFC 5077 ticket); server: empty. */
  ticket: Uint8Array;
  /** TLS 1.2: the session id. */
  sessionId: Uint8Array;
}

const FORMAT = 1;

export function encodeSessionState(s: SessionState): Uint8Array {
  return encode((w) => {
    w.u8(FORMAT)
      .u16(s.version)
      .u16(s.cipherSuite)
      .vec8(s.secret)
      .u8(s.extendedMasterSecret ? 1 : 0);
    w.vec16(utf8.encode(s.serverName ?? "")).vec8(utf8.encode(s.alpnProtocol ?? ""));
    w.u32(Math.floor(s.createdAt / 0x100000000)).u32(s.createdAt >>> 0);
    w.u32(s.lifetime)
      .u32(s.ageAdd >>> 0)
      .u32(s.maxEarlyData >>> 0);
    w.vec(3, (w) => {
      for (const c of s.peerCertificates) w.vec24(c);
    });
    w.vec16(s.ticket).vec8(s.sessionId);
  });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A name as encodeSessionState wrote it: UTF-8 that encodes back to the same bytes ("" = none). */
function text(b: Uint8Array, what: string): string | undefined {
  try {
    return strictUtf8.decode(b) || undefined;
  } catch {
    throw TLSError.local(AlertDescription.decode_error, `session ${what} is not UTF-8`);
  }
}

/** Decodes a session; a malformed one is an error the caller treats as "no session". */
export function decodeSessionState(b: Uint8Array): SessionState {
  const r = new Reader(b);
  if (r.u8() !== FORMAT) throw TLSError.local(AlertDescription.decode_error, "unknown session format");
  const version = r.u16();
  if (version !== 0x0303 && version !== 0x0304)
    throw TLSError.local(AlertDescription.decode_error, "bad session version");
  const cipherSuite = r.u16();
  const secret = r.vec8(1);
  const extendedMasterSecret = r.u8() === 1;
  const serverName = text(r.vec16(), "server name");
  const alpnProtocol = text(r.vec8(), "ALPN protocol");
  const createdHigh = r.u32();
  // Milliseconds since the epoch fit 53 bits; more would not survive encodeSessionState.
  if (createdHigh > 0x1fffff) throw TLSError.local(AlertDescription.decode_error, "bad session time");
  const createdAt = createdHigh * 0x100000000 + r.u32();
  const lifetime = r.u32();
  const ageAdd = r.u32();
  const maxEarlyData = r.u32();
  const certs = r.sub(3);
  const peerCertificates: Uint8Array[] = [];
  while (!certs.atEnd()) peerCertificates.push(certs.vec24(1));
  const ticket = r.vec16();
  const sessionId = r.vec8();
  r.end("session");
  return {
    version,
    cipherSuite,
    secret,
    extendedMasterSecret,
    serverName,
    alpnProtocol,
    peerCertificates,
    createdAt,
    lifetime,
    ageAdd,
    maxEarlyData,
    ticket,
    sessionId,
  };
}

/** Whether a session is still within its lifetime at `now` (ms). */
export function sessionAlive(s: SessionState, now: number): boolean {
  return now >= s.createdAt - 60_000 && now < s.createdAt + s.lifetime * 1000;
}
