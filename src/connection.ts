import { type Alert, AlertDescription, AlertLevel, alertName, decodeAlert, encodeAlert } from "./alert.js";
import type { ClientConfig, ServerConfig } from "./config.js";
import { ContentType, versionName } from "./constants.js";
import type { CryptoProvider } from "./crypto/provider.js";
import { TLSError } from "./errors.js";
import { Emitter } from "./events.js";
import { startClient } from "./handshake/client.js";
import type {
  HandshakeContext,
  HandshakeInfo,
  HandshakeState,
  Incoming,
  Secrets,
} from "./handshake/context.js";
import type { Fields, HandshakeMessage } from "./handshake/messages/framing.js";
import { Pending } from "./handshake/pending.js";
import { HandshakeReassembler } from "./handshake/reassembler.js";
import { ExpectClientHello } from "./handshake/server.js";
import { Transcript } from "./handshake/transcript.js";
import { RecordDeframer } from "./record/deframer.js";
import type { RecordProtection } from "./record/protection.js";
import {
  MAX_CIPHERTEXT_12,
  MAX_CIPHERTEXT_13,
  MAX_PLAINTEXT,
  recordHeader,
  type TLSRecord,
} from "./record/record.js";
import { TLSSession } from "./session/client-session.js";
import type { SessionState } from "./session/session.js";
import { concat, toHex } from "./wire/bytes.js";

/** A handshake message or record-level event, as shown by --trace and the demo. */
export interface TraceEvent {
  direction: "send" | "recv";
  message: string;
  fields: Fields;
}

export interface AlertEvent {
  level: AlertLevel;
  description: AlertDescription;
  name: string;
  sentBy: "local" | "peer";
}

export interface ConnectionEvents {
  /** The handshake completed. */
  handshake: (info: HandshakeInfo) => void;
  /** Decrypted application data. */
  data: (data: Uint8Array) => void;
  /** The peer sent close_notify: no more data will arrive. Call close() to answer (writing first is allowed). */
  end: () => void;
  /** Every alert, sent or received. */
  alert: (alert: AlertEvent) => void;
  /** A fatal error; the connection is closed. */
  error: (error: TLSError) => void;
  /** The connection is closed in both directions (cleanly or not). */
  close: () => void;
  /** NSS key log lines (SSLKEYLOGFILE format). Only listen when the user asked for a key log. */
  keylog: (line: string) => void;
  trace: (event: TraceEvent) => void;
  /** Bytes are waiting in takeOutgoing(). */
  outgoing: () => void;
  /** Server: 0-RTT data the client sent with its ClientHello (may be replayed elsewhere; single-use tickets prevent it here). */
  earlyData: (data: Uint8Array) => void;
  /** A session ticket (TLS 1.3 NewSessionTicket) for later resumption. */
  session: (session: TLSSession) => void;
}

export type ConnectionState = "handshaking" | "established" | "closing" | "closed";

const MAX_WARNING_ALERTS = 8;
/**
 * Records sent under one TLS 1.3 key before we change it with a KeyUpdate (RFC 8446 §5.5: AES-GCM
 * keys must not protect more than 2^24.5 full-size records; the same bound serves every suite).
 */
export const KEY_USAGE_LIMIT = 1n << 24n;
const MAX_EMPTY_RECORDS = 32;
const EMPTY = new Uint8Array(0);

/** The per-connection limits (see CommonOptions in config.ts). */
export interface ConnectionLimits {
  readonly maxHandshakeMessageSize: number;
  readonly maxCertificateChainSize: number;
  readonly maxBufferedCiphertext: number;
  readonly maxBufferedPlaintext: number;
  readonly maxRecordsPerRead: number;
}

/**
 * The sans-IO connection: bytes in (receive), bytes out (takeOutgoing), events in between. It
 * knows nothing of sockets or timers. Every failure, whatever the input, ends in one fatal alert to
 * the peer, one `error` event with a TLSError, and the closed state; receive() never throws.
 */
