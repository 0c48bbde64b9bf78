import { DEMO_ROOT_CA, DEMO_SERVER_CERT } from "../../src/cli/demo-certs.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import { equalBytes } from "../../src/wire/bytes.js";
import { checkHostname, hostnameMismatchReason } from "../../src/x509/hostname.js";
import { ChainVerifier, derToPem, parseCertificate, pemToDer } from "../../src/x509/index.js";
import { check, decodes } from "../support/invariants.js";

const verifier = new ChainVerifier({ roots: [DEMO_ROOT_CA], crypto: nodeCrypto });
const [demoLeaf, demoIntermediate] = pemToDer(DEMO_SERVER_CERT);
const NOW = new Date("2027-06-01T00:00:00Z");

/**
 * X.509 certificate parser and chain verifier. Input: a mode byte, then one DER certificate.
 * mode bit 0: verify [input, demo intermediate] (the input as a leaf), else [demo leaf, input]
 * (as an intermediate); bit 1: purpose clientAuth. Only TLSError, from the parser and the
 * verifier alike; the parsed certificate keeps its exact DER, survives PEM, and names work.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const mode = data[0]!;
  const der = new Uint8Array(data.subarray(1));
  const cert = decodes(() => parseCertificate(der));
  if (cert !== undefined) {
    check(equalBytes(cert.der, der), "certificate DER changed");
    const pem = pemToDer(derToPem(der));
    check(pem.length === 1 && equalBytes(pem[0]!, der), "PEM round trip");
    cert.subject.toString();
    cert.issuer.toString();
    checkHostname(cert, "localhost");
    checkHostname(cert, "127.0.0.1");
    hostnameMismatchReason(cert, "a.example.com");
  }
  const chain = mode & 1 ? [der, demoIntermediate!] : [demoLeaf!, der];
  const purpose = mode & 2 ? "clientAuth" : "serverAuth";
  decodes(() => verifier.verify(chain, { purpose, hostname: "localhost", now: NOW }));
}
