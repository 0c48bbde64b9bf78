import { AlertDescription } from "../alert.js";
import { HandshakeType } from "../constants.js";
import type { CryptoProvider, PublicKey } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { type Certificate, parseCertificate } from "../x509/certificate.js";
import type { CertVerifier } from "../x509/verify.js";
import type { HandshakeContext, Incoming } from "./context.js";
import type { HandshakeMessage } from "./messages/framing.js";

/** The error for a message (or ChangeCipherSpec) that the current state does not expect. */
export function unexpected(state: string, input: Incoming): TLSError {
  const what =
    input.kind === "ccs"
      ? "ChangeCipherSpec"
      : (HandshakeType[input.msg.type] ?? `handshake type ${input.msg.type}`);
  return TLSError.local(AlertDescription.unexpected_message, `unexpected ${what} in state ${state}`);
}

/** Returns the handshake message if it is of type `type`, else throws unexpected_message. */
export function expect(state: string, input: Incoming, type: HandshakeType): HandshakeMessage {
  if (input.kind !== "handshake" || input.msg.type !== type) throw unexpected(state, input);
  return input.msg;
}

/**
 * A flood guard for what a peer may send after the handshake without application data in
 * between (KeyUpdates, tickets, renegotiation attempts): more than `max` is unexpected_message.
 */
export class BurstLimit {
  private count = 0;
  private lastAppData = -1;
  constructor(
    private readonly max: number,
    private readonly message: string,
  ) {}
  spend(ctx: HandshakeContext): void {
    if (ctx.appDataRecords !== this.lastAppData) {
      this.lastAppData = ctx.appDataRecords;
      this.count = 0;
    }
    if (++this.count > this.max) throw TLSError.local(AlertDescription.unexpected_message, this.message);
  }
}

/**
 * TLS 1.2 renegotiation is refused with a no_renegotiation warning each time; more than 8 attempts
 * without data in between is a flood.
 */
export const renegotiationLimit = (): BurstLimit => new BurstLimit(8, "too many renegotiation attempts");

export interface PeerIdentity {
  certificates: Certificate[];
  publicKey: PublicKey;
  verified: boolean;
}

/**
 * Verifies a peer's chain (RFC 5280 path, validity, purpose, and the name for servers) with the
 * configured verifier; with none (verification turned off), only parses it.
 */
export function verifyPeerChain(
  crypto: CryptoProvider,
  verifier: CertVerifier | null,
  chain: readonly Uint8Array[],
  purpose: "serverAuth" | "clientAuth",
  hostname: string | undefined,
): PeerIdentity {
  const certificates = chain.map((der) => {
    try {
      return parseCertificate(der);
    } catch (e) {
      if (e instanceof TLSError) throw e;
      throw TLSError.local(AlertDescription.bad_certificate, "unparseable certificate", "CERT_PARSE_ERROR");
    }
  });
  if (verifier) {
    const v = verifier.verify(chain, hostname !== undefined ? { purpose, hostname } : { purpose });
    return { certificates, publicKey: v.leafPublicKey, verified: true };
  }
  let publicKey: PublicKey;
  try {
    publicKey = crypto.importPublicKey(certificates[0]!.spki);
  } catch {
    throw TLSError.local(AlertDescription.unsupported_certificate, "unsupported public key in certificate");
  }
  return { certificates, publicKey, verified: false };
}