export abstract class Connection extends Emitter<ConnectionEvents> {
  abstract readonly role: "client" | "server";
  protected state: HandshakeState | null = null;
  private phase: ConnectionState = "handshaking";
  private readonly deframer = new RecordDeframer();
  private readonly reassembler: HandshakeReassembler;
  private readProtection: RecordProtection | null = null;
  private writeProtection: RecordProtection | null = null;
  /** Record version we write: 0x0301 until a version is negotiated (RFC 5246 Appendix E.1, RFC 8446 §5.1). */
  private recordVersion = 0x0301;
  private outgoing: Uint8Array[] = [];
  private pendingHandshake: Uint8Array[] = [];
  private pendingAppData: Uint8Array[] = [];
  private sentCloseNotify = false;
  private receivedCloseNotify = false;
  private warningCount = 0;
  private emptyCount = 0;
  private started = false;
  private closeRequested = false;
  private info_: HandshakeInfo | null = null;
  private secrets: Secrets | null = null;
  /** The negotiated version (0 until the ServerHello). */
  private version = 0;
  private compatCcsSeen = false;
  /** A protected record from the peer has been opened (TLS 1.3: plaintext alerts end then). */
  private peerSealed = false;
  /** A state is waiting for an asynchronous answer; input waits in the buffers. */
  private suspended = false;
  /** The application asked for no more data for now (pause()); input waits in the buffers. */
  private paused = false;
  private pendingAppBytes = 0;
  /** Bytes of rejected 0-RTT data the peer may still send (server side). */
  private earlyDataBudget = 0;
  /** Server: bytes of accepted 0-RTT data still allowed (-1: none is being accepted). */
  private earlyDataAllowed = -1;
  /** Client: the 0-RTT data asked for; sent as ordinary data after the handshake unless accepted early. */
  protected earlyDataWanted: Uint8Array | null = null;
  private appDataRecords = 0;
  private error_: TLSError | null = null;
  protected readonly ctx: HandshakeContext;

  constructor(
    protected readonly crypto: CryptoProvider,
    private readonly limits: ConnectionLimits,
  ) {
    super();
    this.reassembler = new HandshakeReassembler(limits);
    this.ctx = this.makeContext();
  }

  /** The negotiated parameters, once the handshake is complete. */
  get info(): HandshakeInfo | null {
    return this.info_;
  }
  get connectionState(): ConnectionState {
    return this.phase;
  }
  get handshakeComplete(): boolean {
    return this.info_ !== null;
  }
  get error(): TLSError | null {
    return this.error_;
  }
  get peerClosed(): boolean {
    return this.receivedCloseNotify;
  }

  // ---- input ----------------------------------------------------------------------------------

  /**
   * Feeds bytes from the peer, in any chunking, and processes up to `maxRecordsPerRead` records.
   * Returns true when everything received has been processed; false when input is left waiting (the
   * record budget was used up, the connection is paused, or it waits for the session store): call
   * receive() again, with more bytes or none, once the application is ready (the Node adapter does
   * so on the next turn of the event loop and stops reading the socket meanwhile). At most
   * `maxBufferedCiphertext` bytes may wait; more is a fatal error. Never throws.
   */
  receive(bytes: Uint8Array = EMPTY): boolean {
    this.start();
    if (this.phase === "closed" || this.receivedCloseNotify) return true;
    let done = true;
    this.guard(() => {
      this.deframer.push(bytes);
      if (this.deframer.buffered > this.limits.maxBufferedCiphertext) {
        throw TLSError.local(
          AlertDescription.internal_error,
          `more than ${this.limits.maxBufferedCiphertext} received bytes waiting to be processed`,
        );
      }
      done = this.drain();
      this.flush();
    });
    return done || this.connectionState === "closed";
  }

  /** Bytes received and not yet processed. */
  get bufferedInput(): number {
    return this.deframer.buffered;
  }

  /**
   * Stops delivering data (and processing input) after the current record, until resume(): the
   * application's backpressure. Input received meanwhile waits, within `maxBufferedCiphertext`.
   */
  pause(): void {
    this.paused = true;
  }

