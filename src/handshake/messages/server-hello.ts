import { AlertDescription } from "../../alert.js";
import { HandshakeType, versionName } from "../../constants.js";
import { TLSError } from "../../errors.js";
import { suiteName } from "../../suites.js";
import { Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { decodeExtensions, type Extension, extensionName, writeExtensions } from "./extensions.js";
import { type Fields, frameHandshake, type HandshakeMessage } from "./framing.js";

/**
 * Seed step 2. RFC 5246 §7.4.1.3:
 *   struct {
 *     ProtocolVersion server_version;  Random random;  SessionID session_id;
 *     CipherSuite cipher_suite;  CompressionMethod compression_method;
 *     Extension extensions<0..2^16-1>;
 *   } ServerHello;
 */
export interface ServerHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  compressionMethod: number;
  extensions: Extension[];
}

export function encodeServerHello(m: ServerHello): HandshakeMessage {
  return frameHandshake(
    HandshakeType.server_hello,
    encode((w) => {
      w.u16(m.legacyVersion).bytes(m.random).vec8(m.sessionId).u16(m.cipherSuite).u8(m.compressionMethod);
      writeExtensions(w, m.extensions);
    }),
  );
}

export function decodeServerHello(b: Uint8Array): ServerHello {
  const r = new Reader(b);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec8();
  if (sessionId.length > 32)
    throw TLSError.local(AlertDescription.illegal_parameter, "session_id longer than 32 bytes");
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = decodeExtensions(r);
  r.end("ServerHello");
  return { legacyVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
}

export function describeServerHello(m: ServerHello, negotiatedVersion?: number): Fields {
  return {
    version: versionName(negotiatedVersion ?? m.legacyVersion),
    suite: suiteName(m.cipherSuite),
    extensions: m.extensions.map((e) => extensionName(e.type)).join(","),
  };
}
