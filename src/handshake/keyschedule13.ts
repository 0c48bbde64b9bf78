import type { HashAlgorithm } from "../constants.js";
import { type CryptoProvider, hashLength } from "../crypto/provider.js";
import { concat, utf8 } from "../wire/bytes.js";
import { encode } from "../wire/writer.js";

/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1), on HMAC from the crypto provider (RFC 5869 HKDF).
 *
 *             0
 *             |
 *   PSK ->  HKDF-Extract = Early Secret
 *             +-----> Derive-Secret(., "derived", "")
 *             v
 *   (EC)DHE -> HKDF-Extract = Handshake Secret
 *             +-----> Derive-Secret(., "c hs traffic" / "s hs traffic", ClientHello...ServerHello)
 *             +-----> Derive-Secret(., "derived", "")
 *             v
 *   0 -> HKDF-Extract = Master Secret
 *             +-----> Derive-Secret(., "c ap traffic" / "s ap traffic" / "exp master", ClientHello...server Finished)
 *             +-----> Derive-Secret(., "res master", ClientHello...client Finished)
 */

export function hkdfExtract(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  salt: Uint8Array,
  ikm: Uint8Array,
): Uint8Array {
  return crypto.hmac(hash, salt.length > 0 ? salt : new Uint8Array(hashLength(hash)), ikm);
}

export function hkdfExpand(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  // RFC 5869 §2.3: L <= 255*HashLen (the block counter is one byte).
  if (length > 255 * hashLength(hash)) throw new RangeError("HKDF-Expand: length over 255 * HashLen");
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  let off = 0;
  for (let i = 1; off < length; i++) {
    t = crypto.hmac(hash, prk, concat(t, info, Uint8Array.of(i)));
    out.set(t.subarray(0, Math.min(t.length, length - off)), off);
    off += t.length;
  }
  return out;
}

/** struct { uint16 length = Length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255> = Context; } HkdfLabel; */
export function hkdfLabel(label: string, context: Uint8Array, length: number): Uint8Array {
  return encode((w) =>
    w
      .u16(length)
      .vec8(utf8.encode(`tls13 ${label}`))
      .vec8(context),
  );
}

export function hkdfExpandLabel(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  return hkdfExpand(crypto, hash, secret, hkdfLabel(label, context, length), length);
}

/** Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length); takes the hash. */
export function deriveSecret(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(crypto, hash, secret, label, transcriptHash, hashLength(hash));
}

/** Traffic keys (RFC 8446 §7.3): key = Expand-Label(secret, "key", "", key_length); iv = Expand-Label(secret, "iv", "", 12). */
export function trafficKeys(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  secret: Uint8Array,
  keyLength: number,
) {
  return {
    key: hkdfExpandLabel(crypto, hash, secret, "key", new Uint8Array(0), keyLength),
    iv: hkdfExpandLabel(crypto, hash, secret, "iv", new Uint8Array(0), 12),
  };
}

/** verify_data = HMAC(finished_key, Transcript-Hash(...)), finished_key = Expand-Label(BaseKey, "finished", "", Hash.length) (§4.4.4). */
export function finishedMac(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  baseKey: Uint8Array,
  transcriptHash: Uint8Array,
): Uint8Array {
  const finishedKey = hkdfExpandLabel(crypto, hash, baseKey, "finished", new Uint8Array(0), hashLength(hash));
  return crypto.hmac(hash, finishedKey, transcriptHash);
}

/** application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) (§7.2). */
export function nextTrafficSecret(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  secret: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(crypto, hash, secret, "traffic upd", new Uint8Array(0), hashLength(hash));
}

/** TLS-Exporter(label, context_value, key_length) (§7.5). */
export function exporter13(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  exporterMasterSecret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const empty = crypto.hash(hash, new Uint8Array(0));
  const secret = deriveSecret(crypto, hash, exporterMasterSecret, label, empty);
  return hkdfExpandLabel(crypto, hash, secret, "exporter", crypto.hash(hash, context), length);
}

