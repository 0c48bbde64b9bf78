import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClientConfig, ConfigError, ServerConfig } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import { ContentType } from "../../src/constants.js";
import type { TLSError } from "../../src/errors.js";
import type { RecordProtection } from "../../src/record/protection.js";
import { concat } from "../../src/wire/bytes.js";
import { demo, pair, pump } from "./pair.js";
import { frameRecords, parseRecords } from "./records.js";

function errorsOf(conn: Connection): TLSError[] {
  const errors: TLSError[] = [];
  conn.on("error", (e) => errors.push(e));
  return errors;
}

/** An established pair and `n` one-byte application records from the client, as one buffer. */
function manyRecords(n: number, serverOptions = {}) {
  const { c, s } = pair({}, serverOptions);
  pump(c, s);
  assert.ok(c.handshakeComplete && s.handshakeComplete);
  for (let i = 0; i < n; i++) c.write(Uint8Array.of(i & 0xff));
  const wire = c.takeOutgoing();
  assert.equal(parseRecords(wire).length, n);
  const got: number[] = [];
  s.on("data", (d) => got.push(...d));
  return { c, s, wire, got };
}

describe("records per read (maxRecordsPerRead)", () => {
  test("one receive() processes at most the limit; the rest wait for the next call, in order", () => {
    const { s, wire, got } = manyRecords(200, { maxRecordsPerRead: 64 });
    assert.equal(s.receive(wire), false, "input is left over");
    assert.equal(got.length, 64);
    assert.ok(s.bufferedInput > 0);
    assert.equal(s.receive(), false);
    assert.equal(got.length, 128);
    assert.equal(s.receive(), false);
    assert.equal(s.receive(), true);
    assert.equal(got.length, 200);
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => i & 0xff),
    );
    assert.equal(s.bufferedInput, 0);
  });

  test("the default is 64", () => {
    assert.equal(new ServerConfig({ cert: demo.cert, key: demo.key }).maxRecordsPerRead, 64);
    const { s, wire, got } = manyRecords(65);
    assert.equal(s.receive(wire), false);
    assert.equal(got.length, 64);
  });
});

describe("pause() and resume(): the application's backpressure", () => {
  test("a paused connection delivers nothing more; resume() delivers what waited", () => {
    const { s, wire, got } = manyRecords(10);
    s.on("data", () => {
      if (got.length === 3) s.pause();
    });
    assert.equal(s.receive(wire), false);
    assert.equal(got.length, 3, "stopped after the record that paused it");
    assert.equal(s.receive(), false, "still paused");
    assert.equal(got.length, 3);
    assert.equal(s.resume(), true);
    assert.equal(got.length, 10);
  });

  test("a paused connection fed beyond maxBufferedCiphertext fails (internal_error) instead of growing", () => {
    const { c, s } = pair({}, { maxBufferedCiphertext: 32768 });
    pump(c, s);
    const errors = errorsOf(s);
    s.pause();
    let fed = 0;
    while (s.connectionState !== "closed" && fed < 1 << 20) {
      c.write(new Uint8Array(4000));
      const w = c.takeOutgoing();
      fed += w.length;
      s.receive(w);
    }
    assert.equal(s.connectionState, "closed");
    assert.ok(fed > 32768 && fed < 32768 + 8192, `failed after ${fed} bytes`);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.alertName, "internal_error");
    assert.equal(errors[0]!.sentBy, "local");
    assert.equal(s.bufferedInput >= 0, true);
  });
});

describe("plaintext written before the handshake (maxBufferedPlaintext)", () => {
  test("is held up to the limit, then refused with a RangeError; the connection goes on", () => {
    const { c, s } = pair({ maxBufferedPlaintext: 1000 });
    c.write(new Uint8Array(600));
    assert.throws(() => c.write(new Uint8Array(600)), RangeError);
    c.write(new Uint8Array(400));
    let received = 0;
    s.on("data", (d) => {
      received += d.length;
    });
    pump(c, s);
    assert.equal(received, 1000);
    c.write(new Uint8Array(5000)); // after the handshake the limit does not apply: records go out at once
    pump(c, s);
    assert.equal(received, 6000);
  });
});