  /** Undoes pause() and processes what waits, as receive() does; returns the same. */
  resume(): boolean {
    this.paused = false;
    return this.receive();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The handshake waits for the session store: input is buffered and processed when it answers. */
  get isWaiting(): boolean {
    return this.suspended;
  }

  /**
   * Processes what is buffered: whole handshake messages first, then records; stops while suspended
   * or paused, or after `maxRecordsPerRead` records. True when nothing processable is left.
   */
  private drain(budget = this.limits.maxRecordsPerRead): boolean {
    this.drainHandshake();
    for (;;) {
      if (this.phase === "closed" || this.receivedCloseNotify) return true;
      if (this.suspended || this.paused) return this.deframer.buffered === 0;
      if (budget-- === 0) return this.deframer.buffered === 0;
      const rec = this.deframer.next();
      if (!rec) return true;
      this.processRecord(rec);
    }
  }

  private drainHandshake(): void {
    for (;;) {
      if (this.suspended || this.phase === "closed") return;
      const msg = this.reassembler.next();
      if (!msg) return;
      this.step({ kind: "handshake", msg });
    }
  }

  private processRecord(rec: TLSRecord): void {
    let body: Uint8Array;
    let type = rec.type;
    if (this.version === 0x0304 && rec.type === ContentType.change_cipher_spec) {
      // RFC 8446 §5: one unprotected ChangeCipherSpec of value 1 may arrive before the peer's
      // Finished (middlebox compatibility); it is dropped. Any other is unexpected_message.
      if (this.info_ || this.compatCcsSeen || rec.fragment.length !== 1 || rec.fragment[0] !== 1) {
        throw TLSError.local(AlertDescription.unexpected_message, "ChangeCipherSpec in TLS 1.3");
      }
      if (this.reassembler.hasPartial) {
        // §5.1: no other record between the records of one handshake message.
        throw TLSError.local(
          AlertDescription.unexpected_message,
          "ChangeCipherSpec record inside a fragmented handshake message",
        );
      }
      this.compatCcsSeen = true;
      return;
    }
    if (this.readProtection && this.isClientPlaintextAlert(rec)) {
      body = rec.fragment;
    } else if (this.readProtection) {
      let opened: { type: ContentType; fragment: Uint8Array };
      try {
        opened = this.readProtection.open(rec.type, rec.version, rec.fragment);
      } catch (e) {
        if (!this.skipRejectedEarlyData(rec, e)) throw e;
        return;
      }
      this.earlyDataBudget = 0;
      this.peerSealed = true;
      type = opened.type;
      body = opened.fragment;
    } else {
      if (rec.fragment.length > MAX_PLAINTEXT) {
        throw TLSError.local(
          AlertDescription.record_overflow,
          `plaintext record of ${rec.fragment.length} bytes`,
        );
      }
      body = rec.fragment;
    }
    if (type !== ContentType.handshake && this.reassembler.hasPartial) {
      // A partial handshake message may not be interleaved with other content (RFC 8446 §5.1).
      throw TLSError.local(
        AlertDescription.unexpected_message,
        `${ContentType[type] ?? type} record inside a fragmented handshake message`,
      );
    }
    switch (type) {
      case ContentType.handshake:
        if (body.length === 0)
          throw TLSError.local(AlertDescription.unexpected_message, "empty handshake record");
        this.reassembler.push(body);
        this.drainHandshake();
        return;
      case ContentType.change_cipher_spec:
        if (this.version === 0x0304) {
          throw TLSError.local(AlertDescription.unexpected_message, "protected ChangeCipherSpec in TLS 1.3");
        }
        // RFC 5246 §7.1: struct { enum { change_cipher_spec(1), (255) } type; } ChangeCipherSpec;
        if (body.length !== 1)
          throw TLSError.local(AlertDescription.decode_error, "ChangeCipherSpec must be one byte");
        if (body[0] !== 1)
          throw TLSError.local(AlertDescription.illegal_parameter, "ChangeCipherSpec value is not 1");
        this.step({ kind: "ccs" });
        return;
      case ContentType.alert:
        this.processAlert(decodeAlert(body));
        return;
      case ContentType.application_data:
        if (this.earlyDataBudget > 0 && !this.readProtection) {
          // Early data sent before our HelloRetryRequest: skipped (RFC 8446 §4.2.10).
          this.skipRejectedEarlyData(rec, null);
          return;
        }
        if (this.earlyDataAllowed >= 0 && this.info_ === null) {
          // Accepted 0-RTT data (RFC 8446 §4.2.10), up to the size the ticket allowed.
          this.earlyDataAllowed -= body.length;
          if (this.earlyDataAllowed < 0) {
            throw TLSError.local(
              AlertDescription.unexpected_message,
              "more early data than max_early_data_size",
            );
          }
          if (body.length > 0) this.emit("earlyData", body);
          return;
        }
        if (this.phase === "handshaking" || this.info_ === null) {
          throw TLSError.local(
            AlertDescription.unexpected_message,
            "application data before the handshake completed",
          );
        }
        if (body.length === 0) {
          if (++this.emptyCount > MAX_EMPTY_RECORDS) {
            throw TLSError.local(AlertDescription.unexpected_message, "too many empty records");
          }
          return;
        }
        this.emptyCount = 0;
        this.warningCount = 0;
        this.appDataRecords++;
        this.emit("data", body);
        return;
      default:
        throw TLSError.local(AlertDescription.unexpected_message, `unknown content type ${type}`);
    }
  }

  /**
   * RFC 8446 Appendix A.1 has a TLS 1.3 client change its write keys only once it has the server
   * Finished, so some clients (not ours: it changes them at the ServerHello) send their alert about
   * our first flight (a certificate they reject, ...) unprotected. The server takes such an alert
   * until a protected record from the client arrives.
   */
  private isClientPlaintextAlert(rec: TLSRecord): boolean {
    return (
      this.role === "server" &&
      this.version === 0x0304 &&
      rec.type === ContentType.alert &&
      !this.peerSealed &&
      this.info_ === null
    );
  }

  /**
   * RFC 8446 §4.2.10: a server that rejects 0-RTT skips the client's early data records (those that
   * do not decrypt under the handshake keys), up to the size it allows; more is an error.
   */
  private skipRejectedEarlyData(rec: TLSRecord, error: unknown): boolean {
    if (this.earlyDataBudget <= 0 || rec.type !== ContentType.application_data) return false;
    if (error instanceof TLSError && error.alert !== AlertDescription.bad_record_mac) return false;
    this.earlyDataBudget -= rec.fragment.length;
    if (this.earlyDataBudget < 0) {
      throw TLSError.local(AlertDescription.unexpected_message, "too much rejected early data");
    }
    return true;
  }

  private step(input: Incoming): void {
    if (!this.state) throw TLSError.local(AlertDescription.unexpected_message, "no handshake in progress");
    this.emptyCount = 0;
    const next = this.state.handle(this.ctx, input);
    this.state = next;
    if (next instanceof Pending) this.wait(next);
  }

  /**
   * A state that waits for an asynchronous answer (a network session store): input is buffered,
   * in order, until it settles; then processing goes on where it stopped.
   */
  private wait(pending: Pending): void {
    this.suspended = true;
    pending.promise.then(
      (state) => this.resumeWith(() => state),
      (err: unknown) =>
        this.resumeWith(() => {
          throw err;
        }),
    );
  }

  private resumeWith(next: () => HandshakeState): void {
    if (this.phase === "closed") return;
    this.guard(() => {
      this.suspended = false;
      this.state = next();
      if (this.state instanceof Pending) {
        this.wait(this.state);
        return;
      }
      // What arrived meanwhile is bounded by maxBufferedCiphertext: processed at once.
      this.drain(Number.POSITIVE_INFINITY);
      this.flush();
    });
  }

  private processAlert(a: Alert): void {
    const name = alertName(a.description);
    this.emit("alert", { level: a.level, description: a.description, name, sentBy: "peer" });
    if (a.description === AlertDescription.close_notify) {
      this.receivedCloseNotify = true;
      if (this.sentCloseNotify) {
        this.ended();
        this.emit("end");
        this.emit("close");
        return;
      }
      if (!this.info_) {
        // close_notify during the handshake: nothing more can come; answer and close.
        this.emit("end");
        this.closeRequested = false;
        this.close();
        return;
      }
      // The peer will send no more. We may still write (TLS 1.3 half-close, RFC 8446 §6.1; and, as
      // OpenSSL allows, TLS 1.2 too): the application answers with close() when it is done, as the
      // Node adapter does when its readable side ends (allowHalfOpen: false).
      this.emit("end");
      return;
    }
    // TLS 1.3 (RFC 8446 §6): the level is ignored; only user_canceled is not fatal.
    const warning =
      this.version === 0x0304
        ? a.description === AlertDescription.user_canceled
        : a.level === AlertLevel.warning;
    if (warning && a.description !== AlertDescription.unexpected_message) {
      // Warnings (user_canceled, no_renegotiation, ...) are reported and otherwise ignored, up to a limit.
      if (++this.warningCount > MAX_WARNING_ALERTS) {
        throw TLSError.local(AlertDescription.unexpected_message, "too many warning alerts");
      }
      return;
    }
    const err = TLSError.peer(a.description);
    this.error_ = err;
    this.ended();
    this.emit("error", err);
    this.emit("close");
  }

  // ---- output ---------------------------------------------------------------------------------

  /** Queues application data; data written before the handshake completes is sent after it. */
  write(data: Uint8Array): void {
    if (this.phase === "closed" || this.sentCloseNotify) throw new Error("write after close");
    if (data.length === 0) return;
    if (!this.info_) {
      if (this.pendingAppBytes + data.length > this.limits.maxBufferedPlaintext) {
        throw new RangeError(
          `more than maxBufferedPlaintext (${this.limits.maxBufferedPlaintext}) bytes written before the handshake completed`,
        );
      }
      this.pendingAppData.push(data);
      this.pendingAppBytes += data.length;
      return;
    }
    this.guard(() => {
      this.writeRecords(ContentType.application_data, data);
      this.flush();
    });
  }

  /**
   * Sends close_notify. The connection is closed when the peer's close_notify arrives (or at once if
   * it already did). During the handshake the close waits for it to finish (use abort() to give up).
   */
  close(): void {
    if (this.phase === "closed" || this.sentCloseNotify) return;
    this.start();
    if (!this.info_ && this.phase === "handshaking" && !this.receivedCloseNotify) {
      // Like node:tls end(): the data written so far, and then close_notify, go after the handshake.
      this.closeRequested = true;
      return;
    }
    this.guard(() => {
      if (this.info_) this.flushAppData();
      this.sendAlert({ level: AlertLevel.warning, description: AlertDescription.close_notify });
      this.sentCloseNotify = true;
      this.phase = "closing";
      if (this.receivedCloseNotify) this.ended();
      this.flush();
      if (this.connectionState === "closed") this.emit("close");
    });
  }

  /** Everything waiting to be sent to the peer, as one buffer (empty when nothing is waiting). */
  takeOutgoing(): Uint8Array {
    this.start();
    if (this.outgoing.length === 0) return new Uint8Array(0);
    const out = this.outgoing.length === 1 ? this.outgoing[0]! : concat(...this.outgoing);
    this.outgoing = [];
    return out;
  }

  get hasOutgoing(): boolean {
    return this.outgoing.length > 0;
  }

  /** Aborts with a fatal alert (e.g. when the adapter times the handshake out). */
  abort(
    description: AlertDescription = AlertDescription.user_canceled,
    message = "connection aborted",
  ): void {
    if (this.phase === "closed") return;
    this.fail(TLSError.local(description, message));
    this.flush();
  }

  /** RFC 5705 keying material exporter (TLS 1.2). */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    if (!this.info_ || !this.secrets) throw new Error("the handshake is not complete");
    return this.secrets.exporter(label, context, length);
  }

