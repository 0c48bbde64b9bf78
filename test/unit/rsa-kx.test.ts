import assert from "node:assert/strict";
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import { test } from "node:test";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type { CryptoProvider } from "../../src/crypto/provider.js";
import { decryptRsaPreMaster, makeRsaPreMaster, selectPreMaster } from "../../src/handshake/rsa-kx.js";
import { standardPki } from "../fixtures/pki.js";

// PEM straight from the generator, then a KeyObject of our own: a KeyObject that generateKeyPairSync
// returned can deadlock Node 20 when a GC finalizes its generation job during a use (x25519-gc.test.ts).
const { privateKey: privatePem } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const privateKey = createPrivateKey(privatePem);
const key = nodeCrypto.importPrivateKey(privatePem);

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

// ---------------------------------------------------------------------------------------------
// The countermeasure seen from outside: a full TLS 1.2 handshake with RSA key transport, where
// the client's RSA encryption is replaced by a crafted one. The client keeps its own pre-master
// secret (and computes its Finished from it); the server sees the crafted ClientKeyExchange.

type Craft = (pub: KeyObject, preMaster: Uint8Array) => Uint8Array;

/** RSA without padding: the crafted EM goes out as is. */
function rawEncrypt(pub: KeyObject, em: Uint8Array): Uint8Array {
  return new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, em));
}

/** EM = 00 02 PS 00 M, PS nonzero, for a k-byte modulus. */
function pkcs1(k: number, m: Uint8Array): Uint8Array {
  const out = new Uint8Array(k);
  out[1] = 2;
  const ps = randomBytes(k - 3 - m.length).map((b) => b | 1);
  out.set(ps, 2);
  out.set(m, k - m.length);
  return out;
}

const K = 256;
const CASES: Array<[string, Craft]> = [
  ["(a) valid", (pub, pm) => rawEncrypt(pub, pkcs1(K, pm))],
  [
    "(b) bad padding: block type 1",
    (pub, pm) => {
      const e = pkcs1(K, pm);
      e[1] = 1;
      return rawEncrypt(pub, e);
    },
  ],
  [
    "(b) bad padding: zero inside PS",
    (pub, pm) => {
      const e = pkcs1(K, pm);
      e[20] = 0;
      return rawEncrypt(pub, e);
    },
  ],
  [
    "(b) bad padding: no zero separator",
    (pub, pm) => {
      const e = pkcs1(K, pm);
      e[K - 49] = 0x11;
      return rawEncrypt(pub, e);
    },
  ],
  ["(c) wrong version bytes", (pub, pm) => rawEncrypt(pub, pkcs1(K, Uint8Array.of(3, 2, ...pm.subarray(2))))],
  ["(d) encrypted pre-master one byte short", (pub, pm) => rawEncrypt(pub, pkcs1(K, pm)).subarray(1)],
  ["(d) encrypted pre-master one byte long", (pub, pm) => Uint8Array.of(0, ...rawEncrypt(pub, pkcs1(K, pm)))],
  ["(e) 47-byte pre-master, valid padding", (pub, pm) => rawEncrypt(pub, pkcs1(K, pm.subarray(0, 47)))],
  ["(e) 49-byte pre-master, valid padding", (pub, pm) => rawEncrypt(pub, pkcs1(K, Uint8Array.of(...pm, 7)))],
];

interface Observed {
  /** What the server sent after the client's second flight, byte for byte. */
  bytes: string;
  /** The server's send events, alerts and error, in order, after that flight. */
  events: string[];
  error: { message: string; code: string; alert: number; sentBy: string } | null;
  state: string;
  handshake: boolean;
}

async function observe(craft: Craft): Promise<Observed> {
  const pki = await standardPki();
  const pub = createPublicKey(pki.rsa.leaf.certPem);
  const suite = "TLS_RSA_WITH_AES_128_GCM_SHA256";
  const crypto: CryptoProvider = { ...nodeCrypto, rsaEncryptPkcs1: (_key, pm) => craft(pub, pm) };
  const c = new ClientConnection(
    new ClientConfig({
      ca: pki.rsa.root.certPem,
      maxVersion: "TLSv1.2",
      cipherSuites: [suite],
      enableLegacyRsaKeyExchange: true,
      crypto,
    }),
    { serverName: "localhost" },
  );
  const s = new ServerConnection(
    new ServerConfig({
      cert: pki.rsa.chainPem,
      key: pki.rsa.leaf.keyPem,
      cipherSuites: [suite],
      enableLegacyRsaKeyExchange: true,
    }),
  );
  const events: string[] = [];
  let handshake = false;
  let error: Observed["error"] = null;
  s.on("trace", (e) => {
    if (e.direction === "send") events.push(`send ${e.message} ${JSON.stringify(e.fields)}`);
  });
  s.on("alert", (a) => events.push(`alert ${a.sentBy} ${a.name}`));
  s.on("error", (e) => {
    error = { message: e.message, code: e.code, alert: e.alert, sentBy: e.sentBy };
    events.push("error");
  });
  s.on("handshake", () => {
    handshake = true;
    events.push("handshake");
  });
  // ClientHello -> server flight -> client's second flight (ClientKeyExchange, CCS, Finished).
  s.receive(c.takeOutgoing());
  c.receive(s.takeOutgoing());
  const flight = c.takeOutgoing();
  assert.ok(flight.length > 0);
  events.length = 0;
  s.receive(flight);
  return {
    bytes: Buffer.from(s.takeOutgoing()).toString("hex"),
    events,
    error,
    state: s.connectionState,
    handshake,
  };
}

test("RFC 5246 §7.4.7.1 over a connection: bad padding, bad version and wrong lengths look the same", async (t) => {
  const seen = new Map<string, Observed>();
  for (const [name, craft] of CASES) seen.set(name, await observe(craft));
  for (const [name, o] of seen) t.diagnostic(`${name}: ${JSON.stringify(o.error)} ${o.events.join(", ")}`);

  const valid = seen.get("(a) valid")!;
  assert.equal(valid.handshake, true, "the valid pre-master secret completes the handshake");
  assert.equal(valid.error, null);
  assert.equal(valid.state, "established");

  const [first, ...rest] = [...seen.entries()].filter(([n]) => n !== "(a) valid");
  const [, ref] = first!;
  // The one difference: the client's Finished does not verify, because the server took a random
  // pre-master secret. It fails when the encrypted Finished is opened (AES-GCM: bad_record_mac).
  assert.equal(ref.handshake, false);
  assert.equal(ref.state, "closed");
  assert.ok(ref.error);
  assert.equal(ref.error.sentBy, "local");
  assert.ok(
    ref.error.code === "ERR_TLS_ALERT_BAD_RECORD_MAC" || ref.error.code === "ERR_TLS_ALERT_DECRYPT_ERROR",
    ref.error.code,
  );
  // A plaintext fatal alert (the server had not yet changed its write keys), and nothing else.
  assert.equal(ref.bytes, `150303000202${ref.error.alert.toString(16).padStart(2, "0")}`);
  for (const [name, o] of rest) assert.deepEqual(o, ref, `${name} differs from ${first![0]}`);
  // The valid case sent its ChangeCipherSpec and Finished where the others sent the alert.
  assert.notEqual(valid.bytes, ref.bytes);
});
