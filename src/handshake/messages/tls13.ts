import { AlertDescription } from "../../alert.js";
import { HandshakeType } from "../../constants.js";
import { TLSError } from "../../errors.js";
import { fromHex } from "../../wire/bytes.js";
import { Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { decodeExtensions, type Extension, writeExtensions } from "./extensions.js";
import { frameHandshake, type HandshakeMessage } from "./framing.js";

/** TLS 1.3 handshake messages (RFC 8446 §4.3-4.6) that TLS 1.2 does not have, or has in another form. */

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of "HelloRetryRequest"). */
export const HELLO_RETRY_REQUEST_RANDOM = fromHex(
  "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c",
);
/** RFC 8446 §4.1.3 downgrade sentinels, the last 8 bytes of ServerHello.random. */
export const DOWNGRADE_TLS12 = fromHex("444f574e47524401");
export const DOWNGRADE_TLS11 = fromHex("444f574e47524400");

/** struct { Extension extensions<0..2^16-1>; } EncryptedExtensions; */
export function encodeEncryptedExtensions(extensions: readonly Extension[]): HandshakeMessage {
  return frameHandshake(
    HandshakeType.encrypted_extensions,
    encode((w) => writeExtensions(w, extensions)),
  );
}
export function decodeEncryptedExtensions(b: Uint8Array): Extension[] {
  const r = new Reader(b);
  const exts = decodeExtensions(r, false);
  r.end("EncryptedExtensions");
  return exts;
}

/**
 * struct { opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>; } CertificateEntry;
 * struct { opaque certificate_request_context<0..2^8-1>; CertificateEntry certificate_list<0..2^24-1>; } Certificate;
 */
export interface Certificate13 {
  context: Uint8Array;
  entries: Array<{ cert: Uint8Array; extensions: Extension[] }>;
}
export function encodeCertificate13(m: Certificate13): HandshakeMessage {
  return frameHandshake(
    HandshakeType.certificate,
    encode((w) => {
      w.vec8(m.context);
      w.vec(3, (w) => {
        for (const e of m.entries) {
          w.vec24(e.cert);
          writeExtensions(w, e.extensions);
        }
      });
    }),
  );
}
export function decodeCertificate13(b: Uint8Array, maxCertificates: number): Certificate13 {
  const r = new Reader(b);
  const context = r.vec8();
  const list = r.sub(3);
  r.end("Certificate");
  const entries: Certificate13["entries"] = [];
  while (!list.atEnd()) {
    const cert = list.vec24(1);
    const extensions = decodeExtensions(list, false);
    entries.push({ cert, extensions });
    if (entries.length > maxCertificates) {
      throw TLSError.local(
        AlertDescription.bad_certificate,
        `certificate chain longer than ${maxCertificates} certificates`,
      );
    }
  }
  return { context, entries };
}

/** struct { opaque certificate_request_context<0..2^8-1>; Extension extensions<2..2^16-1>; } CertificateRequest; */
export interface CertificateRequest13 {
  context: Uint8Array;
  extensions: Extension[];
}
export function encodeCertificateRequest13(m: CertificateRequest13): HandshakeMessage {
  return frameHandshake(
    HandshakeType.certificate_request,
    encode((w) => {
      w.vec8(m.context);
      writeExtensions(w, m.extensions);
    }),
  );
}
export function decodeCertificateRequest13(b: Uint8Array): CertificateRequest13 {
  const r = new Reader(b);
  const context = r.vec8();
  const extensions = decodeExtensions(r, false);
  r.end("CertificateRequest");
  return { context, extensions };
}

/**
 * struct { uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
 *          opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>; } NewSessionTicket;
 */
export interface NewSessionTicket13 {
  lifetime: number;
  ageAdd: number;
  nonce: Uint8Array;
  ticket: Uint8Array;
  extensions: Extension[];
}
export function encodeNewSessionTicket13(m: NewSessionTicket13): HandshakeMessage {
  return frameHandshake(
    HandshakeType.new_session_ticket,
    encode((w) => {
      w.u32(m.lifetime).u32(m.ageAdd).vec8(m.nonce).vec16(m.ticket);
      writeExtensions(w, m.extensions);
    }),
  );
}
export function decodeNewSessionTicket13(b: Uint8Array): NewSessionTicket13 {
  const r = new Reader(b);
  const lifetime = r.u32();
  const ageAdd = r.u32();
  const nonce = r.vec8();
  const ticket = r.vec16(1);
  const extensions = decodeExtensions(r, false);
  r.end("NewSessionTicket");
  // §4.6.1: servers MUST NOT use any value greater than 604800 seconds (7 days).
  if (lifetime > 604800)
    throw TLSError.local(AlertDescription.illegal_parameter, "ticket lifetime over 7 days");
  return { lifetime, ageAdd, nonce, ticket, extensions };
}

/** enum { update_not_requested(0), update_requested(1), (255) } KeyUpdateRequest; */
export function encodeKeyUpdate(requested: boolean): HandshakeMessage {
  return frameHandshake(HandshakeType.key_update, Uint8Array.of(requested ? 1 : 0));
}
export function decodeKeyUpdate(b: Uint8Array): boolean {
  const r = new Reader(b);
  const v = r.u8();
  r.end("KeyUpdate");
  if (v > 1) throw TLSError.local(AlertDescription.illegal_parameter, `KeyUpdate request value ${v}`);
  return v === 1;
}

/** §4.4.1: after a HelloRetryRequest, ClientHello1 is replaced by message_hash(Hash(ClientHello1)). */
export function messageHash(hashOfClientHello1: Uint8Array): Uint8Array {
  return encode((w) => w.u8(HandshakeType.message_hash).vec24(hashOfClientHello1));
}

/** §4.4.3: the content covered by a CertificateVerify signature. */
export function certificateVerifyContent(role: "server" | "client", transcriptHash: Uint8Array): Uint8Array {
  const context = new TextEncoder().encode(`TLS 1.3, ${role} CertificateVerify`);
  const out = new Uint8Array(64 + context.length + 1 + transcriptHash.length);
  out.fill(0x20, 0, 64);
  out.set(context, 64);
  out[64 + context.length] = 0;
  out.set(transcriptHash, 64 + context.length + 1);
  return out;
}
