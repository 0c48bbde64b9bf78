import { AlertDescription } from "../../alert.js";
import { groupName, HandshakeType, schemeName } from "../../constants.js";
import { TLSError } from "../../errors.js";
import { Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { type Fields, frameHandshake, type HandshakeMessage } from "./framing.js";

/**
 * Seed step 5. RFC 8422 §5.4 (ECDHE) with the TLS 1.2 signature of RFC 5246 §7.4.3:
 *   struct { ECCurveType curve_type = named_curve(3); NamedCurve namedcurve; } ECParameters;
 *   struct { ECParameters curve_params; opaque point<1..2^8-1>; } ServerECDHParams;
 *   struct { ServerECDHParams params; digitally-signed struct { ... } signed_params; } ServerKeyExchange;
 *   digitally-signed = SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>;
 * The signature covers client_random + server_random + ServerECDHParams.
 */
export interface EcdheServerKeyExchange {
  group: number;
  publicKey: Uint8Array;
  scheme: number;
  signature: Uint8Array;
}

const NAMED_CURVE = 3;

/** The bytes of ServerECDHParams, which the signature covers (after the two randoms). */
export function encodeEcdhParams(group: number, publicKey: Uint8Array): Uint8Array {
  return encode((w) => w.u8(NAMED_CURVE).u16(group).vec8(publicKey));
}

export function encodeServerKeyExchange(m: EcdheServerKeyExchange): HandshakeMessage {
  return frameHandshake(
    HandshakeType.server_key_exchange,
    encode((w) => w.bytes(encodeEcdhParams(m.group, m.publicKey)).u16(m.scheme).vec16(m.signature)),
  );
}

export function decodeServerKeyExchange(b: Uint8Array): EcdheServerKeyExchange {
  const r = new Reader(b);
  const curveType = r.u8();
  if (curveType !== NAMED_CURVE) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      `ServerKeyExchange curve_type ${curveType} is not named_curve`,
    );
  }
  const group = r.u16();
  const publicKey = r.vec8(1);
  const scheme = r.u16();
  const signature = r.vec16();
  r.end("ServerKeyExchange");
  return { group, publicKey, scheme, signature };
}

export function describeServerKeyExchange(m: EcdheServerKeyExchange): Fields {
  return {
    group: groupName(m.group),
    signature: schemeName(m.scheme),
    public: `${m.publicKey.length} bytes`,
  };
}
