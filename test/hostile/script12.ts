import type { ServerConfig } from "../../src/config.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type { KeyShare, PrivateKey } from "../../src/crypto/provider.js";
import { keyBlock12, masterSecret12, verifyData12 } from "../../src/handshake/prf12.js";
import { Aead12Protection } from "../../src/record/protection.js";
import { type CipherSuite, suiteById } from "../../src/suites.js";
import { type Bytes, cat, hs, list16, text, u8, u16, vec8, vec16, vec24 } from "./bytes.js";
import { type Ext, encodeExts, parseExts } from "./script13.js";
import type { Wire } from "./wire.js";

/**
 * Scripted TLS 1.2 peers (RFC 5246, RFC 8422 ECDHE, RFC 7627 extended master secret, RFC 5288
 * AES-GCM records): messages from bytes, PRF and record protection ours. Suite
 * TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (the demo certificate is ECDSA P-256), group x25519.
 */

const crypto = nodeCrypto;
export const ECDHE_ECDSA_AES128 = 0xc02b;
export const X25519 = 0x001d;
export const ECDSA_P256 = 0x0403;
const SUITE = suiteById(ECDHE_ECDSA_AES128) as CipherSuite;

class Keys12 {
  master: Bytes = new Uint8Array(0);
  private kb: ReturnType<typeof keyBlock12> | null = null;
  /** A second protection under the client write keys (for the script to write with them). */
  clientWriterForTest(): Aead12Protection {
    return new Aead12Protection(crypto, SUITE, this.kb!.clientWriteKey, this.kb!.clientWriteIv);
  }
  client: Aead12Protection | null = null;
  server: Aead12Protection | null = null;
  derive(preMaster: Bytes, sessionHash: Bytes, clientRandom: Bytes, serverRandom: Bytes): void {
    this.master = masterSecret12(crypto, "sha256", preMaster, { sessionHash });
    const kb = keyBlock12(crypto, "sha256", this.master, clientRandom, serverRandom, 16, 4);
    this.kb = kb;
    this.client = new Aead12Protection(crypto, SUITE, kb.clientWriteKey, kb.clientWriteIv);
    this.server = new Aead12Protection(crypto, SUITE, kb.serverWriteKey, kb.serverWriteIv);
  }
  verify(label: "client finished" | "server finished", transcript: Bytes): Bytes {
    return verifyData12(crypto, "sha256", this.master, label, crypto.hash("sha256", transcript));
  }
}

export const CCS = Uint8Array.of(1);

// ------------------------------------------------------------------------------------------------
// Hostile client (against our ServerConnection)
// ------------------------------------------------------------------------------------------------

export interface Hello12Options {
  version?: number;
  sessionId?: Bytes;
  suites?: number[];
  compression?: number[];
  exts?: (defaults: Ext[]) => Ext[];
  /** Raw bytes after the compression methods (absent extensions, lying lengths). */
  extBlock?: Bytes;
}

export class Client12 {
  readonly random = crypto.random(32);
  private transcript: Bytes[] = [];
  serverRandom: Bytes = new Uint8Array(0);
  serverGroup = X25519;
  serverPoint: Bytes = new Uint8Array(0);
  share: KeyShare | null = null;
  readonly keys = new Keys12();
  readonly got: Record<string, Bytes> = {};

  constructor(readonly wire: Wire) {}

  defaultExts(): Ext[] {
    return [
      [0, vec16(u8(0), vec16(text("localhost")))],
      [10, list16([X25519, 0x0017])],
      [11, vec8(u8(0))],
      [13, list16([ECDSA_P256, 0x0804])],
      [23, new Uint8Array(0)],
      [0xff01, vec8()],
    ];
  }

  hello(o: Hello12Options = {}): Bytes {
    const msg = hs(
      1,
      u16(o.version ?? 0x0303),
      this.random,
      vec8(o.sessionId ?? new Uint8Array(0)),
      list16(o.suites ?? [ECDHE_ECDSA_AES128]),
      vec8(...(o.compression ?? [0]).map(u8)),
      o.extBlock ?? encodeExts(o.exts ? o.exts(this.defaultExts()) : this.defaultExts()),
    );
    this.transcript.push(msg);
    return msg;
  }

  /** ServerHello, Certificate, ServerKeyExchange, ServerHelloDone. */
  readServerFlight(): void {
    const sh = this.take("ServerHello", 2);
    this.serverRandom = sh.slice(6, 38);
    this.take("Certificate", 11);
    const ske = this.take("ServerKeyExchange", 12);
    this.serverGroup = (ske[5]! << 8) | ske[6]!;
    this.serverPoint = ske.slice(8, 8 + ske[7]!);
    const next = this.wire.next();
    this.transcript.push(next);
    if (next[0] === 13) {
      this.got.CertificateRequest = next;
      this.take("ServerHelloDone", 14);
    } else {
      if (next[0] !== 14) throw new Error(`script: expected ServerHelloDone, got ${next[0]}`);
      this.got.ServerHelloDone = next;
    }
  }

  /** Client Certificate (added to the transcript). */
  certificate(chain: Bytes[]): Bytes {
    const m = hs(11, vec24(...chain.map((c) => vec24(c))));
    this.transcript.push(m);
    return m;
  }

  /** CertificateVerify over all handshake messages so far (RFC 5246 §7.4.8); added to the transcript. */
  certificateVerify(key: PrivateKey, scheme = ECDSA_P256, mangle?: (sig: Bytes) => Bytes): Bytes {
    let sig = crypto.sign(ECDSA_P256, key, cat(...this.transcript));
    if (mangle) sig = mangle(sig);
    const m = hs(15, u16(scheme), vec16(sig));
    this.transcript.push(m);
    return m;
  }

