import { NamedGroup, ProtocolVersion, parseGroup, SignatureScheme } from "./constants.js";
import { nodeCrypto } from "./crypto/node.js";
import type { CryptoProvider, PrivateKey } from "./crypto/provider.js";
import { MemorySessionStore, type SessionStore } from "./session/store.js";
import { TicketKeyRing } from "./session/ticket-keys.js";
import {
  ALL_SUITES,
  ALL_SUITES_13,
  type CipherSuite,
  type CipherSuite13,
  DEFAULT_SUITES,
  suite13ByName,
  suiteByName,
} from "./suites.js";
import { equalBytes } from "./wire/bytes.js";
import { type Certificate, parseCertificate, pemToDer } from "./x509/certificate.js";
import { defaultRoots } from "./x509/roots.js";
import { type CertVerifier, ChainVerifier } from "./x509/verify.js";

/**
 * Configuration, validated once and shared by many connections (like Go's tls.Config and
 * rustls's ClientConfig/ServerConfig). Options are what the application writes; Config is the
 * checked, normalised, immutable result.
 */

export type VersionName =
  | "TLSv1.2"
  | "TLSv1.3"
  | "1.2"
  | "1.3"
  | "TLSv1"
  | "TLSv1.1"
  | "1.0"
  | "1.1"
  | "SSLv3";
type PemInput = string | Uint8Array | readonly (string | Uint8Array)[];

export interface CommonOptions {
  minVersion?: VersionName;
  maxVersion?: VersionName;
  /**
   * IANA or OpenSSL suite names, as an array or a ':'/','-separated string, in preference order.
   * TLS 1.3 suites (TLS_AES_128_GCM_SHA256, ...) and TLS 1.2 suites may be mixed; a list that names
   * none of one kind leaves that kind at its default.
   */
  cipherSuites?: string | readonly string[];
  /**
   * Key-exchange groups in preference order: X25519MLKEM768, X25519, P-256, P-384 (OpenSSL names
   * accepted). X25519MLKEM768 is TLS 1.3 only.
   */
  groups?: string | readonly string[];
  /** Client: the groups to send key shares for. Default: the first group, and the second too when the first is a post-quantum hybrid. */
  keyShareGroups?: string | readonly string[];
  /** TLS 1.3 middlebox compatibility mode (RFC 8446 §D.4): a legacy session id and dummy ChangeCipherSpec. Default true. */
  middleboxCompatibility?: boolean;
  alpnProtocols?: readonly string[];
  /** Legacy: allow TLS_RSA_WITH_* suites (RSA key transport, no forward secrecy). Off by default. */
  enableLegacyRsaKeyExchange?: boolean;
  /** RFC 7627: refuse peers without extended_master_secret. Default true. */
  requireExtendedMasterSecret?: boolean;
  crypto?: CryptoProvider;
  /** Largest handshake message accepted from the peer, Certificate aside (bytes). Default 64 KiB. */
  maxHandshakeMessageSize?: number;
  /** Largest number of certificates accepted in a peer's chain. Default 10. */
  maxCertificateChainLength?: number;
  /** Largest Certificate message accepted from the peer (bytes; the whole chain). Default 100 KiB, as OpenSSL's max_cert_list. */
  maxCertificateChainSize?: number;
  /**
   * Most bytes received from the peer and not yet processed that the connection will hold: while it
   * is paused, waits for the session store, or has done `maxRecordsPerRead` records. Default 256 KiB;
   * at least 32 KiB (two records).
   */
  maxBufferedCiphertext?: number;
  /** Most bytes of application data written before the handshake completed that the connection will hold. Default 1 MiB. */
  maxBufferedPlaintext?: number;
  /** Most records processed by one receive() call; the rest wait for the next call. Default 64. */
  maxRecordsPerRead?: number;
}

export interface CertKeyPair {
  /** PEM (leaf first, then intermediates) or an array of DER certificates. */
  cert: string | Uint8Array | readonly Uint8Array[];
  /** PEM private key (PKCS#8, PKCS#1 or SEC1). */
  key: string | Uint8Array;
}

export interface ClientOptions extends CommonOptions {
  /** Name sent as SNI and checked against the certificate. An IP literal is checked but not sent. */
  serverName?: string;
  /** Trust anchors (PEM). Replaces the default roots (Node's bundled Mozilla list), as in node:tls. */
  ca?: PemInput;
  /** Verify the server's certificate chain and name. Default true. */
  rejectUnauthorized?: boolean;
  /** A custom verifier, in place of the built-in RFC 5280 ChainVerifier. */
  verifier?: CertVerifier;
  /** TLS 1.2: ask for RFC 5077 session tickets. Default true. */
  sessionTickets?: boolean;
  /** Client certificate, sent when the server asks for one. */
  cert?: CertKeyPair["cert"];
  key?: CertKeyPair["key"];
}

