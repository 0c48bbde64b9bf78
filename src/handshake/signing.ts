import { AlertDescription } from "../alert.js";
import { NamedGroup, ProtocolVersion, SignatureScheme } from "../constants.js";
import type { PrivateKey, PublicKey } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import type { AuthKind } from "../suites.js";

type Key = PublicKey | PrivateKey;

/** Whether a signature scheme can be used with a key, in a protocol version. */
export function schemeFitsKey(scheme: number, key: Key, version: number): boolean {
  switch (scheme) {
    case SignatureScheme.ecdsa_secp256r1_sha256:
    case SignatureScheme.ecdsa_secp384r1_sha384:
    case SignatureScheme.ecdsa_secp521r1_sha512:
      if (key.type !== "ec") return false;
      // TLS 1.3 binds the curve to the scheme (RFC 8446 §4.2.3); TLS 1.2 only names the hash.
      if (version >= ProtocolVersion.TLS1_3) {
        return (
          (scheme === SignatureScheme.ecdsa_secp256r1_sha256 && key.curve === "P-256") ||
          (scheme === SignatureScheme.ecdsa_secp384r1_sha384 && key.curve === "P-384") ||
          (scheme === SignatureScheme.ecdsa_secp521r1_sha512 && key.curve === "P-521")
        );
      }
      return true;
    case SignatureScheme.ed25519:
      return key.type === "ed25519";
    case SignatureScheme.rsa_pss_rsae_sha256:
    case SignatureScheme.rsa_pss_rsae_sha384:
    case SignatureScheme.rsa_pss_rsae_sha512:
      return key.type === "rsa";
    case SignatureScheme.rsa_pss_pss_sha256:
    case SignatureScheme.rsa_pss_pss_sha384:
    case SignatureScheme.rsa_pss_pss_sha512:
      return key.type === "rsa-pss";
    case SignatureScheme.rsa_pkcs1_sha256:
    case SignatureScheme.rsa_pkcs1_sha384:
    case SignatureScheme.rsa_pkcs1_sha512:
      // RFC 8446 §4.2.3: not for TLS 1.3 handshake signatures.
      return key.type === "rsa" && version < ProtocolVersion.TLS1_3;
    default:
      return false;
  }
}

/** Orders our schemes for a key: the one matching an EC key's curve first. */
function preferred(ours: readonly number[], key: Key): number[] {
  if (key.type !== "ec") return [...ours];
  const match =
    key.curve === "P-384"
      ? SignatureScheme.ecdsa_secp384r1_sha384
      : key.curve === "P-521"
        ? SignatureScheme.ecdsa_secp521r1_sha512
        : SignatureScheme.ecdsa_secp256r1_sha256;
  return [...ours].sort((a, b) => (a === match ? -1 : b === match ? 1 : 0));
}

/** The first of our schemes that the peer accepts and our key can make; undefined if none. */
export function chooseScheme(
  ours: readonly number[],
  peer: readonly number[],
  key: Key,
  version: number,
): number | undefined {
  return preferred(ours, key).find((s) => peer.includes(s) && schemeFitsKey(s, key, version));
}

/** The named group of an EC key's curve (for TLS 1.2, where supported_groups also bounds certificates). */
export function curveGroup(key: Key): NamedGroup | undefined {
  if (key.type !== "ec") return undefined;
  return key.curve === "P-256"
    ? NamedGroup.secp256r1
    : key.curve === "P-384"
      ? NamedGroup.secp384r1
      : NamedGroup.secp521r1;
}

/** True unless `key` is an EC key on a curve missing from `groups` (RFC 8422 §5.1). */
export function curveAccepted(key: Key, groups: readonly number[]): boolean {
  const g = curveGroup(key);
  return g === undefined || groups.includes(g);
}

/** Whether a certificate key can authenticate a TLS 1.2 suite (RFC 5246 §7.4.2, RFC 8422 §5.3). */
export function keyFitsSuite(key: Key, auth: AuthKind): boolean {
  return auth === "RSA" ? key.type === "rsa" : key.type === "ec" || key.type === "ed25519";
}

/** Checks a peer's choice of signature scheme: one we offered, that fits its key. */
export function checkPeerScheme(
  scheme: number,
  offered: readonly number[],
  key: PublicKey,
  version: number,
): void {
  if (!offered.includes(scheme) || !schemeFitsKey(scheme, key, version)) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      `peer signed with scheme 0x${scheme.toString(16)}, which was not offered or does not fit its key`,
    );
  }
}
