import { HandshakeType } from "../../constants.js";
import { decodeError, Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { frameHandshake, type HandshakeMessage } from "./framing.js";

/** Seed step 6. RFC 5246 §7.4.5: struct { } ServerHelloDone; */
export function encodeServerHelloDone(): HandshakeMessage {
  return frameHandshake(HandshakeType.server_hello_done, new Uint8Array(0));
}
export function decodeServerHelloDone(b: Uint8Array): void {
  if (b.length !== 0) throw decodeError("ServerHelloDone must be empty");
}

/** RFC 5246 §7.4.1.1: struct { } HelloRequest; (we answer it with no_renegotiation) */
export function decodeHelloRequest(b: Uint8Array): void {
  if (b.length !== 0) throw decodeError("HelloRequest must be empty");
}

/**
 * Seed step 8. RFC 5246 §7.4.7 / RFC 8422 §5.7:
 *   ECDHE: struct { opaque point <1..2^8-1>; } ClientECDiffieHellmanPublic;
 *   RSA:   struct { public-key-encrypted PreMasterSecret pre_master_secret; } EncryptedPreMasterSecret;
 *          (an opaque<0..2^16-1> in TLS 1.0 and later)
 */
export type ClientKeyExchange =
  | { kind: "ECDHE"; publicKey: Uint8Array }
  | { kind: "RSA"; encryptedPreMaster: Uint8Array };

export function encodeClientKeyExchange(m: ClientKeyExchange): HandshakeMessage {
  return frameHandshake(
    HandshakeType.client_key_exchange,
    encode((w) => (m.kind === "ECDHE" ? w.vec8(m.publicKey) : w.vec16(m.encryptedPreMaster))),
  );
}
export function decodeClientKeyExchange(b: Uint8Array, kind: "ECDHE" | "RSA"): ClientKeyExchange {
  const r = new Reader(b);
  const m: ClientKeyExchange =
    kind === "ECDHE" ? { kind, publicKey: r.vec8(1) } : { kind, encryptedPreMaster: r.vec16(1) };
  r.end("ClientKeyExchange");
  return m;
}

/**
 * Seed step 9. RFC 5246 §7.4.8 / RFC 8446 §4.4.3:
 *   struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; } CertificateVerify;
 */
export interface CertificateVerify {
  scheme: number;
  signature: Uint8Array;
}
export function encodeCertificateVerify(m: CertificateVerify): HandshakeMessage {
  return frameHandshake(
    HandshakeType.certificate_verify,
    encode((w) => w.u16(m.scheme).vec16(m.signature)),
  );
}
export function decodeCertificateVerify(b: Uint8Array): CertificateVerify {
  const r = new Reader(b);
  const m = { scheme: r.u16(), signature: r.vec16() };
  r.end("CertificateVerify");
  return m;
}

/**
 * Seed steps 11 and 13. RFC 5246 §7.4.9: struct { opaque verify_data[verify_data_length]; } Finished;
 * (12 bytes for every TLS 1.2 suite here; Hash.length in TLS 1.3.)
 */
export function encodeFinished(verifyData: Uint8Array): HandshakeMessage {
  return frameHandshake(HandshakeType.finished, verifyData);
}
export function decodeFinished(b: Uint8Array, length: number): Uint8Array {
  if (b.length !== length) throw decodeError(`Finished of ${b.length} bytes, expected ${length}`);
  return b;
}
