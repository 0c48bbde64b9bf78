import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { AlertDescription } from "../../src/alert.js";
import { ContentType } from "../../src/constants.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import { TLSError } from "../../src/errors.js";
import { RecordDeframer } from "../../src/record/deframer.js";
import { Aead12Protection } from "../../src/record/protection.js";
import { recordHeader } from "../../src/record/record.js";
import {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
} from "../../src/suites.js";
import { concat } from "../../src/wire/bytes.js";

const isAlert = (a: AlertDescription) => (e: unknown) => e instanceof TLSError && e.alert === a;

function rec(type: number, body: Uint8Array, version = 0x0303): Uint8Array {
  return concat(recordHeader(type, version, body.length), body);
}

describe("RecordDeframer", () => {
  test("any chunking of the byte stream yields the same records", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        (bodies, cuts) => {
          const stream = concat(...bodies.map((b) => rec(ContentType.handshake, b)));
          const d = new RecordDeframer();
          const got: Uint8Array[] = [];
          let off = 0;
          let i = 0;
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            d.push(stream.slice(off, off + n));
            off += n;
            for (let r = d.next(); r; r = d.next()) got.push(r.fragment);
          }
          assert.deepEqual(
            got.map((g) => Array.from(g)),
            bodies.map((b) => Array.from(b)),
          );
          assert.equal(d.buffered, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("an oversized record is refused from its header, before its body arrives", () => {
    const d = new RecordDeframer();
    d.push(recordHeader(ContentType.application_data, 0x0303, 16384 + 2048 + 1));
    assert.throws(() => d.next(), isAlert(AlertDescription.record_overflow));
    const ok = new RecordDeframer();
    ok.push(recordHeader(ContentType.application_data, 0x0303, 16384 + 2048));
    assert.equal(ok.next(), undefined); // legal size: waits for the body
  });

  test("unknown content type, bad major version, wrong negotiated version, SSLv2 hello", () => {
    const d1 = new RecordDeframer();
    d1.push(rec(99, Uint8Array.of(1)));
    assert.throws(() => d1.next(), isAlert(AlertDescription.unexpected_message));
    const d2 = new RecordDeframer();
    d2.push(rec(ContentType.handshake, Uint8Array.of(1), 0x0203));
    assert.throws(() => d2.next(), isAlert(AlertDescription.protocol_version));
    const d3 = new RecordDeframer();
    d3.expectedVersion = 0x0303;
    d3.push(rec(ContentType.handshake, Uint8Array.of(1), 0x0302));
    assert.throws(() => d3.next(), isAlert(AlertDescription.protocol_version));
    const d4 = new RecordDeframer();
    d4.push(Uint8Array.of(0x80, 0x2e, 0x01, 0x03, 0x01)); // SSL 2.0 CLIENT-HELLO header
    assert.throws(() => d4.next(), isAlert(AlertDescription.protocol_version));
  });
});

describe("TLS 1.2 AEAD record protection", () => {
  const key16 = new Uint8Array(16).fill(1);
  const key32 = new Uint8Array(32).fill(2);

  test("AES-GCM: nonce = salt || explicit seq (RFC 5288), AAD = seq || type || version || length", () => {
    const suite = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    const salt = Uint8Array.of(9, 8, 7, 6);
    const w = new Aead12Protection(nodeCrypto, suite, key16, salt);
    const r = new Aead12Protection(nodeCrypto, suite, key16, salt);
    const pt = new TextEncoder().encode("record one");
    const c0 = w.seal(ContentType.application_data, 0x0303, pt).fragment;
    const c1 = w.seal(ContentType.application_data, 0x0303, pt).fragment;
    assert.equal(c0.length, 8 + pt.length + 16);
    assert.deepEqual(Array.from(c0.subarray(0, 8)), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(c1.subarray(0, 8)), [0, 0, 0, 0, 0, 0, 0, 1]);
    assert.notDeepEqual(c0.subarray(8), c1.subarray(8)); // a fresh nonce per record
    // Independent check of the first record against the AEAD used directly.
    const nonce = concat(salt, new Uint8Array(8));
    const aad = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3, 0, pt.length);
    assert.deepEqual(nodeCrypto.aead("aes-128-gcm", key16).open(nonce, aad, c0.subarray(8)), pt);
    assert.deepEqual(r.open(ContentType.application_data, 0x0303, c0).fragment, pt);
    assert.deepEqual(r.open(ContentType.application_data, 0x0303, c1).fragment, pt);
  });

  test("ChaCha20-Poly1305: nonce = iv XOR seq (RFC 7905), nothing explicit", () => {
    const suite = TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
    const iv = new Uint8Array(12).fill(0x55);
    const w = new Aead12Protection(nodeCrypto, suite, key32, iv);
    const pt = Uint8Array.of(1, 2, 3);
    w.seal(ContentType.application_data, 0x0303, pt).fragment;
    const c1 = w.seal(ContentType.application_data, 0x0303, pt).fragment; // seq 1
    assert.equal(c1.length, pt.length + 16);
    const nonce = new Uint8Array(iv);
    nonce[11]! ^= 1;
    const aad = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 23, 3, 3, 0, 3);
    assert.deepEqual(nodeCrypto.aead("chacha20-poly1305", key32).open(nonce, aad, c1), pt);
  });

  test("tampering, wrong type, replay and truncation are bad_record_mac", () => {
    const suite = TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
    const iv = Uint8Array.of(1, 2, 3, 4);
    const mk = () => new Aead12Protection(nodeCrypto, suite, key32, iv);
    const c = mk().seal(ContentType.application_data, 0x0303, new Uint8Array(100)).fragment;
    for (let i = 0; i < c.length; i += 17) {
      const t = new Uint8Array(c);
      t[i]! ^= 0x80;
      assert.throws(
        () => mk().open(ContentType.application_data, 0x0303, t),
        isAlert(AlertDescription.bad_record_mac),
      );
    }
    assert.throws(
      () => mk().open(ContentType.handshake, 0x0303, c),
      isAlert(AlertDescription.bad_record_mac),
    );
    const r = mk();
    r.open(ContentType.application_data, 0x0303, c);
    assert.throws(
      () => r.open(ContentType.application_data, 0x0303, c),
      isAlert(AlertDescription.bad_record_mac),
    ); // replayed: seq 1
    assert.throws(
      () => mk().open(ContentType.application_data, 0x0303, c.subarray(0, 20)),
      isAlert(AlertDescription.bad_record_mac),
    );
  });

  test("a decrypted record over 2^14 bytes is record_overflow", () => {
    const suite = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    const iv = new Uint8Array(4);
    const c = new Aead12Protection(nodeCrypto, suite, key16, iv).seal(
      ContentType.application_data,
      0x0303,
      new Uint8Array(16385),
    ).fragment;
    assert.throws(
      () => new Aead12Protection(nodeCrypto, suite, key16, iv).open(ContentType.application_data, 0x0303, c),
      isAlert(AlertDescription.record_overflow),
    );
  });

  test("the sequence number never wraps: the last one is refused", () => {
    const w = new Aead12Protection(
      nodeCrypto,
      TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
      key16,
      new Uint8Array(4),
    );
    w.setSequenceForTest((1n << 64n) - 2n);
    w.seal(ContentType.application_data, 0x0303, Uint8Array.of(1)); // seq 2^64-2 is the last one used
    assert.throws(
      () => w.seal(ContentType.application_data, 0x0303, Uint8Array.of(1)),
      isAlert(AlertDescription.internal_error),
    );
  });
});
