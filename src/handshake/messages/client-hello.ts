import { AlertDescription } from "../../alert.js";
import { ExtensionType, groupName, HandshakeType, schemeName, versionName } from "../../constants.js";
import { TLSError } from "../../errors.js";
import { suiteName } from "../../suites.js";
import { toHex } from "../../wire/bytes.js";
import { decodeError, Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import {
  alpn,
  decodeExtensions,
  type Extension,
  extensionName,
  findExtension,
  keyShare,
  serverName,
  signatureAlgorithms,
  supportedGroups,
  supportedVersions,
  writeExtensions,
} from "./extensions.js";
import { type Fields, frameHandshake, type HandshakeMessage } from "./framing.js";

/**
 * Seed step 1. RFC 5246 §7.4.1.2 / RFC 8446 §4.1.2:
 *   struct {
 *     ProtocolVersion client_version;  Random random;  SessionID session_id<0..32>;
 *     CipherSuite cipher_suites<2..2^16-2>;  CompressionMethod compression_methods<1..2^8-1>;
 *     Extension extensions<0..2^16-1>;
 *   } ClientHello;
 */
export interface ClientHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  compressionMethods: number[];
  extensions: Extension[];
}

export function encodeClientHello(m: ClientHello): HandshakeMessage {
  return frameHandshake(
    HandshakeType.client_hello,
    encode((w) => {
      w.u16(m.legacyVersion).bytes(m.random).vec8(m.sessionId).u16List(2, m.cipherSuites);
      w.vec(1, (w) => {
        for (const c of m.compressionMethods) w.u8(c);
      });
      writeExtensions(w, m.extensions);
    }),
  );
}

export function decodeClientHello(b: Uint8Array): ClientHello {
  const r = new Reader(b);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec8();
  if (sessionId.length > 32)
    throw TLSError.local(AlertDescription.illegal_parameter, "session_id longer than 32 bytes");
  const suites = r.sub(2, 2);
  if (suites.remaining % 2 !== 0) throw decodeError("odd cipher_suites length");
  const cipherSuites: number[] = [];
  while (!suites.atEnd()) cipherSuites.push(suites.u16());
  const compressionMethods = Array.from(r.vec8(1));
  const extensions = decodeExtensions(r);
  r.end("ClientHello");
  return { legacyVersion, random, sessionId, cipherSuites, compressionMethods, extensions };
}

export function describeClientHello(m: ClientHello): Fields {
  const f: Fields = {
    version: versionName(m.legacyVersion),
    suites: m.cipherSuites.map(suiteName).join(","),
  };
  const sni = findExtension(m.extensions, ExtensionType.server_name);
  if (sni) f.sni = safe(() => serverName.decode(sni) ?? "");
  const sv = findExtension(m.extensions, ExtensionType.supported_versions);
  if (sv) f.supported_versions = safe(() => supportedVersions.decodeClient(sv).map(versionName).join(","));
  const ks = findExtension(m.extensions, ExtensionType.key_share);
  if (ks)
    f.key_share = safe(() =>
      keyShare
        .decodeClient(ks)
        .map((k) => groupName(k.group))
        .join(","),
    );
  const groups = findExtension(m.extensions, ExtensionType.supported_groups);
  if (groups) f.groups = safe(() => supportedGroups.decode(groups).map(groupName).join(","));
  const sigs = findExtension(m.extensions, ExtensionType.signature_algorithms);
  if (sigs) f.sigalgs = safe(() => signatureAlgorithms.decode(sigs).map(schemeName).join(","));
  const a = findExtension(m.extensions, ExtensionType.application_layer_protocol_negotiation);
  if (a) f.alpn = safe(() => alpn.decode(a).join(","));
  f.extensions = m.extensions.map((e) => extensionName(e.type)).join(",");
  if (m.sessionId.length > 0) f.session_id = toHex(m.sessionId);
  return f;
}

function safe(fn: () => string): string {
  try {
    return fn();
  } catch {
    return "(malformed)";
  }
}