  /**
   * TLS 1.3 KeyUpdate (RFC 8446 §4.6.3): our sending keys change; with `requestPeer` (default) the
   * peer is asked to change its keys too.
   */
  updateKeys(requestPeer = true): void {
    if (
      !this.info_ ||
      this.version !== 0x0304 ||
      this.phase !== "established" ||
      !this.state?.requestKeyUpdate
    ) {
      throw new Error("KeyUpdate needs an established TLS 1.3 connection");
    }
    const state = this.state;
    this.guard(() => {
      state.requestKeyUpdate?.(this.ctx, requestPeer);
      this.flush();
    });
  }

  /** Makes the first handshake state (the client's ClientHello goes out here). */
  protected abstract firstState(): HandshakeState;

  /**
   * Starts the handshake. Called by the first receive() or takeOutgoing() if not called before, so
   * that listeners attached after construction still see the first message traced.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.guard(() => {
      this.state = this.firstState();
      this.flush();
    });
  }

  /** Cuts `data` into records, protected under the current write keys unless `plain`. */
  private writeRecords(type: ContentType, data: Uint8Array, plain = false): void {
    for (let off = 0; off < data.length || (off === 0 && data.length === 0); off += MAX_PLAINTEXT) {
      const chunk = data.subarray(off, Math.min(off + MAX_PLAINTEXT, data.length));
      if (type === ContentType.application_data && this.version === 0x0304) this.keyUsageCheck();
      const protection = plain ? null : this.writeProtection;
      let rec: Uint8Array;
      if (protection) {
        rec = protection.sealRecord(type, this.recordVersion, chunk);
      } else {
        rec = new Uint8Array(5 + chunk.length);
        rec.set(recordHeader(type, this.recordVersion, chunk.length), 0);
        rec.set(chunk, 5);
      }
      this.outgoing.push(rec);
      if (data.length === 0) break;
    }
  }

