import { AlertDescription } from "../alert.js";
import type { ContentType } from "../constants.js";
import type { Aead, AeadAlgorithm, CryptoProvider } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import type { CipherSuite } from "../suites.js";
import { MAX_PLAINTEXT } from "./record.js";

function writeHeader(rec: Uint8Array, type: number, version: number): void {
  const length = rec.length - 5;
  rec[0] = type;
  rec[1] = version >> 8;
  rec[2] = version & 0xff;
  rec[3] = length >> 8;
  rec[4] = length & 0xff;
}

/** Protects or unprotects record fragments in one direction, counting sequence numbers. */
export interface RecordProtection {
  /** The TLS version whose record format this is. */
  readonly version: 0x0303 | 0x0304;
  /** Returns the protected record (outer type and fragment). */
  seal(
    type: ContentType,
    version: number,
    plaintext: Uint8Array,
  ): { type: ContentType; fragment: Uint8Array };
  /** The same, as a complete record with its 5-byte header (the write path uses this: fewer copies). */
  sealRecord(type: ContentType, version: number, plaintext: Uint8Array): Uint8Array;
  /** Returns the real content type and plaintext; throws bad_record_mac / record_overflow / unexpected_message. */
  open(type: ContentType, version: number, fragment: Uint8Array): { type: ContentType; fragment: Uint8Array };
  /** Zeroes the IV and drops the key: the protection can no longer be used. */
  wipe(): void;
  /** The next sequence number: records sealed or opened so far. */
  readonly sequence: bigint;
}

const SEQ_MAX = (1n << 64n) - 1n;

/** What a wiped protection holds in place of its cipher: every use fails. */
const WIPED: Aead = {
  keyLength: 0,
  tagLength: 16,
  seal() {
    throw TLSError.local(
      AlertDescription.internal_error,
      "record protection used after the connection ended",
    );
  },
  open() {
    return null;
  },
};

/** What both record formats share: a cipher under one key, its IV, and the sequence number. */
abstract class SequencedAead {
  protected seq = 0n;
  protected aead: Aead;

  constructor(
    crypto: CryptoProvider,
    algorithm: AeadAlgorithm,
    key: Uint8Array,
    protected readonly iv: Uint8Array,
  ) {
    this.aead = crypto.aead(algorithm, key);
  }

  get sequence(): bigint {
    return this.seq;
  }

  /** The current sequence number; never the last one, so it and the nonce never wrap (RFC 5246 §6.1, RFC 8446 §5.3). */
  protected currentSeq(): bigint {
    if (this.seq >= SEQ_MAX)
      throw TLSError.local(AlertDescription.internal_error, "record sequence number exhausted");
    return this.seq;
  }

  /** iv XOR (0^4 || seq) (RFC 8446 §5.3, RFC 7905 §2). */
  protected xorNonce(seq: bigint): Uint8Array {
    const n = new Uint8Array(12);
    new DataView(n.buffer).setBigUint64(4, seq);
    for (let i = 0; i < 12; i++) n[i]! ^= this.iv[i]!;
    return n;
  }

  wipe(): void {
    this.iv.fill(0);
    this.aead = WIPED;
    this.seq = SEQ_MAX;
  }

  /** For tests: start from a given sequence number. */
  setSequenceForTest(seq: bigint): void {
    this.seq = seq;
  }
}

/**
 * TLS 1.2 AEAD record protection (RFC 5246 §6.2.3.3):
 *   additional_data = seq_num + TLSCompressed.type + TLSCompressed.version + TLSCompressed.length
 *   AES-GCM (RFC 5288 §3): nonce = salt[4] || nonce_explicit[8]; we send seq_num as nonce_explicit.
 *   ChaCha20-Poly1305 (RFC 7905 §2): nonce = iv[12] XOR (0^4 || seq_num); nothing explicit.
 */
export class Aead12Protection extends SequencedAead implements RecordProtection {
  readonly version = 0x0303;
  private readonly aad = new Uint8Array(13);
  private readonly aadView = new DataView(this.aad.buffer);

  constructor(
    crypto: CryptoProvider,
    private readonly suite: CipherSuite,
    key: Uint8Array,
    iv: Uint8Array,
  ) {
    super(crypto, suite.aead, key, iv);
  }

  private nextSeq(): bigint {
    const s = this.currentSeq();
    this.seq = s + 1n;
    return s;
  }

  private nonce(seq: bigint, explicit?: Uint8Array): Uint8Array {
    if (this.suite.explicitNonceLength > 0) {
      const n = new Uint8Array(12);
      n.set(this.iv.subarray(0, 4), 0);
      if (explicit) n.set(explicit, 4);
      else new DataView(n.buffer).setBigUint64(4, seq);
      return n;
    }
    return this.xorNonce(seq);
  }

  private setAad(seq: bigint, type: number, version: number, length: number): Uint8Array {
    this.aadView.setBigUint64(0, seq);
    this.aad[8] = type;
    this.aadView.setUint16(9, version);
    this.aadView.setUint16(11, length);
    return this.aad;
  }

