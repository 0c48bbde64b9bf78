import { AlertDescription } from "../../alert.js";
import { HandshakeType } from "../../constants.js";
import { TLSError } from "../../errors.js";
import { Reader } from "../../wire/reader.js";
import { encode } from "../../wire/writer.js";
import { frameHandshake, type HandshakeMessage } from "./framing.js";

/**
 * Seed steps 3 and 7. RFC 5246 §7.4.2 (TLS 1.2 form):
 *   opaque ASN.1Cert<1..2^24-1>;
 *   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 * The sender's certificate comes first; each following one certifies the one before it.
 */
export interface Certificate12 {
  certificateList: Uint8Array[];
}

export function encodeCertificate12(m: Certificate12): HandshakeMessage {
  return frameHandshake(
    HandshakeType.certificate,
    encode((w) =>
      w.vec(3, (w) => {
        for (const c of m.certificateList) w.vec24(c);
      }),
    ),
  );
}

export function decodeCertificate12(b: Uint8Array, maxCertificates: number): Certificate12 {
  const r = new Reader(b);
  const list = r.sub(3);
  r.end("Certificate");
  const certificateList: Uint8Array[] = [];
  while (!list.atEnd()) {
    certificateList.push(list.vec24(1));
    if (certificateList.length > maxCertificates) {
      throw TLSError.local(
        AlertDescription.bad_certificate,
        `certificate chain longer than ${maxCertificates} certificates`,
      );
    }
  }
  return { certificateList };
}
