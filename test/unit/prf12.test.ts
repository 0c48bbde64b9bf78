import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { test } from "node:test";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { nodeCrypto } from "../../src/crypto/node.js";
import { exporter12, keyBlock12, masterSecret12, prf12, verifyData12 } from "../../src/handshake/prf12.js";

/**
 * The TLS 1.2 PRF against an independent implementation: RFC 5246 §5 written again here on
 * @noble/hashes (a different HMAC and hash than node:crypto), straight from the RFC's formula.
 * (The interop tests also check the master secret against OpenSSL's key log and exporters.)
 */
function referencePrf(
  hash: "sha256" | "sha384",
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  n: number,
): Uint8Array {
  const h = hash === "sha256" ? sha256 : sha384;
  const fullSeed = new Uint8Array([...new TextEncoder().encode(label), ...seed]);
  const out: number[] = [];
  let a = fullSeed; // A(0)
  while (out.length < n) {
    a = hmac(h, secret, a); // A(i) = HMAC(secret, A(i-1))
    out.push(...hmac(h, secret, new Uint8Array([...a, ...fullSeed])));
  }
  return new Uint8Array(out.slice(0, n));
}

test("PRF matches an independent implementation for SHA-256 and SHA-384", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("sha256" as const, "sha384" as const),
      fc.uint8Array({ minLength: 0, maxLength: 80 }),
      fc.string({ maxLength: 30 }),
      fc.uint8Array({ maxLength: 100 }),
      fc.integer({ min: 1, max: 200 }),
      (hash, secret, label, seed, n) => {
        assert.deepEqual(
          prf12(nodeCrypto, hash, secret, label, seed, n),
          referencePrf(hash, secret, label, seed, n),
        );
      },
    ),
    { numRuns: 200 },
  );
});

test("master secret, EMS master secret, key block, Finished and exporter use the RFC labels and seeds", () => {
  const pm = new Uint8Array(32).fill(0x11);
  const cr = new Uint8Array(32).fill(0xaa);
  const sr = new Uint8Array(32).fill(0xbb);
  const sessionHash = new Uint8Array(32).fill(0xcc);
  const ms = masterSecret12(nodeCrypto, "sha256", pm, { clientRandom: cr, serverRandom: sr });
  assert.deepEqual(ms, referencePrf("sha256", pm, "master secret", new Uint8Array([...cr, ...sr]), 48));
  const ems = masterSecret12(nodeCrypto, "sha384", pm, { sessionHash });
  assert.deepEqual(ems, referencePrf("sha384", pm, "extended master secret", sessionHash, 48));

  // key_block = PRF(ms, "key expansion", server_random + client_random): note the order.
  const kb = keyBlock12(nodeCrypto, "sha256", ms, cr, sr, 16, 4);
  const ref = referencePrf("sha256", ms, "key expansion", new Uint8Array([...sr, ...cr]), 40);
  assert.deepEqual(kb.clientWriteKey, ref.subarray(0, 16));
  assert.deepEqual(kb.serverWriteKey, ref.subarray(16, 32));
  assert.deepEqual(kb.clientWriteIv, ref.subarray(32, 36));
  assert.deepEqual(kb.serverWriteIv, ref.subarray(36, 40));

  const vd = verifyData12(nodeCrypto, "sha256", ms, "client finished", sessionHash);
  assert.deepEqual(vd, referencePrf("sha256", ms, "client finished", sessionHash, 12));

  const ctx = Uint8Array.of(1, 2, 3);
  const ex = exporter12(nodeCrypto, "sha256", ms, "EXPORTER-test", cr, sr, ctx, 20);
  assert.deepEqual(
    ex,
    referencePrf("sha256", ms, "EXPORTER-test", new Uint8Array([...cr, ...sr, 0, 3, ...ctx]), 20),
  );
  const noCtx = exporter12(nodeCrypto, "sha256", ms, "EXPORTER-test", cr, sr, undefined, 20);
  assert.deepEqual(noCtx, referencePrf("sha256", ms, "EXPORTER-test", new Uint8Array([...cr, ...sr]), 20));
});

test("node provider AEAD agrees with node:crypto used directly (AES-GCM and ChaCha20-Poly1305)", () => {
  for (const [alg, keyLen] of [
    ["aes-128-gcm", 16],
    ["aes-256-gcm", 32],
    ["chacha20-poly1305", 32],
  ] as const) {
    const key = new Uint8Array(keyLen).fill(3);
    const nonce = new Uint8Array(12).fill(4);
    const aad = Uint8Array.of(9, 9, 9);
    const pt = new TextEncoder().encode("the quick brown fox");
    const c = createCipheriv(alg, key, nonce, { authTagLength: 16 } as never) as unknown as {
      setAAD(a: Uint8Array, o: object): void;
      update(b: Uint8Array): Buffer;
      final(): Buffer;
      getAuthTag(): Buffer;
    };
    c.setAAD(aad, { plaintextLength: pt.length });
    const want = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    const aead = nodeCrypto.aead(alg, key);
    const sealed = aead.seal(nonce, aad, pt);
    assert.deepEqual(Buffer.from(sealed), want, alg);
    assert.deepEqual(aead.open(nonce, aad, sealed), pt);
    sealed[0]! ^= 1;
    assert.equal(aead.open(nonce, aad, sealed), null, `${alg} accepted a tampered ciphertext`);
  }
});
