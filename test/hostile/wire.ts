import assert from "node:assert/strict";
import { AlertDescription, alertName } from "../../src/alert.js";
import type { Connection } from "../../src/connection.js";
import { TLSError } from "../../src/errors.js";
import type { RecordProtection } from "../../src/record/protection.js";
import { type Bytes, cat, record } from "./bytes.js";

/** A record the victim (our Connection) sent, after decryption when the script holds its keys. */
export interface SeenRecord {
  type: number;
  body: Bytes;
  sealed: boolean;
}

/**
 * The scripted peer's view of the wire. Incoming: cuts the victim's bytes into records, opens the
 * protected ones (TLS 1.3: type 23 records, trying the newest keys the script has derived when the
 * current ones fail; TLS 1.2: everything after the victim's ChangeCipherSpec), and splits handshake
 * messages out. Records it cannot open yet wait until keys are added. Outgoing: frames plaintext or
 * seals under the script's current write keys.
 */
export class Wire {
  readonly seen: SeenRecord[] = [];
  private readonly messages: Bytes[] = [];
  private hsBuf: Bytes = new Uint8Array(0);
  private inBuf: Bytes = new Uint8Array(0);
  private waiting: Array<{ type: number; version: number; fragment: Bytes }> = [];
  private readers: RecordProtection[] = [];
  private pending12: RecordProtection | null = null;
  private active12: RecordProtection | null = null;
  /** The script's write protection (null: plaintext). */
  writer: RecordProtection | null = null;

  constructor(readonly tls13: boolean) {}

  // ---- incoming -------------------------------------------------------------------------------

  feed(bytes: Bytes): void {
    this.inBuf = cat(this.inBuf, bytes);
    for (;;) {
      if (this.inBuf.length < 5) break;
      const len = (this.inBuf[3]! << 8) | this.inBuf[4]!;
      if (this.inBuf.length < 5 + len) break;
      const rec = {
        type: this.inBuf[0]!,
        version: (this.inBuf[1]! << 8) | this.inBuf[2]!,
        fragment: this.inBuf.slice(5, 5 + len),
      };
      this.inBuf = this.inBuf.slice(5 + len);
      this.waiting.push(rec);
    }
    this.process();
  }

  /** TLS 1.3: keys the victim may now write under (tried in order after the current ones). */
  addReader13(p: RecordProtection): void {
    this.readers.push(p);
    this.process();
  }

  /** TLS 1.2: keys the victim uses after its ChangeCipherSpec. */
  setPendingReader12(p: RecordProtection): void {
    this.pending12 = p;
    this.process();
  }

  private process(): void {
    while (this.waiting.length > 0) {
      const rec = this.waiting[0]!;
      if (this.tls13 && rec.type === 23) {
        const opened = this.open13(rec);
        if (!opened) return; // wait for keys
        this.waiting.shift();
        this.accept({ type: opened.type, body: opened.fragment, sealed: true });
        continue;
      }
      if (!this.tls13 && this.active12) {
        const opened = this.active12.open(rec.type, rec.version, rec.fragment);
        this.waiting.shift();
        this.accept({ type: opened.type, body: opened.fragment, sealed: true });
        continue;
      }
      if (!this.tls13 && rec.type === 20) {
        if (!this.pending12) return; // wait for keys
        this.active12 = this.pending12;
        this.pending12 = null;
      }
      this.waiting.shift();
      this.accept({ type: rec.type, body: rec.fragment, sealed: false });
    }
  }

  private open13(rec: { type: number; version: number; fragment: Bytes }) {
    while (this.readers.length > 0) {
      try {
        return this.readers[0]!.open(rec.type, rec.version, rec.fragment);
      } catch {
        if (this.readers.length === 1) return null;
        this.readers.shift(); // the victim moved on to newer keys
      }
    }
    return null;
  }

  private accept(r: SeenRecord): void {
    this.seen.push(r);
    if (r.type !== 22) return;
    this.hsBuf = cat(this.hsBuf, r.body);
    while (this.hsBuf.length >= 4) {
      const len = (this.hsBuf[1]! << 16) | (this.hsBuf[2]! << 8) | this.hsBuf[3]!;
      if (this.hsBuf.length < 4 + len) break;
      this.messages.push(this.hsBuf.slice(0, 4 + len));
      this.hsBuf = this.hsBuf.slice(4 + len);
    }
  }

