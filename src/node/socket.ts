import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { AlertDescription } from "../alert.js";
import type { AlertEvent, Connection, TraceEvent } from "../connection.js";
import { TLSError } from "../errors.js";
import type { HandshakeInfo } from "../handshake/context.js";
import type { Certificate } from "../x509/certificate.js";

export interface SocketOptions {
  /** Milliseconds for the handshake to complete before it is aborted. Default 60 000; 0 = none. */
  handshakeTimeout?: number;
  /**
   * TLS 1.3 half-close (RFC 8446 §6.1): after the peer's close_notify ('end'), the writable side
   * stays open and the application sends its close_notify with end() when it is done. Default false:
   * the close_notify is answered at once, as node:tls does. A socket passed in should then be
   * allowHalfOpen too (createServer and connect make theirs so), or the peer's TCP FIN ends it.
   */
  allowHalfOpen?: boolean;
  /**
   * Bytes queued on the socket for a peer that does not read them, beyond which TypeTLS stops
   * reading that peer until the queue drains: what it sends (KeyUpdate requests, say) then cannot
   * make us queue answers without bound. Writes made by the application wait for 'drain' anyway
   * (write() returns false); this also holds for an application that ignores that. Default 1 MiB.
   */
  maxQueuedOutput?: number;
}

/**
 * A TLS connection over a Node socket, as a Duplex stream of plaintext: the thin adapter between
 * net.Socket and the sans-IO Connection. Events: 'secure' (handshake done; also 'secureConnect' on
 * clients), 'keylog' (NSS key log line), 'trace' (handshake messages), 'alert', 'error', 'close'.
 */
export class TLSSocket extends Duplex {
  /** True when the peer ended the TCP stream without close_notify (possible truncation). */
  truncated = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** A write waiting for the socket's 'drain' (the peer reads slower than we write). */
  private waitingDrain: ((err?: Error | null) => void) | null = null;
  /** A write made before the handshake completed, held until it does. */
  private heldWrite: ((err?: Error | null) => void) | null = null;
  /** Records are left over after maxRecordsPerRead: processed on the next turn of the event loop. */
  private backlog: NodeJS.Immediate | undefined;
  private readonly maxQueuedOutput: number;