  /** TLS 1.3, established: a KeyUpdate of our own before the write key reaches KEY_USAGE_LIMIT. */
  private keyUsageCheck(): void {
    const p = this.writeProtection;
    if (p && p.sequence >= KEY_USAGE_LIMIT && this.info_ && this.state?.requestKeyUpdate) {
      this.state.requestKeyUpdate(this.ctx, false);
    }
  }

  /** New write keys; the old ones are zeroed (nothing more is sent under them). */
  private setWriteProtection(protection: RecordProtection | null): void {
    this.writeProtection?.wipe();
    this.writeProtection = protection;
  }

  private flushHandshake(): void {
    if (this.pendingHandshake.length === 0) return;
    const all = concat(...this.pendingHandshake);
    this.pendingHandshake = [];
    this.writeRecords(ContentType.handshake, all);
  }

  private flushAppData(): void {
    const pending = this.pendingAppData;
    this.pendingAppData = [];
    this.pendingAppBytes = 0;
    for (const d of pending) this.writeRecords(ContentType.application_data, d);
  }

  private sendAlert(a: Alert): void {
    this.flushHandshake();
    this.writeRecords(ContentType.alert, encodeAlert(a));
    this.emit("alert", {
      level: a.level,
      description: a.description,
      name: alertName(a.description),
      sentBy: "local",
    });
  }

