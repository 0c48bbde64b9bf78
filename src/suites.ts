import type { HashAlgorithm } from "./constants.js";
import type { AeadAlgorithm } from "./crypto/provider.js";

/** TLS 1.2 key exchange: ephemeral ECDH signed by the certificate key, or RSA key transport (legacy). */
export type KeyExchangeKind = "ECDHE" | "RSA";
/** What the server certificate's key must be. */
export type AuthKind = "RSA" | "ECDSA";

export interface CipherSuite {
  readonly id: number;
  /** IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
  readonly name: string;
  /** OpenSSL name, e.g. ECDHE-RSA-AES128-GCM-SHA256 */
  readonly opensslName: string;
  readonly kx: KeyExchangeKind;
  readonly auth: AuthKind;
  readonly aead: AeadAlgorithm;
  readonly keyLength: number;
  /** RFC 5288: 4-byte implicit salt and 8-byte explicit nonce; RFC 7905: 12-byte IV, no explicit part. */
  readonly fixedIvLength: number;
  readonly explicitNonceLength: number;
  /** PRF and Finished hash. */
  readonly hash: HashAlgorithm;
}

function gcm(
  id: number,
  name: string,
  ossl: string,
  kx: KeyExchangeKind,
  auth: AuthKind,
  bits: 128 | 256,
): CipherSuite {
  return {
    id,
    name,
    opensslName: ossl,
    kx,
    auth,
    aead: bits === 128 ? "aes-128-gcm" : "aes-256-gcm",
    keyLength: bits / 8,
    fixedIvLength: 4,
    explicitNonceLength: 8,
    hash: bits === 128 ? "sha256" : "sha384",
  };
}
function chacha(id: number, name: string, ossl: string, auth: AuthKind): CipherSuite {
  return {
    id,
    name,
    opensslName: ossl,
    kx: "ECDHE",
    auth,
    aead: "chacha20-poly1305",
    keyLength: 32,
    fixedIvLength: 12,
    explicitNonceLength: 0,
    hash: "sha256",
  };
}

export const TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = gcm(
  0xc02b,
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE",
  "ECDSA",
  128,
);
export const TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = gcm(
  0xc02c,
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE",
  "ECDSA",
  256,
);
export const TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = gcm(
  0xc02f,
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE",
  "RSA",
  128,
);
export const TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = gcm(
  0xc030,
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE",
  "RSA",
  256,
);
export const TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = chacha(
  0xcca8,
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "RSA",
);
export const TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = chacha(
  0xcca9,
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDSA",
);
export const TLS_RSA_WITH_AES_128_GCM_SHA256 = gcm(
  0x009c,
  "TLS_RSA_WITH_AES_128_GCM_SHA256",
  "AES128-GCM-SHA256",
  "RSA",
  "RSA",
  128,
);
export const TLS_RSA_WITH_AES_256_GCM_SHA384 = gcm(
  0x009d,
  "TLS_RSA_WITH_AES_256_GCM_SHA384",
  "AES256-GCM-SHA384",
  "RSA",
  "RSA",
  256,
);

/**
 * TLS 1.3 cipher suites (RFC 8446 §B.4) name only the AEAD and the HKDF hash; key exchange and
 * authentication are negotiated separately. OpenSSL uses the IANA names for them.
 */
export interface CipherSuite13 {
  readonly id: number;
  readonly name: string;
  readonly opensslName: string;
  readonly aead: AeadAlgorithm;
  readonly keyLength: number;
  readonly hash: HashAlgorithm;
}

function suite13(
  id: number,
  name: string,
  aead: AeadAlgorithm,
  keyLength: number,
  hash: HashAlgorithm,
): CipherSuite13 {
  return { id, name, opensslName: name, aead, keyLength, hash };
}

export const TLS_AES_128_GCM_SHA256 = suite13(0x1301, "TLS_AES_128_GCM_SHA256", "aes-128-gcm", 16, "sha256");
export const TLS_AES_256_GCM_SHA384 = suite13(0x1302, "TLS_AES_256_GCM_SHA384", "aes-256-gcm", 32, "sha384");
export const TLS_CHACHA20_POLY1305_SHA256 = suite13(
  0x1303,
  "TLS_CHACHA20_POLY1305_SHA256",
  "chacha20-poly1305",
  32,
  "sha256",
);

/** The TLS 1.3 suites, in the default preference order. */
export const ALL_SUITES_13: readonly CipherSuite13[] = [
  TLS_AES_128_GCM_SHA256,
  TLS_AES_256_GCM_SHA384,
  TLS_CHACHA20_POLY1305_SHA256,
];

export function suite13ById(id: number): CipherSuite13 | undefined {
  return ALL_SUITES_13.find((s) => s.id === id);
}

export function suite13ByName(name: string): CipherSuite13 | undefined {
  const n = name.trim().toUpperCase();
  return ALL_SUITES_13.find((s) => s.name === n);
}

/** Either kind, as reported after a handshake. */
export type AnySuite = CipherSuite | CipherSuite13;

/** Signalling cipher suite values, never negotiated. */
export const TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff; // RFC 5746
export const TLS_FALLBACK_SCSV = 0x5600; // RFC 7507

/** Every TLS 1.2 suite TypeTLS implements, in the default preference order. */
export const ALL_SUITES: readonly CipherSuite[] = [
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
  TLS_RSA_WITH_AES_128_GCM_SHA256,
  TLS_RSA_WITH_AES_256_GCM_SHA384,
];

/** The suites used when the configuration does not name any: forward-secret AEAD suites only. */
export const DEFAULT_SUITES: readonly CipherSuite[] = ALL_SUITES.filter((s) => s.kx === "ECDHE");

export function suiteById(id: number): CipherSuite | undefined {
  return ALL_SUITES.find((s) => s.id === id);
}

/** Looks a suite up by IANA or OpenSSL name (case-insensitive). */
export function suiteByName(name: string): CipherSuite | undefined {
  const n = name.trim().toUpperCase();
  return ALL_SUITES.find((s) => s.name === n || s.opensslName === n);
}

export function suiteName(id: number): string {
  return suiteById(id)?.name ?? suite13ById(id)?.name ?? `0x${id.toString(16).padStart(4, "0")}`;
}