  constructor(
    readonly socket: Socket,
    readonly connection: Connection,
    options: SocketOptions = {},
  ) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false });
    this.maxQueuedOutput = options.maxQueuedOutput ?? 1024 * 1024;
    const conn = connection;
    conn.on("outgoing", () => this.pump());
    // Backpressure, reading side: when the application's buffer is full the connection pauses
    // (after the current record) and the socket stops reading until _read() asks for more.
    conn.on("data", (d) => {
      if (!this.push(d)) conn.pause();
    });
    conn.on("handshake", (info) => {
      this.clearTimer();
      const held = this.heldWrite;
      this.heldWrite = null;
      held?.();
      this.emit("secure", info);
      if (conn.role === "client") this.emit("secureConnect", info);
    });
    conn.on("end", () => this.push(null));
    // Key log lines only while someone listens on this socket: the connection emits none when it
    // has no 'keylog' listener, and a listener here, always attached, would defeat that. Attached
    // with the socket's first listener; detached at the first line nobody listens to any more
    // (streams do not always emit 'removeListener' for the last listener of an event).
    let forwarding = false;
    const keylog = (line: string): void => {
      if (this.listenerCount("keylog") > 0) {
        this.emit("keylog", line);
        return;
      }
      conn.off("keylog", keylog);
      forwarding = false;
    };
    this.on("newListener", (event: string | symbol) => {
      if (event !== "keylog" || forwarding) return;
      forwarding = true;
      conn.on("keylog", keylog);
    });
    conn.on("session", (ticket) => this.emit("session", ticket));
    conn.on("earlyData", (d) => this.emit("earlyData", Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
    conn.on("trace", (t: TraceEvent) => this.emit("trace", t));
    conn.on("alert", (a: AlertEvent) => this.emit("alert", a));
    conn.on("error", (err) => {
      this.clearTimer();
      this.failWrites(err);
      this.pump();
      socket.end();
      this.destroy(err);
    });
    conn.on("close", () => {
      this.clearTimer();
      this.failWrites(new Error("the TLS connection is closed"));
      this.pump();
      if (!socket.destroyed) socket.end();
    });

    socket.on("data", (chunk: Buffer) =>
      this.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    );
    socket.on("end", () => {
      if (conn.peerClosed || conn.connectionState === "closed") return;
      if (!conn.handshakeComplete) {
        this.destroy(
          new TLSError(
            AlertDescription.handshake_failure,
            "peer",
            "the peer closed the connection during the handshake",
            "ECONNRESET",
          ),
        );
        return;
      }
      this.truncated = true;
      this.emit("truncated");
      this.push(null);
      this.endTcpIfDone();
    });
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => {
      if (!this.destroyed) this.destroy();
    });
    socket.on("drain", () => {
      this.releaseWrite();
      this.updateFlow();
    });

    const timeout = options.handshakeTimeout ?? 60_000;
    if (timeout > 0) {
      this.handshakeTimer = setTimeout(() => {
        conn.abort(AlertDescription.user_canceled, `handshake not complete after ${timeout} ms`);
      }, timeout);
      this.handshakeTimer.unref?.();
    }
    // Starts the handshake (the client sends its ClientHello) after listeners are attached.
    queueMicrotask(() => {
      conn.start();
      this.pump();
    });
  }

  /** Gives received bytes (or none: what waits) to the connection, then decides whether to read on. */
  private feed(bytes?: Uint8Array): void {
    const conn = this.connection;
    const done = conn.receive(bytes);
    if (!done && !conn.isPaused && !conn.isWaiting && !this.backlog && !this.destroyed) {
      // maxRecordsPerRead records were processed: let other connections run, then go on.
      this.backlog = setImmediate(() => {
        this.backlog = undefined;
        this.feed();
      });
    }
    this.updateFlow();
  }

  /**
   * Reads from the socket only while the application takes data, no records are left over, and
   * what we send is being read by the peer: a peer that stops reading cannot make us buffer the
   * answers (alerts, KeyUpdates) to what it keeps sending.
   */
  private updateFlow(): void {
    const s = this.socket;
    if (s.destroyed) return;
    const backedUp = s.writableNeedDrain && s.writableLength > this.maxQueuedOutput;
    const read = !this.connection.isPaused && !this.backlog && !backedUp;
    if (read && s.isPaused()) s.resume();
    else if (!read && !s.isPaused()) s.pause();
  }

  /** The pending write, held for the handshake or waiting for drain, fails with `err`. */
  private failWrites(err: Error): void {
    const held = this.heldWrite;
    this.heldWrite = null;
    held?.(err);
    this.releaseWrite(err);
  }

  private clearTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private pump(): void {
    const out = this.connection.takeOutgoing();
    if (out.length === 0 || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(out);
  }

  /** Calls the callback of the write that waits for the socket to drain. */
  private releaseWrite(err?: Error | null): void {
    const w = this.waitingDrain;
    this.waitingDrain = null;
    w?.(err);
  }

  /**
   * With a half-open TCP socket, FIN is ours to send: the peer's FIN came (truncation, no
   * close_notify); if our side has already finished, nothing more will go either way.
   */
  private endTcpIfDone(): void {
    if (this.writableFinished && !this.socket.writableEnded) this.socket.end();
  }

  override _read(): void {
    if (this.connection.isPaused) {
      const done = this.connection.resume();
      if (!done && !this.connection.isPaused) this.feed();
    }
    this.updateFlow();
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.connection.handshakeComplete && this.connection.connectionState === "handshaking") {
      // Held here, not in the connection: the writer waits for the handshake (backpressure).
      this.heldWrite = (err) => (err ? cb(err) : this._write(chunk, enc, cb));
      return;
    }
    if (!this.socket.writable) {
      // E.g. the peer's FIN ended a socket that is not half-open: the data could never be sent.
      cb(Object.assign(new Error("the socket is closed for writing (the peer ended it)"), { code: "EPIPE" }));
      return;
    }
    try {
      this.connection.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      cb(this.connection.error ?? (e as Error));
      return;
    }
    // The connection's 'outgoing' listener has already written the records: the socket says
    // whether they are still queued (backpressure), and then the write completes on its 'drain'.
    this.pump();
    if (this.socket.writableNeedDrain && !this.socket.destroyed) this.waitingDrain = cb;
    else cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.connection.close();
    this.pump();
    // After a truncation the peer's close_notify never comes (nor does the connection's 'close').
    if (this.truncated && !this.socket.writableEnded) this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearTimer();
    if (this.backlog) clearImmediate(this.backlog);
    this.backlog = undefined;
    this.failWrites(err ?? new Error("the TLS socket was destroyed"));
    if (this.connection.connectionState !== "closed" && err)
      this.connection.abort(AlertDescription.internal_error, err.message);
    this.pump();
    if (!this.socket.destroyed) {
      this.socket.end();
      this.socket.destroySoon?.();
    }
    cb(err);
  }

  // ---- node:tls-like accessors -----------------------------------------------------------------

  get info(): HandshakeInfo | null {
    return this.connection.info;
  }
  /** "TLSv1.2", or null before the handshake. */
  getProtocol(): string | null {
    return this.connection.protocol;
  }
  getCipher(): { name: string; standardName: string; version: string } | null {
    const i = this.connection.info;
    return i
      ? { name: i.cipherSuite.opensslName, standardName: i.cipherSuite.name, version: i.protocol }
      : null;
  }
  get alpnProtocol(): string | false {
    return this.connection.info?.alpnProtocol ?? false;
  }
  get servername(): string | undefined {
    return this.connection.info?.serverName;
  }
  get authorized(): boolean {
    return this.connection.info?.peerVerified ?? false;
  }
  getPeerCertificates(): Certificate[] {
    return this.connection.info?.peerCertificates ?? [];
  }
  /** TLS 1.3 KeyUpdate: new sending keys; with `requestPeer` (default) the peer is asked to update too. */
  updateKeys(requestPeer = true): void {
    this.connection.updateKeys(requestPeer);
    this.pump();
  }
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    return this.connection.exportKeyingMaterial(label, length, context);
  }
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
}