export type ClientAuthMode = "none" | "request" | "require";

export interface ServerOptions extends CommonOptions {
  /** Certificate chains with their keys; the first one that fits the client's name and algorithms is used. */
  certificates?: readonly CertKeyPair[];
  cert?: CertKeyPair["cert"];
  key?: CertKeyPair["key"];
  /** Trust anchors for client certificates. */
  ca?: PemInput;
  /** Client authentication: none (default), request (optional), require. */
  clientAuth?: ClientAuthMode;
  verifier?: CertVerifier;
  /** Where TLS 1.2 sessions (by id) and single-use ticket records live. Default: an in-memory LRU. */
  sessionStore?: SessionStore;
  /** Keys that seal session tickets (TLS 1.2 RFC 5077 and TLS 1.3). Default: a fresh random ring. */
  ticketKeys?: TicketKeyRing;
  /** Issue and accept session tickets. Default true. */
  sessionTickets?: boolean;
  /** TLS 1.2: give sessions an id and keep them in the store. Default true. */
  sessionIds?: boolean;
  /** Seconds a session may be resumed for (at most 7 days). Default 7200. */
  sessionLifetime?: number;
  /** TLS 1.3 tickets sent after each handshake. Default 1. */
  ticketsPerConnection?: number;
  /** A ticket resumes at most once (recorded in the session store). Default false. */
  singleUseTickets?: boolean;
  /**
   * TLS 1.3 0-RTT: the most early data (bytes) a resumed client may send with its ClientHello; 0
   * (default) turns 0-RTT off. Early data can be replayed by an attacker: it is accepted only with
   * a ticket used for the first time (recorded in the session store, shared by the fleet), and
   * reported apart, through the 'earlyData' event, for the application to treat with care.
   */
  maxEarlyData?: number;
  /**
   * TLS 1.3: resume with psk_ke (no fresh key exchange: cheaper, but no forward secrecy for the
   * resumed session) when the client offers it. Default false (psk_dhe_ke only).
   */
  allowPskOnlyResumption?: boolean;
  /** Called when the session store fails; the handshake goes on without resumption. */
  onSessionStoreError?: (error: unknown) => void;
}

export interface CertifiedKey {
  chain: Uint8Array[];
  leaf: Certificate;
  key: PrivateKey;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function parseVersion(v: VersionName): number {
  switch (v) {
    case "TLSv1.3":
    case "1.3":
      return ProtocolVersion.TLS1_3;
    case "TLSv1.2":
    case "1.2":
      return ProtocolVersion.TLS1_2;
    case "TLSv1.1":
    case "1.1":
      return ProtocolVersion.TLS1_1;
    case "TLSv1":
    case "1.0":
      return ProtocolVersion.TLS1_0;
    case "SSLv3":
      throw new ConfigError("SSL 3.0 is not supported (RFC 7568)");
    default:
      throw new ConfigError(`unknown TLS version ${String(v)}`);
  }
}

function listOf(v: string | readonly string[]): string[] {
  return (typeof v === "string" ? v.split(/[:,\s]+/) : [...v]).filter((s) => s.length > 0);
}

function pemList(v: PemInput): Uint8Array[] {
  const items = typeof v === "string" || v instanceof Uint8Array ? [v] : v;
  const out: Uint8Array[] = [];
  for (const item of items) {
    if (typeof item === "string") out.push(...pemToDer(item));
    else if (item[0] === 0x30) out.push(item);
    else out.push(...pemToDer(new TextDecoder().decode(item)));
  }
  return out;
}

function certChain(cert: CertKeyPair["cert"]): Uint8Array[] {
  if (typeof cert === "string" || cert instanceof Uint8Array) return pemList(cert);
  return [...(cert as readonly Uint8Array[])];
}

export const DEFAULT_GROUPS: readonly NamedGroup[] = [
  NamedGroup.X25519MLKEM768,
  NamedGroup.x25519,
  NamedGroup.secp256r1,
  NamedGroup.secp384r1,
];

/** Our signature scheme preference (TLS 1.2 form; the same code points as TLS 1.3). */
export const DEFAULT_SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
  SignatureScheme.ed25519,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pss_pss_sha256,
  SignatureScheme.rsa_pss_pss_sha384,
  SignatureScheme.rsa_pss_pss_sha512,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
];

/** A whole-number limit option: its default when unset, a ConfigError below `min` or above 2^31. */
function limit(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > 0x7fffffff)
    throw new ConfigError(`${name} must be a whole number from ${min} to 2^31-1`);
  return value;
}