  private take(name: string, type: number): Bytes {
    const m = this.wire.next(type);
    this.got[name] = m;
    this.transcript.push(m);
    return m;
  }

  /** ClientKeyExchange with a fresh share; derives the keys (the server's are read after its CCS). */
  clientKeyExchange(point?: Bytes): Bytes {
    this.share = crypto.keyShare(this.serverGroup);
    const msg = hs(16, vec8(point ?? this.share.publicKey));
    this.transcript.push(msg);
    const pre = this.share.agree(this.serverPoint);
    this.keys.derive(pre, crypto.hash("sha256", cat(...this.transcript)), this.random, this.serverRandom);
    this.wire.setPendingReader12(this.keys.server!);
    return msg;
  }

  /** The script writes under the client keys from now on. */
  changeCipherSpec(): Bytes {
    const r = this.wire.plain(20, CCS);
    this.wire.writer = this.keys.client;
    return r;
  }

  finished(verify?: Bytes): Bytes {
    const msg = hs(20, verify ?? this.keys.verify("client finished", cat(...this.transcript)));
    this.transcript.push(msg);
    return msg;
  }

  /** The whole honest handshake up to an established connection. */
  readServerFinish(): void {
    while (this.wire.queued > 0) {
      const m = this.wire.next();
      if (m[0] === 20) this.got.Finished = m;
      else this.got[`type${m[0]}`] = m;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Hostile server (against our ClientConnection)
// ------------------------------------------------------------------------------------------------

export interface ServerHello12Options {
  version?: number;
  random?: Bytes;
  sessionId?: Bytes;
  suite?: number;
  compression?: number;
  exts?: (defaults: Ext[]) => Ext[];
  /** Raw bytes after the compression method. */
  extBlock?: Bytes;
}

export interface Ske12Options {
  curveType?: number;
  group?: number;
  point?: Bytes;
  scheme?: number;
  mangle?: (sig: Bytes) => Bytes;
  /** Raw body. */
  body?: Bytes;
}

export class Server12 {
  readonly random = crypto.random(32);
  private transcript: Bytes[] = [];
  clientRandom: Bytes = new Uint8Array(0);
  clientExts: Ext[] = [];
  share: KeyShare = crypto.keyShare(X25519);
  readonly keys = new Keys12();

  constructor(
    readonly wire: Wire,
    readonly config: ServerConfig,
  ) {}

  readHello(): Bytes {
    const ch = this.wire.next(1);
    this.transcript.push(ch);
    const b = ch.subarray(4);
    this.clientRandom = b.slice(2, 34);
    let o = 34;
    o += 1 + b[o]!;
    o += 2 + ((b[o]! << 8) | b[o + 1]!);
    o += 1 + b[o]!;
    this.clientExts = parseExts(b.subarray(o));
    return ch;
  }

  defaultExts(): Ext[] {
    return [
      [0xff01, vec8()],
      [23, new Uint8Array(0)],
      [11, vec8(u8(0))],
    ];
  }

  serverHello(o: ServerHello12Options = {}): Bytes {
    return this.add(
      hs(
        2,
        u16(o.version ?? 0x0303),
        o.random ?? this.random,
        vec8(o.sessionId ?? new Uint8Array(0)),
        u16(o.suite ?? ECDHE_ECDSA_AES128),
        u8(o.compression ?? 0),
        o.extBlock ?? encodeExts(o.exts ? o.exts(this.defaultExts()) : this.defaultExts()),
      ),
    );
  }

  certificate(certs?: Bytes[]): Bytes {
    const chain = certs ?? this.config.certificates[0]!.chain;
    return this.add(hs(11, vec24(...chain.map((c) => vec24(c)))));
  }

  serverKeyExchange(o: Ske12Options = {}): Bytes {
    if (o.body) return this.add(hs(12, o.body));
    const params = cat(u8(o.curveType ?? 3), u16(o.group ?? X25519), vec8(o.point ?? this.share.publicKey));
    let sig = crypto.sign(
      ECDSA_P256,
      this.config.certificates[0]!.key,
      cat(this.clientRandom, this.random, params),
    );
    if (o.mangle) sig = o.mangle(sig);
    return this.add(hs(12, params, u16(o.scheme ?? ECDSA_P256), vec16(sig)));
  }

  serverHelloDone(): Bytes {
    return this.add(hs(14));
  }

  /** Reads the client's ClientKeyExchange; derives the keys (the client's are read after its CCS). */
  readClientKeyExchange(): Bytes {
    const cke = this.wire.next(16);
    this.transcript.push(cke);
    const point = cke.slice(5, 5 + cke[4]!);
    const pre = this.share.agree(point);
    this.keys.derive(pre, crypto.hash("sha256", cat(...this.transcript)), this.clientRandom, this.random);
    this.wire.setPendingReader12(this.keys.client!);
    return cke;
  }

  readClientFinished(): Bytes {
    const fin = this.wire.next(20);
    this.transcript.push(fin);
    return fin;
  }

  changeCipherSpec(): Bytes {
    const r = this.wire.plain(20, CCS);
    this.wire.writer = this.keys.server;
    return r;
  }

  finished(verify?: Bytes): Bytes {
    return this.add(hs(20, verify ?? this.keys.verify("server finished", cat(...this.transcript))));
  }

  add(m: Bytes): Bytes {
    this.transcript.push(m);
    return m;
  }
}
