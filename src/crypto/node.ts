import * as nc from "node:crypto";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { AlertDescription } from "../alert.js";
import { NamedGroup, SignatureScheme } from "../constants.js";
import { TLSError } from "../errors.js";
import { concat } from "../wire/bytes.js";
import {
  type Aead,
  type AeadAlgorithm,
  type CryptoProvider,
  type Curve,
  type KeyShare,
  type KeyType,
  type PrivateKey,
  type PublicKey,
  schemeHash,
} from "./provider.js";

/** CryptoProvider on node:crypto (OpenSSL), with ML-KEM-768 from @noble/post-quantum. */

class NodePublicKey implements PublicKey {
  readonly spki: Uint8Array;
  constructor(
    readonly key: nc.KeyObject,
    readonly type: KeyType,
    readonly bits: number,
    readonly curve?: Curve,
    spki?: Uint8Array,
  ) {
    this.spki = spki ?? new Uint8Array(key.export({ type: "spki", format: "der" }));
  }
}

/**
 * Imported public keys by SPKI: a client that keeps connecting to the same servers (and a server
 * verifying the same CAs) would otherwise re-import the same keys on every handshake. Bounded.
 */
const publicKeyCache = new Map<string, NodePublicKey>();
const PUBLIC_KEY_CACHE_SIZE = 256;

class NodePrivateKey implements PrivateKey {
  readonly publicKey: NodePublicKey;
  constructor(
    readonly key: nc.KeyObject,
    readonly type: KeyType,
    readonly bits: number,
    readonly curve?: Curve,
  ) {
    const pub = nc.createPublicKey(key);
    this.publicKey = new NodePublicKey(pub, type, bits, curve);
  }
}

function describe(key: nc.KeyObject): { type: KeyType; bits: number; curve?: Curve } {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  switch (t) {
    case "rsa":
      return { type: "rsa", bits: d.modulusLength ?? 0 };
    case "rsa-pss":
      return { type: "rsa-pss", bits: d.modulusLength ?? 0 };
    case "ec": {
      const c = d.namedCurve;
      if (c === "prime256v1") return { type: "ec", bits: 256, curve: "P-256" };
      if (c === "secp384r1") return { type: "ec", bits: 384, curve: "P-384" };
      if (c === "secp521r1") return { type: "ec", bits: 521, curve: "P-521" };
      throw new Error(`unsupported EC curve ${c}`);
    }
    case "ed25519":
      return { type: "ed25519", bits: 256 };
    case "ed448":
      return { type: "ed448", bits: 456 };
    default:
      throw new Error(`unsupported key type ${t}`);
  }
}

function pub(k: PublicKey): nc.KeyObject {
  if (!(k instanceof NodePublicKey))
    throw new Error("public key does not belong to the node crypto provider");
  return k.key;
}
function priv(k: PrivateKey): nc.KeyObject {
  if (!(k instanceof NodePrivateKey))
    throw new Error("private key does not belong to the node crypto provider");
  return k.key;
}

function invalidShare(what: string): TLSError {
  return TLSError.local(AlertDescription.illegal_parameter, `invalid ${what} key share`);
}

// ---- key exchange -----------------------------------------------------------------------------

function x25519Share(): { publicKey: Uint8Array; agree(peer: Uint8Array): Uint8Array } {
  // The private key is 32 random bytes (RFC 7748 §5; OpenSSL clamps them), imported as a JWK.
  // Not generateKeyPairSync: on Node 20 a garbage collection during a later use of such a key can
  // finalize the key-generation job, which then waits for the key's own lock — a deadlock of the
  // whole process (seen here: ExportJWK -> GC -> ~KeyGenJob -> uv_mutex_lock).
  const d = nc.randomBytes(32);
  // For a private OKP key Node reads only `d`; `x` must be a string but is not used.
  const privateKey = nc.createPrivateKey({
    key: { kty: "OKP", crv: "X25519", d: d.toString("base64url"), x: "" },
    format: "jwk",
  });
  d.fill(0);
  const jwk = nc.createPublicKey(privateKey).export({ format: "jwk" });
  const raw = new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
  return {
    publicKey: raw,
    agree(peer: Uint8Array): Uint8Array {
      if (peer.length !== 32) throw invalidShare("X25519");
      try {
        const peerKey = nc.createPublicKey({
          key: { kty: "OKP", crv: "X25519", x: Buffer.from(peer).toString("base64url") },
          format: "jwk",
        });
        return new Uint8Array(nc.diffieHellman({ privateKey, publicKey: peerKey }));
      } catch {
        // Low-order points give an all-zero secret, which OpenSSL refuses (RFC 7748 §6.1).
        throw invalidShare("X25519");
      }
    },
  };
}

