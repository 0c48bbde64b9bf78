import assert from "node:assert/strict";
import { constants, generateKeyPairSync, publicEncrypt } from "node:crypto";
import { test } from "node:test";
import { nodeCrypto } from "../../src/crypto/node.js";
import { decryptRsaPreMaster, makeRsaPreMaster, selectPreMaster } from "../../src/handshake/rsa-kx.js";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const key = nodeCrypto.importPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string);

test("RSA key transport: a correctly encrypted pre-master secret comes back", () => {
  const { preMaster, encrypted } = makeRsaPreMaster(nodeCrypto, 0x0303, key.publicKey);
  assert.equal(preMaster.length, 48);
  assert.deepEqual(Array.from(preMaster.subarray(0, 2)), [3, 3]);
  assert.deepEqual(decryptRsaPreMaster(nodeCrypto, key, encrypted, 0x0303), preMaster);
});

/** A valid EM = 00 02 PS 00 M for a 256-byte modulus. */
function em(m: Uint8Array): Uint8Array {
  const out = new Uint8Array(256);
  out[1] = 2;
  out.fill(0x5a, 2, 256 - 49);
  out.set(m, 256 - 48);
  return out;
}

test("RFC 5246 §7.4.7.1: every padding or version defect yields the random fallback, never an error", () => {
  const m = new Uint8Array(48).fill(0x42);
  m[0] = 3;
  m[1] = 3;
  const fallback = new Uint8Array(48).fill(0xee);
  assert.deepEqual(selectPreMaster(em(m), fallback, 0x0303), m);

  const defects: Array<[string, (e: Uint8Array) => void]> = [
    ["first byte not 0", (e) => (e[0] = 1)],
    ["block type not 2", (e) => (e[1] = 1)],
    ["zero byte inside PS", (e) => (e[10] = 0)],
    ["zero at the start of PS", (e) => (e[2] = 0)],
    ["no separator before M", (e) => (e[256 - 49] = 7)],
    ["wrong major version", (e) => (e[256 - 48] = 2)],
    ["wrong minor version", (e) => (e[256 - 47] = 1)],
  ];
  for (const [name, spoil] of defects) {
    const e = em(m);
    spoil(e);
    assert.deepEqual(selectPreMaster(e, fallback, 0x0303), fallback, name);
  }
});

test("decryptRsaPreMaster: wrong length, garbage, bad padding and bad version all give 48 random bytes", () => {
  const { encrypted, preMaster } = makeRsaPreMaster(nodeCrypto, 0x0303, key.publicKey);
  const cases: Array<[string, Uint8Array, number]> = [
    ["short ciphertext", encrypted.subarray(1), 0x0303],
    ["long ciphertext", new Uint8Array([...encrypted, 0]), 0x0303],
    ["random ciphertext", new Uint8Array(256).fill(0x33), 0x0303],
    ["all-ones (above the modulus)", new Uint8Array(256).fill(0xff), 0x0303],
    ["client_version mismatch", encrypted, 0x0302],
    // 47-byte message: valid PKCS#1 padding but the wrong length for a pre-master secret.
    [
      "47-byte message",
      new Uint8Array(
        publicEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.alloc(47, 3)),
      ),
      0x0303,
    ],
  ];
  const outputs = new Set<string>();
  for (const [name, ct, v] of cases) {
    const out = decryptRsaPreMaster(nodeCrypto, key, ct, v);
    assert.equal(out.length, 48, name);
    assert.notDeepEqual(out, preMaster, name);
    outputs.add(Buffer.from(out).toString("hex"));
  }
  assert.equal(outputs.size, cases.length, "fallback secrets must be fresh random values");
});
