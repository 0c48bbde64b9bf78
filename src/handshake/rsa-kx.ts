import type { CryptoProvider, PrivateKey, PublicKey } from "../crypto/provider.js";
import { concat } from "../wire/bytes.js";

/**
 * RSA key transport (RFC 5246 §7.4.7.1), legacy and opt-in.
 *   struct { ProtocolVersion client_version; opaque random[46]; } PreMasterSecret;
 */

export function makeRsaPreMaster(crypto: CryptoProvider, clientVersion: number, serverKey: PublicKey) {
  const preMaster = concat(Uint8Array.of(clientVersion >> 8, clientVersion & 0xff), crypto.random(46));
  return { preMaster, encrypted: crypto.rsaEncryptPkcs1(serverKey, preMaster) };
}

/**
 * Server side, with the countermeasure of §7.4.7.1 against Bleichenbacher's attack: a random
 * pre-master secret is made first, and returned in place of the decrypted one whenever the PKCS#1
 * v1.5 padding or the version is wrong. No branch, exception or early exit depends on the
 * decrypted bytes; the peer then fails at Finished, exactly as with a wrong key.
 * (Node 20 refuses PKCS#1 v1.5 decryption, so we decrypt raw and check EME-PKCS1-v1_5 here.)
 */
export function decryptRsaPreMaster(
  crypto: CryptoProvider,
  key: PrivateKey,
  encrypted: Uint8Array,
  clientVersion: number,
): Uint8Array {
  const fallback = concat(Uint8Array.of(clientVersion >> 8, clientVersion & 0xff), crypto.random(46));
  const k = Math.ceil(key.bits / 8);
  // The ciphertext length and the key size are public, as is whether the ciphertext is below the modulus.
  if (k < 64 || encrypted.length !== k) return fallback;
  let em: Uint8Array;
  try {
    em = crypto.rsaDecryptRaw(key, encrypted);
  } catch {
    return fallback;
  }
  if (em.length !== k) return fallback;
  return selectPreMaster(em, fallback, clientVersion);
}

/**
 * EM = 0x00 || 0x02 || PS (k-51 nonzero bytes) || 0x00 || M (48 bytes); good iff all of that holds and
 * M starts with client_version. Returns M if good, else `fallback`, in constant time.
 */
export function selectPreMaster(em: Uint8Array, fallback: Uint8Array, clientVersion: number): Uint8Array {
  const k = em.length;
  const sep = k - 49;
  let bad = em[0]! | (em[1]! ^ 2);
  // PS: every byte nonzero. (x - 1) >> 8 is -1 when x == 0 and 0 for 1..255.
  for (let i = 2; i < sep; i++) bad |= ((em[i]! - 1) >> 8) & 1;
  bad |= em[sep]!;
  bad |= em[sep + 1]! ^ (clientVersion >> 8);
  bad |= em[sep + 2]! ^ (clientVersion & 0xff);
  // mask = 0xff when good, 0x00 when bad.
  const mask = ((((bad | -bad) >> 31) & 1) - 1) & 0xff;
  const out = new Uint8Array(48);
  for (let i = 0; i < 48; i++) out[i] = (em[sep + 1 + i]! & mask) | (fallback[i]! & ~mask & 0xff);
  return out;
}
