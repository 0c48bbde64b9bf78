import type { HashAlgorithm, NamedGroup, SignatureScheme } from "../constants.js";

/**
 * Everything the protocol needs from cryptography, and nothing else. The core never imports
 * node:crypto directly; `nodeCrypto` (./node.ts) implements this on OpenSSL. The interface is
 * synchronous: node:crypto and @noble/* are both synchronous, so a provider for other runtimes can
 * be too (WebCrypto's async API would be wrapped behind a queue in an adapter, never in the core).
 */
export interface CryptoProvider {
  readonly name: string;
  random(n: number): Uint8Array;

  hash(alg: HashAlgorithm, data: Uint8Array): Uint8Array;
  hmac(alg: HashAlgorithm, key: Uint8Array, data: Uint8Array): Uint8Array;

  aead(alg: AeadAlgorithm, key: Uint8Array): Aead;

  /** Key-exchange groups this provider implements. */
  supportsGroup(group: NamedGroup): boolean;
  /** Starts a key exchange as the initiator (client key share, or TLS 1.2 server ECDHE). */
  keyShare(group: NamedGroup): KeyShare;
  /**
   * Answers a peer's share as the responder: for (EC)DH a fresh key pair and the shared secret;
   * for a KEM (X25519MLKEM768) the ciphertext and secret. Throws TLSError(illegal_parameter) on a
   * malformed or invalid share.
   */
  respond(group: NamedGroup, peerShare: Uint8Array): { share: Uint8Array; secret: Uint8Array };

  importPrivateKey(pem: string | Uint8Array): PrivateKey;
  /** Imports a DER SubjectPublicKeyInfo. Throws on an unsupported or malformed key. */
  importPublicKey(spki: Uint8Array): PublicKey;

  /** Signs `data` (the whole message; the scheme's hash is applied here). ECDSA output is DER. */
  sign(scheme: SignatureScheme, key: PrivateKey, data: Uint8Array): Uint8Array;
  /** Verifies; ECDSA signatures are DER as TLS and X.509 carry them. Never throws on a bad signature. */
  verify(scheme: SignatureScheme, key: PublicKey, data: Uint8Array, signature: Uint8Array): boolean;

  /** RSAES-PKCS1-v1_5 encryption (TLS 1.2 RSA key transport, client side). */
  rsaEncryptPkcs1(key: PublicKey, data: Uint8Array): Uint8Array;
  /** Raw RSA decryption (no padding removed), modulus-length output; the caller unpads in constant time. */
  rsaDecryptRaw(key: PrivateKey, data: Uint8Array): Uint8Array;
}

export type AeadAlgorithm = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";

export interface Aead {
  readonly keyLength: number;
  readonly tagLength: number;
  /** Ciphertext and tag; `headroom` bytes are left free at the start of the result (for record headers). */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, headroom?: number): Uint8Array;
  /** Returns null when authentication fails. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
}

export interface KeyShare {
  readonly group: NamedGroup;
  readonly publicKey: Uint8Array;
  /** Shared secret with the peer's share. Throws TLSError(illegal_parameter) on an invalid share. */
  agree(peerShare: Uint8Array): Uint8Array;
}

export type KeyType = "rsa" | "rsa-pss" | "ec" | "ed25519" | "ed448";
export type Curve = "P-256" | "P-384" | "P-521";

export interface PublicKey {
  readonly type: KeyType;
  readonly curve?: Curve | undefined;
  /** Modulus size for RSA, field size for EC. */
  readonly bits: number;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
}

export interface PrivateKey {
  readonly type: KeyType;
  readonly curve?: Curve | undefined;
  readonly bits: number;
  readonly publicKey: PublicKey;
}

/** The hash a signature scheme uses (for Ed25519 the scheme hashes internally; sha512 is nominal). */
export function schemeHash(scheme: SignatureScheme): HashAlgorithm {
  switch (scheme >> 8) {
    case 0x02:
      return "sha1";
    case 0x04:
      return "sha256";
    case 0x05:
      return "sha384";
    case 0x06:
      return "sha512";
  }
  switch (scheme) {
    case 0x0804:
    case 0x0809:
      return "sha256";
    case 0x0805:
    case 0x080a:
      return "sha384";
    default:
      return "sha512";
  }
}

export function hashLength(alg: HashAlgorithm): number {
  return alg === "sha1" ? 20 : alg === "sha256" ? 32 : alg === "sha384" ? 48 : 64;
}
