/**
 * AEAD nonces never repeat at the connection level: a TLS 1.2 connection whose write sequence
 * number is near 2^64 - 1 sends its last records and then closes (internal_error, nothing more on
 * the wire) instead of wrapping to 0 (RFC 5246 §6.1). TLS 1.3 changes its keys with a KeyUpdate of
 * its own once a key has sealed KEY_USAGE_LIMIT (2^24) records (RFC 8446 §5.5), so it never gets
 * near; its alerts at the very end are still refused. (The record-level test is in record.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Connection, KEY_USAGE_LIMIT } from "../../src/connection.js";
import { ContentType } from "../../src/constants.js";
import type { TLSError } from "../../src/errors.js";
import { pair, pump } from "./pair.js";

const LAST = (1n << 64n) - 2n; // the last sequence number used; 2^64 - 1 is never reached

interface Seq {
  setSequenceForTest(seq: bigint): void;
}
/** Test hook: the connection's current record protections (private fields at run time). */
function protections(conn: Connection): { read: Seq; write: Seq } {
  const p = conn as unknown as { readProtection: Seq | null; writeProtection: Seq | null };
  assert.ok(p.readProtection && p.writeProtection, "keys in place");
  return { read: p.readProtection, write: p.writeProtection };
}

/** Record headers (type, length) in a buffer of whole records. */
function records(bytes: Uint8Array): Array<{ type: number; length: number }> {
  const out: Array<{ type: number; length: number }> = [];
  for (let off = 0; off < bytes.length; ) {
    const length = (bytes[off + 3]! << 8) | bytes[off + 4]!;
    out.push({ type: bytes[off]!, length });
    off += 5 + length;
  }
  return out;
}

function established(version: "TLSv1.2" | "TLSv1.3") {
  const { c, s } = pair({ maxVersion: version, minVersion: version });
  const errors: { c: TLSError[]; s: TLSError[] } = { c: [], s: [] };
  c.on("error", (e) => errors.c.push(e));
  s.on("error", (e) => errors.s.push(e));
  const got: string[] = [];
  s.on("data", (d) => got.push(new TextDecoder().decode(d)));
  pump(c, s);
  assert.equal(c.info?.protocol, version);
  s.takeOutgoing();
  return { c, s, errors, got };
}

const text = (t: string): Uint8Array => new TextEncoder().encode(t);

for (const version of ["TLSv1.2"] as const) {
  describe(`${version}: write sequence number at 2^64 - 2`, () => {
    it("the last record goes out and is read; the next write closes the connection, sending nothing", () => {
      const { c, s, errors, got } = established(version);
      protections(c).write.setSequenceForTest(LAST);
      protections(s).read.setSequenceForTest(LAST);
      c.write(text("last"));
      s.receive(c.takeOutgoing());
      assert.deepEqual(got, ["last"], "the record with sequence number 2^64 - 2 is fine");
      assert.equal(errors.c.length + errors.s.length, 0, String([...errors.c, ...errors.s]));

      c.write(text("wrapped?"));
      assert.equal(c.connectionState, "closed");
      assert.equal(errors.c.length, 1);
      assert.equal(errors.c[0]!.alertName, "internal_error");
      assert.match(errors.c[0]!.message, /sequence number exhausted/);
      // Not even the fatal alert: it would need a sequence number too.
      assert.equal(c.takeOutgoing().length, 0, "no record sealed with a repeated nonce");
      assert.throws(() => c.write(text("more")), /write after close/);
    });

    it("a write of several records stops at the limit: the records before it, then nothing", () => {
      const { c, s, errors, got } = established(version);
      protections(c).write.setSequenceForTest(LAST - 1n);
      protections(s).read.setSequenceForTest(LAST - 1n);
      const big = "a".repeat(16384) + "b".repeat(16384) + "c".repeat(100);
      c.write(text(big));
      const out = c.takeOutgoing();
      assert.equal(records(out).length, 2, "two of the three records had a sequence number left");
      assert.equal(c.connectionState, "closed");
      assert.equal(errors.c[0]?.alertName, "internal_error");
      s.receive(out);
      assert.equal(got.join(""), big.slice(0, 32768));
      assert.equal(errors.s.length, 0, String(errors.s));
    });
  });
}

for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
  it(`${version}: close_notify with no sequence number left: closed, no exception, nothing sent`, () => {
    const { c, errors } = established(version);
    protections(c).write.setSequenceForTest(LAST + 1n);
    c.close();
    assert.equal(c.connectionState, "closed");
    assert.equal(errors.c[0]?.alertName, "internal_error");
    assert.equal(c.takeOutgoing().length, 0);
  });
}

describe("TLS 1.3: our own KeyUpdate at the key-usage limit (RFC 8446 §5.5)", () => {
  it("the record before the limit goes under the old key; the next write sends a KeyUpdate first, and the peer follows", () => {
    const { c, s, errors, got } = established("TLSv1.3");
    protections(c).write.setSequenceForTest(KEY_USAGE_LIMIT - 1n);
    protections(s).read.setSequenceForTest(KEY_USAGE_LIMIT - 1n);
    const sent: string[] = [];
    c.on("trace", (t) => {
      if (t.direction === "send") sent.push(t.message);
    });
    c.write(text("old key"));
    const first = c.takeOutgoing();
    assert.equal(records(first).length, 1);
    assert.deepEqual(sent, []);
    s.receive(first);
    c.write(text("new key"));
    assert.deepEqual(sent, ["KeyUpdate"], "a KeyUpdate without update_requested");
    const second = c.takeOutgoing();
    assert.deepEqual(
      records(second).map((r) => r.type),
      [ContentType.application_data, ContentType.application_data],
      "the KeyUpdate, then the data under the new key",
    );
    s.receive(second);
    assert.deepEqual(got, ["old key", "new key"]);
    assert.equal(errors.c.length + errors.s.length, 0, String([...errors.c, ...errors.s]));
    assert.equal(s.takeOutgoing().length, 0, "the peer was not asked to update");
  });

  it("even at 2^64 - 2 a write goes on under a new key instead of failing", () => {
    const { c, s, errors, got } = established("TLSv1.3");
    protections(c).write.setSequenceForTest(LAST);
    protections(s).read.setSequenceForTest(LAST);
    for (let i = 0; i < 3; i++) c.write(text(`after ${i}`));
    pump(c, s);
    assert.deepEqual(got, ["after 0", "after 1", "after 2"]);
    assert.equal(errors.c.length + errors.s.length, 0, String([...errors.c, ...errors.s]));
    assert.equal(c.connectionState, "established");
  });
});

describe("TLS 1.3: KeyUpdate before the limit", () => {
  it("updateKeys() at 2^64 - 2 sends the KeyUpdate with the last number, and the new keys start at 0", () => {
    const { c, s, errors, got } = established("TLSv1.3");
    protections(c).write.setSequenceForTest(LAST);
    protections(s).read.setSequenceForTest(LAST);
    c.updateKeys(false); // KeyUpdate goes out under the old keys, with sequence number 2^64 - 2
    for (let i = 0; i < 3; i++) c.write(text(`after ${i}`));
    pump(c, s);
    assert.deepEqual(got, ["after 0", "after 1", "after 2"], "the server follows the new keys from 0");
    assert.equal(errors.c.length + errors.s.length, 0, String([...errors.c, ...errors.s]));
    assert.equal(c.connectionState, "established");
  });
});
