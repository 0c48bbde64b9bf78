import type { ServerConfig } from "../../src/config.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type { KeyShare, PrivateKey } from "../../src/crypto/provider.js";
import {
  finishedMac,
  KeySchedule13,
  nextTrafficSecret,
  trafficKeys,
} from "../../src/handshake/keyschedule13.js";
import { Aead13Protection } from "../../src/record/protection.js";
import { type Bytes, cat, ext, hs, list16, text, u8, u16, vec8, vec16, vec24 } from "./bytes.js";
import type { Wire } from "./wire.js";

/**
 * Scripted TLS 1.3 peers (RFC 8446): every message is built here from bytes, the key schedule and
 * record protection are ours. Suite TLS_AES_128_GCM_SHA256, group x25519 throughout.
 */

const crypto = nodeCrypto;
export const X25519 = 0x001d;
export const P256 = 0x0017;
export const AES128 = 0x1301;
export const ECDSA_P256 = 0x0403;
export const HRR_RANDOM = Uint8Array.from(
  Buffer.from("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C", "hex"),
);

export type Ext = [type: number, body: Bytes];
export const encodeExts = (exts: readonly Ext[]): Bytes => vec16(...exts.map(([t, b]) => ext(t, b)));

function protection(secret: Bytes): Aead13Protection {
  const k = trafficKeys(crypto, "sha256", secret, 16);
  return new Aead13Protection(crypto, "aes-128-gcm", k.key, k.iv);
}

class Transcript {
  private parts: Bytes[] = [];
  add(...m: Bytes[]): void {
    this.parts.push(...m);
  }
  reset(...m: Bytes[]): void {
    this.parts = [...m];
  }
  hash(): Bytes {
    return crypto.hash("sha256", cat(...this.parts));
  }
}