abstract class CommonConfig {
  readonly crypto: CryptoProvider;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** TLS 1.2 suites. */
  readonly suites: readonly CipherSuite[];
  /** TLS 1.3 suites. */
  readonly suites13: readonly CipherSuite13[];
  /** Groups for TLS 1.3, in preference order. */
  readonly groups: readonly NamedGroup[];
  /** Groups usable in TLS 1.2 (no hybrids). */
  readonly groups12: readonly NamedGroup[];
  readonly keyShareGroups: readonly NamedGroup[];
  readonly middleboxCompatibility: boolean;
  readonly signatureSchemes: readonly SignatureScheme[] = DEFAULT_SIGNATURE_SCHEMES;
  readonly alpnProtocols: readonly string[];
  readonly requireExtendedMasterSecret: boolean;
  readonly maxHandshakeMessageSize: number;
  readonly maxCertificateChainLength: number;
  readonly maxCertificateChainSize: number;
  readonly maxBufferedCiphertext: number;
  readonly maxBufferedPlaintext: number;
  readonly maxRecordsPerRead: number;

  constructor(o: CommonOptions) {
    this.crypto = o.crypto ?? nodeCrypto;
    this.minVersion = parseVersion(o.minVersion ?? "TLSv1.2");
    this.maxVersion = parseVersion(o.maxVersion ?? "TLSv1.3");
    if (this.minVersion > this.maxVersion) throw new ConfigError("minVersion is above maxVersion");
    if (this.minVersion < ProtocolVersion.TLS1_2)
      throw new ConfigError("TLS 1.0 and 1.1 are not implemented yet");

    const legacyRsa = o.enableLegacyRsaKeyExchange ?? false;
    let suites: CipherSuite[];
    let suites13: CipherSuite13[] = [];
    if (o.cipherSuites !== undefined) {
      suites = [];
      for (const name of listOf(o.cipherSuites)) {
        const t = suite13ByName(name);
        if (t) {
          if (!suites13.includes(t)) suites13.push(t);
          continue;
        }
        const s = suiteByName(name);
        if (!s) throw new ConfigError(`unknown or unsupported cipher suite ${name}`);
        if (s.kx === "RSA" && !legacyRsa) {
          throw new ConfigError(
            `${s.name} uses RSA key transport: set enableLegacyRsaKeyExchange to allow it`,
          );
        }
        if (!suites.includes(s)) suites.push(s);
      }
      if (suites.length === 0) suites = legacyRsa ? [...ALL_SUITES] : [...DEFAULT_SUITES];
    } else {
      suites = legacyRsa ? [...ALL_SUITES] : [...DEFAULT_SUITES];
    }
    if (suites13.length === 0) suites13 = [...ALL_SUITES_13];
    this.suites = suites;
    this.suites13 = suites13;

    if (o.groups !== undefined) {
      const groups: NamedGroup[] = [];
      for (const name of listOf(o.groups)) {
        const g = parseGroup(name);
        if (g === undefined || !this.crypto.supportsGroup(g))
          throw new ConfigError(`unknown or unsupported group ${name}`);
        if (!groups.includes(g)) groups.push(g);
      }
      if (groups.length === 0) throw new ConfigError("no key-exchange groups enabled");
      this.groups = groups;
    } else {
      this.groups = DEFAULT_GROUPS.filter((g) => this.crypto.supportsGroup(g));
    }
    this.groups12 = this.groups.filter((g) => g !== NamedGroup.X25519MLKEM768);
    if (this.groups12.length === 0 && this.maxVersion < ProtocolVersion.TLS1_3) {
      throw new ConfigError("X25519MLKEM768 is TLS 1.3 only; add a classical group for TLS 1.2");
    }
    if (o.keyShareGroups !== undefined) {
      const shares: NamedGroup[] = [];
      for (const name of listOf(o.keyShareGroups)) {
        const g = parseGroup(name);
        if (g === undefined || !this.groups.includes(g)) {
          throw new ConfigError(`key share group ${name} is not among the enabled groups`);
        }
        if (!shares.includes(g)) shares.push(g);
      }
      this.keyShareGroups = shares;
    } else {
      const first = this.groups[0]!;
      const second = this.groups[1];
      this.keyShareGroups =
        first === NamedGroup.X25519MLKEM768 && second !== undefined ? [first, second] : [first];
    }
    this.middleboxCompatibility = o.middleboxCompatibility ?? true;

    this.alpnProtocols = [...(o.alpnProtocols ?? [])];
    for (const p of this.alpnProtocols) {
      if (p.length === 0 || new TextEncoder().encode(p).length > 255)
        throw new ConfigError(`invalid ALPN protocol "${p}"`);
    }
    this.requireExtendedMasterSecret = o.requireExtendedMasterSecret ?? true;
    this.maxHandshakeMessageSize = limit("maxHandshakeMessageSize", o.maxHandshakeMessageSize, 65536, 256);
    this.maxCertificateChainLength = limit("maxCertificateChainLength", o.maxCertificateChainLength, 10, 1);
    this.maxCertificateChainSize = limit("maxCertificateChainSize", o.maxCertificateChainSize, 102400, 256);
    this.maxBufferedCiphertext = limit("maxBufferedCiphertext", o.maxBufferedCiphertext, 262144, 32768);
    this.maxBufferedPlaintext = limit("maxBufferedPlaintext", o.maxBufferedPlaintext, 1048576, 0);
    this.maxRecordsPerRead = limit("maxRecordsPerRead", o.maxRecordsPerRead, 64, 1);
  }

