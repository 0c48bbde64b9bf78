import type { NamedGroup } from "../constants.js";
import type { CryptoProvider, PublicKey } from "../crypto/provider.js";
import type { RecordProtection } from "../record/protection.js";
import type { SessionState } from "../session/session.js";
import type { AnySuite } from "../suites.js";
import type { Certificate } from "../x509/certificate.js";
import type { Fields, HandshakeMessage } from "./messages/framing.js";
import type { Transcript } from "./transcript.js";

/** What a handshake state receives: a whole handshake message, or a ChangeCipherSpec. */
export type Incoming = { kind: "handshake"; msg: HandshakeMessage } | { kind: "ccs" };

/**
 * One handshake state = one expected message (or a small set). `handle` processes it and returns
 * the next state; anything else is unexpected_message (the driver does that when `handle` says so
 * by throwing). States carry the data they need from one step to the next.
 */
export interface HandshakeState {
  readonly name: string;
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState;
  /** TLS 1.3 established states: send a KeyUpdate (and ask the peer for one when `requestPeer`). */
  requestKeyUpdate?(ctx: HandshakeContext, requestPeer: boolean): void;
  /** Zeroes the secrets the state holds (the connection has ended). */
  wipe?(): void;
}

/** What the negotiated connection looks like once the handshake is done. */
export interface HandshakeInfo {
  version: number;
  protocol: string;
  cipherSuite: AnySuite;
  /** The key-exchange group, for ECDHE. */
  group?: NamedGroup;
  serverName?: string;
  alpnProtocol?: string;
  /** The peer's chain as sent, leaf first. */
  peerCertificates: Certificate[];
  /** True when the peer's chain was verified (false with rejectUnauthorized: false or no client cert). */
  peerVerified: boolean;
  peerPublicKey?: PublicKey;
  /** The signature scheme the peer signed the handshake with. */
  peerSignatureScheme?: number;
  /** The signature scheme we signed with. */
  signatureScheme?: number;
  extendedMasterSecret: boolean;
  clientCertificateRequested: boolean;
  resumed: boolean;
  /** How the session was resumed. */
  resumedWith?: "session_id" | "ticket" | "psk_dhe_ke" | "psk_ke";
  /** TLS 1.3 0-RTT, when the client sent early data: whether the server took it. */
  earlyData?: "accepted" | "rejected";
  /** TLS 1.3: the server asked for another key share with a HelloRetryRequest. */
  helloRetry?: boolean;
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
}

/** What stays after the handshake: the exporter (RFC 5705 / RFC 8446 §7.5), over secrets it keeps to itself. */
export interface Secrets {
  exporter(label: string, context: Uint8Array | undefined, length: number): Uint8Array;
  /** Zeroes the secret the exporter holds (the connection has ended). */
  wipe(): void;
}

/** The services a state may use: sending, record protection, transcript, events. */
export interface HandshakeContext {
  readonly crypto: CryptoProvider;
  readonly transcript: Transcript;
  readonly role: "client" | "server";
  /** Queues a handshake message (and adds it to the transcript). `fields` describe it for traces. */
  send(msg: HandshakeMessage, name: string, fields?: Fields): void;
  /** Reports a received message to traces. */
  received(name: string, fields?: Fields): void;
  /** Queues a post-handshake message (KeyUpdate, NewSessionTicket): not part of the transcript. */
  sendPostHandshake(msg: HandshakeMessage, name: string, fields?: Fields): void;
  /** Sends ChangeCipherSpec and switches the write side to `protection`. */
  sendChangeCipherSpec(protection: RecordProtection): void;
  /** Flushes what is queued under the current keys, then switches the write side (TLS 1.3; null: plaintext again, after 0-RTT and a HelloRetryRequest). */
  changeWriteProtection(protection: RecordProtection | null): void;
  /** Sends a dummy ChangeCipherSpec (TLS 1.3 middlebox compatibility) without changing keys. */
  sendCompatibilityCcs(): void;
  /** The peer's ChangeCipherSpec arrived: switch the read side to `protection`. */
  changeReadProtection(protection: RecordProtection): void;
  /** The version written in record headers from now on (TLS 1.3 0-RTT: 0x0303 after the ClientHello, §5.1). */
  setRecordVersion(version: number): void;
  /** Fixes the record-layer version for the rest of the connection. */
  setVersion(version: number): void;
  /** An NSS key log line `label clientRandom secret`, made and delivered only when the application listens for it. */
  keylog(label: string, clientRandom: Uint8Array, secret: Uint8Array): void;
  /** Sends a warning alert without changing state. */
  warn(description: number): void;
  /** The handshake is complete. */
  complete(info: HandshakeInfo, secrets: Secrets): void;
  /** Server: the client offered 0-RTT, which we reject; skip up to `maxBytes` of its early data (RFC 8446 §4.2.10). */
  rejectEarlyData(maxBytes: number): void;
  /** Server: take up to `maxBytes` of 0-RTT data, reported as early, until endEarlyData(). */
  acceptEarlyData(maxBytes: number): void;
  endEarlyData(): void;
  /** Client: sends 0-RTT application data under the current (early) keys. */
  sendEarlyData(data: Uint8Array): void;
  /** A resumable session exists (TLS 1.3 ticket, TLS 1.2 session id or ticket). */
  session(state: SessionState): void;
  /** Number of application data records received so far (for rate limits on post-handshake messages). */
  readonly appDataRecords: number;
}