  private flush(): void {
    this.flushHandshake();
    if (this.outgoing.length > 0) this.emit("outgoing");
  }

  /** Runs `fn`; any exception becomes a fatal alert, an error event and the closed state. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const err =
        e instanceof TLSError
          ? e
          : TLSError.local(
              AlertDescription.internal_error,
              `internal error: ${e instanceof Error ? e.message : String(e)}`,
            );
      if (!(e instanceof TLSError) && e instanceof Error) (err as { cause?: unknown }).cause = e;
      this.fail(err);
      this.flush();
    }
  }

  private fail(err: TLSError): void {
    if (this.phase === "closed") return;
    if (err.sentBy === "local") {
      this.pendingHandshake = [];
      try {
        this.sendAlert({ level: AlertLevel.fatal, description: err.alert });
      } catch {
        // Nothing more can be sent (e.g. sequence numbers exhausted).
      }
    }
    this.error_ = err;
    this.ended();
    this.emit("error", err);
    this.emit("close");
  }

  /**
   * The connection is over: nothing more is read or written, so its keys and secrets are zeroed
   * (those in node:crypto KeyObjects are dropped for the collector) and its buffers let go.
   */
  private ended(): void {
    this.phase = "closed";
    this.readProtection?.wipe();
    this.writeProtection?.wipe();
    this.readProtection = null;
    this.writeProtection = null;
    this.secrets?.wipe();
    this.secrets = null;
    this.state?.wipe?.();
    this.state = null;
    this.pendingAppData = [];
    this.pendingAppBytes = 0;
    this.earlyDataWanted = null;
  }

