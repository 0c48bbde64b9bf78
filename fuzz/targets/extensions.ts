import { isDeepStrictEqual } from "node:util";
import { ExtensionType } from "../../src/constants.js";
import {
  alpn,
  cookie,
  decodeExtensions,
  ecPointFormats,
  empty,
  keyShare,
  preSharedKey,
  pskKeyExchangeModes,
  renegotiationInfo,
  serverName,
  signatureAlgorithms,
  supportedGroups,
  supportedVersions,
  writeExtensions,
} from "../../src/handshake/messages/extensions.js";
import { utf8 } from "../../src/wire/bytes.js";
import { Reader } from "../../src/wire/reader.js";
import { encode } from "../../src/wire/writer.js";
import { check, decodes, InvariantError } from "../support/invariants.js";

/** decode(encode(v)) must give v back. */
function roundTrip<T>(what: string, v: T, enc: (v: T) => Uint8Array, dec: (b: Uint8Array) => T): void {
  let back: T;
  try {
    back = dec(enc(v));
  } catch (e) {
    throw new InvariantError(`${what}: the re-encoded value is refused: ${String(e)}`);
  }
  check(isDeepStrictEqual(back, v), `${what} does not round-trip`);
}

/**
 * Decodes one extension body with the codec for its type, as the client ("client": the body came
 * in a ClientHello) or server side would; only TLSError may escape, and what decodes round-trips.
 */
export function decodeKnownExtension(type: number, data: Uint8Array, from: "client" | "server"): void {
  decodes(() => {
    switch (type) {
      case ExtensionType.server_name: {
        const host = serverName.decode(data);
        if (host !== undefined)
          roundTrip("server_name", host, serverName.encode, (b) => serverName.decode(b)!);
        return;
      }
      case ExtensionType.supported_groups:
        return roundTrip(
          "supported_groups",
          supportedGroups.decode(data),
          supportedGroups.encode,
          supportedGroups.decode,
        );
      case ExtensionType.ec_point_formats:
        ecPointFormats.decode(data);
        return;
      case ExtensionType.signature_algorithms:
        return roundTrip(
          "signature_algorithms",
          signatureAlgorithms.decode(data),
          signatureAlgorithms.encode,
          signatureAlgorithms.decode,
        );
      case ExtensionType.application_layer_protocol_negotiation: {
        const list = alpn.decode(data);
        // Names that were not UTF-8 decode lossily (U+FFFD) and may not fit 255 bytes again.
        if (list.every((p) => utf8.encode(p).length <= 255))
          roundTrip("alpn", list, alpn.encode, alpn.decode);
        return;
      }
      case ExtensionType.extended_master_secret:
      case ExtensionType.early_data:
        if (data.length === 0 || from === "client") empty.decode(data, type);
        return;
      case ExtensionType.renegotiation_info:
        return roundTrip(
          "renegotiation_info",
          renegotiationInfo.decode(data),
          renegotiationInfo.encode,
          renegotiationInfo.decode,
        );
      case ExtensionType.supported_versions:
        if (from === "client")
          return roundTrip(
            "supported_versions",
            supportedVersions.decodeClient(data),
            supportedVersions.encodeClient,
            supportedVersions.decodeClient,
          );
        return roundTrip(
          "supported_versions",
          supportedVersions.decodeServer(data),
          supportedVersions.encodeServer,
          supportedVersions.decodeServer,
        );
      case ExtensionType.key_share:
        if (from === "client")
          return roundTrip(
            "key_share",
            keyShare.decodeClient(data),
            keyShare.encodeClient,
            keyShare.decodeClient,
          );
        if (data.length === 2)
          return roundTrip(
            "key_share",
            keyShare.decodeRetry(data),
            keyShare.encodeRetry,
            keyShare.decodeRetry,
          );
        return roundTrip(
          "key_share",
          keyShare.decodeServer(data),
          keyShare.encodeServer,
          keyShare.decodeServer,
        );
      case ExtensionType.cookie:
        return roundTrip("cookie", cookie.decode(data), cookie.encode, cookie.decode);
      case ExtensionType.psk_key_exchange_modes:
        return roundTrip(
          "psk_key_exchange_modes",
          pskKeyExchangeModes.decode(data),
          pskKeyExchangeModes.encode,
          pskKeyExchangeModes.decode,
        );
      case ExtensionType.pre_shared_key: {
        if (from === "server")
          return roundTrip(
            "pre_shared_key",
            preSharedKey.decodeServer(data),
            preSharedKey.encodeServer,
            preSharedKey.decodeServer,
          );
        const offer = preSharedKey.decodeClient(data);
        const enc = (o: typeof offer) => preSharedKey.encodeClient(o.identities, o.binders);
        roundTrip("pre_shared_key", offer, enc, preSharedKey.decodeClient);
        check(preSharedKey.bindersLength(offer.binders) <= data.length, "binders longer than the extension");
        return;
      }
    }
  });
}

export const EXTENSION_TYPES: readonly number[] = [
  ExtensionType.server_name,
  ExtensionType.supported_groups,
  ExtensionType.ec_point_formats,
  ExtensionType.signature_algorithms,
  ExtensionType.application_layer_protocol_negotiation,
  ExtensionType.extended_master_secret,
  ExtensionType.early_data,
  ExtensionType.renegotiation_info,
  ExtensionType.supported_versions,
  ExtensionType.key_share,
  ExtensionType.cookie,
  ExtensionType.psk_key_exchange_modes,
  ExtensionType.pre_shared_key,
];

/**
 * Extension codecs. Input: a selector byte (which codec, low bit: client or server side; 0xff
 * and up: a whole extensions block), then the body.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const sel = data[0]!;
  const body = new Uint8Array(data.subarray(1));
  if (sel >= 2 * EXTENSION_TYPES.length) {
    const exts = decodes(() => {
      const r = new Reader(body);
      const e = decodeExtensions(r, (sel & 1) === 0);
      r.end("extensions");
      return e;
    });
    if (exts === undefined) return;
    const again = decodeExtensions(new Reader(encode((w) => writeExtensions(w, exts))), false);
    check(isDeepStrictEqual(again, exts), "extensions block does not round-trip");
    for (const e of exts) decodeKnownExtension(e.type, e.data, sel & 2 ? "server" : "client");
    return;
  }
  decodeKnownExtension(EXTENSION_TYPES[sel >> 1]!, body, sel & 1 ? "server" : "client");
}