  seal(
    type: ContentType,
    version: number,
    plaintext: Uint8Array,
  ): { type: ContentType; fragment: Uint8Array } {
    return { type, fragment: this.sealRecord(type, version, plaintext).subarray(5) };
  }

  /** The whole record: header, explicit nonce, ciphertext and tag in one buffer (one copy of the data). */
  sealRecord(type: ContentType, version: number, plaintext: Uint8Array): Uint8Array {
    const seq = this.nextSeq();
    const nonce = this.nonce(seq);
    const ex = this.suite.explicitNonceLength;
    const rec = this.aead.seal(nonce, this.setAad(seq, type, version, plaintext.length), plaintext, 5 + ex);
    writeHeader(rec, type, version);
    if (ex > 0) rec.set(nonce.subarray(4), 5);
    return rec;
  }

  open(
    type: ContentType,
    version: number,
    fragment: Uint8Array,
  ): { type: ContentType; fragment: Uint8Array } {
    return { type, fragment: this.openBody(type, version, fragment) };
  }

  private openBody(type: ContentType, version: number, fragment: Uint8Array): Uint8Array {
    const ex = this.suite.explicitNonceLength;
    const overhead = ex + this.aead.tagLength;
    if (fragment.length < overhead)
      throw TLSError.local(AlertDescription.bad_record_mac, "record too short to be authentic");
    const seq = this.nextSeq();
    const nonce = this.nonce(seq, ex > 0 ? fragment.subarray(0, ex) : undefined);
    const plainLength = fragment.length - overhead;
    const pt = this.aead.open(nonce, this.setAad(seq, type, version, plainLength), fragment.subarray(ex));
    if (pt === null) throw TLSError.local(AlertDescription.bad_record_mac, "record authentication failed");
    if (pt.length > MAX_PLAINTEXT)
      throw TLSError.local(AlertDescription.record_overflow, "decrypted record exceeds 2^14 bytes");
    return pt;
  }
}

/**
 * TLS 1.3 record protection (RFC 8446 §5.2-5.3):
 *   struct { opaque content[length]; ContentType type; uint8 zeros[length_of_padding]; } TLSInnerPlaintext;
 *   TLSCiphertext: opaque_type = application_data(23), legacy_record_version = 0x0303, encrypted_record.
 *   nonce = iv XOR (0^4 || seq_num);  additional_data = the 5-byte record header.
 */
export class Aead13Protection extends SequencedAead implements RecordProtection {
  readonly version = 0x0304;

  /** The nonce for the current sequence number; `advance` moves on (a record that fails to open does not). */
  private nonce(advance = true): Uint8Array {
    const s = this.currentSeq();
    if (advance) this.seq = s + 1n;
    return this.xorNonce(s);
  }

  seal(
    type: ContentType,
    version: number,
    plaintext: Uint8Array,
  ): { type: ContentType; fragment: Uint8Array } {
    return { type: 23, fragment: this.sealRecord(type, version, plaintext).subarray(5) };
  }

  sealRecord(type: ContentType, _version: number, plaintext: Uint8Array): Uint8Array {
    const inner = new Uint8Array(plaintext.length + 1);
    inner.set(plaintext, 0);
    inner[plaintext.length] = type;
    const length = inner.length + this.aead.tagLength;
    const aad = Uint8Array.of(23, 3, 3, length >> 8, length & 0xff);
    const rec = this.aead.seal(this.nonce(), aad, inner, 5);
    rec.set(aad, 0);
    return rec;
  }

  open(
    type: ContentType,
    version: number,
    fragment: Uint8Array,
  ): { type: ContentType; fragment: Uint8Array } {
    if (type !== 23) {
      throw TLSError.local(
        AlertDescription.unexpected_message,
        `unprotected record of type ${type} after keys were set`,
      );
    }
    if (fragment.length < this.aead.tagLength + 1)
      throw TLSError.local(AlertDescription.bad_record_mac, "record too short to be authentic");
    const aad = Uint8Array.of(
      type,
      version >> 8,
      version & 0xff,
      fragment.length >> 8,
      fragment.length & 0xff,
    );
    // The sequence number counts records that authenticate: a server skipping rejected 0-RTT
    // records by trial decryption (§4.2.10) must not lose step with the client's handshake keys.
    const inner = this.aead.open(this.nonce(false), aad, fragment);
    if (inner === null) throw TLSError.local(AlertDescription.bad_record_mac, "record authentication failed");
    this.seq++;
    if (inner.length > MAX_PLAINTEXT + 1)
      throw TLSError.local(AlertDescription.record_overflow, "decrypted record exceeds 2^14 + 1 bytes");
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    if (end < 0)
      throw TLSError.local(AlertDescription.unexpected_message, "record with no content type (all padding)");
    return { type: inner[end]!, fragment: inner.subarray(0, end) };
  }
}