  /** The next handshake message from the victim (of `type`, if given). */
  next(type?: number): Bytes {
    const m = this.messages.shift();
    if (!m)
      throw new Error(`script: expected a handshake message${type !== undefined ? ` of type ${type}` : ""}`);
    if (type !== undefined && m[0] !== type)
      throw new Error(`script: expected handshake type ${type}, got ${m[0]}`);
    return m;
  }

  get queued(): number {
    return this.messages.length;
  }

  /** Alerts the victim sent, as [level, description]. */
  alerts(): Array<[number, number]> {
    return this.seen.filter((r) => r.type === 21 && r.body.length === 2).map((r) => [r.body[0]!, r.body[1]!]);
  }

  /** Count of undecryptable records still waiting (should be 0 at the end of a case). */
  get unread(): number {
    return this.waiting.length;
  }

  // ---- outgoing -------------------------------------------------------------------------------

  /** One record of `type` under the current write keys (plaintext if none). */
  rec(type: number, body: Bytes, version = 0x0303): Bytes {
    if (this.writer) return this.writer.sealRecord(type, version, body);
    return record(type, body, version);
  }
  plain(type: number, body: Bytes, version = 0x0303): Bytes {
    return record(type, body, version);
  }
}

/**
 * The victim: our Connection, watched. `send` feeds bytes (receive() must never throw) and hands
 * whatever it answers to the wire.
 */
export class Victim {
  readonly errors: TLSError[] = [];
  readonly others: unknown[] = [];
  closes = 0;
  handshakes = 0;
  readonly data: Bytes[] = [];
  readonly sessions: unknown[] = [];

  constructor(
    readonly conn: Connection,
    readonly wire: Wire,
  ) {
    conn.on("error", (e) => {
      if (e instanceof TLSError) this.errors.push(e);
      else this.others.push(e);
    });
    conn.on("close", () => this.closes++);
    conn.on("handshake", () => this.handshakes++);
    conn.on("data", (d) => this.data.push(d));
    conn.on("session", (s) => this.sessions.push(s));
  }

  /** Takes what the victim has to say (e.g. a client's first flight). */
  pull(): void {
    const out = this.conn.takeOutgoing();
    if (out.length > 0) this.wire.feed(out);
  }

  send(...chunks: Bytes[]): void {
    for (const c of chunks) {
      try {
        this.conn.receive(c);
      } catch (e) {
        assert.fail(`receive() threw: ${String(e)}`);
      }
      this.pull();
    }
  }

  /**
   * The victim ended the connection with a fatal `alert` of its own: on the wire (the last alert
   * record, decrypted if need be), in the one TLSError it reported, and in its closed state.
   */
  expectFatal(alert: AlertDescription, sealedUnreadable = false): void {
    const name = alertName(alert);
    assert.deepEqual(this.others, [], "only TLSErrors");
    assert.equal(this.errors.length, 1, `exactly one error event, expected ${name}`);
    const err = this.errors[0]!;
    assert.equal(alertName(err.alert), name, `TLSError alert: ${err.message}`);
    assert.equal(err.sentBy, "local");
    if (sealedUnreadable) {
      assert.equal(this.wire.unread, 1, "one sealed record the script cannot read: the alert");
    } else {
      assert.equal(this.wire.unread, 0, "every record the victim sent could be read by the script");
      const alerts = this.wire.alerts();
      const last = alerts.at(-1);
      assert.ok(last, "an alert on the wire");
      assert.deepEqual(
        [last[0], alertName(last[1])],
        [2, name],
        `wire alert (all alerts: ${alerts.map(([l, d]) => `${l}:${alertName(d)}`).join(", ")})`,
      );
    }
    assert.equal(this.conn.connectionState, "closed");
    assert.equal(this.closes, 1, "one close event");
    // Once closed, more input is ignored: no throw, no second error, nothing sent.
    this.conn.receive(Uint8Array.of(21, 3, 3, 0, 2, 2, 40));
    assert.equal(this.errors.length, 1);
    assert.equal(this.conn.takeOutgoing().length, 0);
  }

  /** The victim is still fine (no error, not closed). */
  expectAlive(): void {
    assert.deepEqual(
      this.errors.map((e) => e.message),
      [],
      "no error",
    );
    assert.notEqual(this.conn.connectionState, "closed");
  }
}

export { AlertDescription as A };
