import { AlertDescription } from "../alert.js";
import { versionName } from "../constants.js";
import { TLSError } from "../errors.js";
import { suiteName } from "../suites.js";
import { decodeSessionState, encodeSessionState, type SessionState, sessionAlive } from "./session.js";

/**
 * A session as the client application sees it: what the 'session' event hands out and what the
 * `session` option takes back. It serialises to bytes or base64 (e.g. for --sess-out). It holds
 * a secret: store it as carefully as a private key.
 */
export class TLSSession {
  constructor(readonly state: SessionState) {}

  get protocol(): string {
    return versionName(this.state.version);
  }
  get cipherSuite(): string {
    return suiteName(this.state.cipherSuite);
  }
  get serverName(): string | undefined {
    return this.state.serverName;
  }
  /** ms since the epoch. */
  get expiresAt(): number {
    return this.state.createdAt + this.state.lifetime * 1000;
  }
  isResumable(now = Date.now()): boolean {
    return sessionAlive(this.state, now) && (this.state.ticket.length > 0 || this.state.sessionId.length > 0);
  }

  toBytes(): Uint8Array {
    return encodeSessionState(this.state);
  }
  toString(): string {
    return Buffer.from(this.toBytes()).toString("base64");
  }

  static from(x: TLSSession | Uint8Array | string): TLSSession {
    if (x instanceof TLSSession) return x;
    const bytes = typeof x === "string" ? new Uint8Array(Buffer.from(x.trim(), "base64")) : x;
    try {
      return new TLSSession(decodeSessionState(bytes));
    } catch {
      throw new TLSError(
        AlertDescription.internal_error,
        "local",
        "not a TypeTLS session",
        "ERR_TLS_INVALID_SESSION",
      );
    }
  }
}

/** The client's cache of sessions, by "server name:port" (what connect() uses). */
export interface ClientSessionCache {
  get(key: string): TLSSession | undefined;
  set(key: string, session: TLSSession): void;
  delete(key: string): void;
}

/** In-memory LRU of the latest session per server. */
export class MemoryClientSessionCache implements ClientSessionCache {
  private readonly map = new Map<string, TLSSession>();
  constructor(readonly maxEntries = 256) {}
  get(key: string): TLSSession | undefined {
    const s = this.map.get(key);
    if (!s) return undefined;
    if (!s.isResumable()) {
      this.map.delete(key);
      return undefined;
    }
    return s;
  }
  set(key: string, session: TLSSession): void {
    this.map.delete(key);
    this.map.set(key, session);
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value!);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}
