import assert from "node:assert/strict";
import { test } from "node:test";
import type { HashAlgorithm } from "../../src/constants.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import { hkdfExpand, hkdfExtract } from "../../src/handshake/keyschedule13.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";

/**
 * HKDF (RFC 5869) against the test vectors of its Appendix A: cases 1-3 with SHA-256 (the hash of
 * TLS_AES_128_GCM_SHA256 and TLS_CHACHA20_POLY1305_SHA256) and, beyond them, cases 4-7 with SHA-1.
 */
interface Case {
  name: string;
  hash: HashAlgorithm;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  prk: string;
  okm: string;
}

const range = (from: number, to: number): string => {
  let s = "";
  for (let i = from; i <= to; i++) s += i.toString(16).padStart(2, "0");
  return s;
};

const CASES: Case[] = [
  {
    name: "A.1 Test Case 1: basic, SHA-256",
    hash: "sha256",
    ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    length: 42,
    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2 Test Case 2: longer inputs and outputs, SHA-256",
    hash: "sha256",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
    okm:
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09" +
      "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3 Test Case 3: zero-length salt and info, SHA-256",
    hash: "sha256",
    ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
    salt: "",
    info: "",
    length: 42,
    prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
  {
    name: "A.4 Test Case 4: basic, SHA-1",
    hash: "sha1",
    ikm: "0b0b0b0b0b0b0b0b0b0b0b",
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    length: 42,
    prk: "9b6c18c432a7bf8f0e71c8eb88f4b30baa2ba243",
    okm: "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896",
  },
  {
    name: "A.5 Test Case 5: longer inputs and outputs, SHA-1",
    hash: "sha1",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    prk: "8adae09a2a307059478d309b26c4115a224cfaf6",
    okm:
      "0bd770a74d1160f7c9f12cd5912a06ebff6adcae899d92191fe4305673ba2ffe8fa3f1a4e5ad79f3f334b3b202b2173c" +
      "486ea37ce3d397ed034c7f9dfeb15c5e927336d0441f4c4300e2cff0d0900b52d3b4",
  },
  {
    name: "A.6 Test Case 6: zero-length salt and info, SHA-1",
    hash: "sha1",
    ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
    salt: "",
    info: "",
    length: 42,
    prk: "da8c8a73c7fa77288ec6f5e7c297786aa0d32d01",
    okm: "0ac1af7002b3d761d1e55298da9d0506b9ae52057220a306e07b6b87e8df21d0ea00033de03984d34918",
  },
  {
    name: "A.7 Test Case 7: salt not provided (HashLen zeros), SHA-1",
    hash: "sha1",
    ikm: "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
    salt: "", // "not provided": hkdfExtract takes an empty salt as HashLen zeros
    info: "",
    length: 42,
    prk: "2adccada18779e7c2077ad2eb19d3f3e731385dd",
    okm: "2c91117204d745f3500d636a62f64f0ab3bae548aa53d423b0d1f27ebba6f5e5673a081d70cce7acfc48",
  },
];

test("the embedded inputs have the lengths RFC 5869 states", () => {
  const lengths = CASES.map((c) => [c.ikm.length / 2, c.salt.length / 2, c.info.length / 2]);
  assert.deepEqual(lengths, [
    [22, 13, 10],
    [80, 80, 80],
    [22, 0, 0],
    [11, 13, 10],
    [80, 80, 80],
    [22, 0, 0],
    [22, 0, 0],
  ]);
});

for (const c of CASES) {
  test(`RFC 5869 ${c.name}`, () => {
    const prk = hkdfExtract(nodeCrypto, c.hash, fromHex(c.salt), fromHex(c.ikm));
    assert.equal(toHex(prk), c.prk, "PRK = HKDF-Extract(salt, IKM)");
    const okm = hkdfExpand(nodeCrypto, c.hash, fromHex(c.prk), fromHex(c.info), c.length);
    assert.equal(toHex(okm), c.okm, "OKM = HKDF-Expand(PRK, info, L)");
    // Shorter outputs are prefixes of the longer one (T(1) | T(2) | ... cut at L), at and around a block.
    const hashLen = c.prk.length / 2;
    for (const n of [1, hashLen - 1, hashLen, hashLen + 1]) {
      const part = hkdfExpand(nodeCrypto, c.hash, fromHex(c.prk), fromHex(c.info), n);
      assert.equal(toHex(part), c.okm.slice(0, 2 * n), `HKDF-Expand with L = ${n}`);
    }
  });
}

test("RFC 5869 A.7: an explicit salt of HashLen zeros is the same as none", () => {
  const c = CASES[6]!;
  const prk = hkdfExtract(nodeCrypto, "sha1", new Uint8Array(20), fromHex(c.ikm));
  assert.equal(toHex(prk), c.prk);
});