describe("handshake message limits", () => {
  test("a Certificate message above maxCertificateChainSize is refused from its header (illegal_parameter)", () => {
    const { c, s } = pair({ maxCertificateChainSize: 300 });
    const errors = errorsOf(c);
    pump(c, s, 20);
    assert.equal(c.connectionState, "closed");
    assert.equal(errors[0]?.alertName, "illegal_parameter");
    assert.match(errors[0]!.message, /exceeds the limit of 300/);
  });

  test("maxCertificateChainSize applies to Certificate, maxHandshakeMessageSize to the rest", () => {
    // A limit of 1500 for other messages (the hybrid ServerHello is 1.2 KiB) still lets a 2 KiB chain through.
    const { c, s } = pair({ maxHandshakeMessageSize: 1500, maxCertificateChainSize: 102400 });
    pump(c, s);
    assert.ok(c.handshakeComplete);
  });

  test("a handshake flight sent one byte per record is reassembled", () => {
    const c = new ClientConnection(new ClientConfig({ ca: demo.ca }), { serverName: "localhost" });
    const s = new ServerConnection(new ServerConfig({ cert: demo.cert, key: demo.key }));
    const hello = parseRecords(c.takeOutgoing());
    const body = concat(...hello.filter((r) => r.type === ContentType.handshake).map((r) => r.fragment));
    const tiny = frameRecords(
      Array.from(body, (b) => ({ type: ContentType.handshake, version: 0x0301, fragment: Uint8Array.of(b) })),
    );
    let done = s.receive(tiny);
    while (!done) done = s.receive();
    assert.notEqual(s.connectionState, "closed", s.error?.message);
    c.receive(s.takeOutgoing());
    pump(c, s);
    assert.ok(c.handshakeComplete && s.handshakeComplete);
  });

  test("limits are checked when the configuration is made", () => {
    for (const bad of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
      assert.throws(() => new ClientConfig({ maxRecordsPerRead: bad }), ConfigError);
    }
    assert.throws(() => new ClientConfig({ maxBufferedCiphertext: 1000 }), ConfigError, "below two records");
    assert.throws(() => new ClientConfig({ maxCertificateChainLength: 0 }), ConfigError);
    const cfg = new ClientConfig({});
    assert.equal(cfg.maxHandshakeMessageSize, 65536);
    assert.equal(cfg.maxCertificateChainSize, 102400);
    assert.equal(cfg.maxBufferedCiphertext, 262144);
    assert.equal(cfg.maxBufferedPlaintext, 1048576);
  });
});

describe("keys are zeroed when a connection ends", () => {
  interface Insides {
    readProtection: RecordProtection | null;
    writeProtection: RecordProtection | null;
    state: { writeSecret?: Uint8Array; readSecret?: Uint8Array } | null;
  }
  const insides = (conn: Connection) => conn as unknown as Insides;
  const ivOf = (p: RecordProtection) => (p as unknown as { iv: Uint8Array }).iv;
  const zero = (b: Uint8Array) => b.every((x) => x === 0);

  for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
    test(`${version}: traffic secrets and IVs after close_notify both ways, and after a fatal error`, () => {
      const { c, s } = pair({ maxVersion: version });
      pump(c, s);
      const before = insides(c);
      const read = before.readProtection!;
      const write = before.writeProtection!;
      const state = before.state!;
      assert.ok(!zero(ivOf(read)) && !zero(ivOf(write)));
      if (version === "TLSv1.3") assert.ok(!zero(state.writeSecret!) && !zero(state.readSecret!));
      const exported = c.exportKeyingMaterial("EXPERIMENTAL test", 16);
      assert.ok(!zero(exported));
      c.close();
      pump(c, s);
      s.close();
      pump(c, s);
      assert.equal(c.connectionState, "closed");
      assert.ok(zero(ivOf(read)) && zero(ivOf(write)), "IVs zeroed");
      assert.equal(insides(c).readProtection, null);
      assert.equal(insides(c).writeProtection, null);
      if (version === "TLSv1.3") assert.ok(zero(state.writeSecret!) && zero(state.readSecret!));
      assert.throws(() => c.exportKeyingMaterial("EXPERIMENTAL test", 16));

      // The server ends by a fatal error (a tampered record): the same.
      const p2 = pair({ maxVersion: version });
      pump(p2.c, p2.s);
      const sRead = insides(p2.s).readProtection!;
      p2.c.write(Uint8Array.of(1, 2, 3));
      const rec = p2.c.takeOutgoing();
      rec[rec.length - 1]! ^= 1;
      p2.s.receive(rec);
      assert.equal(p2.s.error?.alertName, "bad_record_mac");
      assert.ok(zero(ivOf(sRead)));
      assert.equal(insides(p2.s).state, null);
    });
  }
});
