import { constants, createPrivateKey, createPublicKey, publicEncrypt } from "node:crypto";
import { p256, p384 } from "@noble/curves/nist.js";
import { AlertDescription } from "../../src/alert.js";
import { NamedGroup, SignatureScheme } from "../../src/constants.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type {
  Aead,
  AeadAlgorithm,
  CryptoProvider,
  KeyShare,
  PrivateKey,
  PublicKey,
} from "../../src/crypto/provider.js";
import { TLSError } from "../../src/errors.js";
import { concat, equalBytes } from "../../src/wire/bytes.js";

/**
 * A CryptoProvider for fuzzing the state machines, NOT for anything else: deterministic randomness
 * (a counter hashed with a seed, rewound by reset()), a fake key exchange whose shared secret is a
 * hash of both public shares, and an "AEAD" that leaves the plaintext as it is and appends an
 * all-zero tag (open() refuses any other tag), deterministic ECDSA and RSA encryption padding. Hashes, HMAC, verification
 * and other signatures are node's.
 *
 * Why: a connection built on it after reset() sends the same bytes every time, so a flight recorded
 * from a pair() run stays valid when replayed into a fresh connection; and since record protection
 * is transparent, the fuzzer mutates the handshake messages inside "encrypted" TLS 1.3 records
 * directly, which gets it past the record layer into EncryptedExtensions, Certificate, ... .
 */
export class TransparentCrypto implements CryptoProvider {
  readonly name = "fuzz-transparent";
  private counter = 0;
  private readonly scalars = new WeakMap<PrivateKey, Uint8Array>();

  constructor(private readonly seed: string) {}

  /** Rewinds the random stream: the next connection draws the same bytes as the last one. */
  reset(): void {
    this.counter = 0;
  }

  random(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) {
      const block = nodeCrypto.hash("sha256", new TextEncoder().encode(`${this.seed}/${this.counter++}`));
      out.set(block.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  }

  hash = nodeCrypto.hash;
  hmac = nodeCrypto.hmac;

  aead(alg: AeadAlgorithm, key: Uint8Array): Aead {
    const keyLength = alg === "aes-128-gcm" ? 16 : 32;
    if (key.length !== keyLength) throw new RangeError(`${alg} needs a ${keyLength}-byte key`);
    return transparentAead(keyLength);
  }

  supportsGroup = nodeCrypto.supportsGroup;

  keyShare(group: NamedGroup): KeyShare {
    const publicKey = this.share(group, "client");
    return { group, publicKey, agree: (peer) => fakeSecret(group, publicKey, check(group, "server", peer)) };
  }

  respond(group: NamedGroup, peerShare: Uint8Array): { share: Uint8Array; secret: Uint8Array } {
    check(group, "client", peerShare);
    const share = this.share(group, "server");
    return { share, secret: fakeSecret(group, share, peerShare) };
  }

  importPrivateKey(pem: string | Uint8Array): PrivateKey {
    const key = nodeCrypto.importPrivateKey(pem);
    const obj = createPrivateKey(typeof pem === "string" ? pem : Buffer.from(pem));
    if (key.type === "ec")
      this.scalars.set(key, new Uint8Array(Buffer.from(obj.export({ format: "jwk" }).d!, "base64url")));
    return key;
  }
  importPublicKey = nodeCrypto.importPublicKey;

  /** ECDSA signatures are deterministic here (RFC 6979): a recorded CertificateVerify replays. */
  sign(scheme: SignatureScheme, key: PrivateKey, data: Uint8Array): Uint8Array {
    const d = this.scalars.get(key);
    if (d && scheme === SignatureScheme.ecdsa_secp256r1_sha256 && key.curve === "P-256")
      return p256.sign(data, d, { format: "der" });
    if (d && scheme === SignatureScheme.ecdsa_secp384r1_sha384 && key.curve === "P-384")
      return p384.sign(data, d, { format: "der" });
    return nodeCrypto.sign(scheme, key, data);
  }
  verify = nodeCrypto.verify;
  /** RSAES-PKCS1-v1_5 with padding bytes from the deterministic stream (a recorded ClientKeyExchange replays). */
  rsaEncryptPkcs1(key: PublicKey, data: Uint8Array): Uint8Array {
    const k = (key.bits + 7) >> 3;
    const ps = this.random(k - 3 - data.length).map((b) => b || 1);
    const em = concat(Uint8Array.of(0, 2), ps, Uint8Array.of(0), data);
    const pub = createPublicKey({ key: Buffer.from(key.spki), format: "der", type: "spki" });
    return new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, em));
  }
  rsaDecryptRaw = nodeCrypto.rsaDecryptRaw;

  private share(group: NamedGroup, role: "client" | "server"): Uint8Array {
    const s = this.random(shareLength(group, role));
    if (group === NamedGroup.secp256r1 || group === NamedGroup.secp384r1) s[0] = 4;
    return s;
  }
}

function shareLength(group: NamedGroup, role: "client" | "server"): number {
  switch (group) {
    case NamedGroup.x25519:
      return 32;
    case NamedGroup.secp256r1:
      return 65;
    case NamedGroup.secp384r1:
      return 97;
    case NamedGroup.X25519MLKEM768:
      return role === "client" ? 1184 + 32 : 1088 + 32;
    default:
      throw TLSError.local(AlertDescription.internal_error, `group 0x${group.toString(16)} not supported`);
  }
}

/** The same shape checks a real provider makes first (length, uncompressed point). */
function check(group: NamedGroup, from: "client" | "server", share: Uint8Array): Uint8Array {
  const ec = group === NamedGroup.secp256r1 || group === NamedGroup.secp384r1;
  if (share.length !== shareLength(group, from) || (ec && share[0] !== 4)) {
    throw TLSError.local(AlertDescription.illegal_parameter, "invalid key share");
  }
  return share;
}

function fakeSecret(group: NamedGroup, a: Uint8Array, b: Uint8Array): Uint8Array {
  const [x, y] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  const h = nodeCrypto.hash("sha512", concat(Uint8Array.of(group >> 8, group & 0xff), x, y));
  const n = group === NamedGroup.secp384r1 ? 48 : group === NamedGroup.X25519MLKEM768 ? 64 : 32;
  return h.subarray(0, n);
}

const ZERO_TAG = new Uint8Array(16);

function transparentAead(keyLength: number): Aead {
  return {
    keyLength,
    tagLength: 16,
    seal(_nonce, _aad, plaintext, headroom = 0) {
      const out = new Uint8Array(headroom + plaintext.length + 16);
      out.set(plaintext, headroom);
      return out;
    },
    open(_nonce, _aad, ciphertext) {
      if (ciphertext.length < 16) return null;
      const n = ciphertext.length - 16;
      return equalBytes(ciphertext.subarray(n), ZERO_TAG) ? ciphertext.slice(0, n) : null;
    },
  };
}