/** Reads the extensions of a hello (after `offset`) into [type, body] pairs. */
export function parseExts(b: Bytes): Ext[] {
  const out: Ext[] = [];
  const len = (b[0]! << 8) | b[1]!;
  let o = 2;
  while (o < 2 + len) {
    const t = (b[o]! << 8) | b[o + 1]!;
    const l = (b[o + 2]! << 8) | b[o + 3]!;
    out.push([t, b.slice(o + 4, o + 4 + l)]);
    o += 4 + l;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Hostile client (against our ServerConnection)
// ------------------------------------------------------------------------------------------------

export interface Hello13Options {
  legacyVersion?: number;
  sessionId?: Bytes;
  suites?: number[];
  compression?: number[];
  /** Replaces the default extension list; edit with exts => [...]. */
  exts?: (defaults: Ext[]) => Ext[];
  /** Raw body after the compression methods (for lying extension-block lengths). */
  extBlock?: Bytes;
}

export class Client13 {
  readonly share: KeyShare = crypto.keyShare(X25519);
  readonly random = crypto.random(32);
  readonly transcript = new Transcript();
  private schedule = new KeySchedule13(crypto, "sha256");
  clientHs: Bytes | null = null;
  serverHs: Bytes | null = null;
  clientApp: Bytes | null = null;
  serverApp: Bytes | null = null;
  /** The server's messages, by name, as received. */
  readonly got: Record<string, Bytes> = {};

  constructor(readonly wire: Wire) {}

  defaultExts(share: Bytes = this.share.publicKey): Ext[] {
    return [
      [0, vec16(u8(0), vec16(text("localhost")))], // server_name
      [10, list16([X25519, P256])], // supported_groups
      [13, list16([ECDSA_P256, 0x0804])], // signature_algorithms
      [43, vec8(u16(0x0304), u16(0x0303))], // supported_versions
      [51, vec16(u16(X25519), vec16(share))], // key_share
    ];
  }

  hello(o: Hello13Options = {}): Bytes {
    const body = cat(
      u16(o.legacyVersion ?? 0x0303),
      this.random,
      vec8(o.sessionId ?? new Uint8Array(32).fill(7)),
      list16(o.suites ?? [AES128]),
      vec8(...(o.compression ?? [0]).map(u8)),
      o.extBlock ?? encodeExts(o.exts ? o.exts(this.defaultExts()) : this.defaultExts()),
    );
    const msg = hs(1, body);
    this.transcript.add(msg);
    return msg;
  }

  /** After a HelloRetryRequest: the transcript restarts from message_hash(ClientHello1), HRR. */
  retried(hrr: Bytes): void {
    const ch1 = this.transcriptHashOfFirst();
    this.transcript.reset(cat(u8(254), u16(0), u8(32), ch1), hrr);
  }
  private firstHello: Bytes | null = null;
  private transcriptHashOfFirst(): Bytes {
    return crypto.hash("sha256", this.firstHello ?? new Uint8Array(0));
  }
  rememberFirst(ch1: Bytes): void {
    this.firstHello = ch1;
  }

  /** Reads ServerHello; derives the handshake keys; the server flight is then readable. */
  readServerHello(): Bytes {
    const sh = this.wire.next(2);
    this.got.ServerHello = sh;
    this.transcript.add(sh);
    const sidLen = sh[4 + 2 + 32]!;
    const exts = parseExts(sh.subarray(4 + 2 + 32 + 1 + sidLen + 3));
    const ks = exts.find(([t]) => t === 51);
    if (!ks) throw new Error("script: ServerHello without key_share");
    const peer = ks[1].subarray(4);
    const secret = this.share.agree(peer);
    const s = this.schedule.handshake(secret, this.transcript.hash());
    this.clientHs = s.client;
    this.serverHs = s.server;
    this.wire.addReader13(protection(s.server));
    this.wire.writer = protection(s.client);
    return sh;
  }

  /** Reads EncryptedExtensions .. Finished (a CertificateRequest too); derives the application secrets. */
  readServerFlight(): void {
    const names: Record<number, string> = {
      8: "EncryptedExtensions",
      13: "CertificateRequest",
      11: "Certificate",
      15: "CertificateVerify",
      20: "Finished",
    };
    for (;;) {
      const m = this.wire.next();
      this.got[names[m[0]!] ?? `type${m[0]}`] = m;
      this.transcript.add(m);
      if (m[0] === 20) break;
    }
    const s = this.schedule.application(this.transcript.hash());
    this.clientApp = s.client;
    this.serverApp = s.server;
    this.wire.addReader13(protection(s.server));
  }

  /** The certificate_request_context of the server's CertificateRequest. */
  requestContext(): Bytes {
    const cr = this.got.CertificateRequest!;
    return cr.slice(5, 5 + cr[4]!);
  }

  /** Client Certificate (added to the transcript): chain entries with empty extensions. */
  certificate(chain: Bytes[], context: Bytes = this.requestContext()): Bytes {
    const m = hs(11, vec8(context), vec24(...chain.map((c) => cat(vec24(c), vec16()))));
    this.transcript.add(m);
    return m;
  }

  /** Client CertificateVerify over the transcript so far (added to it). */
  certificateVerify(key: PrivateKey, scheme = ECDSA_P256, mangle?: (sig: Bytes) => Bytes): Bytes {
    const content = cat(
      new Uint8Array(64).fill(0x20),
      text("TLS 1.3, client CertificateVerify"),
      u8(0),
      this.transcript.hash(),
    );
    let sig = crypto.sign(ECDSA_P256, key, content);
    if (mangle) sig = mangle(sig);
    const m = hs(15, u16(scheme), vec16(sig));
    this.transcript.add(m);
    return m;
  }

  /** The client Finished over the transcript so far (not added to it). */
  finished(): Bytes {
    return hs(20, finishedMac(crypto, "sha256", this.clientHs!, this.transcript.hash()));
  }

  /** Switch the script's write keys to the client application keys. */
  useAppKeys(): void {
    this.wire.writer = protection(this.clientApp!);
  }

  /** After our KeyUpdate (sent), the next client write keys. */
  updateWriteKeys(): void {
    this.clientApp = nextTrafficSecret(crypto, "sha256", this.clientApp!);
    this.wire.writer = protection(this.clientApp);
  }
  /** The server updated its keys. */
  updateReadKeys(): void {
    this.serverApp = nextTrafficSecret(crypto, "sha256", this.serverApp!);
    this.wire.addReader13(protection(this.serverApp));
  }
}

// ------------------------------------------------------------------------------------------------
// Hostile server (against our ClientConnection)
// ------------------------------------------------------------------------------------------------

export interface ServerHello13Options {
  legacyVersion?: number;
  random?: Bytes;
  sessionId?: Bytes;
  suite?: number;
  compression?: number;
  exts?: (defaults: Ext[]) => Ext[];
}

export class Server13 {
  readonly random = crypto.random(32);
  readonly transcript = new Transcript();
  private schedule = new KeySchedule13(crypto, "sha256");
  clientShare: Bytes = new Uint8Array(0);
  clientSessionId: Bytes = new Uint8Array(0);
  clientExts: Ext[] = [];
  ourShare: Bytes = new Uint8Array(0);
  private secret: Bytes = new Uint8Array(0);
  clientHs: Bytes | null = null;
  serverHs: Bytes | null = null;
  clientApp: Bytes | null = null;
  serverApp: Bytes | null = null;

  constructor(
    readonly wire: Wire,
    readonly config: ServerConfig,
  ) {}

  /** Reads a ClientHello: its x25519 share and session id. */
  readHello(): Bytes {
    const ch = this.wire.next(1);
    this.transcript.add(ch);
    const b = ch.subarray(4);
    let o = 2 + 32;
    this.clientSessionId = b.slice(o + 1, o + 1 + b[o]!);
    o += 1 + b[o]!;
    o += 2 + ((b[o]! << 8) | b[o + 1]!);
    o += 1 + b[o]!;
    this.clientExts = parseExts(b.subarray(o));
    const ks = this.clientExts.find(([t]) => t === 51);
    if (ks) {
      const list = ks[1];
      let p = 2;
      while (p < list.length) {
        const g = (list[p]! << 8) | list[p + 1]!;
        const l = (list[p + 2]! << 8) | list[p + 3]!;
        if (g === X25519) this.clientShare = list.slice(p + 4, p + 4 + l);
        p += 4 + l;
      }
    }
    return ch;
  }

  defaultExts(): Ext[] {
    if (this.ourShare.length === 0) {
      const r = crypto.respond(X25519, this.clientShare);
      this.ourShare = r.share;
      this.secret = r.secret;
    }
    return [
      [43, u16(0x0304)],
      [51, cat(u16(X25519), vec16(this.ourShare))],
    ];
  }

  serverHello(o: ServerHello13Options = {}): Bytes {
    const exts = o.exts ? o.exts(this.defaultExts()) : this.defaultExts();
    const msg = hs(
      2,
      u16(o.legacyVersion ?? 0x0303),
      o.random ?? this.random,
      vec8(o.sessionId ?? this.clientSessionId),
      u16(o.suite ?? AES128),
      u8(o.compression ?? 0),
      encodeExts(exts),
    );
    this.transcript.add(msg);
    return msg;
  }

  /** A HelloRetryRequest asking for `group` (transcript: message_hash(CH1), HRR). */
  helloRetry(group = X25519, extra: Ext[] = []): Bytes {
    const msg = hs(
      2,
      u16(0x0303),
      HRR_RANDOM,
      vec8(this.clientSessionId),
      u16(AES128),
      u8(0),
      encodeExts([[43, u16(0x0304)], [51, u16(group)], ...extra]),
    );
    const chHash = this.transcript.hash();
    this.transcript.reset(cat(u8(254), u16(0), u8(32), chHash), msg);
    return msg;
  }

  /** Derives the handshake keys from the transcript so far (after ServerHello). */
  handshakeKeys(): void {
    if (this.secret.length === 0) this.defaultExts();
    const s = this.schedule.handshake(this.secret, this.transcript.hash());
    this.clientHs = s.client;
    this.serverHs = s.server;
    this.wire.writer = protection(s.server);
    this.wire.addReader13(protection(s.client));
  }

  encryptedExtensions(exts: Ext[] = []): Bytes {
    return this.add(hs(8, encodeExts(exts)));
  }

  certificate(entries?: Bytes[], context: Bytes = new Uint8Array(0)): Bytes {
    const chain = entries ?? this.config.certificates[0]!.chain.map((c) => cat(vec24(c), vec16()));
    return this.add(hs(11, vec8(context), vec24(...chain)));
  }

  certificateVerify(scheme = ECDSA_P256, mangle?: (sig: Bytes) => Bytes): Bytes {
    const content = cat(
      new Uint8Array(64).fill(0x20),
      text("TLS 1.3, server CertificateVerify"),
      u8(0),
      this.transcript.hash(),
    );
    let sig = crypto.sign(ECDSA_P256, this.config.certificates[0]!.key, content);
    if (mangle) sig = mangle(sig);
    return this.add(hs(15, u16(scheme), vec16(sig)));
  }

  finished(): Bytes {
    return this.add(hs(20, finishedMac(crypto, "sha256", this.serverHs!, this.transcript.hash())));
  }

  /** After the server Finished: application secrets; the script writes under the server's. */
  appKeys(): void {
    const s = this.schedule.application(this.transcript.hash());
    this.clientApp = s.client;
    this.serverApp = s.server;
    this.wire.addReader13(protection(s.client));
  }
  useAppKeys(): void {
    this.wire.writer = protection(this.serverApp!);
  }
  updateWriteKeys(): void {
    this.serverApp = nextTrafficSecret(crypto, "sha256", this.serverApp!);
    this.wire.writer = protection(this.serverApp);
  }
  updateReadKeys(): void {
    this.clientApp = nextTrafficSecret(crypto, "sha256", this.clientApp!);
    this.wire.addReader13(protection(this.clientApp));
  }

  add(m: Bytes): Bytes {
    this.transcript.add(m);
    return m;
  }
}

/** A throwaway protection under random keys ("the wrong epoch": keys the victim does not hold). */
export function randomProtection(): Aead13Protection {
  return protection(crypto.random(32));
}