  protected loadCertifiedKey(pair: CertKeyPair): CertifiedKey {
    const chain = certChain(pair.cert);
    if (chain.length === 0) throw new ConfigError("certificate chain is empty");
    const leaf = parseCertificate(chain[0]!);
    let key: PrivateKey;
    try {
      key = this.crypto.importPrivateKey(pair.key);
    } catch (e) {
      throw new ConfigError(`cannot read private key: ${(e as Error).message}`);
    }
    if (!equalBytes(key.publicKey.spki, leaf.spki))
      throw new ConfigError("private key does not match the certificate");
    return { chain, leaf, key };
  }
}

export class ClientConfig extends CommonConfig {
  readonly verifier: CertVerifier | null;
  readonly certificate: CertifiedKey | null;
  readonly sessionTickets: boolean;

  constructor(o: ClientOptions = {}) {
    super(o);
    if (o.rejectUnauthorized === false) this.verifier = null;
    else
      this.verifier =
        o.verifier ??
        new ChainVerifier({
          roots: o.ca !== undefined ? pemList(o.ca) : defaultRoots(),
          crypto: this.crypto,
        });
    if ((o.cert === undefined) !== (o.key === undefined)) throw new ConfigError("cert and key go together");
    this.certificate =
      o.cert !== undefined && o.key !== undefined
        ? this.loadCertifiedKey({ cert: o.cert, key: o.key })
        : null;
    this.sessionTickets = o.sessionTickets ?? true;
    Object.freeze(this);
  }
}

export class ServerConfig extends CommonConfig {
  readonly certificates: readonly CertifiedKey[];
  readonly clientAuth: ClientAuthMode;
  readonly verifier: CertVerifier | null;
  readonly sessionStore: SessionStore;
  readonly ticketKeys: TicketKeyRing;
  readonly sessionTickets: boolean;
  readonly sessionIds: boolean;
  readonly sessionLifetime: number;
  readonly ticketsPerConnection: number;
  readonly singleUseTickets: boolean;
  readonly allowPskOnlyResumption: boolean;
  readonly maxEarlyData: number;
  readonly onSessionStoreError: (error: unknown) => void;

  constructor(o: ServerOptions) {
    super(o);
    const pairs: CertKeyPair[] = [...(o.certificates ?? [])];
    if (o.cert !== undefined && o.key !== undefined) pairs.unshift({ cert: o.cert, key: o.key });
    if (pairs.length === 0) throw new ConfigError("a server needs at least one certificate and key");
    this.certificates = pairs.map((p) => this.loadCertifiedKey(p));
    this.clientAuth = o.clientAuth ?? "none";
    if (this.clientAuth !== "none") {
      if (o.verifier) this.verifier = o.verifier;
      else if (o.ca !== undefined)
        this.verifier = new ChainVerifier({ roots: pemList(o.ca), crypto: this.crypto });
      else throw new ConfigError("client authentication needs a ca (or a verifier)");
    } else {
      this.verifier = null;
    }
    this.sessionStore = o.sessionStore ?? new MemorySessionStore();
    this.ticketKeys = o.ticketKeys ?? new TicketKeyRing(this.crypto);
    this.sessionTickets = o.sessionTickets ?? true;
    this.sessionIds = o.sessionIds ?? true;
    this.sessionLifetime = o.sessionLifetime ?? 7200;
    if (!(this.sessionLifetime > 0 && this.sessionLifetime <= 604800)) {
      throw new ConfigError("sessionLifetime must be between 1 second and 7 days (RFC 8446 §4.6.1)");
    }
    this.ticketsPerConnection = o.ticketsPerConnection ?? 1;
    this.singleUseTickets = o.singleUseTickets ?? false;
    this.allowPskOnlyResumption = o.allowPskOnlyResumption ?? false;
    this.maxEarlyData = o.maxEarlyData ?? 0;
    if (!(Number.isInteger(this.maxEarlyData) && this.maxEarlyData >= 0 && this.maxEarlyData <= 0xffffffff)) {
      throw new ConfigError("maxEarlyData must be a whole number of bytes");
    }
    this.onSessionStoreError = o.onSessionStoreError ?? (() => {});
    Object.freeze(this);
  }
}