function ecdhShare(curve: "prime256v1" | "secp384r1", len: number) {
  const ecdh = nc.createECDH(curve);
  const publicKey = new Uint8Array(ecdh.generateKeys());
  return {
    publicKey,
    agree(peer: Uint8Array): Uint8Array {
      // RFC 8446 §4.2.8.2 / RFC 8422 §5.11: uncompressed points only, validated on the curve.
      if (peer.length !== 2 * len + 1 || peer[0] !== 4) throw invalidShare(curve);
      try {
        return new Uint8Array(ecdh.computeSecret(peer));
      } catch {
        throw invalidShare(curve);
      }
    },
  };
}

function hybridShare() {
  // draft-ietf-tls-ecdhe-mlkem §4.1: client share = ML-KEM-768 encapsulation key || X25519 share.
  const kem = ml_kem768.keygen();
  const x = x25519Share();
  return {
    publicKey: concat(kem.publicKey, x.publicKey),
    agree(peer: Uint8Array): Uint8Array {
      // Server share = ML-KEM ciphertext (1088) || X25519 share (32); secret = ML-KEM ss || X25519 ss.
      if (peer.length !== 1088 + 32) throw invalidShare("X25519MLKEM768");
      const ss = ml_kem768.decapsulate(peer.subarray(0, 1088), kem.secretKey);
      return concat(ss, x.agree(peer.subarray(1088)));
    },
  };
}

function hybridRespond(peer: Uint8Array): { share: Uint8Array; secret: Uint8Array } {
  if (peer.length !== 1184 + 32) throw invalidShare("X25519MLKEM768");
  let enc: { cipherText: Uint8Array; sharedSecret: Uint8Array };
  try {
    // FIPS 203 §7.2 encapsulation-key check (modulus) is done by noble; it throws on a bad key.
    enc = ml_kem768.encapsulate(peer.subarray(0, 1184));
  } catch {
    throw invalidShare("X25519MLKEM768");
  }
  const x = x25519Share();
  const xs = x.agree(peer.subarray(1184));
  return { share: concat(enc.cipherText, x.publicKey), secret: concat(enc.sharedSecret, xs) };
}

function makeShare(group: NamedGroup) {
  switch (group) {
    case NamedGroup.x25519:
      return x25519Share();
    case NamedGroup.secp256r1:
      return ecdhShare("prime256v1", 32);
    case NamedGroup.secp384r1:
      return ecdhShare("secp384r1", 48);
    case NamedGroup.X25519MLKEM768:
      return hybridShare();
    default:
      throw TLSError.local(AlertDescription.internal_error, `group 0x${group.toString(16)} not supported`);
  }
}

// ---- AEAD -------------------------------------------------------------------------------------

class NodeAead implements Aead {
  readonly tagLength = 16;
  readonly keyLength: number;
  private readonly key: nc.KeyObject;
  constructor(
    private readonly alg: AeadAlgorithm,
    key: Uint8Array,
  ) {
    this.keyLength = alg === "aes-128-gcm" ? 16 : 32;
    if (key.length !== this.keyLength) throw new RangeError(`${alg} needs a ${this.keyLength}-byte key`);
    this.key = nc.createSecretKey(key);
  }
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, headroom = 0): Uint8Array {
    const c = nc.createCipheriv(this.alg as nc.CipherGCMTypes, this.key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: plaintext.length });
    const body = c.update(plaintext);
    c.final();
    const out = new Uint8Array(headroom + body.length + 16);
    out.set(body, headroom);
    out.set(c.getAuthTag(), headroom + body.length);
    return out;
  }
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (ciphertext.length < 16) return null;
    const n = ciphertext.length - 16;
    const d = nc.createDecipheriv(this.alg as nc.CipherGCMTypes, this.key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: n });
    d.setAuthTag(ciphertext.subarray(n));
    const body = d.update(ciphertext.subarray(0, n));
    try {
      d.final();
    } catch {
      return null;
    }
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
}

// ---- signatures -------------------------------------------------------------------------------

