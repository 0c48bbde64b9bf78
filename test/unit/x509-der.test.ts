import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TLSError } from "../../src/errors.js";
import {
  DerReader,
  MAX_DEPTH,
  readBitString,
  readBoolean,
  readOid,
  readTime,
  Tag,
} from "../../src/x509/der.js";
import { parseCertificate } from "../../src/x509/index.js";
import { standardPki } from "../fixtures/pki.js";

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);

function parseErr(f: () => unknown): void {
  assert.throws(
    f,
    (e: unknown) =>
      e instanceof TLSError && e.code === "CERT_PARSE_ERROR" && e.alertName === "bad_certificate",
  );
}

void test("DER lengths: short, long, minimal form enforced, indefinite and truncated rejected", () => {
  const n = new DerReader(b(0x04, 0x02, 0xaa, 0xbb)).next();
  assert.deepEqual([...n.value], [0xaa, 0xbb]);
  const long = new Uint8Array(3 + 200);
  long.set([0x04, 0x81, 200]);
  assert.equal(new DerReader(long).next().value.length, 200);
  parseErr(() => new DerReader(b(0x04, 0x81, 0x05, 1, 2, 3, 4, 5)).next()); // < 128 in long form
  parseErr(() => new DerReader(b(0x04, 0x82, 0x00, 0x81, ...new Array<number>(0x81).fill(0))).next()); // leading 0
  parseErr(() => new DerReader(b(0x30, 0x80, 0x00, 0x00)).next()); // indefinite
  parseErr(() => new DerReader(b(0x04, 0x03, 0x01)).next()); // truncated
  parseErr(() => new DerReader(b(0x04)).next());
  parseErr(() => new DerReader(b(0x1f, 0x81, 0x01, 0x00)).next()); // high tag number
  parseErr(() => new DerReader(b(0x04, 0x85, 1, 0, 0, 0, 0)).next()); // 5 length bytes
});

void test("DER depth limit", () => {
  let inner: Uint8Array = b(0x05, 0x00);
  for (let i = 0; i < MAX_DEPTH + 2; i++) {
    const w = new Uint8Array(inner.length + 2);
    w.set([0x30, inner.length]);
    w.set(inner, 2);
    inner = w;
    if (inner.length > 127) break;
  }
  // walk down until the limit trips
  assert.throws(() => {
    let r = new DerReader(inner);
    for (;;) r = DerReader.of(r.next());
  }, /nesting deeper than/);
});

void test("DER primitives: BOOLEAN, OID, BIT STRING, times", () => {
  assert.equal(readBoolean(new DerReader(b(0x01, 0x01, 0xff)).next()), true);
  assert.equal(readBoolean(new DerReader(b(0x01, 0x01, 0x00)).next()), false);
  parseErr(() => readBoolean(new DerReader(b(0x01, 0x01, 0x01)).next()));
  assert.equal(readOid(new DerReader(b(0x06, 0x03, 0x55, 0x1d, 0x13)).next()), "2.5.29.19");
  assert.equal(
    readOid(new DerReader(b(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)).next()),
    "1.2.840.10045.4.3.2",
  );
  parseErr(() => readOid(new DerReader(b(0x06, 0x02, 0x55, 0x80)).next())); // truncated arc
  parseErr(() => readOid(new DerReader(b(0x06, 0x03, 0x55, 0x80, 0x01)).next())); // non-minimal arc
  assert.equal(readBitString(new DerReader(b(0x03, 0x02, 0x05, 0xa0)).next()).unusedBits, 5);
  parseErr(() => readBitString(new DerReader(b(0x03, 0x02, 0x05, 0xa1)).next())); // nonzero padding
  parseErr(() => readBitString(new DerReader(b(0x03, 0x01, 0x01)).next()));
  const t = (tag: number, s: string): Date => {
    const v = new TextEncoder().encode(s);
    return readTime(new DerReader(b(tag, v.length, ...v)).next());
  };
  assert.equal(t(Tag.UTCTime, "491231235959Z").toISOString(), "2049-12-31T23:59:59.000Z");
  assert.equal(t(Tag.UTCTime, "500101000000Z").toISOString(), "1950-01-01T00:00:00.000Z");
  assert.equal(t(Tag.GeneralizedTime, "20500101000000Z").toISOString(), "2050-01-01T00:00:00.000Z");
  parseErr(() => t(Tag.UTCTime, "490230000000Z")); // Feb 30
  parseErr(() => t(Tag.UTCTime, "4912312359Z")); // no seconds
  parseErr(() => t(Tag.GeneralizedTime, "20500101000000.5Z"));
  parseErr(() => t(Tag.UTCTime, "491231235959+0100"));
});

void test("property: parseCertificate on random and mutated bytes throws only TLSError", async () => {
  const pki = await standardPki();
  const seeds = [pki.p256.leaf.certDer, pki.rsa.intermediate.certDer, pki.ed25519.root.certDer];
  const check = (bytes: Uint8Array): boolean => {
    try {
      parseCertificate(bytes);
      return true;
    } catch (e) {
      return e instanceof TLSError && e.code === "CERT_PARSE_ERROR";
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 2000 });
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    cut: fc.option(fc.nat()),
  });
  let rejected = 0;
  fc.assert(
    fc.property(mutation, ({ seed, edits, cut }) => {
      const src = seeds[seed]!;
      let m = src.slice();
      for (const [pos, val] of edits) m[pos % m.length] = val;
      if (cut !== null) m = m.subarray(0, cut % m.length);
      try {
        parseCertificate(m);
      } catch (e) {
        rejected++;
        return e instanceof TLSError && e.code === "CERT_PARSE_ERROR";
      }
      return true;
    }),
    { numRuns: 3000 },
  );
  assert.ok(rejected > 100, `mutations rejected: ${rejected}`);
});
