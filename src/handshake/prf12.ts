import type { HashAlgorithm } from "../constants.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { concat, utf8 } from "../wire/bytes.js";
import type { Secrets } from "./context.js";

/**
 * TLS 1.2 pseudorandom function and key derivation (RFC 5246 §5, §6.3, §8.1; RFC 7627 §4;
 * RFC 5705 §4).
 */

/** P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...,  A(0) = seed, A(i) = HMAC(secret, A(i-1)) */
export function pHash(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  secret: Uint8Array,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let a = seed;
  let off = 0;
  while (off < length) {
    a = crypto.hmac(alg, secret, a);
    const block = crypto.hmac(alg, secret, concat(a, seed));
    out.set(block.subarray(0, Math.min(block.length, length - off)), off);
    off += block.length;
  }
  return out;
}

/** PRF(secret, label, seed) = P_<hash>(secret, label + seed) */
export function prf12(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  return pHash(crypto, alg, secret, concat(utf8.encode(label), seed), length);
}

/**
 * master_secret = PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random)[0..47]
 * or, with extended_master_secret (RFC 7627 §4):
 * master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47]
 */
export function masterSecret12(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  preMaster: Uint8Array,
  input: { sessionHash: Uint8Array } | { clientRandom: Uint8Array; serverRandom: Uint8Array },
): Uint8Array {
  if ("sessionHash" in input)
    return prf12(crypto, alg, preMaster, "extended master secret", input.sessionHash, 48);
  return prf12(crypto, alg, preMaster, "master secret", concat(input.clientRandom, input.serverRandom), 48);
}

export interface KeyBlock12 {
  clientWriteKey: Uint8Array;
  serverWriteKey: Uint8Array;
  clientWriteIv: Uint8Array;
  serverWriteIv: Uint8Array;
}

/**
 * key_block = PRF(master_secret, "key expansion", server_random + client_random), cut into
 * client_write_MAC_key, server_write_MAC_key (empty for AEAD), client_write_key, server_write_key,
 * client_write_IV, server_write_IV.
 */
export function keyBlock12(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  keyLength: number,
  ivLength: number,
): KeyBlock12 {
  const kb = prf12(
    crypto,
    alg,
    master,
    "key expansion",
    concat(serverRandom, clientRandom),
    2 * keyLength + 2 * ivLength,
  );
  let o = 0;
  const take = (n: number) => {
    const part = kb.slice(o, o + n);
    o += n;
    return part;
  };
  return {
    clientWriteKey: take(keyLength),
    serverWriteKey: take(keyLength),
    clientWriteIv: take(ivLength),
    serverWriteIv: take(ivLength),
  };
}

/** verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..11] */
export function verifyData12(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  master: Uint8Array,
  label: "client finished" | "server finished",
  transcriptHash: Uint8Array,
): Uint8Array {
  return prf12(crypto, alg, master, label, transcriptHash, 12);
}

/**
 * RFC 5705 §4 exporter: PRF(master_secret, label, client_random + server_random [+ context_length + context]).
 */
export function exporter12(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  master: Uint8Array,
  label: string,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  context: Uint8Array | undefined,
  length: number,
): Uint8Array {
  let seed = concat(clientRandom, serverRandom);
  if (context !== undefined) {
    if (context.length > 0xffff) throw new RangeError("exporter context longer than 2^16-1 bytes");
    seed = concat(seed, Uint8Array.of(context.length >> 8, context.length & 0xff), context);
  }
  return prf12(crypto, alg, master, label, seed, length);
}

/** The exporter of a TLS 1.2 connection, closed over its own copy of the master secret. */
export function exporter12Secrets(
  crypto: CryptoProvider,
  alg: HashAlgorithm,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): Secrets {
  const secret = master.slice();
  return {
    exporter: (label, context, length) =>
      exporter12(crypto, alg, secret, label, clientRandom, serverRandom, context, length),
    wipe: () => secret.fill(0),
  };
}