function signOptions(
  scheme: SignatureScheme,
  key: nc.KeyObject,
): { hash: string | null; opts: nc.SignKeyObjectInput } {
  switch (scheme) {
    case SignatureScheme.ed25519:
    case SignatureScheme.ed448:
      return { hash: null, opts: { key } };
    case SignatureScheme.rsa_pss_rsae_sha256:
    case SignatureScheme.rsa_pss_rsae_sha384:
    case SignatureScheme.rsa_pss_rsae_sha512:
    case SignatureScheme.rsa_pss_pss_sha256:
    case SignatureScheme.rsa_pss_pss_sha384:
    case SignatureScheme.rsa_pss_pss_sha512:
      // RFC 8446 §4.2.3: salt length equal to the digest length.
      return {
        hash: schemeHash(scheme),
        opts: {
          key,
          padding: nc.constants.RSA_PKCS1_PSS_PADDING,
          saltLength: nc.constants.RSA_PSS_SALTLEN_DIGEST,
        },
      };
    default:
      return { hash: schemeHash(scheme), opts: { key, padding: nc.constants.RSA_PKCS1_PADDING } };
  }
}

function checkSchemeKey(scheme: SignatureScheme, k: PublicKey | PrivateKey): boolean {
  switch (scheme) {
    case SignatureScheme.ed25519:
      return k.type === "ed25519";
    case SignatureScheme.ed448:
      return k.type === "ed448";
    case SignatureScheme.ecdsa_secp256r1_sha256:
    case SignatureScheme.ecdsa_secp384r1_sha384:
    case SignatureScheme.ecdsa_secp521r1_sha512:
    case SignatureScheme.ecdsa_sha1:
      return k.type === "ec";
    case SignatureScheme.rsa_pss_pss_sha256:
    case SignatureScheme.rsa_pss_pss_sha384:
    case SignatureScheme.rsa_pss_pss_sha512:
      return k.type === "rsa-pss";
    case SignatureScheme.rsa_pss_rsae_sha256:
    case SignatureScheme.rsa_pss_rsae_sha384:
    case SignatureScheme.rsa_pss_rsae_sha512:
    case SignatureScheme.rsa_pkcs1_sha1:
    case SignatureScheme.rsa_pkcs1_sha256:
    case SignatureScheme.rsa_pkcs1_sha384:
    case SignatureScheme.rsa_pkcs1_sha512:
      return k.type === "rsa";
    default:
      return false;
  }
}

export const nodeCrypto: CryptoProvider = {
  name: "node",
  random: (n) => new Uint8Array(nc.randomBytes(n)),
  hash: (alg, data) => new Uint8Array(nc.createHash(alg).update(data).digest()),
  hmac: (alg, key, data) => new Uint8Array(nc.createHmac(alg, key).update(data).digest()),
  aead: (alg, key) => new NodeAead(alg, key),

  supportsGroup: (g) =>
    g === NamedGroup.x25519 ||
    g === NamedGroup.secp256r1 ||
    g === NamedGroup.secp384r1 ||
    g === NamedGroup.X25519MLKEM768,
  keyShare(group: NamedGroup): KeyShare {
    const s = makeShare(group);
    return { group, publicKey: s.publicKey, agree: (p) => s.agree(p) };
  },
  respond(group, peerShare) {
    if (group === NamedGroup.X25519MLKEM768) return hybridRespond(peerShare);
    const s = makeShare(group);
    return { share: s.publicKey, secret: s.agree(peerShare) };
  },

  importPrivateKey(pem) {
    const key = nc.createPrivateKey(typeof pem === "string" ? pem : Buffer.from(pem));
    const d = describe(key);
    return new NodePrivateKey(key, d.type, d.bits, d.curve);
  },
  importPublicKey(spki) {
    const id = Buffer.from(spki).toString("base64");
    const cached = publicKeyCache.get(id);
    if (cached) return cached;
    const key = nc.createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    const d = describe(key);
    const pk = new NodePublicKey(key, d.type, d.bits, d.curve, new Uint8Array(spki));
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_SIZE)
      publicKeyCache.delete(publicKeyCache.keys().next().value!);
    publicKeyCache.set(id, pk);
    return pk;
  },

  sign(scheme, key, data) {
    if (!checkSchemeKey(scheme, key))
      throw new Error(`key of type ${key.type} cannot sign with scheme 0x${scheme.toString(16)}`);
    const { hash, opts } = signOptions(scheme, priv(key));
    return new Uint8Array(nc.sign(hash, data, opts));
  },
  verify(scheme, key, data, signature) {
    if (!checkSchemeKey(scheme, key)) return false;
    const { hash, opts } = signOptions(scheme, pub(key));
    try {
      return nc.verify(hash, data, opts, signature);
    } catch {
      return false;
    }
  },

  rsaEncryptPkcs1(key, data) {
    return new Uint8Array(nc.publicEncrypt({ key: pub(key), padding: nc.constants.RSA_PKCS1_PADDING }, data));
  },
  rsaDecryptRaw(key, data) {
    return new Uint8Array(nc.privateDecrypt({ key: priv(key), padding: nc.constants.RSA_NO_PADDING }, data));
  },
};