/** The schedule of one connection, advanced stage by stage as the handshake goes. */
export class KeySchedule13 {
  private readonly zeros: Uint8Array;
  private readonly emptyHash: Uint8Array;
  readonly earlySecret: Uint8Array;
  private handshakeSecret: Uint8Array | null = null;
  private masterSecret: Uint8Array | null = null;

  constructor(
    private readonly crypto: CryptoProvider,
    readonly hash: HashAlgorithm,
    psk?: Uint8Array,
  ) {
    this.zeros = new Uint8Array(hashLength(hash));
    this.emptyHash = crypto.hash(hash, new Uint8Array(0));
    this.earlySecret = hkdfExtract(crypto, hash, new Uint8Array(0), psk ?? this.zeros);
  }

  /** client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic", ClientHello) (0-RTT). */
  clientEarlyTraffic(clientHelloHash: Uint8Array): Uint8Array {
    return deriveSecret(this.crypto, this.hash, this.earlySecret, "c e traffic", clientHelloHash);
  }

  /** Handshake Secret from the (EC)DHE shared secret; returns the two handshake traffic secrets. */
  handshake(sharedSecret: Uint8Array, helloHash: Uint8Array): { client: Uint8Array; server: Uint8Array } {
    const derived = deriveSecret(this.crypto, this.hash, this.earlySecret, "derived", this.emptyHash);
    this.handshakeSecret = hkdfExtract(this.crypto, this.hash, derived, sharedSecret);
    return {
      client: deriveSecret(this.crypto, this.hash, this.handshakeSecret, "c hs traffic", helloHash),
      server: deriveSecret(this.crypto, this.hash, this.handshakeSecret, "s hs traffic", helloHash),
    };
  }

  /** Master Secret; returns the application traffic secrets and the exporter master secret. */
  application(finishedHash: Uint8Array): { client: Uint8Array; server: Uint8Array; exporter: Uint8Array } {
    if (!this.handshakeSecret) throw new Error("key schedule: handshake secret not derived");
    const derived = deriveSecret(this.crypto, this.hash, this.handshakeSecret, "derived", this.emptyHash);
    this.masterSecret = hkdfExtract(this.crypto, this.hash, derived, this.zeros);
    return {
      client: deriveSecret(this.crypto, this.hash, this.masterSecret, "c ap traffic", finishedHash),
      server: deriveSecret(this.crypto, this.hash, this.masterSecret, "s ap traffic", finishedHash),
      exporter: deriveSecret(this.crypto, this.hash, this.masterSecret, "exp master", finishedHash),
    };
  }

  /** resumption_master_secret (§7.1), over ClientHello...client Finished. */
  resumption(clientFinishedHash: Uint8Array): Uint8Array {
    if (!this.masterSecret) throw new Error("key schedule: master secret not derived");
    return deriveSecret(this.crypto, this.hash, this.masterSecret, "res master", clientFinishedHash);
  }

  /** The handshake and master secrets are no longer needed once the application secrets exist. */
  forget(): void {
    this.handshakeSecret?.fill(0);
    this.masterSecret?.fill(0);
    this.earlySecret.fill(0);
  }
}

/**
 * A PSK binder (RFC 8446 §4.2.11.2): HMAC with the finished key of binder_key =
 * Derive-Secret(Early Secret(PSK), "res binder", ""), over the transcript up to the binders.
 */
export function pskBinder(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  psk: Uint8Array,
  truncatedHash: Uint8Array,
): Uint8Array {
  const early = hkdfExtract(crypto, hash, new Uint8Array(0), psk);
  const binderKey = deriveSecret(crypto, hash, early, "res binder", crypto.hash(hash, new Uint8Array(0)));
  return finishedMac(crypto, hash, binderKey, truncatedHash);
}

/** The PSK a NewSessionTicket stands for: HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length). */
export function ticketPsk(
  crypto: CryptoProvider,
  hash: HashAlgorithm,
  resumptionSecret: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(crypto, hash, resumptionSecret, "resumption", nonce, hashLength(hash));
}