  private makeContext(): HandshakeContext {
    const self = this;
    const transcript = new Transcript();
    return {
      crypto: this.crypto,
      transcript,
      get role() {
        return self.role;
      },
      send(msg: HandshakeMessage, name: string, fields: Fields = {}) {
        transcript.add(msg.raw);
        self.pendingHandshake.push(msg.raw);
        self.emit("trace", { direction: "send", message: name, fields });
      },
      sendPostHandshake(msg: HandshakeMessage, name: string, fields: Fields = {}) {
        self.pendingHandshake.push(msg.raw);
        self.emit("trace", { direction: "send", message: name, fields });
      },
      received(name: string, fields: Fields = {}) {
        self.emit("trace", { direction: "recv", message: name, fields });
      },
      sendChangeCipherSpec(protection: RecordProtection) {
        self.flushHandshake();
        self.writeRecords(ContentType.change_cipher_spec, Uint8Array.of(1));
        self.setWriteProtection(protection);
        self.emit("trace", { direction: "send", message: "ChangeCipherSpec", fields: {} });
      },
      changeWriteProtection(protection: RecordProtection | null) {
        self.flushHandshake();
        self.setWriteProtection(protection);
      },
      sendCompatibilityCcs() {
        self.flushHandshake();
        // Never protected, whatever keys the write side has (RFC 8446 §5).
        self.writeRecords(ContentType.change_cipher_spec, Uint8Array.of(1), true);
        self.emit("trace", {
          direction: "send",
          message: "ChangeCipherSpec",
          fields: { note: "middlebox compatibility" },
        });
      },
      changeReadProtection(protection: RecordProtection) {
        // RFC 8446 §5.1: handshake messages must not span a key change.
        if (self.reassembler.hasPartial) {
          throw TLSError.local(
            AlertDescription.unexpected_message,
            "handshake data left over at a key change",
          );
        }
        self.readProtection?.wipe();
        self.readProtection = protection;
      },
      setRecordVersion(version: number) {
        self.flushHandshake();
        self.recordVersion = version;
      },
      setVersion(version: number) {
        self.version = version;
        if (version === 0x0304) {
          // legacy_record_version is 0x0303 and is otherwise ignored (RFC 8446 §5.1).
          self.recordVersion = 0x0303;
          self.deframer.expectedVersion = undefined;
          self.deframer.maxFragment = MAX_CIPHERTEXT_13;
        } else {
          self.recordVersion = version;
          self.deframer.expectedVersion = version;
          self.deframer.maxFragment = MAX_CIPHERTEXT_12;
        }
      },
      rejectEarlyData(maxBytes: number) {
        self.earlyDataBudget = maxBytes;
      },
      acceptEarlyData(maxBytes: number) {
        self.earlyDataAllowed = maxBytes;
      },
      endEarlyData() {
        self.earlyDataAllowed = -1;
      },
      sendEarlyData(data: Uint8Array) {
        self.flushHandshake();
        self.writeRecords(ContentType.application_data, data);
      },
      get appDataRecords() {
        return self.appDataRecords;
      },
      session(state: SessionState) {
        self.emit("session", new TLSSession(state));
      },
      keylog(label: string, clientRandom: Uint8Array, secret: Uint8Array) {
        if (self.listenerCount("keylog") > 0)
          self.emit("keylog", `${label} ${toHex(clientRandom)} ${toHex(secret)}`);
      },
      warn(description: number) {
        self.sendAlert({ level: AlertLevel.warning, description });
      },
      complete(info: HandshakeInfo, secrets: Secrets) {
        self.info_ = info;
        self.secrets = secrets;
        self.phase = self.sentCloseNotify ? "closing" : "established";
        // 0-RTT data the server did not take (or that could not be offered) goes now, as ordinary data, first.
        if (info.earlyData !== "accepted" && self.earlyDataWanted)
          self.pendingAppData.unshift(self.earlyDataWanted);
        self.earlyDataWanted = null;
        self.flushHandshake();
        transcript.clear(); // a few KiB per connection (the certificate chains) no longer needed
        self.emit("handshake", info);
        self.flushAppData();
        if (self.closeRequested) self.close();
      },
    };
  }

  /** The protocol version as node:tls names it ("TLSv1.2"), once negotiated. */
  get protocol(): string | null {
    return this.info_ ? versionName(this.info_.version) : null;
  }
}

export class ClientConnection extends Connection {
  readonly role = "client" as const;
  readonly serverName: string | undefined;
  /** The session offered for resumption, if any. */
  readonly session: TLSSession | undefined;
  constructor(
    readonly config: ClientConfig,
    options: { serverName?: string; session?: TLSSession | Uint8Array | string; earlyData?: Uint8Array } = {},
  ) {
    super(config.crypto, config);
    this.serverName = options.serverName;
    this.session = options.session !== undefined ? TLSSession.from(options.session) : undefined;
    this.earlyData = options.earlyData;
    this.earlyDataWanted = options.earlyData ?? null;
  }
  /** 0-RTT data to send with the ClientHello if the session allows it (sent again after the handshake if refused). */
  private readonly earlyData: Uint8Array | undefined;
  protected firstState(): HandshakeState {
    return startClient(this.ctx, this.config, this.serverName, this.session?.state, this.earlyData);
  }
}

export class ServerConnection extends Connection {
  readonly role = "server" as const;
  constructor(readonly config: ServerConfig) {
    super(config.crypto, config);
  }
  protected firstState(): HandshakeState {
    return new ExpectClientHello(this.config);
  }
}
