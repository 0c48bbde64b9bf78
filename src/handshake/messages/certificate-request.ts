import { HandshakeType, schemeName } from "../../constants.js";
import { Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { type Fields, frameHandshake, type HandshakeMessage } from "./framing.js";

/**
 * Seed step 4. RFC 5246 §7.4.4:
 *   enum { rsa_sign(1), dss_sign(2), ..., ecdsa_sign(64), (255) } ClientCertificateType;
 *   opaque DistinguishedName<1..2^16-1>;
 *   struct {
 *     ClientCertificateType certificate_types<1..2^8-1>;
 *     SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;
 *     DistinguishedName certificate_authorities<0..2^16-1>;
 *   } CertificateRequest;
 */
export interface CertificateRequest12 {
  certificateTypes: number[];
  signatureAlgorithms: number[];
  certificateAuthorities: Uint8Array[];
}

export const ClientCertificateType = { rsa_sign: 1, ecdsa_sign: 64 } as const;

export function encodeCertificateRequest12(m: CertificateRequest12): HandshakeMessage {
  return frameHandshake(
    HandshakeType.certificate_request,
    encode((w) => {
      w.vec8(Uint8Array.from(m.certificateTypes)).u16List(2, m.signatureAlgorithms);
      w.vec(2, (w) => {
        for (const dn of m.certificateAuthorities) w.vec16(dn);
      });
    }),
  );
}

export function decodeCertificateRequest12(b: Uint8Array): CertificateRequest12 {
  const r = new Reader(b);
  const certificateTypes = Array.from(r.vec8(1));
  const signatureAlgorithms = r.u16List(2, 2);
  const cas = r.sub(2);
  const certificateAuthorities: Uint8Array[] = [];
  while (!cas.atEnd()) certificateAuthorities.push(cas.vec16(1));
  r.end("CertificateRequest");
  return { certificateTypes, signatureAlgorithms, certificateAuthorities };
}

export function describeCertificateRequest12(m: CertificateRequest12): Fields {
  return {
    types: m.certificateTypes
      .map((t) => (t === 1 ? "rsa_sign" : t === 64 ? "ecdsa_sign" : String(t)))
      .join(","),
    sigalgs: m.signatureAlgorithms.map(schemeName).join(","),
    authorities: String(m.certificateAuthorities.length),
  };
}
